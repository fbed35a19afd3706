"""A real Celery worker and beat deliver an appointment reminder end to end (PostgreSQL + Redis).

Uses the process helpers of outbox/tests/test_celery.py: the processes share the pytest test
database and the Redis db of REDIS_URL, and are SIGKILLed in `finally`.
"""

import datetime

import icalendar
import pytest
from django.utils import timezone

from outbox.models import OutboxMessage
from outbox.tests import test_celery as real_celery
from scheduling.services import book_appointment
from scheduling.tests.factories import at, patient_aged

clean_broker = real_celery.clean_broker  # the fixture: an empty Celery queue in REDIS_URL's db
kill, process_env, start, wait_for = (
    real_celery.kill,
    real_celery.process_env,
    real_celery.start,
    real_celery.wait_for,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_worker_and_beat_deliver_a_reminder_when_it_falls_due(
    rooms,
    practitioner,
    front_desk,
    smtp_server,
    clean_broker,
    tmp_path,
):
    day = timezone.localdate() + datetime.timedelta(days=10)
    day += datetime.timedelta(days=(7 - day.weekday()) % 7)  # a Monday, when the clinic is open
    patient = patient_aged(33, day, email="ana@example.com")
    appointment = book_appointment(
        patient=patient, practitioner=practitioner, room=rooms[0], starts_at=at(day, 10), by=front_desk
    )
    reminder = OutboxMessage.objects.get(idempotency_key=f"reminder:{appointment.pk}:24h")
    assert reminder.due_at == at(day - datetime.timedelta(days=1), 10)
    # Time passes: the 24-hour reminder falls due (the 48-hour one stays in the future).
    OutboxMessage.objects.filter(pk=reminder.pk).update(due_at=timezone.now() - datetime.timedelta(seconds=1))

    env = process_env(smtp_server, OUTBOX_DISPATCH_EVERY_SECONDS=1)
    logs = [tmp_path / "worker.log", tmp_path / "beat.log"]
    worker = beat = None
    try:
        worker = start(["worker", "-l", "info", "--concurrency=1", "-n", "reminder-e2e@%h"], env, logs[0])
        beat = start(["beat", "-l", "info", "-s", str(tmp_path / "beat-schedule")], env, logs[1])
        wait_for(
            lambda: OutboxMessage.objects.get(pk=reminder.pk).state == "sent",
            timeout=40,
            what="the reminder to be sent",
            logs=logs,
        )
    finally:
        kill(beat)
        kill(worker)

    [received] = smtp_server.messages
    assert received["To"] == "ana@example.com"
    assert received["Message-ID"] == reminder.message_id
    assert received["Subject"].startswith("Reminder: your appointment at Mesoclinic on")
    assert "/scheduling/email/cancel/" in received.get_body(("plain",)).get_content()
    [event] = icalendar.Calendar.from_ical(next(received.iter_attachments()).get_content()).walk("VEVENT")
    assert (event.decoded("DTSTART"), event.decoded("DTEND")) == (appointment.starts_at, appointment.ends_at)
    assert OutboxMessage.objects.get(idempotency_key=f"reminder:{appointment.pk}:48h").state == "pending"
