"""Two dispatchers at once (PostgreSQL: skip_locked claims) send each message exactly once."""

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.utils import timezone

from outbox import kinds
from outbox import services as outbox
from outbox.models import OutboxMessage


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_send_each_message_exactly_once(smtp_server):
    kinds.register_kind("note", lambda m: EmailMultiAlternatives(subject=f"Note {m.object_id}", body="Hi"))
    due = timezone.now() - timedelta(seconds=1)
    with transaction.atomic():
        for i in range(30):
            outbox.enqueue(
                kind="note", key=f"note:{i}", recipient=f"p{i}@example.com", due_at=due, object_id=i
            )
    smtp_server.delay = 0.01  # sends take a little time, so the two runs overlap
    start = threading.Barrier(2)
    errors, sent_by_run = [], Counter()

    def run():
        try:
            start.wait()
            while result := outbox.dispatch_due(batch_size=4):
                if not result.claimed:
                    break
                sent_by_run[threading.get_ident()] += result.sent
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(sent_by_run) == 2 and sum(sent_by_run.values()) == 30  # both runs did part of the work
    received = Counter(m["Message-ID"] for m in smtp_server.messages)
    assert len(received) == 30
    assert set(received.values()) == {1}
    assert OutboxMessage.objects.filter(state="sent").count() == 30
    assert set(OutboxMessage.objects.values_list("attempts", flat=True)) == {1}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_transactions_enqueueing_one_key_at_once_make_one_row():
    """The second insert waits on the unique index, loses, and updates the winner's row instead;
    the second transaction's own work survives (the insert ran in a savepoint)."""
    kinds.register_kind("note", lambda m: EmailMultiAlternatives(subject="Note", body="Hi"))
    due = timezone.now() + timedelta(hours=1)
    first_inserted, results, errors = threading.Event(), {}, []

    def first():
        try:
            with transaction.atomic():
                outbox.enqueue(kind="note", key="note:race", recipient="a@example.com", due_at=due)
                first_inserted.set()
                time.sleep(0.5)  # the second transaction is now blocked on the unique index
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    def second():
        try:
            first_inserted.wait(10)
            with transaction.atomic():
                message = outbox.enqueue(
                    kind="note", key="note:race", recipient="b@example.com", due_at=due + timedelta(hours=1)
                )
                results["second"] = message.pk
                outbox.enqueue(kind="note", key="note:other", recipient="c@example.com", due_at=due)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    race = OutboxMessage.objects.get(idempotency_key="note:race")
    assert results["second"] == race.pk
    assert (race.recipient, race.due_at) == ("b@example.com", due + timedelta(hours=1))
    assert OutboxMessage.objects.filter(idempotency_key="note:other").exists()
