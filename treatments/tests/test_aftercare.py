"""The aftercare e-mail (rules `aftercare-instructions`, `aftercare-once`, docs/clinical-rules.md): queued
with "mark done", once per session, sent to a real SMTP server with the leaflet's five instructions, the
practitioner's own, and the next session."""

import datetime

import pytest
from django.utils import timezone

from outbox import services as outbox
from outbox.models import OutboxMessage
from scheduling.planner import plan_for
from scheduling.services import book_series
from scheduling.tests.factories import at, open_clinic, patient_aged
from treatments import services
from treatments.tests.factories import formulation, session_record, signed_consultation

pytestmark = pytest.mark.django_db

MONDAY = datetime.date(timezone.localdate().year + 1, 3, 1)
MONDAY += datetime.timedelta(days=(7 - MONDAY.weekday()) % 7)

LEAFLET = [
    "1. Keep the area clean and moisturised.",
    "2. Avoid the sun, and use at least SPF 30 — even on cloudy days.",
    "3. Do not wear makeup right after the procedure.",
    "4. Stay hydrated.",
    "5. Follow the skincare your consultant gives you.",
]


def done_session(practitioner, patient, **fields):
    consultation = signed_consultation(practitioner, patient_obj=patient)
    record = session_record(practitioner, formulation(practitioner, consultation=consultation), **fields)
    return services.mark_session_done(session_record=record, by=practitioner)


def test_mark_done_queues_one_aftercare_message_in_its_transaction(practitioner):
    patient = patient_aged(40, MONDAY, email="rui@example.com")
    record = done_session(practitioner, patient)
    [message] = OutboxMessage.objects.all()
    assert (message.kind, message.idempotency_key, message.recipient, message.object_id, message.patient) == (
        "aftercare",
        f"aftercare:{record.pk}",
        "rui@example.com",
        record.pk,
        patient,
    )
    assert message.due_at <= timezone.now()


def test_aftercare_queued_twice_is_sent_once(practitioner, smtp_server):
    record = done_session(practitioner, patient_aged(40, MONDAY, email="rui@example.com"))
    assert services.queue_aftercare(session_record=record) is False
    outbox.dispatch_due()
    assert services.queue_aftercare(session_record=record) is False
    outbox.dispatch_due()
    assert [m["To"] for m in smtp_server.messages] == ["rui@example.com"]
    assert OutboxMessage.objects.get().state == "sent"


def test_no_aftercare_e_mail_without_consent(practitioner):
    record = done_session(
        practitioner, patient_aged(40, MONDAY, email="rui@example.com", email_consent=False)
    )
    assert record.aftercare_due_at is not None  # the event is recorded
    assert OutboxMessage.objects.count() == 0


def test_aftercare_arrives_with_the_five_instructions_the_practitioners_own_and_the_next_session(
    practitioner, front_desk, smtp_server
):
    rooms = open_clinic(practitioner)
    patient = patient_aged(33, MONDAY, email="ana@example.com", given_name="Ana")
    series = book_series(
        patient=patient,
        plan=plan_for(age=33),
        slots=[(at(MONDAY + datetime.timedelta(days=14 * i), 10), practitioner, rooms[0]) for i in range(4)],
        by=front_desk,
    )
    OutboxMessage.objects.all().delete()  # the series confirmation and reminders are tested elsewhere
    done_session(practitioner, patient, aftercare_instructions="Use the hyaluronic serum twice a day.")

    outbox.dispatch_due()

    [received] = smtp_server.messages
    assert received["To"] == "ana@example.com"
    assert received["Subject"] == "Aftercare for your session at Mesoclinic"
    text = received.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = received.get_body(("html",)).get_content()
    for line in LEAFLET:
        assert line in text
        assert line.split(". ", 1)[1] in html
    assert "From Inês Moura, for you:\nUse the hyaluronic serum twice a day." in text
    first = series.appointments.get(sequence=1).local_start
    assert f"Your next session: {first:%A} {first.day} {first:%B %Y} at 10:00." in text
    assert "Rua das Flores 12" in text and "+351 210 000 000" in text


def test_aftercare_without_own_instructions_or_next_session_leaves_those_out(practitioner, smtp_server):
    done_session(practitioner, patient_aged(40, MONDAY, email="rui@example.com"))
    outbox.dispatch_due()
    text = smtp_server.messages[0].get_body(("plain",)).get_content()
    assert "for you:" not in text and "Your next session" not in text
    assert LEAFLET[0] in text


def test_aftercare_is_cancelled_if_consent_is_withdrawn_before_it_goes(practitioner, front_desk, smtp_server):
    from patients.services import update_patient

    patient = patient_aged(40, MONDAY, email="rui@example.com")
    done_session(practitioner, patient)
    update_patient(patient=patient, by=front_desk, email_consent=False)
    result = outbox.dispatch_due()
    assert (result.sent, result.cancelled) == (0, 1)
    assert smtp_server.messages == []


def test_aftercare_that_could_not_go_within_two_days_is_cancelled_not_sent_late(practitioner, smtp_server):
    record = done_session(practitioner, patient_aged(40, MONDAY, email="rui@example.com"))
    record.done_at = timezone.now() - datetime.timedelta(hours=49)
    record.save(update_fields=["done_at"])
    result = outbox.dispatch_due()
    assert (result.sent, result.cancelled) == (0, 1)
    assert smtp_server.messages == []
    assert OutboxMessage.objects.get().state == "cancelled"
