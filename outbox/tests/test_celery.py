"""A real Celery worker and beat, started as processes, deliver outbox messages end to end, and
under faults: the broker restarted in the middle of a batch, a worker killed with SIGKILL.

Runs only on PostgreSQL + Redis (the CI second pass): the processes share the pytest test database.
The first test uses the Redis of REDIS_URL; the fault tests start a redis-server of their own on a
free port (never the shared one), which they stop and start. Deliveries are counted by Message-ID
at a real SMTP server (aiosmtpd, the `smtp_server` fixture). Every process is killed in `finally`;
waits poll with timeouts.
"""

import contextlib
import os
import shutil
import signal
import socket
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


def process_env(smtp_server, redis_url=None, **extra) -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="clinic.settings",
        DATABASE_URL=database_url(),
        REDIS_URL=redis_url or os.environ["REDIS_URL"],
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


class OwnRedis:
    """A redis-server of this test's own on a free port, without persistence: a restart loses the
    queue, as a crash of an unpersisted broker would."""

    def __init__(self, log: Path):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log = log
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no"],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self._answers, timeout=10, what="redis-server to start", logs=[self.log])

    def stop(self) -> None:
        kill(self.process)
        self.process = None

    def _answers(self) -> bool:
        import redis

        try:
            return redis.Redis.from_url(self.url, socket_timeout=0.5).ping()
        except redis.RedisError:
            return False


@pytest.fixture
def own_redis(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server on PATH to start a Redis of its own")
    server = OwnRedis(tmp_path / "redis.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def queue_test_messages(count: int) -> list[OutboxMessage]:
    admin = UserFactory(username="sender")
    with transaction.atomic():
        messages = [send_test_message(recipient=f"p{i}@example.com", user=admin) for i in range(count)]
    OutboxMessage.objects.update(due_at=timezone.now() - timedelta(seconds=1))
    return messages


def test_a_broker_restart_in_mid_batch_sends_nothing_twice(smtp_server, own_redis, tmp_path):
    """Redis goes down and comes back while a worker is sending: every message arrives exactly
    once. (A worker that cancelled its running task on the lost connection killed the pool child
    between the server's acceptance and the mark; the row went again after its lease.)"""
    messages = queue_test_messages(8)
    smtp_server.delay = 0.4  # the restart lands while the server takes a message in
    env = process_env(smtp_server, own_redis.url, OUTBOX_DISPATCH_EVERY_SECONDS=1, OUTBOX_LEASE_SECONDS=3)
    logs = [tmp_path / "worker.log", tmp_path / "beat.log", own_redis.log]
    worker = beat = None
    try:
        worker = start(["worker", "-l", "info", "--concurrency=1", "-n", "restart@%h"], env, logs[0])
        beat = start(["beat", "-l", "info", "-s", str(tmp_path / "beat-schedule")], env, logs[1])
        wait_for(lambda: state_counts()["sent"] >= 2, timeout=40, what="two messages sent", logs=logs)
        own_redis.stop()
        time.sleep(1)
        own_redis.start()
        assert state_counts()["sent"] < 8, "the restart must land in the middle of the batch"
        wait_for(lambda: state_counts() == {"sent": 8}, timeout=60, what="all eight sent", logs=logs)
        time.sleep(5)  # longer than a lease: a row left half-done would have gone again by now
    finally:
        kill(beat)
        kill(worker)

    received = Counter(m["Message-ID"] for m in smtp_server.messages)
    assert received == Counter({m.message_id: 1 for m in messages})
    assert "Connection to broker lost" in logs[0].read_text(errors="replace")  # the fault happened


def test_worker_killed_mid_batch_repeats_at_most_the_message_in_flight_and_holds_up_nothing_else(
    smtp_server, own_redis, tmp_path
):
    messages = queue_test_messages(6)
    smtp_server.delay = 0.8  # each send takes a while, so the kill lands in the middle of the batch
    lease = 20
    env = process_env(smtp_server, own_redis.url, OUTBOX_DISPATCH_EVERY_SECONDS=1, OUTBOX_LEASE_SECONDS=lease)
    first = second = beat = None
    logs = [tmp_path / "worker1.log", tmp_path / "worker2.log", tmp_path / "beat.log"]
    try:
        beat = start(["beat", "-l", "info", "-s", str(tmp_path / "beat-schedule")], env, logs[2])
        first = start(["worker", "-l", "info", "--concurrency=1", "-n", "first@%h"], env, logs[0])
        wait_for(lambda: state_counts()["sent"] >= 2, timeout=40, what="two messages sent", logs=logs)
        kill(first)
        killed_at = time.monotonic()
        sent_before_kill = set(
            OutboxMessage.objects.filter(state="sent").values_list("message_id", flat=True)
        )
        assert 2 <= len(sent_before_kill) < 6, "the kill must land in the middle of the batch"
        assert state_counts()["sending"] <= 1  # only the message in flight is left claimed

        smtp_server.delay = 0
        second = start(["worker", "-l", "info", "--concurrency=1", "-n", "second@%h"], env, logs[1])
        # The rest goes as soon as a worker is back, long before the dead run's lease runs out.
        wait_for(lambda: state_counts()["sent"] >= 5, timeout=lease - 5, what="all but one sent", logs=logs)
        assert time.monotonic() - killed_at < lease
        # The one in flight at the kill (if any) goes once its lease has run out: nothing is lost.
        wait_for(lambda: state_counts() == {"sent": 6}, timeout=lease + 20, what="all six sent", logs=logs)
    finally:
        kill(beat)
        kill(first)
        kill(second)

    received = Counter(m["Message-ID"] for m in smtp_server.messages)
    assert set(received) == {m.message_id for m in messages}  # nothing lost
    for message_id in sent_before_kill:
        assert received[message_id] == 1  # nothing marked sent went again
    # At most the one message in flight at the kill arrived twice, under the same Message-ID.
    assert sum(received.values()) - 6 <= 1
    assert OutboxMessage.objects.filter(events__action="reclaimed").count() <= 1
