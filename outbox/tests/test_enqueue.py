"""enqueue / cancel_pending: one row per key, in the caller's transaction."""

from datetime import timedelta

import pytest
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from outbox import kinds
from outbox import services as outbox
from outbox.models import OutboxEvent, OutboxMessage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def note_kind():
    kinds.register_kind("note", lambda m: EmailMessage(subject="Note", body="Hello"), label="Note")


def later(hours=1):
    return timezone.now() + timedelta(hours=hours)


def test_enqueue_creates_one_pending_row_with_a_stable_message_id():
    message = outbox.enqueue(kind="note", key="note:1", recipient="ana@example.com", due_at=later())
    assert message.state == "pending"
    assert message.attempts == 0
    assert message.message_id == kinds.message_id_for("note:1")
    assert message.message_id.startswith("<") and message.message_id.endswith("@mesoclinic.test>")
    assert list(message.events.values_list("action", flat=True)) == ["created"]


def test_enqueue_same_key_updates_the_pending_row_instead_of_adding_one():
    first = outbox.enqueue(kind="note", key="note:1", recipient="ana@example.com", due_at=later(1))
    due = later(5)
    again = outbox.enqueue(kind="note", key="note:1", recipient="bea@example.com", due_at=due)
    assert again.pk == first.pk
    assert OutboxMessage.objects.count() == 1
    again.refresh_from_db()
    assert (again.recipient, again.due_at) == ("bea@example.com", due)
    assert list(again.events.values_list("action", flat=True)) == ["created", "updated"]


def test_enqueue_same_key_and_values_writes_nothing_new():
    due = later()
    outbox.enqueue(kind="note", key="note:1", recipient="ana@example.com", due_at=due)
    outbox.enqueue(kind="note", key="note:1", recipient="ana@example.com", due_at=due)
    assert OutboxEvent.objects.count() == 1


def test_enqueue_never_resurrects_a_sent_message():
    message = outbox.enqueue(kind="note", key="note:1", recipient="ana@example.com", due_at=later())
    sent_at = timezone.now()
    OutboxMessage.objects.filter(pk=message.pk).update(state="sent", sent_at=sent_at)
    again = outbox.enqueue(kind="note", key="note:1", recipient="other@example.com", due_at=later(9))
    again.refresh_from_db()
    assert (again.state, again.recipient, again.sent_at) == ("sent", "ana@example.com", sent_at)


def test_enqueue_brings_a_cancelled_message_back_as_pending():
    outbox.enqueue(kind="note", key="note:1", recipient="ana@example.com", due_at=later())
    outbox.cancel_pending(key_prefix="note:", reason="Consent withdrawn.")
    again = outbox.enqueue(kind="note", key="note:1", recipient="ana@example.com", due_at=later(2))
    assert again.state == "pending"
    assert OutboxMessage.objects.count() == 1


def test_enqueue_outside_a_transaction_is_refused(transactional_db):
    with pytest.raises(transaction.TransactionManagementError, match="inside the transaction"):
        outbox.enqueue(kind="note", key="note:1", recipient="ana@example.com", due_at=later())
    assert OutboxMessage.objects.count() == 0


def test_enqueue_rolls_back_with_the_change_that_caused_it(transactional_db, settings):
    settings.OUTBOX_KICK_ON_COMMIT = False
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.enqueue(kind="note", key="note:1", recipient="ana@example.com", due_at=later())
        raise RuntimeError("the booking failed")
    assert OutboxMessage.objects.count() == 0


def test_enqueue_refuses_an_unknown_kind():
    with pytest.raises(LookupError, match="Unknown message kind 'nope'"):
        outbox.enqueue(kind="nope", key="nope:1", recipient="ana@example.com", due_at=later())


def test_cancel_pending_cancels_only_pending_rows_with_the_prefix():
    outbox.enqueue(kind="note", key="reminder:7:48", recipient="a@example.com", due_at=later())
    outbox.enqueue(kind="note", key="reminder:7:24", recipient="a@example.com", due_at=later())
    outbox.enqueue(kind="note", key="reminder:70:24", recipient="a@example.com", due_at=later())
    sent = outbox.enqueue(kind="note", key="reminder:7:96", recipient="a@example.com", due_at=later())
    OutboxMessage.objects.filter(pk=sent.pk).update(state="sent", sent_at=timezone.now())

    assert outbox.cancel_pending(key_prefix="reminder:7:", reason="Appointment cancelled.") == 2

    states = dict(OutboxMessage.objects.values_list("idempotency_key", "state"))
    assert states == {
        "reminder:7:48": "cancelled",
        "reminder:7:24": "cancelled",
        "reminder:70:24": "pending",
        "reminder:7:96": "sent",
    }
    cancelled = OutboxMessage.objects.get(idempotency_key="reminder:7:48")
    assert cancelled.last_error == "Appointment cancelled."
    assert cancelled.events.last().detail == "Appointment cancelled."
