"""Today's appointments on the dashboard: a practitioner sees their own, everyone else the clinic's."""

from django.template.loader import render_to_string

from clinic.access import is_allowed
from clinic.roles import FRONT_DESK, PRACTITIONER, user_roles

from . import selectors


def panel(request) -> str:
    if not is_allowed(request.user, "scheduling:calendar"):
        return ""
    roles = user_roles(request.user)
    everyone = not (PRACTITIONER in roles and FRONT_DESK not in roles)
    appointments = list(selectors.today_for(request.user, everyone=everyone))
    if is_allowed(request.user, "treatments:appointment_session", "POST"):
        # The practitioner records each treatment session from here (issue 3, linked records).
        from treatments.selectors import session_states

        records = session_states(a.pk for a in appointments)
        for appointment in appointments:
            appointment.session = records.get(appointment.pk)
            appointment.can_record = appointment.kind == "treatment" and appointment.session is None
    return render_to_string(
        "scheduling/_dashboard_panel.html",
        {"appointments": appointments, "everyone": everyone, "today": selectors.local_today()},
        request=request,
    )
