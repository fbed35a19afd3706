"""A worker's run on PostgreSQL sends each message's mark on a second connection and builds the next
e-mail while PostgreSQL commits it (clinic/outbox.py, _Batch and _Marker). These tests run outside
any transaction, as a worker does (the rest of the dispatcher's tests run inside one, where marks
are made inline)."""

import contextlib
import time
from datetime import timedelta

import psycopg
import pytest
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.smtp import EmailBackend
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from clinic import outbox, smtp_split
from clinic.models import OutboxEvent, OutboxMessage

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def note_kind():
    outbox.register_kind("note", lambda m: EmailMultiAlternatives(subject=f"Note {m.object_id}", body="Hi"))


@pytest.fixture
def markers(monkeypatch):
    started = []
    real_start = outbox._Marker.start

    def start(self, message, *args, **kwargs):
        started.append(message.object_id)
        return real_start(self, message, *args, **kwargs)

    monkeypatch.setattr(outbox._Marker, "start", start)
    return started


def queue(n, kind="note"):
    with transaction.atomic():
        for i in range(n):
            outbox.enqueue(
                kind=kind,
                key=f"{kind}:{i}",
                recipient="ana@example.com",
                due_at=timezone.now() - timedelta(seconds=1),
                object_id=i,
            )


def test_a_worker_run_marks_in_the_background_and_sends_each_message_once(smtp_server, markers):
    queue(5)
    assert outbox.dispatch_due().sent == 5
    assert markers == [0, 1, 2, 3, 4]
    assert sorted(m["Subject"] for m in smtp_server.messages) == [f"Note {i}" for i in range(5)]
    assert set(OutboxMessage.objects.values_list("state", "attempts")) == {("sent", 1)}
    assert OutboxEvent.objects.filter(action="sent").count() == 5
    assert outbox.dispatch_due().claimed == 0
    assert len(smtp_server.messages) == 5


def test_a_mark_that_fails_stops_the_batch_before_the_next_send(smtp_server, monkeypatch, markers):
    """Message 1 went but could not be marked (the database refused the statement): nothing else is
    sent, and message 1 stays claimed (sent again once its lease runs out — the one in flight, as
    after a crash). The marking connection is given up, and the next run opens a new one."""
    real_params = outbox._mark_params

    def params(message, *args, **kwargs):
        values = real_params(message, *args, **kwargs)
        if message.object_id == 1:
            values["attempts"] = -1  # breaks the table's CHECK (attempts >= 0)
        return values

    monkeypatch.setattr(outbox, "_mark_params", params)
    queue(4)
    with pytest.raises(DatabaseError, match="attempts_check"):
        outbox.dispatch_due()
    assert [m["Subject"] for m in smtp_server.messages] == ["Note 0", "Note 1"]
    states = dict(OutboxMessage.objects.values_list("object_id", "state"))
    assert states == {0: "sent", 1: "sending", 2: "sending", 3: "sending"}
    assert outbox._Marker.connection() is None

    monkeypatch.setattr(outbox, "_mark_params", real_params)
    OutboxMessage.objects.filter(object_id__in=[2, 3]).update(lease_until=timezone.now())  # lapsed
    assert outbox.dispatch_due().sent == 2
    assert [m["Subject"] for m in smtp_server.messages] == ["Note 0", "Note 1", "Note 2", "Note 3"]


def test_a_marking_connection_that_broke_between_runs_is_replaced(smtp_server, markers):
    """Checked before the batch's first send, so the broken connection costs no e-mail sent twice."""
    queue(2)
    assert outbox.dispatch_due(batch_size=1).sent == 1
    broken = outbox._Marker.connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [broken.info.backend_pid])
        for _ in range(100):  # until the server has ended that session
            cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [broken.info.backend_pid])
            if cursor.fetchone() is None:
                break
            time.sleep(0.02)
    assert outbox.dispatch_due(batch_size=1).sent == 1
    assert outbox._Marker.connection() is not broken
    assert set(OutboxMessage.objects.values_list("state", "attempts")) == {("sent", 1)}
    assert len(smtp_server.messages) == 2


def test_without_a_marking_connection_nothing_is_claimed(smtp_server, monkeypatch):
    """Say the server has no connection left for the marks: the run stops before it claims a row,
    so nothing waits out a lease; the next run sends as usual."""

    def refuse():
        raise psycopg.OperationalError("sorry, too many clients already")

    outbox._Marker.stop()
    monkeypatch.setattr(outbox._Marker, "_connect", staticmethod(refuse))
    queue(2)
    with pytest.raises(psycopg.OperationalError, match="too many clients"):
        outbox.dispatch_due()
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {"pending"}
    assert smtp_server.messages == []
    monkeypatch.undo()
    assert outbox.dispatch_due().sent == 2


def test_a_forked_process_opens_its_own_marking_connection(smtp_server, monkeypatch, markers):
    """A Celery worker forks its children: a child never uses (or closes) its parent's connection."""
    queue(2)
    assert outbox.dispatch_due(batch_size=1).sent == 1
    parents = outbox._Marker.connection()
    monkeypatch.setattr(outbox._Marker._local, "pid", -1)  # as if this process were the parent
    assert outbox.dispatch_due(batch_size=1).sent == 1
    assert outbox._Marker.connection() is not parents
    assert not parents.closed and parents in outbox._Marker._forked_away
    outbox._Marker._forked_away.remove(parents)
    parents.close()


def test_a_row_taken_over_while_the_previous_mark_runs_is_not_sent(smtp_server, markers):
    def build(message):
        if message.object_id == 0:
            OutboxMessage.objects.filter(idempotency_key="thief:1").update(claim_token="another-run")
        return EmailMultiAlternatives(subject=f"Thief {message.object_id}", body="Hi")

    outbox.register_kind("thief", build)
    queue(3, kind="thief")
    result = outbox.dispatch_due()
    assert (result.sent, result.skipped) == (2, 1)
    assert sorted(m["Subject"] for m in smtp_server.messages) == ["Thief 0", "Thief 2"]
    taken = OutboxMessage.objects.get(idempotency_key="thief:1")
    assert (taken.state, taken.claim_token) == ("sending", "another-run")


def test_a_builder_error_is_recorded_once_the_row_is_known_to_be_ours(smtp_server, markers):
    def build(message):
        if message.object_id == 1:
            raise ValueError("a bug in a builder")
        return EmailMultiAlternatives(subject=f"Buggy {message.object_id}", body="Hi")

    outbox.register_kind("buggy", build)
    queue(3, kind="buggy")
    result = outbox.dispatch_due()
    assert (result.sent, result.retrying) == (2, 1)
    failed = OutboxMessage.objects.get(idempotency_key="buggy:1")
    assert (failed.state, failed.attempts) == ("pending", 1)
    assert "a bug in a builder" in failed.last_error


def test_inside_a_transaction_the_marks_are_made_inline(smtp_server, markers):
    queue(2)
    with transaction.atomic():
        assert outbox.dispatch_due().sent == 2
    assert markers == []
    assert OutboxEvent.objects.filter(action="sent").count() == 2


@contextlib.contextmanager
def slow_marks(seconds: float):
    """Every SENT event insert (part of each mark's statement) takes `seconds` longer."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION test_slow_mark() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN PERFORM pg_sleep({seconds}); RETURN NEW; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER test_slow_mark BEFORE INSERT ON clinic_outboxevent "
            "FOR EACH ROW WHEN (NEW.action = 'sent') EXECUTE FUNCTION test_slow_mark()"
        )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER test_slow_mark ON clinic_outboxevent")
            cursor.execute("DROP FUNCTION test_slow_mark()")


class WholeSMTPBackend(EmailBackend):
    """Django's SMTP backend, but one that the dispatcher cannot send in steps (its own `_send`)."""

    def _send(self, email_message):
        return super()._send(email_message)


@pytest.mark.parametrize("in_steps", [True, False], ids=["in steps", "whole"])
def test_each_send_waits_until_the_previous_message_is_durably_marked(
    smtp_server, monkeypatch, markers, settings, in_steps
):
    """Even with a slow mark, no e-mail goes before the previous one is committed as sent — whether
    it goes in steps (Django's SMTP backend) or whole (`EmailMessage.send()`, any other backend)."""
    from django.core.mail import EmailMessage

    if not in_steps:
        settings.EMAIL_BACKEND = f"{__name__}.WholeSMTPBackend"
    seen_at_send = []

    def spy(real):
        def send(self, *args, **kwargs):
            # Read in autocommit on this thread's connection: only committed rows are seen.
            seen_at_send.append(OutboxMessage.objects.filter(state="sent").count())
            return real(self, *args, **kwargs)

        return send

    monkeypatch.setattr(EmailMessage, "send", spy(EmailMessage.send))
    monkeypatch.setattr(smtp_split.Delivery, "send_data", spy(smtp_split.Delivery.send_data))
    queue(4)
    with slow_marks(0.05):
        assert outbox.dispatch_due().sent == 4
    assert seen_at_send == [0, 1, 2, 3]
    assert len(smtp_server.messages) == 4


def test_the_marking_connection_is_kept_between_batches_and_closed_when_stopped(smtp_server):
    from django.db import connection

    def connections_here() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
            return cursor.fetchone()[0]

    before = connections_here()
    queue(2)
    outbox.dispatch_due()
    assert connections_here() == before + 1  # the marking connection, kept for the next batch
    outbox._Marker.stop()
    for _ in range(50):  # the server ends the closed session's backend a moment later
        if connections_here() == before:
            break
        time.sleep(0.05)
    assert connections_here() == before
