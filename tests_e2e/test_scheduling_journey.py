"""Front desk plans a four-session series for a 33-year-old from the proposal, books it in one
action, and finds it in the week view."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic.tests.factories import UserFactory
from scheduling.models import Appointment
from scheduling.tests.factories import open_clinic, patient_aged


@pytest.mark.django_db(transaction=True)
def test_front_desk_books_a_series_from_the_proposal_and_sees_it_in_the_week(page, login, screenshots):
    front_desk = UserFactory(username="frontdesk", role="front_desk")
    practitioner = UserFactory(username="ines", first_name="Inês", last_name="Moura", role="practitioner")
    open_clinic(practitioner, rooms=("Treatment room 1", "Treatment room 2"))
    today = timezone.localdate()
    monday = today + datetime.timedelta(days=14 - today.weekday())
    patient_aged(33, monday - datetime.timedelta(days=40), given_name="Marta", family_name="Quintela")

    login(front_desk)
    page.get_by_role("link", name="Plan series").click()
    page.get_by_label("Patient").fill("quintela")
    page.get_by_role("button", name="Find").click()
    page.get_by_role("link", name="Marta Quintela", exact=True).click()

    page.get_by_label("First date").fill(monday.isoformat())
    page.get_by_label("Preferred time").fill("11:00")
    page.get_by_role("button", name="Propose sessions").click()
    expect(page.get_by_text("Proposal: 4 sessions, Ages 30–35: one session every two weeks")).to_be_visible()
    rows = page.locator("table[aria-label='Proposed sessions'] tbody tr")
    expect(rows).to_have_count(4)
    # Each field of a row is named for the session it moves (the planner's labels).
    expect(page.get_by_label("Session 4 date")).to_have_value(
        (monday + datetime.timedelta(days=42)).isoformat()
    )
    # Issue 17: the desk sees that consent is missing, to have it signed on arrival.
    expect(page.locator("[data-consent-status]")).to_contain_text("Consent missing")
    page.screenshot(path=screenshots / "planner-consent-missing.png", full_page=True)

    page.get_by_role("button", name="Book all sessions").click()
    expect(page.get_by_text("Booked 4 sessions for Marta Quintela.")).to_be_visible()
    assert Appointment.objects.filter(patient__family_name="Quintela", state="booked").count() == 4

    # The plain grid (the page without JavaScript and the print view; the board is in
    # test_calendar_board_journey.py), linked from the board.
    page.get_by_role("link", name="Calendar").click()
    page.get_by_role("link", name="Plain grid (print)").click()
    page.get_by_role("link", name="Week", exact=True).click()
    # htmx must be loaded before the form is used: it swaps the calendar in and keeps the address.
    page.wait_for_url("**/scheduling/calendar/?**view=week**", wait_until="load")
    page.get_by_label("Date", exact=True).fill(monday.isoformat())
    page.get_by_label("Practitioner", exact=True).select_option(label="Inês Moura")
    page.get_by_role("button", name="Show").click()
    calendar = page.locator("#calendar")
    expect(calendar.get_by_role("link", name="11:00 Treatment session 1")).to_be_visible()
    expect(calendar.get_by_role("link", name="Marta Quintela", exact=True).first).to_have_attribute(
        "href", re.compile(r"^/patients/\d+/$")
    )

    # Two weeks on (htmx navigation, the address follows): session 2.
    for weeks in (1, 2):
        page.get_by_role("link", name="Next →").click()
        page.wait_for_url(f"**date={monday + datetime.timedelta(days=7 * weeks)}**")
    expect(calendar.get_by_text("Treatment session 2")).to_be_visible()
    assert page.console_errors == []
