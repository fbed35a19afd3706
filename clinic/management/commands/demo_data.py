"""Build a believable demo clinic, once. Synthetic people only (Faker); refuses to run in production."""

from importlib import import_module

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from clinic.roles import CLINIC_ADMIN, FRONT_DESK, PRACTITIONER

DEMO_PASSWORD = "mesoclinic"
DEMO_USERS = [
    # username, first, last, role, superuser
    ("admin", "Alex", "Admin", CLINIC_ADMIN, True),
    ("practitioner", "Inês", "Moura", PRACTITIONER, False),
    ("frontdesk", "Rita", "Carvalho", FRONT_DESK, False),
    ("practitioner2", "Tomás", "Figueira", PRACTITIONER, False),
    ("practitioner3", "Chloé", "Durand", PRACTITIONER, False),
]
# Each app may add its part of the demo with `<app>.demo.build(stdout, seed)`, in this order.
DEMO_APPS = ("patients", "treatments", "scheduling")


class Command(BaseCommand):
    help = "Create demo users and synthetic data (idempotent: does nothing if the demo exists)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--force", action="store_true", help="allow with DJANGO_DEBUG=0")

    def handle(self, *args, seed, force, **options):
        if not settings.DEBUG and not force:
            raise CommandError("Demo data is for development only (DJANGO_DEBUG=0 here).")
        if User.objects.filter(username="admin").exists():
            self.stdout.write("Demo data already present; nothing to do.")
            return
        with transaction.atomic():
            for username, first, last, role, superuser in DEMO_USERS:
                user = User.objects.create_user(
                    username,
                    email=f"{username}@mesoclinic.test",
                    password=DEMO_PASSWORD,
                    first_name=first,
                    last_name=last,
                    is_staff=superuser,
                    is_superuser=superuser,
                )
                user.groups.add(Group.objects.get(name=role))
            for app in DEMO_APPS:
                try:
                    module = import_module(f"{app}.demo")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{app}.demo":
                        raise
                    continue
                module.build(stdout=self.stdout, seed=seed)
        self.stdout.write(self.style.SUCCESS("Demo clinic ready."))
