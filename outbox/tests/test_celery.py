"""A real Celery worker and beat, started as processes, deliver outbox messages end to end.

Runs only on PostgreSQL + Redis (the CI second pass): the processes share the pytest test database
and Redis db of REDIS_URL. Every process is killed in `finally`; waits poll with timeouts.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from clinic.tests.factories import UserFactory
from outbox.models import OutboxMessage
from outbox.services import send_test_message

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)


def database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}{port}/{db['NAME']}"


def process_env(smtp_server, **extra) -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="clinic.settings",
        DATABASE_URL=database_url(),
        REDIS_URL=os.environ["REDIS_URL"],
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST=smtp_server.host,
        EMAIL_PORT=str(smtp_server.port),
        EMAIL_TIMEOUT="10",
        OUTBOX_KICK_ON_COMMIT="0",
        PYTHONUNBUFFERED="1",
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    """`celery -A clinic <args>` in its own process group, output to `log`."""
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "clinic", *args],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def kill(process: subprocess.Popen | None) -> None:
    """SIGKILL the process and its children (prefork pool); no clean shutdown."""
    if process is None:
        return
    with contextlib.suppress(ProcessLookupError):  # the group may be gone already
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def wait_for(condition, *, timeout: float, what: str, logs=()) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    output = "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in logs)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{output}")


@pytest.fixture
def clean_broker():
    """The Celery queue and kombu's unacknowledged-task keys in REDIS_URL's db start and end empty,
    so no stale task (e.g. the one the SIGKILLed worker held) reaches a worker."""
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    keys = ("celery", "unacked", "unacked_index", "unacked_mutex")
    client.delete(*keys)
    yield
    client.delete(*keys)


def state_counts() -> Counter:
    return Counter(OutboxMessage.objects.values_list("state", flat=True))


def test_worker_and_beat_deliver_a_due_message(smtp_server, clean_broker, tmp_path):
    admin = UserFactory(username="sender", first_name="Rita", last_name="Sousa")
    message = send_test_message(recipient="ana@example.com", user=admin)
    env = process_env(smtp_server, OUTBOX_DISPATCH_EVERY_SECONDS=1)
    worker = beat = None
    logs = [tmp_path / "worker.log", tmp_path / "beat.log"]
    try:
        worker = start(["worker", "-l", "info", "--concurrency=1", "-n", "outbox-e2e@%h"], env, logs[0])
        beat = start(["beat", "-l", "info", "-s", str(tmp_path / "beat-schedule")], env, logs[1])
        wait_for(lambda: state_counts() == {"sent": 1}, timeout=40, what="the message to be sent", logs=logs)
    finally:
        kill(beat)
        kill(worker)

    [received] = smtp_server.messages
    assert received["To"] == "ana@example.com"
    assert received["Message-ID"] == message.message_id
    assert "sent by Rita Sousa" in received.get_body(("plain",)).get_content()
    # Beat runs from the database schedule it copied from settings.CELERY_BEAT_SCHEDULE.
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name="outbox-dispatch")
    assert (task.task, task.interval.every, task.interval.period) == (
        "outbox.tasks.dispatch_outbox",
        1,
        "seconds",
    )


def test_worker_killed_mid_batch_loses_nothing_and_repeats_nothing_marked_sent(
    smtp_server, clean_broker, tmp_path
):
    from outbox.tasks import dispatch_outbox

    admin = UserFactory(username="sender")
    with transaction.atomic():
        messages = [send_test_message(recipient=f"p{i}@example.com", user=admin) for i in range(6)]
    OutboxMessage.objects.update(due_at=timezone.now() - timedelta(seconds=1))
    smtp_server.delay = 0.8  # each send takes a while, so the kill lands in the middle of the batch
    env = process_env(smtp_server, OUTBOX_LEASE_SECONDS=3)
    first = second = None
    logs = [tmp_path / "worker1.log", tmp_path / "worker2.log"]
    try:
        first = start(["worker", "-l", "info", "--concurrency=1", "-n", "first@%h"], env, logs[0])
        dispatch_outbox.delay()
        wait_for(lambda: state_counts()["sent"] >= 2, timeout=30, what="two messages sent", logs=logs)
        kill(first)
        sent_before_kill = set(
            OutboxMessage.objects.filter(state="sent").values_list("message_id", flat=True)
        )
        assert 2 <= len(sent_before_kill) < 6, "the kill must land in the middle of the batch"
        assert state_counts()["sending"] == 6 - len(sent_before_kill)  # claimed, leased, orphaned

        smtp_server.delay = 0
        time.sleep(3.5)  # the dead worker's lease runs out
        second = start(["worker", "-l", "info", "--concurrency=1", "-n", "second@%h"], env, logs[1])
        dispatch_outbox.delay()
        wait_for(lambda: state_counts() == {"sent": 6}, timeout=30, what="all six sent", logs=logs)
    finally:
        kill(first)
        kill(second)

    received = Counter(m["Message-ID"] for m in smtp_server.messages)
    assert set(received) == {m.message_id for m in messages}  # nothing lost
    for message_id in sent_before_kill:
        assert received[message_id] == 1  # nothing marked sent went again
    # At most the one message in flight at the kill arrived twice, under the same Message-ID.
    assert sum(received.values()) - 6 <= 1
    reclaimed = OutboxMessage.objects.filter(events__action="reclaimed").count()
    assert reclaimed == 6 - len(sent_before_kill)
