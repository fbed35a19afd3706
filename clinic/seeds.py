"""The rows every clinic database starts with: the three role groups, the clinic settings row and
the chart-number counter (each app's seeds.py holds its own: allergen groups, the ingredient
catalogue, protocol bands, and each role's permissions on its models).

Seeds are plain functions of an app registry, so that one body serves both callers: the data
migrations (historical models, `apps` given by RunPython) and the test set-up, which seeds again
after a transactional test has emptied every table (conftest.py, SEEDS). They are idempotent, read
models only through `apps.get_model()`, and import nothing but Django: a migration must run the
same way whatever the live application code later becomes. For the same reason a seed only uses
fields its model had when the seeding migration first ran; a later change to seeded data goes in a
new data migration.

The optional `schema_editor` lets RunPython call a seed directly; it is not used.
"""

CLINIC_ADMIN, PRACTITIONER, FRONT_DESK = "clinic_admin", "practitioner", "front_desk"
# The same names as clinic/roles.py, copied: migrations must not import live code.
ROLES = (CLINIC_ADMIN, PRACTITIONER, FRONT_DESK)


def grant_permissions(apps, app_label: str, grants: dict[str, list[str]]) -> None:
    """Give each role group the model permissions of `app_label` listed in `grants` (a role to
    codenames such as "view_patient"). An unknown codename fails loudly.

    Permissions of models created earlier in the same `migrate` run do not exist until post_migrate,
    so they are created here first from the registry given.
    """
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config(app_label)
    if not getattr(app_config, "models_module", None):
        # A historical registry's app has no models module; create_permissions skips such apps.
        app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in grants.items():
        group, _ = Group.objects.get_or_create(name=role)
        perms = list(Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames))
        missing = set(codenames) - {p.codename for p in perms}
        if missing:
            raise RuntimeError(f"Unknown permissions for {app_label}: {sorted(missing)}")
        group.permissions.add(*perms)


def seed_roles_and_clinic_defaults(apps, schema_editor=None) -> None:
    """The role groups, the one clinic settings row, the chart-number counter, and what clinic admin
    may do with settings and staff accounts."""
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)
    apps.get_model("clinic", "ClinicSettings").objects.get_or_create(pk=1)
    apps.get_model("clinic", "Counter").objects.get_or_create(name="chart_number")
    grant_permissions(apps, "clinic", {CLINIC_ADMIN: ["view_clinicsettings", "change_clinicsettings"]})
    grant_permissions(apps, "auth", {CLINIC_ADMIN: ["view_user", "add_user", "change_user", "view_group"]})
