"""The kick after commit: a transaction that queues messages due now asks a worker to dispatch once,
with one short attempt to reach the broker, so that a broker that is down never holds up a page
(beat sends the messages within the minute anyway)."""

import socket
import time

import pytest
import redis
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from clinic.celery import app
from outbox import kinds
from outbox import services as outbox

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def kick_on(settings):
    settings.OUTBOX_KICK_ON_COMMIT = True
    kinds.register_kind("note", lambda m: EmailMessage(subject="Note", body="Hello"))


def queue_due_messages_in_one_transaction(count: int, capture) -> None:
    with capture(execute=True), transaction.atomic():
        for i in range(count):
            outbox.enqueue(kind="note", key=f"note:{i}", recipient="ana@example.com", due_at=timezone.now())


def test_one_kick_per_transaction_however_many_messages_it_queues(
    monkeypatch, django_capture_on_commit_callbacks
):
    tasks = []
    monkeypatch.setattr(app, "send_task", lambda name, **options: tasks.append(name))
    queue_due_messages_in_one_transaction(5, django_capture_on_commit_callbacks)
    assert tasks == ["outbox.tasks.dispatch_outbox"]


def test_a_kick_lost_with_a_rolled_back_savepoint_is_registered_again(
    monkeypatch, django_capture_on_commit_callbacks
):
    tasks = []
    monkeypatch.setattr(app, "send_task", lambda name, **options: tasks.append(name))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            outbox.enqueue(kind="note", key="note:gone", recipient="ana@example.com", due_at=timezone.now())
            raise RuntimeError("this part of the change failed")
        outbox.enqueue(kind="note", key="note:kept", recipient="ana@example.com", due_at=timezone.now())
    assert tasks == ["outbox.tasks.dispatch_outbox"]


def test_nothing_due_now_kicks_nothing(monkeypatch, django_capture_on_commit_callbacks):
    tasks = []
    monkeypatch.setattr(app, "send_task", lambda name, **options: tasks.append(name))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        outbox.enqueue(
            kind="note",
            key="note:later",
            recipient="a@example.com",
            due_at=timezone.now() + timezone.timedelta(hours=1),
        )
    assert tasks == []


def test_with_the_broker_down_a_transaction_pays_one_short_attempt(
    monkeypatch, django_capture_on_commit_callbacks, caplog
):
    with socket.socket() as sock:  # a port nothing listens on: Redis is down
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setattr(app.conf, "broker_write_url", f"redis://127.0.0.1:{port}/0")
    attempts = []
    real_connect = redis.connection.AbstractConnection.connect

    def connect(self, *args, **kwargs):
        attempts.append(1)
        return real_connect(self, *args, **kwargs)

    monkeypatch.setattr(redis.connection.AbstractConnection, "connect", connect)
    with django_capture_on_commit_callbacks() as on_commit, transaction.atomic():
        for i in range(5):
            outbox.enqueue(kind="note", key=f"note:{i}", recipient="ana@example.com", due_at=timezone.now())
    # Only what the commit pays for the kick is timed (writing the rows on a loaded CI host took
    # longer than the bound).
    started = time.monotonic()
    for callback in on_commit:
        callback()
    waited = time.monotonic() - started

    assert len(attempts) == 1
    assert waited < 1.0  # a bound, not a speed figure: retrying, it was ~0.6 s per message
    [warning] = [r for r in caplog.records if r.name == "outbox.services"]
    assert "beat will send within a minute" in warning.getMessage()
