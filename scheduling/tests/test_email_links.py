"""The confirm, cancel and unsubscribe links in patients' e-mails: one button on GET, act on POST,
once; expired, tampered and outdated links get a clear page (docs/design.md, "Links in e-mails")."""

import datetime
import re

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from outbox import services as outbox
from outbox.models import OutboxMessage
from scheduling import email_links
from scheduling.email_views import PATIENT_CANCEL_REASON
from scheduling.models import AppointmentStateChange
from scheduling.services import book_appointment, cancel_appointment, reschedule_appointment
from scheduling.tests.factories import at, patient_aged

MONDAY = datetime.date(timezone.localdate().year + 1, 2, 1)
MONDAY += datetime.timedelta(days=(7 - MONDAY.weekday()) % 7)


@pytest.fixture
def patient(db):
    return patient_aged(33, MONDAY, email="ana@example.com")


@pytest.fixture
def booked(patient, rooms, practitioner, front_desk):
    return book_appointment(
        patient=patient, practitioner=practitioner, room=rooms[0], starts_at=at(MONDAY, 10), by=front_desk
    )


def path(appointment, action):
    return reverse(
        f"scheduling:email_{action}", kwargs={"token": email_links.appointment_token(appointment, action)}
    )


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_links_from_a_received_reminder_confirm_once_then_say_so(client, booked, smtp_server):
    OutboxMessage.objects.filter(idempotency_key=f"reminder:{booked.pk}:24h").update(due_at=timezone.now())
    outbox.dispatch_due()
    [received] = smtp_server.messages
    body = received.get_body(("plain",)).get_content()
    confirm_url = re.search(r"http://127\.0\.0\.1:8000(/scheduling/email/confirm/\S+)", body).group(1)

    page = client.get(confirm_url)
    assert page.status_code == 200
    assert "Confirm your appointment" in text(page)
    assert text(page).count('type="submit"') == 1  # one button, nothing acts on GET
    booked.refresh_from_db()
    assert booked.state == "booked"

    done = client.post(confirm_url)
    assert "Thank you: your appointment is confirmed" in text(done)
    booked.refresh_from_db()
    assert booked.state == "confirmed"
    assert (
        AppointmentStateChange.objects.filter(appointment=booked, to_state="confirmed", by=None).count() == 1
    )

    again = client.post(confirm_url)
    assert "Already confirmed" in text(again) and "This link was already used" in text(again)
    assert AppointmentStateChange.objects.filter(appointment=booked, to_state="confirmed").count() == 1


def test_cancel_link_cancels_once_frees_the_slot_and_shows_on_the_dashboard(
    client, client_as, booked, front_desk
):
    url = path(booked, "cancel")
    page = client.get(url)
    assert "Cancel your appointment?" in text(page) and text(page).count('type="submit"') == 1

    done = client.post(url)
    assert "Your appointment is cancelled" in text(done)
    booked.refresh_from_db()
    assert (booked.state, booked.cancel_reason) == ("cancelled", PATIENT_CANCEL_REASON)
    assert set(OutboxMessage.objects.filter(kind="reminder").values_list("state", flat=True)) == {"cancelled"}
    assert not OutboxMessage.objects.filter(kind="appointment_cancelled").exists()

    again = client.post(url)
    assert "Already cancelled" in text(again)
    assert AppointmentStateChange.objects.filter(appointment=booked, to_state="cancelled").count() == 1

    dashboard = client_as(front_desk).get(reverse("clinic:dashboard"))
    assert "Cancelled by patients" in text(dashboard)
    assert booked.patient.full_name in text(dashboard)


def test_cancel_after_confirming_still_works(client, booked):
    client.post(path(booked, "confirm"))
    client.post(path(booked, "cancel"))
    booked.refresh_from_db()
    assert booked.state == "cancelled"


def test_confirm_link_after_a_cancellation_says_it_was_cancelled(client, booked, front_desk):
    url = path(booked, "confirm")
    cancel_appointment(appointment=booked, reason="Clinic closed", by=front_desk)
    response = client.post(url)
    assert "This appointment was cancelled" in text(response)
    booked.refresh_from_db()
    assert booked.state == "cancelled"


def test_old_link_cannot_act_on_a_moved_appointment(client, booked, front_desk):
    old_cancel = path(booked, "cancel")
    reschedule_appointment(appointment=booked, starts_at=at(MONDAY, 15), by=front_desk)
    response = client.post(old_cancel)
    assert response.status_code == 409
    assert "Your appointment has changed" in text(response)
    assert f"{MONDAY.day} {MONDAY:%b %Y} at 15:00" in text(response)
    booked.refresh_from_db()
    assert booked.state == "booked"


def test_tampered_link_shows_a_clear_page(client, booked):
    url = path(booked, "cancel")
    response = client.get(url[:-6] + "AAAAA/")
    assert response.status_code == 400
    assert "The link is incomplete or was changed" in text(response)
    assert client.post(url[:-6] + "AAAAA/").status_code == 400


def test_confirm_token_does_not_work_as_a_cancel_token(client, booked):
    token = email_links.appointment_token(booked, "confirm")
    response = client.post(reverse("scheduling:email_cancel", kwargs={"token": token}))
    assert response.status_code == 400
    booked.refresh_from_db()
    assert booked.state == "booked"


def test_link_expires_when_the_appointment_starts(client, booked):
    token = signing.dumps(
        {"a": booked.pk, "f": email_links.fingerprint(booked), "e": int(timezone.now().timestamp()) - 1},
        salt="mesoclinic.email.appointment.cancel",
        compress=True,
    )
    response = client.post(reverse("scheduling:email_cancel", kwargs={"token": token}))
    assert response.status_code == 410
    assert "This link has expired" in text(response)
    booked.refresh_from_db()
    assert booked.state == "booked"


def test_link_to_an_appointment_that_does_not_exist(client, booked):
    token = signing.dumps(
        {"a": booked.pk + 1000, "f": "x", "e": int(booked.starts_at.timestamp())},
        salt="mesoclinic.email.appointment.confirm",
        compress=True,
    )
    response = client.get(reverse("scheduling:email_confirm", kwargs={"token": token}))
    assert response.status_code == 400
    assert "We could not find this appointment" in text(response)


def test_token_holds_no_patient_data(booked):
    payload = signing.loads(
        email_links.appointment_token(booked, "cancel"), salt="mesoclinic.email.appointment.cancel"
    )
    assert set(payload) == {"a", "f", "e"}
    assert booked.patient.email not in str(payload) and booked.patient.family_name not in str(payload)


def test_unsubscribe_withdraws_consent_with_history_and_cancels_reminders(client, booked, patient):
    url = reverse("scheduling:email_unsubscribe", kwargs={"token": email_links.unsubscribe_token(patient)})
    page = client.get(url)
    assert "Stop e-mails from the clinic?" in text(page)
    patient.refresh_from_db()
    assert patient.email_consent is True

    client.post(url)
    patient.refresh_from_db()
    assert patient.email_consent is False and patient.email_consent_changed_at is not None
    latest = patient.history.first()
    assert (latest.email_consent, latest.history_change_reason) == (
        False,
        "The patient (unsubscribe link in an e-mail)",
    )
    assert set(OutboxMessage.objects.filter(kind="reminder").values_list("state", flat=True)) == {"cancelled"}
    assert "You will not receive e-mails" in text(client.post(url))


def test_one_click_unsubscribe_needs_no_csrf_cookie(booked, patient):
    from django.test import Client

    url = reverse("scheduling:email_unsubscribe", kwargs={"token": email_links.unsubscribe_token(patient)})
    response = Client(enforce_csrf_checks=True).post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    patient.refresh_from_db()
    assert patient.email_consent is False


def test_confirm_and_cancel_posts_need_the_csrf_token(booked):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(path(booked, "cancel"))
    assert response.status_code == 403
    booked.refresh_from_db()
    assert booked.state == "booked"


def test_patient_page_history_says_the_patient_withdrew_consent(
    client, client_as, booked, patient, front_desk
):
    client.post(
        reverse("scheduling:email_unsubscribe", kwargs={"token": email_links.unsubscribe_token(patient)})
    )
    from patients.selectors import patient_history

    latest = patient_history(patient)[0]
    assert (latest.who, latest.action) == ("The patient (unsubscribe link in an e-mail)", "changed")
    assert [(c.old, c.new) for c in latest.changes] == [("Yes", "No")]


def test_a_move_between_reading_the_link_and_acting_on_it_wins(client, booked, front_desk, monkeypatch):
    """The POST re-checks the fingerprint on the locked row: the clinic's newer move is never undone."""
    token = email_links.appointment_token(booked, "cancel")
    stale = email_links.read_appointment_token(token, "cancel")  # read before the move
    reschedule_appointment(appointment=booked, starts_at=at(MONDAY, 15), by=front_desk)
    reads = iter([stale])
    real_read = email_links.read_appointment_token
    monkeypatch.setattr(
        email_links, "read_appointment_token", lambda t, a: next(reads, None) or real_read(t, a)
    )

    response = client.post(reverse("scheduling:email_cancel", kwargs={"token": token}))

    assert "Your appointment has changed" in text(response)
    booked.refresh_from_db()
    assert booked.state == "booked"


@pytest.mark.parametrize("action", ["confirm", "cancel"])
def test_staff_see_an_appointment_the_patient_changed_by_link(client, booked, front_desk, action):
    """A state change made by the patient's link has no user: the history names the patient, no 500."""
    client.post(path(booked, action))
    assert AppointmentStateChange.objects.filter(appointment=booked, by=None).exists()
    client.force_login(front_desk)
    response = client.get(reverse("scheduling:appointment_detail", args=[booked.pk]))
    assert response.status_code == 200
    assert "the patient, by e-mail link" in response.content.decode()
