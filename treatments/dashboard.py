"""The practitioner's dashboard panel: their unsigned consultations, open session records and past
sessions still to record."""

from django.template.loader import render_to_string
from django.utils import timezone

from clinic.access import is_allowed
from clinic.roles import PRACTITIONER, user_roles

from .models import Consultation, SessionRecord
from .selectors import EXPIRING_DAYS, LOW_STOCK_SESSIONS, expiring_soon, low_stock, sessions_to_record


def panel(request) -> str:
    if PRACTITIONER not in user_roles(request.user):
        return ""
    drafts = list(
        Consultation.objects.filter(practitioner=request.user, signed_at__isnull=True)
        .select_related("patient")
        .order_by("-date", "-id")[:10]
    )
    open_sessions = list(
        SessionRecord.objects.filter(practitioner=request.user, done_at__isnull=True)
        .select_related("patient")
        .order_by("-performed_at")[:10]
    )
    return render_to_string(
        "treatments/_dashboard_panel.html",
        {"drafts": drafts, "open_sessions": open_sessions, "to_record": sessions_to_record(request.user)},
        request=request,
    )


def stock_panel(request) -> str:
    """Clinic admin's stock panel: products running low and lots expiring soon (two queries)."""
    if not is_allowed(request.user, "treatments:stock_receive"):
        return ""
    today = timezone.localdate()
    return render_to_string(
        "treatments/_stock_panel.html",
        {
            "low": low_stock(today),
            "expiring": expiring_soon(today),
            "sessions": LOW_STOCK_SESSIONS,
            "days": EXPIRING_DAYS,
        },
        request=request,
    )
