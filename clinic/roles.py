"""The three staff roles. A role is a Django group; a superuser counts as clinic admin."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

CLINIC_ADMIN = "clinic_admin"
PRACTITIONER = "practitioner"
FRONT_DESK = "front_desk"
ROLES = (CLINIC_ADMIN, PRACTITIONER, FRONT_DESK)
ROLE_LABELS = {
    CLINIC_ADMIN: "Clinic admin",
    PRACTITIONER: "Practitioner",
    FRONT_DESK: "Front desk",
}


def user_roles(user: AbstractBaseUser | AnonymousUser) -> frozenset[str]:
    """The roles a user holds, read once per user object (one query, or none when the request's
    user was loaded by clinic.auth.RoleModelBackend, which reads them with the user)."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, "_mesoclinic_roles", None)
    if cached is None:
        cached = remember_roles(user, user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    return cached


def remember_roles(user: AbstractBaseUser, group_names) -> frozenset[str]:
    """Keep on the user object the roles its groups give (a superuser is clinic admin too)."""
    names = set(group_names) & set(ROLES)
    if user.is_superuser:
        names.add(CLINIC_ADMIN)
    user._mesoclinic_roles = frozenset(names)
    return user._mesoclinic_roles


def grant_permissions(apps, schema_editor, app_label: str, grants: dict[str, list[str]]) -> None:
    """Give each role group the model permissions of `app_label` listed in `grants`.

    For data migrations: `grants` maps a role to codenames such as "view_patient". Permissions of
    models created earlier in the same `migrate` run do not exist until post_migrate, so they are
    created here first from the historical app registry.
    """
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config(app_label)
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
