from .models import ClinicSettings
from .roles import ROLE_LABELS, user_roles


def clinic(request):
    """The clinic's name, whether the session has finished signing in, and the user's roles, for the
    base layout."""
    if not hasattr(request, "user"):
        return {}
    from .security import passed_second_factor

    roles = user_roles(request.user)
    return {
        "clinic_settings": ClinicSettings.for_request(request),
        # Password given but not yet the second factor: the page shows no menu of the app (every
        # other page sends such a session back to the second step, SecondFactorMiddleware).
        "signed_in": request.user.is_authenticated and passed_second_factor(request),
        "user_roles": roles,
        "user_role_labels": [ROLE_LABELS[r] for r in sorted(roles)],
    }
