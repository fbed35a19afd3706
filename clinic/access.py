"""Who may open which page: one table of URL name x role, enforced by RoleAccessMiddleware.

Each app lists its own URLs in `<app>/access.py` as ACCESS; this module merges them into
ACCESS_TABLE, the single source that both the middleware and the permission tests read. A URL
that is missing from the table is refused to everyone (and fails the test that walks the resolver).

Levels: WRITE allows every method, READ allows only safe methods (GET, HEAD, OPTIONS), no entry
for a role means 403. PUBLIC pages are open to anonymous visitors (login, signed e-mail links).
"""

import time
from importlib import import_module

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from .roles import CLINIC_ADMIN, FRONT_DESK, PRACTITIONER, user_roles

READ = "read"
WRITE = "write"
PUBLIC = "public"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_RANK = {None: 0, READ: 1, WRITE: 2}
# The session (row + cookie) is renewed at most this often; see _apply_idle_timeout.
SESSION_TOUCH_SECONDS = 60
SESSION_TOUCHED_KEY = "_clinic_touched"

ACCESS_MODULES = (
    "clinic.access_rules",
    "patients.access",
    "treatments.access",
    "scheduling.access",
    "outbox.access",
    "consents.access",
    "photos.access",
)


def rule(*, clinic_admin: str | None = None, practitioner: str | None = None, front_desk: str | None = None):
    """One row of the table: the level each role has on a URL."""
    return {CLINIC_ADMIN: clinic_admin, PRACTITIONER: practitioner, FRONT_DESK: front_desk}


ALL_STAFF = rule(clinic_admin=WRITE, practitioner=WRITE, front_desk=WRITE)


def _build_table() -> dict:
    table: dict = {}
    for path in ACCESS_MODULES:
        module = import_module(path)
        overlap = table.keys() & module.ACCESS.keys()
        if overlap:
            raise RuntimeError(f"{path} repeats access rules for {sorted(overlap)}")
        table.update(module.ACCESS)
    return table


ACCESS_TABLE: dict = _build_table()


def access_level(roles: frozenset[str], url_name: str) -> str | None:
    """The highest level any of `roles` has on `url_name` (None: denied)."""
    row = ACCESS_TABLE.get(url_name)
    if row is None or row == PUBLIC:
        return None
    best = None
    for role in roles:
        level = row.get(role)
        if _RANK[level] > _RANK[best]:
            best = level
    return best


def is_allowed(user, url_name: str, method: str = "GET") -> bool:
    row = ACCESS_TABLE.get(url_name)
    if row == PUBLIC:
        return True
    level = access_level(user_roles(user), url_name)
    return level == WRITE or (level == READ and method in SAFE_METHODS)


class RoleAccessMiddleware:
    """Deny by default: every resolved URL is checked against ACCESS_TABLE before its view runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is None or (match.namespaces and match.namespaces[0] == "admin"):
            # Django's admin has its own staff and model-permission checks.
            return None
        row = ACCESS_TABLE.get(match.view_name)
        if row == PUBLIC:
            return None
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        self._apply_idle_timeout(request)
        roles = user_roles(request.user)
        request.roles = roles
        level = access_level(roles, match.view_name)
        if level is None or (level == READ and request.method not in SAFE_METHODS):
            raise PermissionDenied("Your role does not give access to this page.")
        request.access_level = level
        return None

    @staticmethod
    def _apply_idle_timeout(request) -> None:
        """Slide the session's expiry (the clinic's idle time) without writing it on every request.

        The session row and cookie are renewed at most once per SESSION_TOUCH_SECONDS (or at once when
        the idle time changed); the stored expiry is always counted from the last renewal, so a user
        is logged out after between idle − 1 minute and idle minutes of inactivity, never later.
        """
        from .models import ClinicSettings

        session = request.session
        idle = ClinicSettings.for_request(request).session_idle_minutes * 60
        now = int(time.time())
        touched = session.get(SESSION_TOUCHED_KEY)
        if (
            session.get("_session_expiry") != idle
            or not isinstance(touched, int)
            or now - touched >= SESSION_TOUCH_SECONDS
        ):
            session.set_expiry(idle)
            session[SESSION_TOUCHED_KEY] = now
