"""Re-authentication before irreversible or bulk actions (ASVS 4.3 / HIPAA 164.312(d)).

    from clinic.reauth import require_recent_auth

    @require_recent_auth
    def consultation_sign(request, pk): ...

The view runs only if the session's password or second factor was given within
settings.REAUTH_SECONDS (sign-in, the code step, or the "Confirm it is you" page). Otherwise a GET is
sent to that page and back; a POST is not carried out: the user confirms, comes back to the page
they were on (the Referer, same site only) and presses the button again, so nothing irreversible
happens on a replayed or stale form.
"""

import time
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from .security import AUTHENTICATED_AT_KEY


def authenticated_recently(request) -> bool:
    at = request.session.get(AUTHENTICATED_AT_KEY)
    return isinstance(at, int) and time.time() - at <= settings.REAUTH_SECONDS


def require_recent_auth(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if authenticated_recently(request):
            return view(request, *args, **kwargs)
        if request.method in ("GET", "HEAD"):
            back = request.get_full_path()
        else:
            referer = request.META.get("HTTP_REFERER", "")
            safe = url_has_allowed_host_and_scheme(
                referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            )
            back = referer if safe else reverse("clinic:dashboard")
            messages.info(request, "Confirm it is you, then press the button again.")
        return redirect(f"{reverse('reauthenticate')}?{urlencode({'next': back})}")

    return wrapper
