"""Journey: a patient opens the cancel link from a reminder they received, sees one button, cancels,
and front desk finds the cancellation on the dashboard."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic.tests.factories import UserFactory
from outbox import services as outbox
from outbox.models import OutboxMessage
from scheduling.models import Appointment
from scheduling.services import book_appointment
from scheduling.tests.factories import at, open_clinic, patient_aged


@pytest.mark.django_db(transaction=True)
def test_patient_cancels_from_the_e_mail_and_front_desk_sees_it(page, login, smtp_server, screenshots):
    front_desk = UserFactory(username="frontdesk", role="front_desk")
    practitioner = UserFactory(username="ines", first_name="Inês", last_name="Moura", role="practitioner")
    rooms = open_clinic(practitioner)
    day = timezone.localdate() + datetime.timedelta(days=9)
    day += datetime.timedelta(days=(7 - day.weekday()) % 7)
    patient = patient_aged(33, day, given_name="Marta", family_name="Quintela", email="marta@example.com")
    appointment = book_appointment(
        patient=patient, practitioner=practitioner, room=rooms[0], starts_at=at(day, 11), by=front_desk
    )
    OutboxMessage.objects.filter(idempotency_key=f"reminder:{appointment.pk}:24h").update(
        due_at=timezone.now()
    )
    outbox.dispatch_due()
    [received] = smtp_server.messages
    body = received.get_body(("plain",)).get_content()
    cancel_path = re.search(r"https?://[^/\s]+(/scheduling/email/cancel/\S+)", body).group(1)

    page.goto(cancel_path)
    expect(page.get_by_role("heading", name="Cancel your appointment?")).to_be_visible()
    expect(page.get_by_role("button")).to_have_count(1)
    page.screenshot(path=screenshots / "email-cancel-page.png", full_page=True)
    assert Appointment.objects.get(pk=appointment.pk).state == "booked"  # opening the link changes nothing
    page.get_by_role("button", name="Cancel my appointment").click()
    expect(page.get_by_role("heading", name="Your appointment is cancelled")).to_be_visible()
    page.screenshot(path=screenshots / "email-cancel-done.png", full_page=True)
    assert Appointment.objects.get(pk=appointment.pk).state == "cancelled"

    page.goto(cancel_path)
    expect(page.get_by_role("heading", name="Already cancelled")).to_be_visible()
    expect(page.get_by_role("button")).to_have_count(0)

    login(front_desk)
    panel = page.locator("section", has=page.get_by_role("heading", name="Cancelled by patients"))
    expect(panel.get_by_role("link", name="Marta Quintela")).to_be_visible()
    expect(panel).to_contain_text("11:00")
    page.screenshot(path=screenshots / "dashboard-cancelled-by-patients.png", full_page=True)
    assert page.console_errors == []
