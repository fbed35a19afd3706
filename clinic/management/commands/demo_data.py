"""Build a believable demo clinic, once. Synthetic people only (Faker); refuses to run in production."""

from importlib import import_module

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from clinic.demo import build_every_state, create_demo_users

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
            users = create_demo_users()
            for app in DEMO_APPS:
                try:
                    module = import_module(f"{app}.demo")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{app}.demo":
                        raise
                    continue
                module.build(stdout=self.stdout, seed=seed)
            built = build_every_state(users=users)
            day = built["next_open_day"]
            self.stdout.write(
                f"  every state: {len(built['patients'])} named patients; next open day "
                f"{day['day']:%A %d/%m/%Y} with {len(day['appointments'])} appointments ahead and "
                f"{len(day['to_record'])} sessions to record"
            )
        self.stdout.write(self.style.SUCCESS("Demo clinic ready."))
