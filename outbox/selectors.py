"""Reads for the staff Messages pages."""

from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from patients.models import fold

from .models import OutboxMessage


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def outbox_list(filters: dict) -> QuerySet[OutboxMessage]:
    """Messages newest due first, filtered as on the Messages page (the filter form's cleaned data);
    patient loaded in the same query. Dates are the clinic's local days of the due time."""
    # The bodies are kept for the detail page only; the list never loads them.
    messages = (
        OutboxMessage.objects.select_related("patient")
        .defer("body_text", "body_html")
        .order_by("-due_at", "-id")
    )
    if filters.get("state"):
        messages = messages.filter(state=filters["state"])
    if filters.get("kind"):
        messages = messages.filter(kind=filters["kind"])
    if filters.get("patient"):
        messages = messages.filter(patient_id=filters["patient"])
    if term := (filters.get("q") or "").strip():
        messages = messages.filter(
            Q(recipient__icontains=term)
            | Q(patient__search_text__contains=fold(term))
            | Q(idempotency_key__startswith=term)
        )
    if filters.get("date_from"):
        messages = messages.filter(due_at__gte=_local_midnight(filters["date_from"]))
    if filters.get("date_to"):
        messages = messages.filter(due_at__lt=_local_midnight(filters["date_to"]) + timedelta(days=1))
    return messages


def outbox_detail(pk: int) -> OutboxMessage:
    return OutboxMessage.objects.select_related("patient").get(pk=pk)


def outbox_events(message: OutboxMessage):
    return message.events.select_related("user").order_by("at", "id")


def outbox_state_counts() -> dict[str, int]:
    """How many messages are in each state (one query)."""
    rows = OutboxMessage.objects.values("state").annotate(n=Count("id")).order_by()
    return {row["state"]: row["n"] for row in rows}


def failed_count() -> int:
    return OutboxMessage.objects.filter(state=OutboxMessage.State.FAILED).count()
