"""The session part of an appointment page (rendered by the scheduling app): whether the session was
recorded and done, and the "Record session" action for practitioners. Front desk sees only the status,
never the record's clinical content; clinic admin may open the record read-only."""

from django.template.loader import render_to_string
from django.utils import timezone

from clinic.access import is_allowed
from scheduling.models import AppointmentKind

from .selectors import session_states


def section(request, appointment) -> str:
    if appointment.kind != AppointmentKind.TREATMENT:
        return ""
    record = session_states([appointment.pk]).get(appointment.pk)
    can_record = is_allowed(request.user, "treatments:appointment_session", "POST")
    # Offered from the day of the appointment, as the service allows (check_appointment_for_session).
    not_yet = timezone.localtime(appointment.starts_at).date() > timezone.localdate()
    return render_to_string(
        "treatments/_appointment_section.html",
        {
            "appointment": appointment,
            "record": record,
            "can_open": is_allowed(request.user, "treatments:session_detail"),
            "can_record": can_record and record is None and appointment.is_active and not not_yet,
            "record_from_the_day": can_record and record is None and appointment.is_active and not_yet,
        },
        request=request,
    )
