"""Today's appointments on the dashboard: a practitioner sees their own, everyone else the clinic's.
On a day the clinic is closed it says why, and lists the next open day's appointments instead."""

from django.template.loader import render_to_string

from clinic.access import is_allowed
from clinic.roles import FRONT_DESK, PRACTITIONER, user_roles

from . import selectors


def panel(request) -> str:
    if not is_allowed(request.user, "scheduling:calendar"):
        return ""
    roles = user_roles(request.user)
    everyone = not (PRACTITIONER in roles and FRONT_DESK not in roles)
    today = selectors.local_today()
    clinic_day = selectors.clinic_day(today)
    day = clinic_day.next_open if clinic_day.why_closed else today
    appointments = []
    if day is not None:
        appointments = selectors.appointments_on(day)
        appointments = list(appointments if everyone else appointments.filter(practitioner=request.user))
    if day == today and is_allowed(request.user, "treatments:appointment_session", "POST"):
        # The practitioner records each treatment session from here (issue 3, linked records).
        from treatments.selectors import session_states

        records = session_states(a.pk for a in appointments)
        for appointment in appointments:
            appointment.session = records.get(appointment.pk)
            appointment.can_record = appointment.kind == "treatment" and appointment.session is None
    return render_to_string(
        "scheduling/_dashboard_panel.html",
        {
            "appointments": appointments,
            "everyone": everyone,
            "today": today,
            "day": day,
            "why_closed": clinic_day.why_closed,
        },
        request=request,
    )
