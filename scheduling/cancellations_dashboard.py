"""Dashboard panel: appointments patients cancelled themselves with the link in an e-mail, so front
desk can offer the freed time to someone else (the last 7 days, newest first)."""

import datetime

from django.template.loader import render_to_string
from django.utils import timezone

from clinic.access import is_allowed

from .email_views import PATIENT_CANCEL_REASON
from .models import AppointmentState, AppointmentStateChange

DAYS = 7
LIMIT = 10


def cancelled_by_patients(*, days: int = DAYS, limit: int = LIMIT):
    return (
        AppointmentStateChange.objects.filter(
            to_state=AppointmentState.CANCELLED,
            by__isnull=True,
            reason=PATIENT_CANCEL_REASON,
            at__gte=timezone.now() - datetime.timedelta(days=days),
        )
        .select_related("appointment__patient", "appointment__practitioner")
        .order_by("-at", "-id")[:limit]
    )


def panel(request) -> str:
    if not is_allowed(request.user, "scheduling:calendar"):
        return ""
    changes = list(cancelled_by_patients())
    if not changes:
        return ""
    return render_to_string(
        "scheduling/_cancelled_by_patients_panel.html", {"changes": changes, "days": DAYS}, request=request
    )
