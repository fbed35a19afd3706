"""Appointment reminders through the outbox (rules `reminder-lead-times`,
`reminders-follow-the-appointment`, `email-needs-consent`, docs/clinical-rules.md): when they are due (wall
clock, DST), which rows the booking services write, move and cancel, and what arrives at a real SMTP
server."""

import datetime
import email.utils
from zoneinfo import ZoneInfo

import icalendar
import pytest
from django.db import transaction
from django.utils import timezone

from clinic.models import ClinicSettings
from outbox import kinds
from outbox import services as outbox
from outbox.models import OutboxMessage
from patients.services import update_patient
from scheduling import ics
from scheduling.notifications import reminder_due_at
from scheduling.planner import plan_for
from scheduling.services import (
    book_appointment,
    book_series,
    cancel_appointment,
    confirm_appointment,
    reschedule_appointment,
    shift_rest_of_series,
)
from scheduling.tests.factories import at, patient_aged

LISBON = ZoneInfo("Europe/Lisbon")
UTC = datetime.UTC


def last_sunday(year: int, month: int) -> datetime.date:
    day = datetime.date(year, month + 1, 1) - datetime.timedelta(days=1)
    return day - datetime.timedelta(days=(day.weekday() - 6) % 7)


NEXT_YEAR = timezone.localdate().year + 1
SPRING = last_sunday(NEXT_YEAR, 3)  # clocks go forward 01:00 → 02:00 in Lisbon
AUTUMN = last_sunday(NEXT_YEAR, 10)  # clocks go back 02:00 → 01:00
MONDAY = datetime.date(NEXT_YEAR, 1, 4) + datetime.timedelta(
    days=(7 - datetime.date(NEXT_YEAR, 1, 4).weekday()) % 7
)


def rows(prefix="reminder:"):
    return list(
        OutboxMessage.objects.filter(idempotency_key__startswith=prefix)
        .order_by("idempotency_key")
        .values_list("idempotency_key", "state", "due_at")
    )


def local(moment) -> str:
    return moment.astimezone(LISBON).strftime("%Y-%m-%d %H:%M %Z")


@pytest.fixture
def patient(db):
    return patient_aged(33, MONDAY, email="ana@example.com", given_name="Ana", family_name="Lopes")


@pytest.fixture
def booked(patient, rooms, practitioner, front_desk):
    return book_appointment(
        patient=patient, practitioner=practitioner, room=rooms[0], starts_at=at(MONDAY, 10), by=front_desk
    )


def send_due(message_key_prefix="reminder:"):
    """Make the matching pending rows due now and run the dispatcher once."""
    OutboxMessage.objects.filter(idempotency_key__startswith=message_key_prefix, state="pending").update(
        due_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    return outbox.dispatch_due()


# --- Wall-clock arithmetic ------------------------------------------------------------------------


def test_reminder_48_hours_before_keeps_the_local_time_across_the_spring_change():
    monday = SPRING + datetime.timedelta(days=1)
    starts = datetime.datetime.combine(monday, datetime.time(10), tzinfo=LISBON)
    due48, due24 = reminder_due_at(starts, 48), reminder_due_at(starts, 24)
    assert local(due48) == f"{monday - datetime.timedelta(days=2)} 10:00 WET"
    assert local(due24) == f"{SPRING} 10:00 WEST"
    assert starts - due48 == datetime.timedelta(hours=47)  # the night between lost an hour


def test_reminder_48_hours_before_keeps_the_local_time_across_the_autumn_change():
    monday = AUTUMN + datetime.timedelta(days=1)
    starts = datetime.datetime.combine(monday, datetime.time(10), tzinfo=LISBON)
    due48 = reminder_due_at(starts, 48)
    assert local(due48) == f"{monday - datetime.timedelta(days=2)} 10:00 WEST"
    assert starts - due48 == datetime.timedelta(hours=49)  # the night between gained an hour


def test_reminder_time_in_the_skipped_hour_goes_at_the_earlier_instant():
    starts = datetime.datetime.combine(
        SPRING + datetime.timedelta(days=1), datetime.time(1, 30), tzinfo=LISBON
    )
    due = reminder_due_at(starts, 24)  # 01:30 on the change day does not exist
    assert due == datetime.datetime.combine(SPRING, datetime.time(0, 30), tzinfo=UTC)
    assert local(due) == f"{SPRING} 00:30 WET"


def test_reminder_time_in_the_repeated_hour_goes_at_its_first_occurrence():
    starts = datetime.datetime.combine(
        AUTUMN + datetime.timedelta(days=1), datetime.time(1, 30), tzinfo=LISBON
    )
    due = reminder_due_at(starts, 24)  # 01:30 on the change day happens twice
    assert due == datetime.datetime.combine(AUTUMN, datetime.time(0, 30), tzinfo=UTC)
    assert local(due) == f"{AUTUMN} 01:30 WEST"


# --- Rows written by the booking services ---------------------------------------------------------


def test_booking_queues_one_reminder_per_lead_time_in_local_time(booked):
    assert rows() == [
        (f"reminder:{booked.pk}:24h", "pending", at(MONDAY - datetime.timedelta(days=1), 10)),
        (f"reminder:{booked.pk}:48h", "pending", at(MONDAY - datetime.timedelta(days=2), 10)),
    ]
    assert set(OutboxMessage.objects.values_list("recipient", "kind", "object_id")) == {
        ("ana@example.com", "reminder", booked.pk)
    }


def test_first_appointment_after_the_spring_change_is_reminded_at_10_local(
    patient, rooms, practitioner, front_desk
):
    monday = SPRING + datetime.timedelta(days=1)
    appointment = book_appointment(
        patient=patient, practitioner=practitioner, room=rooms[0], starts_at=at(monday, 10), by=front_desk
    )
    assert [(key, local(due)) for key, _, due in rows()] == [
        (f"reminder:{appointment.pk}:24h", f"{SPRING} 10:00 WEST"),
        (f"reminder:{appointment.pk}:48h", f"{SPRING - datetime.timedelta(days=1)} 10:00 WET"),
    ]


def test_first_appointment_after_the_autumn_change_is_reminded_at_10_local(
    patient, rooms, practitioner, front_desk
):
    monday = AUTUMN + datetime.timedelta(days=1)
    appointment = book_appointment(
        patient=patient, practitioner=practitioner, room=rooms[0], starts_at=at(monday, 10), by=front_desk
    )
    assert [(key, local(due)) for key, _, due in rows()] == [
        (f"reminder:{appointment.pk}:24h", f"{AUTUMN} 10:00 WET"),
        (f"reminder:{appointment.pk}:48h", f"{AUTUMN - datetime.timedelta(days=1)} 10:00 WEST"),
    ]


def test_lead_time_already_past_at_booking_is_skipped(patient, rooms, practitioner, front_desk):
    settings_row = ClinicSettings.load()
    settings_row.reminder_lead_hours = "9000,24"  # 9000 h before the appointment is in the past
    settings_row.save()
    appointment = book_appointment(
        patient=patient, practitioner=practitioner, room=rooms[0], starts_at=at(MONDAY, 10), by=front_desk
    )
    assert [key for key, _, _ in rows()] == [f"reminder:{appointment.pk}:24h"]


def test_no_reminders_without_consent_or_address(rooms, practitioner, front_desk):
    no_consent = patient_aged(33, MONDAY, email="b@example.com", email_consent=False)
    no_address = patient_aged(40, MONDAY, email="", email_consent=True)
    for hour, patient in ((10, no_consent), (12, no_address)):
        book_appointment(
            patient=patient,
            practitioner=practitioner,
            room=rooms[0],
            starts_at=at(MONDAY, hour),
            by=front_desk,
        )
    assert OutboxMessage.objects.count() == 0


def test_rescheduling_moves_the_pending_reminders_in_the_same_transaction(booked, practitioner, front_desk):
    later = at(MONDAY + datetime.timedelta(days=3), 15)
    reschedule_appointment(appointment=booked, starts_at=later, by=front_desk)
    assert rows() == [
        (f"reminder:{booked.pk}:24h", "pending", at(MONDAY + datetime.timedelta(days=2), 15)),
        (f"reminder:{booked.pk}:48h", "pending", at(MONDAY + datetime.timedelta(days=1), 15)),
    ]
    message = OutboxMessage.objects.get(idempotency_key=f"reminder:{booked.pk}:24h")
    assert [e.action for e in message.events.all()] == ["created", "updated"]


def test_a_move_that_fails_leaves_the_reminders_where_they_were(
    booked, patient, rooms, practitioner, front_desk
):
    from scheduling.errors import BookingClash

    other = patient_aged(50, MONDAY, email="c@example.com")
    book_appointment(
        patient=other, practitioner=practitioner, room=rooms[1], starts_at=at(MONDAY, 15), by=front_desk
    )
    before = rows(f"reminder:{booked.pk}:")
    with pytest.raises(BookingClash):
        reschedule_appointment(appointment=booked, starts_at=at(MONDAY, 15), by=front_desk)
    assert rows(f"reminder:{booked.pk}:") == before


def test_shifting_a_series_moves_every_later_sessions_reminders(patient, rooms, practitioner, front_desk):
    series = book_series(
        patient=patient,
        plan=plan_for(age=33),
        slots=[(at(MONDAY + datetime.timedelta(days=14 * i), 10), practitioner, rooms[0]) for i in range(4)],
        by=front_desk,
    )
    second = series.appointments.get(sequence=2)
    shift_rest_of_series(
        appointment=second, starts_at=at(MONDAY + datetime.timedelta(days=15), 11), by=front_desk
    )
    for appointment in series.appointments.filter(sequence__gte=2):
        key = f"reminder:{appointment.pk}:24h"
        due = OutboxMessage.objects.get(idempotency_key=key).due_at
        assert due == at(appointment.local_start.date() - datetime.timedelta(days=1), 11)


def test_cancelling_cancels_the_pending_reminders(booked, front_desk):
    cancel_appointment(appointment=booked, reason="Patient phoned", by=front_desk)
    assert [(key, state) for key, state, _ in rows()] == [
        (f"reminder:{booked.pk}:24h", "cancelled"),
        (f"reminder:{booked.pk}:48h", "cancelled"),
    ]


def test_withdrawing_consent_cancels_pending_reminders_and_giving_it_again_restores_them(
    booked, patient, front_desk
):
    update_patient(patient=patient, by=front_desk, email_consent=False)
    assert {state for _, state, _ in rows()} == {"cancelled"}
    assert patient.history.first().email_consent is False

    update_patient(patient=patient, by=front_desk, email_consent=True)
    assert {state for _, state, _ in rows()} == {"pending"}


def test_a_new_address_goes_to_the_pending_reminders(booked, patient, front_desk):
    update_patient(patient=patient, by=front_desk, email="ana.new@example.com")
    assert set(OutboxMessage.objects.values_list("recipient", flat=True)) == {"ana.new@example.com"}


def test_reminder_already_sent_then_appointment_moved_gets_a_new_reminder(booked, front_desk, smtp_server):
    send_due(f"reminder:{booked.pk}:48h")
    reschedule_appointment(
        appointment=booked, starts_at=at(MONDAY + datetime.timedelta(days=7), 10), by=front_desk
    )
    assert [(key, state) for key, state, _ in rows()] == [
        (f"reminder:{booked.pk}:24h", "pending"),
        (f"reminder:{booked.pk}:48h", "sent"),
        (f"reminder:{booked.pk}:48h:2", "pending"),
    ]


# --- What arrives --------------------------------------------------------------------------------


def test_reminder_arrives_with_recipient_subject_both_parts_links_and_an_ics(
    booked, practitioner, smtp_server
):
    result = send_due(f"reminder:{booked.pk}:24h")

    assert result.sent == 1
    [received] = smtp_server.messages
    assert received["To"] == "ana@example.com"
    day = booked.local_start
    assert (
        received["Subject"]
        == f"Reminder: your appointment at Mesoclinic on {day:%A} {day.day} {day:%B} at 10:00"
    )
    text = received.get_body(("plain",)).get_content()
    html = received.get_body(("html",)).get_content()
    assert f"When:  {day:%A} {day.day} {day:%B %Y} at 10:00 (60 minutes)" in text
    assert "With:  Inês Moura" in text and "Where: Rua das Flores 12, 1200-195 Lisboa, Portugal" in text
    assert "takes about an hour" in text and "numbing cream may be applied" in text
    assert "/scheduling/email/confirm/" in text and "/scheduling/email/cancel/" in text
    assert "/scheduling/email/unsubscribe/" in text
    assert "Confirm I will come" in html and "I cannot come" in html and "Inês Moura" in html
    assert (
        str(received["List-Unsubscribe"])
        .strip()
        .startswith("<http://127.0.0.1:8000/scheduling/email/unsubscribe/")
    )
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    [attachment] = list(received.iter_attachments())
    assert attachment.get_filename() == "appointment.ics"
    assert attachment.get_content_type() == "text/calendar"
    calendar = icalendar.Calendar.from_ical(attachment.get_content())
    assert str(calendar["METHOD"]) == "REQUEST"
    [event] = calendar.walk("VEVENT")
    assert event.decoded("DTSTART") == booked.starts_at
    assert event.decoded("DTEND") == booked.ends_at
    assert str(event["UID"]) == f"appointment-{booked.pk}@mesoclinic.test"
    assert "Rua das Flores 12" in str(event["LOCATION"])
    assert int(event["SEQUENCE"]) == 0


@pytest.mark.parametrize(
    ("minutes", "said"),
    [(30, "It takes 30 minutes."), (60, "It takes 1 hour."), (90, "It takes 1 hour 30 minutes.")],
)
def test_calendar_file_says_how_long_the_appointment_really_takes(
    patient, rooms, practitioner, front_desk, minutes, said
):
    appointment = book_appointment(
        patient=patient,
        practitioner=practitioner,
        room=rooms[0],
        starts_at=at(MONDAY, 10),
        minutes=minutes,
        by=front_desk,
    )
    [event] = icalendar.Calendar.from_ical(ics.calendar_for([appointment])).walk("VEVENT")
    description = str(event["DESCRIPTION"])
    assert said in description
    assert "about an hour" not in description


@pytest.mark.parametrize(
    ("minutes", "words"),
    [
        (1, "1 minute"),
        (45, "45 minutes"),
        (60, "1 hour"),
        (61, "1 hour 1 minute"),
        (150, "2 hours 30 minutes"),
    ],
)
def test_length_in_words(minutes, words):
    assert ics.length_in_words(minutes) == words


def test_reminder_for_a_moved_appointment_carries_the_new_time_and_a_higher_sequence(
    booked, front_desk, smtp_server
):
    reschedule_appointment(appointment=booked, starts_at=at(MONDAY, 16), by=front_desk)
    send_due(f"reminder:{booked.pk}:24h")
    [received] = [m for m in smtp_server.messages if m["Subject"].startswith("Reminder")]
    [attachment] = list(received.iter_attachments())
    [event] = icalendar.Calendar.from_ical(attachment.get_content()).walk("VEVENT")
    assert event.decoded("DTSTART") == at(MONDAY, 16)
    assert int(event["SEQUENCE"]) == 1


def test_builder_drops_a_reminder_whose_appointment_was_cancelled_behind_its_back(booked, smtp_server):
    # A cancellation that did not go through the service (e.g. admin) still stops the reminder.
    from scheduling.models import Appointment

    Appointment.objects.filter(pk=booked.pk).update(state="cancelled")
    result = send_due(f"reminder:{booked.pk}:")
    assert (result.sent, result.cancelled) == (0, 2)
    assert smtp_server.messages == []


def test_confirmed_appointment_reminder_has_no_confirm_button(booked, smtp_server):
    confirm_appointment(appointment=booked, by=None)
    send_due(f"reminder:{booked.pk}:24h")
    [received] = smtp_server.messages
    text = received.get_body(("plain",)).get_content()
    assert "You have confirmed this appointment." in text
    assert "/scheduling/email/confirm/" not in text and "/scheduling/email/cancel/" in text


def test_series_confirmation_lists_every_session_in_one_message_and_one_ics(
    patient, rooms, practitioner, front_desk, smtp_server
):
    series = book_series(
        patient=patient,
        plan=plan_for(age=33),
        slots=[(at(MONDAY + datetime.timedelta(days=14 * i), 10), practitioner, rooms[0]) for i in range(4)],
        by=front_desk,
    )
    assert OutboxMessage.objects.filter(idempotency_key=f"series:{series.pk}:booked").count() == 1
    assert OutboxMessage.objects.filter(kind="reminder").count() == 8

    outbox.dispatch_due()  # the confirmation is due at once; the reminders are not

    [received] = smtp_server.messages
    assert received["Subject"] == f"Your 4 sessions at Mesoclinic, from {MONDAY.day} {MONDAY:%B}"
    text = received.get_body(("plain",)).get_content()
    for appointment in series.appointments.all():
        day = appointment.local_start
        assert f"{appointment.sequence}. {day:%A} {day.day} {day:%B %Y} at 10:00, with Inês Moura" in text
    [attachment] = list(received.iter_attachments())
    events = icalendar.Calendar.from_ical(attachment.get_content()).walk("VEVENT")
    assert sorted(e.decoded("DTSTART") for e in events) == [
        a.starts_at for a in series.appointments.order_by("sequence")
    ]
    assert len({str(e["UID"]) for e in events}) == 4


def test_clinic_moving_an_appointment_sends_a_change_notice_with_the_new_time(
    booked, front_desk, smtp_server
):
    reschedule_appointment(appointment=booked, starts_at=at(MONDAY, 16), by=front_desk)
    [notice] = OutboxMessage.objects.filter(kind="appointment_moved")
    assert notice.idempotency_key == f"change:{booked.pk}:2"
    outbox.dispatch_due()
    [received] = smtp_server.messages
    assert received["Subject"].endswith("has moved to " + f"{MONDAY:%A} {MONDAY.day} {MONDAY:%B} at 16:00")
    [event] = icalendar.Calendar.from_ical(next(received.iter_attachments()).get_content()).walk("VEVENT")
    assert event.decoded("DTSTART") == at(MONDAY, 16)


def test_moving_only_the_room_sends_no_notice(booked, rooms, front_desk):
    reschedule_appointment(appointment=booked, starts_at=booked.starts_at, room=rooms[1], by=front_desk)
    assert not OutboxMessage.objects.filter(kind="appointment_moved").exists()


def test_clinic_cancelling_sends_a_cancel_notice_with_method_cancel(booked, front_desk, smtp_server):
    cancel_appointment(appointment=booked, reason="Practitioner ill", by=front_desk)
    outbox.dispatch_due()
    [received] = smtp_server.messages
    assert received["Subject"].startswith("Cancelled: your appointment at Mesoclinic")
    calendar = icalendar.Calendar.from_ical(next(received.iter_attachments()).get_content())
    assert str(calendar["METHOD"]) == "CANCEL"
    [event] = calendar.walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED" and int(event["SEQUENCE"]) == 1


def test_patient_cancelling_by_link_gets_no_cancel_notice(booked):
    with transaction.atomic():
        cancel_appointment(appointment=booked, reason="Cancelled by the patient by e-mail link", by=None)
    assert not OutboxMessage.objects.filter(kind="appointment_cancelled").exists()


def test_message_id_is_stable_for_the_reminder(booked, smtp_server):
    message = OutboxMessage.objects.get(idempotency_key=f"reminder:{booked.pk}:24h")
    send_due(f"reminder:{booked.pk}:24h")
    [received] = smtp_server.messages
    assert received["Message-ID"] == message.message_id == kinds.message_id_for(message.idempotency_key)
    assert email.utils.parsedate_to_datetime(received["Date"]) is not None


def test_appointment_page_lists_the_e_mails_about_it(client_as, booked, front_desk):
    from django.urls import reverse

    cancel_appointment(appointment=booked, reason="Practitioner ill", by=front_desk)
    page = client_as(front_desk).get(reverse("scheduling:appointment_detail", kwargs={"pk": booked.pk}))
    html = page.content.decode()
    assert "E-mails to the patient" in html
    assert (
        html.count("Appointment reminder</a>") == 2
        and html.count('<span class="badge text-bg-secondary">Cancelled</span>') == 2
    )
    assert "Appointment cancelled</a>" in html and "to ana@example.com" in html
    assert "the patient, by e-mail link" not in html  # front desk cancelled it


def test_consultation_reminder_says_what_a_consultation_is(
    patient, rooms, practitioner, front_desk, smtp_server
):
    appointment = book_appointment(
        patient=patient,
        practitioner=practitioner,
        room=rooms[0],
        starts_at=at(MONDAY, 10),
        kind="consultation",
        by=front_desk,
    )
    send_due(f"reminder:{appointment.pk}:24h")
    text = smtp_server.messages[0].get_body(("plain",)).get_content()
    assert "we talk about your skin, your concerns and your goals" in text
    assert "numbing cream" not in text


def test_new_lead_times_in_the_clinic_settings_apply_to_pending_reminders(booked, client_as, clinic_admin):
    from django.urls import reverse

    from clinic.forms import ClinicSettingsForm

    data = ClinicSettingsForm(instance=ClinicSettings.load()).initial
    data = {k: v for k, v in data.items() if k in ClinicSettingsForm.Meta.fields and k != "id"}
    data["reminder_lead_hours"] = "72,2"
    response = client_as(clinic_admin).post(reverse("clinic:settings"), data)
    assert response.status_code == 302
    assert [(key, state, local(due)) for key, state, due in rows()] == [
        (f"reminder:{booked.pk}:24h", "cancelled", local(at(MONDAY - datetime.timedelta(days=1), 10))),
        (f"reminder:{booked.pk}:2h", "pending", local(at(MONDAY, 8))),
        (f"reminder:{booked.pk}:48h", "cancelled", local(at(MONDAY - datetime.timedelta(days=2), 10))),
        (f"reminder:{booked.pk}:72h", "pending", local(at(MONDAY - datetime.timedelta(days=3), 10))),
    ]
