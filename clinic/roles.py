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
