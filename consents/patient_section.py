"""The consent part of the patient page and of a treatment appointment's page. Front desk sees only
whether a valid consent is signed or missing (to have it signed on arrival), never its content."""

from django.template.loader import render_to_string
from django.utils import timezone

from clinic.access import is_allowed
from scheduling.models import AppointmentKind

from .selectors import valid_until


def _render(request, patient, on_date) -> str:
    return render_to_string(
        "consents/_status_section.html",
        {
            "patient": patient,
            "valid_until": valid_until(patient.pk, on_date),
            "can_open": is_allowed(request.user, "consents:patient"),
            "can_sign": is_allowed(request.user, "consents:sign", "POST") and patient.archived_at is None,
            "can_see_photos": is_allowed(request.user, "photos:patient"),
        },
        request=request,
    )


def section(request, patient) -> str:
    return _render(request, patient, timezone.localdate())


def appointment_section(request, appointment) -> str:
    if appointment.kind != AppointmentKind.TREATMENT:
        return ""
    return _render(request, appointment.patient, timezone.localdate(appointment.starts_at))
