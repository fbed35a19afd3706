"""Every scheduling page that names a patient links to the patient page (one product, not three)."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from scheduling.planner import plan_for
from scheduling.services import book_series
from scheduling.tests.factories import at, patient_aged

pytestmark = pytest.mark.django_db


@pytest.fixture
def series(front_desk, practitioner, rooms):
    today = timezone.localdate()
    monday = today + datetime.timedelta(days=14 - today.weekday())
    patient = patient_aged(33, monday)
    slots = [(at(monday + datetime.timedelta(days=14 * i), 10), practitioner, rooms[0]) for i in range(4)]
    return book_series(patient=patient, plan=plan_for(age=33), slots=slots, by=front_desk)


@pytest.mark.parametrize(
    "page",
    [
        lambda s: reverse("scheduling:appointment_detail", args=[s.appointments.get(sequence=1).pk]),
        lambda s: reverse("scheduling:series_detail", args=[s.pk]),
        lambda s: (
            f"{reverse('scheduling:calendar')}?view=week&date={s.appointments.first().starts_at.date()}"
        ),
        lambda s: f"{reverse('scheduling:plan')}?patient={s.patient_id}",
        lambda s: f"{reverse('scheduling:appointment_new')}?patient={s.patient_id}",
    ],
    ids=["appointment", "series", "calendar", "planner", "booking"],
)
def test_scheduling_pages_link_to_the_patient_page(client_as, front_desk, series, page):
    html = client_as(front_desk).get(page(series)).content.decode()
    assert f'href="{reverse("patients:detail", args=[series.patient_id])}"' in html
