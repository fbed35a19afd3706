"""Today's appointments on the dashboard: a practitioner sees their own, everyone else the clinic's.
On a day the clinic is closed it says why and lists the next open day's appointments too (and any
still booked today, e.g. before a closure was added, so that nobody is forgotten)."""

from django.template.loader import render_to_string

from clinic.access import is_allowed
from clinic.roles import FRONT_DESK, PRACTITIONER, user_roles

from . import selectors


def _appointments_on(day, user, *, everyone: bool) -> list:
    appointments = selectors.appointments_on(day)
    return list(appointments if everyone else appointments.filter(practitioner=user))


def panel(request) -> str:
    if not is_allowed(request.user, "scheduling:calendar"):
        return ""
    roles = user_roles(request.user)
    everyone = not (PRACTITIONER in roles and FRONT_DESK not in roles)
    today = selectors.local_today()
    appointments = _appointments_on(today, request.user, everyone=everyone)
    if is_allowed(request.user, "treatments:appointment_session", "POST"):
        # The practitioner records each treatment session from here (issue 3, linked records).
        from treatments.selectors import session_states

        records = session_states(a.pk for a in appointments)
        for appointment in appointments:
            appointment.session = records.get(appointment.pk)
            appointment.can_record = appointment.kind == "treatment" and appointment.session is None
    # Rule `stranded-appointments`: booked before the hours changed, flagged until someone moves them.
    stranded = selectors.stranded_upcoming(practitioner=None if everyone else request.user)
    clinic_day = selectors.clinic_day(today)
    next_open = clinic_day.next_open
    return render_to_string(
        "scheduling/_dashboard_panel.html",
        {
            "appointments": appointments,
            "stranded": stranded,
            "everyone": everyone,
            "today": today,
            "why_closed": clinic_day.why_closed,
            "next_open": next_open,
            "next_appointments": _appointments_on(next_open, request.user, everyone=everyone)
            if next_open
            else [],
        },
        request=request,
    )
