"""The demo always gives the next open day a believable list, with sessions still to record, whatever
day it is built on (issue 13): a Sunday, a closure, an evening after closing."""

import datetime

import pytest
from django.utils import timezone

from clinic.clock import local_datetime, to_local
from clinic.demo import create_demo_users
from patients.tests.factories import PatientFactory
from scheduling.demo import build_next_open_day, set_up_clinic
from scheduling.models import Appointment, AppointmentKind, Closure

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    users = create_demo_users()
    set_up_clinic()
    patients = [PatientFactory(email=f"next{n}@example.com") for n in range(12)]
    return users, patients


def a_future_sunday() -> datetime.date:
    today = timezone.localdate() + datetime.timedelta(days=14)
    return today + datetime.timedelta(days=6 - today.weekday())


def build_on(clinic, now):
    users, patients = clinic
    return build_next_open_day(now=now, patients=patients, by=users["frontdesk"])


def day_list(day):
    return [a for a in Appointment.objects.order_by("starts_at") if to_local(a.starts_at).date() == day]


def test_built_on_a_sunday_the_monday_has_its_list_and_sessions_to_record(clinic):
    sunday = a_future_sunday()
    made = build_on(clinic, local_datetime(sunday, datetime.time(11)))
    monday = sunday + datetime.timedelta(days=1)
    assert made["day"] == monday
    assert day_list(sunday) == []
    listed = day_list(monday)
    assert len(listed) >= 8 and {a.practitioner.username for a in listed} >= {"practitioner", "practitioner2"}
    assert all(a.state == "booked" for a in listed)
    to_record = [a for a in made["to_record"] if a.practitioner.username == "practitioner"]
    assert len(to_record) == 2
    assert all(
        a.kind == AppointmentKind.TREATMENT and to_local(a.starts_at).date() < sunday for a in to_record
    )


def test_built_the_day_before_a_closure_the_list_goes_to_the_day_after(clinic):
    sunday = a_future_sunday()
    monday = sunday + datetime.timedelta(days=1)
    Closure.objects.create(date=monday, reason="Staff training day", kind=Closure.Kind.ONE_OFF)
    made = build_on(clinic, local_datetime(sunday, datetime.time(11)))
    assert made["day"] == monday + datetime.timedelta(days=1)
    assert day_list(monday) == []
    assert len(day_list(monday + datetime.timedelta(days=1))) >= 8


def test_built_at_midday_the_morning_is_to_record_and_the_afternoon_ahead(clinic):
    monday = a_future_sunday() + datetime.timedelta(days=1)
    made = build_on(clinic, local_datetime(monday, datetime.time(13, 30)))
    assert made["day"] == monday
    assert made["appointments"] and all(a.state == "booked" for a in made["appointments"])
    today_done = [a for a in made["to_record"] if to_local(a.starts_at).date() == monday]
    assert today_done and {a.state for a in today_done} <= {"completed", "arrived"}


def test_built_after_closing_the_next_open_day_has_the_list(clinic):
    monday = a_future_sunday() + datetime.timedelta(days=1)
    made = build_on(clinic, local_datetime(monday, datetime.time(21)))
    assert made["day"] == monday + datetime.timedelta(days=1)
    assert len(made["appointments"]) >= 8
