"""Access rules for the scheduling pages (merged into the one table in clinic/access.py).

Front desk runs the appointment book; practitioners plan and book too (they confirm count and
cadence, rule `band-proposes-practitioner-decides` in docs/clinical-rules.md); clinic admin can do
everything. Nothing here shows clinical notes.
"""

from clinic.access import ALL_STAFF, PUBLIC, READ, rule

ACCESS: dict = {
    "scheduling:calendar": ALL_STAFF,
    "scheduling:calendar_board": ALL_STAFF,
    # The board's JSON: names, times, kinds and states only (selectors.board_event), as the grid shows.
    "scheduling:calendar_feed": ALL_STAFF,
    # Moves and length changes go through the same services as the reschedule form.
    "scheduling:calendar_move": ALL_STAFF,
    "scheduling:day_list": ALL_STAFF,
    "scheduling:plan": ALL_STAFF,
    "scheduling:series_detail": ALL_STAFF,
    "scheduling:appointment_new": ALL_STAFF,
    "scheduling:appointment_detail": ALL_STAFF,
    "scheduling:appointment_state": ALL_STAFF,
    "scheduling:appointment_reschedule": ALL_STAFF,
    "scheduling:appointment_cancel": ALL_STAFF,
    "scheduling:protocol": rule(clinic_admin=READ, practitioner=READ, front_desk=READ),
    # Links in patients' e-mails: no login, the signed token is the permission (email_links.py).
    "scheduling:email_confirm": PUBLIC,
    "scheduling:email_cancel": PUBLIC,
    "scheduling:email_unsubscribe": PUBLIC,
}
