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
    # The outbox (Messages): everyone reads it; front desk and clinic admin retry failures;
    # only clinic admin sends a test message.
    "clinic:outbox_list": rule(clinic_admin=READ, practitioner=READ, front_desk=READ),
    "clinic:outbox_detail": rule(clinic_admin=READ, practitioner=READ, front_desk=READ),
    "clinic:outbox_body": rule(clinic_admin=READ, practitioner=READ, front_desk=READ),
    "clinic:outbox_retry": rule(clinic_admin=WRITE, front_desk=WRITE),
    "clinic:outbox_test": rule(clinic_admin=WRITE),
    # What each kind of e-mail says, rendered from made-up data (read-only for everyone).
    "clinic:email_templates": rule(clinic_admin=READ, practitioner=READ, front_desk=READ),
    "clinic:email_template_html": rule(clinic_admin=READ, practitioner=READ, front_desk=READ),
}
