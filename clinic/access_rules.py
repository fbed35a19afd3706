"""Access rules for the clinic-wide pages (see clinic/access.py)."""

from .access import ALL_STAFF, PUBLIC, READ, WRITE, rule

ACCESS = {
    "login": PUBLIC,
    "logout": PUBLIC,
    "password_reset": PUBLIC,
    "password_reset_done": PUBLIC,
    "password_reset_confirm": PUBLIC,
    "password_reset_complete": PUBLIC,
    "password_change": ALL_STAFF,
    "password_change_done": ALL_STAFF,
    "clinic:dashboard": ALL_STAFF,
    "clinic:settings": rule(clinic_admin=WRITE),
    # Who read clinical data: the clinic admin only (never front desk, nor practitioners).
    "clinic:access_log": rule(clinic_admin=READ),
}
