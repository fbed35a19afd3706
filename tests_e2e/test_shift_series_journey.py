"""Journey (issue 15, rule `shift-rest-of-series`, docs/clinical-rules.md): front desk shifts the rest of
a series through the preview of every session, and the patient's ONE change notice, with one .ics of
every moved session, is read at a real SMTP server."""

import datetime
import os

import icalendar
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic.tests.factories import UserFactory
from outbox import services as outbox
from scheduling.planner import plan_for
from scheduling.services import book_series
from scheduling.tests.factories import at, open_clinic, patient_aged

SHOTS = os.environ.get("E2E_SCREENSHOTS")


def shot(page, name):
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


@pytest.mark.django_db(transaction=True)
def test_front_desk_shifts_the_rest_of_a_series_and_the_patient_gets_one_notice(page, login, smtp_server):
    front_desk = UserFactory(username="frontdesk", role="front_desk")
    practitioner = UserFactory(username="ines", first_name="Inês", last_name="Moura", role="practitioner")
    rooms = open_clinic(practitioner, rooms=("Treatment room 1", "Treatment room 2"))
    today = timezone.localdate()
    monday = today + datetime.timedelta(days=14 - today.weekday())
    patient = patient_aged(
        33, monday, given_name="Marta", family_name="Quintela", email="marta@example.com", email_consent=True
    )
    series = book_series(
        patient=patient,
        plan=plan_for(age=33),
        slots=[(at(monday + datetime.timedelta(days=14 * i), 10), practitioner, rooms[0]) for i in range(4)],
        by=front_desk,
    )
    outbox.dispatch_due()  # the series confirmation goes first
    smtp_server.envelopes.clear()
    second = series.appointments.get(sequence=2)

    login(front_desk)
    page.goto(f"/scheduling/appointments/{second.pk}/")
    page.get_by_role("link", name="Reschedule").click()
    tuesday = monday + datetime.timedelta(days=15)
    page.get_by_label("Date").fill(tuesday.isoformat())
    page.get_by_label("Time").fill("11:00")
    page.get_by_label("Shift the rest of the series by the same amount").check()
    page.get_by_role("button", name="Move (or preview the shift)").click()

    preview = page.locator("#shift-preview")
    expect(preview.locator("tbody tr")).to_have_count(3)
    expect(preview).to_contain_text("nothing moved yet")
    shot(page, "shift-preview")
    assert series.appointments.get(sequence=2).starts_at == second.starts_at  # nothing moved yet

    page.get_by_role("button", name="Move all 3 sessions").click()
    expect(page.locator(".messages")).to_contain_text("Moved 3 sessions")
    expect(page.locator("main")).to_contain_text("moved from")
    shot(page, "shift-done-history")

    outbox.dispatch_due()
    [notice] = smtp_server.messages
    assert notice["To"] == "marta@example.com" and "have moved" in notice["Subject"]
    body = notice.get_body(("plain",)).get_content()
    for number in (2, 3, 4):
        assert f"Session {number}:" in body
    [ics] = list(notice.iter_attachments())
    starts = sorted(
        e.decoded("DTSTART") for e in icalendar.Calendar.from_ical(ics.get_content()).walk("VEVENT")
    )
    assert starts == [at(tuesday + datetime.timedelta(days=14 * i), 11) for i in range(3)]
    assert page.console_errors == []


@pytest.mark.django_db(transaction=True)
def test_shortening_the_hours_lists_the_stranded_booking_and_the_dashboard_flags_it(page, login):
    """Rule `stranded-appointments`: the admin's change asks to confirm; the booking is then flagged."""
    from scheduling.models import OpeningHours
    from scheduling.services import book_appointment

    front_desk = UserFactory(username="frontdesk", role="front_desk")
    admin = UserFactory(username="admin", role="clinic_admin", is_staff=True)
    practitioner = UserFactory(username="ines", first_name="Inês", last_name="Moura", role="practitioner")
    rooms = open_clinic(practitioner, rooms=("Treatment room 1",))
    today = timezone.localdate()
    monday = today + datetime.timedelta(days=7 - today.weekday())
    patient = patient_aged(40, monday, given_name="Rui", family_name="Sousa")
    book_appointment(
        patient=patient, practitioner=practitioner, room=rooms[0], starts_at=at(monday, 16), by=front_desk
    )

    login(admin)
    page.goto(f"/admin/scheduling/openinghours/{OpeningHours.objects.get(weekday=0).pk}/change/")
    page.locator("#id_closes").fill("13:00")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".errornote, .errorlist").first).to_be_visible()
    expect(page.locator("main, #content").first).to_contain_text("This change leaves 1 booked appointment")
    expect(page.locator("main, #content").first).to_contain_text("Rui Sousa")
    shot(page, "stranding-admin-asks")
    page.get_by_label("Save anyway").check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist, .messages").first).to_be_visible()

    page.context.clear_cookies()
    # Django's own admin pages name no icon, so the browser asks for /favicon.ico (404): not ours.
    page.console_errors[:] = [e for e in page.console_errors if "404" not in e]
    login(front_desk)
    page.goto("/")
    warning = page.locator("#stranded-appointments")
    expect(warning).to_contain_text("1 booked appointment is now outside the clinic's hours")
    expect(warning.get_by_role("link")).to_contain_text("Rui Sousa")
    shot(page, "stranding-dashboard")
    page.goto(f"/scheduling/calendar/?view=week&date={monday.isoformat()}")
    expect(page.locator("#calendar")).to_contain_text("Outside hours: move it")
    shot(page, "stranding-calendar")
    assert page.console_errors == []
