"""Reads for the staff Messages pages."""

from datetime import timedelta

from django.db.models import Count, Q, QuerySet

from clinic.clock import local_datetime
from patients.models import fold

from .kinds import build_email, html_part
from .models import OutboxMessage


def outbox_list(filters: dict) -> QuerySet[OutboxMessage]:
    """Messages newest due first, filtered by the Messages page's form (its cleaned data; dates are
    the clinic's local days of the due time), with their patient; the bodies are never loaded."""
    rows = OutboxMessage.objects.select_related("patient").defer("body_text", "body_html")
    rows = rows.filter(**{name: filters[name] for name in ("state", "kind", "patient") if filters.get(name)})
    if term := filters.get("q"):
        rows = rows.filter(
            Q(recipient__icontains=term)
            | Q(patient__search_text__contains=fold(term))
            | Q(idempotency_key__startswith=term)
        )
    if filters.get("date_from"):
        rows = rows.filter(due_at__gte=local_datetime(filters["date_from"]))
    if filters.get("date_to"):
        rows = rows.filter(due_at__lt=local_datetime(filters["date_to"] + timedelta(days=1)))
    return rows.order_by("-due_at", "-id")


def outbox_state_counts() -> list[tuple[str, str, int]]:
    """(state, label, how many messages are in it) for every state, in one query."""
    counts = dict(OutboxMessage.objects.values_list("state").annotate(n=Count("id")).order_by())
    return [(value, label, counts.get(value, 0)) for value, label in OutboxMessage.State.choices]


def message_content(message: OutboxMessage) -> dict:
    """What the message says: the snapshot once sent, otherwise what it would say if sent now."""
    if message.state == OutboxMessage.State.SENT:
        return {"subject": message.subject, "text": message.body_text, "html": message.body_html}
    try:
        email = build_email(message)
    except Exception as exc:  # show the builder's problem to staff instead of a 500
        return {"error": f"The message cannot be rendered now: {exc}"}
    if email is None:
        return {"error": "This message would not be sent now: what it was about is no longer valid."}
    return {"subject": email.subject, "text": email.body, "html": html_part(email), "live": True}


def failed_count() -> int:
    return OutboxMessage.objects.filter(state=OutboxMessage.State.FAILED).count()
