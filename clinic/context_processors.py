from .models import ClinicSettings
from .roles import ROLE_LABELS, user_roles


def clinic(request):
    """The clinic's name and the user's roles, for the base layout."""
    if not hasattr(request, "user"):
        return {}
    roles = user_roles(request.user)
    return {
        "clinic_settings": ClinicSettings.for_request(request),
        "user_roles": roles,
        "user_role_labels": [ROLE_LABELS[r] for r in sorted(roles)],
    }
