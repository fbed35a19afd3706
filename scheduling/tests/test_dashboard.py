"""The dashboard on a day the clinic is closed (why, and the next open day's list), and the
practitioner's past sessions still to record."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from scheduling.models import AppointmentKind, Closure, OpeningHours
from scheduling.services import book_appointment
from scheduling.tests.factories import at, patient_aged, practitioner_user
from treatments import services as clinical
from treatments.tests import factories as clinical_factories
from treatments.tests.test_appointment_sessions import SESSION, booked

pytestmark = pytest.mark.django_db

NEXT_YEAR = timezone.localdate().year + 1
# The first Sunday of March next year, and the Monday after it.
SUNDAY = datetime.date(NEXT_YEAR, 3, 1) + datetime.timedelta(
    days=(6 - datetime.date(NEXT_YEAR, 3, 1).weekday()) % 7
)
MONDAY = SUNDAY + datetime.timedelta(days=1)


@pytest.fixture
def today_is(monkeypatch):
    def set_today(day):
        monkeypatch.setattr("scheduling.selectors.local_today", lambda: day)
        monkeypatch.setattr("treatments.selectors.local_today", lambda: day)

    return set_today


def appointments_panel(client) -> str:
    html = client.get(reverse("clinic:dashboard")).text
    start = html.index('aria-labelledby="today-appointments"')
    return html[start : html.index("</section>", start)]


def book(practitioner, room, day, hour, name, front_desk):
    patient = patient_aged(40, day, given_name=name, family_name="Teixeira")
    return book_appointment(
        patient=patient, practitioner=practitioner, room=room, starts_at=at(day, hour), by=front_desk
    )


def test_on_a_closed_weekday_the_dashboard_says_so_and_lists_the_next_open_day(
    client_as, front_desk, practitioner, rooms, today_is
):
    today_is(SUNDAY)
    book(practitioner, rooms[0], MONDAY, 10, "Beatriz", front_desk)
    book(practitioner, rooms[1], MONDAY, 11, "Carolina", front_desk)
    html = appointments_panel(client_as(front_desk))
    assert "The clinic is closed today." in html
    assert "Clinic closed on Sundays." in html
    assert f"Appointments on Monday {MONDAY.day} March, the next open day" in html
    assert html.index("Beatriz Teixeira") < html.index("Carolina Teixeira")
    assert "No appointments today." not in html


def test_on_a_closure_the_practitioner_sees_the_reason_and_their_own_next_appointments(
    client_as, front_desk, practitioner, rooms, today_is
):
    colleague = practitioner_user()
    from scheduling.tests.factories import open_clinic

    open_clinic(colleague)
    Closure.objects.create(date=MONDAY, reason="Carnival")
    tuesday = MONDAY + datetime.timedelta(days=1)
    today_is(MONDAY)
    book(practitioner, rooms[0], tuesday, 10, "Beatriz", front_desk)
    book(colleague, rooms[1], tuesday, 10, "Dalila", front_desk)
    html = appointments_panel(client_as(practitioner))
    assert "The clinic is closed today." in html and "Clinic closed (Carnival)." in html
    assert f"Your appointments on Tuesday {tuesday.day} March, the next open day" in html
    assert "Beatriz Teixeira" in html and "Dalila Teixeira" not in html


def test_a_closed_day_before_an_empty_open_day_says_nothing_is_booked_yet(
    client_as, front_desk, rooms, today_is
):
    today_is(SUNDAY)
    html = appointments_panel(client_as(front_desk))
    assert f"Appointments on Monday {MONDAY.day} March, the next open day" in html
    assert "None booked yet." in html
    assert f"date={MONDAY:%Y-%m-%d}" in html  # the calendar link opens that day


def test_a_clinic_with_no_opening_hours_says_it_has_no_open_day_ahead(client_as, front_desk, today_is):
    OpeningHours.objects.all().delete()
    today_is(SUNDAY)
    html = appointments_panel(client_as(front_desk))
    assert "The clinic is closed today." in html
    assert "no open day in the next two months" in html


def test_appointments_still_booked_on_a_day_closed_later_are_listed_with_the_closure(
    client_as, front_desk, practitioner, rooms, today_is
):
    book(practitioner, rooms[0], MONDAY, 10, "Beatriz", front_desk)
    Closure.objects.create(date=MONDAY, reason="Power cut")
    today_is(MONDAY)
    html = appointments_panel(client_as(front_desk))
    assert "Clinic closed (Power cut). These appointments are still booked for today:" in html
    assert "Beatriz Teixeira" in html
    assert "the next open day" in html


def test_an_open_day_without_appointments_still_says_so(client_as, front_desk, rooms, today_is):
    today_is(MONDAY)
    html = appointments_panel(client_as(front_desk))
    assert "No appointments today." in html and "closed" not in html


# ---------------------------------------------------------------- past sessions still to record


def test_the_practitioner_dashboard_lists_past_sessions_still_to_record(client_as, practitioner):
    formulation = clinical_factories.formulation(practitioner)
    patient = formulation.patient
    to_record = booked(practitioner, patient, hours_ago=48)
    done = booked(practitioner, patient, hours_ago=72)
    record = clinical.record_session(
        formulation=formulation,
        by=practitioner,
        appointment=done,
        **SESSION,
        performed_at=done.starts_at,
        lots=clinical_factories.lots_for(formulation),
    )
    clinical.mark_session_done(session_record=record, by=practitioner)
    booked(practitioner, patient, hours_ago=96, state="cancelled")
    booked(practitioner, patient, hours_ago=120, state="no_show")
    booked(practitioner, patient, hours_ago=144, kind=AppointmentKind.CONSULTATION)
    booked(practitioner_user(), patient, hours_ago=168)
    html = client_as(practitioner).get(reverse("clinic:dashboard")).text
    record_url = reverse("treatments:appointment_session", args=[to_record.pk])
    assert html.count("Session to record · ") == 1
    assert f'<a href="{record_url}">Session to record · {patient.full_name}</a>' in html


def test_sessions_to_record_run_a_bounded_number_of_queries(
    client_as, practitioner, django_assert_max_num_queries
):
    patient = clinical_factories.patient()
    for days in range(2, 17):
        booked(practitioner, patient, hours_ago=24 * days)
    client = client_as(practitioner)
    client.get(reverse("clinic:dashboard"))  # warm the session and the clinic settings row
    # The whole dashboard, every panel; 5 of them for the appointments the hours no longer hold (the
    # next 90 days' upcoming ones, then the hours of their days: rule `stranded-appointments`).
    with django_assert_max_num_queries(17):
        html = client.get(reverse("clinic:dashboard")).text
    assert html.count("Session to record · ") == 10
    assert "15 past sessions still to record in all; the 10 most recent are listed." in html
