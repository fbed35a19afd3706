"""The patient page is cached (clinic/fragments.py): it must never show less than a fresh render.

Each change the page shows, made the way staff make it (services, the admin's saves), is made after
the page was cached, and the next view must show it. The root conftest turns the cache on for every
test, so the rest of the suite checks this too; here it is checked on purpose, one change at a time.
"""

import datetime
import re
from decimal import Decimal

import pytest

from patients.models import Contraindication
from patients.services import update_patient, update_screening
from scheduling.models import Room
from scheduling.services import book_appointment, cancel_appointment
from scheduling.tests.factories import at, open_clinic
from treatments import services as treatment_services
from treatments.models import Ingredient
from treatments.services import LineInput
from treatments.tests.factories import VITAMIN_C, ZINC, formulation, signed_consultation

pytestmark = pytest.mark.django_db

DAY = datetime.date(2027, 3, 1)  # a Monday, in the future


@pytest.fixture
def world(practitioner):
    room = open_clinic(practitioner)[0]
    consultation = signed_consultation(practitioner)
    return {"patient": consultation.patient, "consultation": consultation, "room": room}


def _page(client, patient) -> str:
    response = client.get(patient.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def test_a_second_view_comes_from_the_cache(client_as, practitioner, world, django_assert_max_num_queries):
    client = client_as(practitioner)
    first = _page(client, world["patient"])
    # The session (when not in Redis), the user with their roles, the access-log row of this clinical
    # read and its place in the audit sealer's queue (clinic/audit.py): nothing else, not even the
    # patient row (a cached copy proves the patient exists).
    with django_assert_max_num_queries(4):
        second = _page(client, world["patient"])
    # Identical but for the CSRF token, which Django masks afresh on every response.
    assert _unmasked(second) == _unmasked(first)


def _unmasked(page: str) -> str:
    return re.sub(r'(X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]+', r"\1", page)


@pytest.fixture
def fragment_writes(monkeypatch):
    """{key: timeout} of every fragment stored in the cache during the test."""
    from clinic import fragments

    stored = {}
    real_set = fragments.cache.set

    def spy(key, value, timeout=None, **kwargs):
        if key.startswith("fragment:"):
            stored[key] = timeout
        return real_set(key, value, timeout, **kwargs)

    monkeypatch.setattr(fragments.cache, "set", spy)
    return stored


def test_an_unknown_patient_is_a_404_and_nothing_is_cached(client_as, practitioner, fragment_writes):
    client = client_as(practitioner)
    assert client.get("/patients/999999/").status_code == 404
    assert client.get("/patients/999999/").status_code == 404
    assert fragment_writes == {}


def _rename_patient(practitioner, w):
    update_patient(patient=w["patient"], by=practitioner, notes="Prefers late afternoons")
    return "Prefers late afternoons"


def _screening(practitioner, w):
    update_screening(
        patient=w["patient"],
        by=practitioner,
        allergen_groups=[],
        allergy_notes="Reacts to nickel",
        current_medications="",
        fitzpatrick_type="",
        answers={Contraindication.KELOID: ("no", datetime.date(2026, 3, 2))},
    )
    return "Reacts to nickel"


def _new_consultation(practitioner, w):
    signed_consultation(practitioner, w["patient"], date=datetime.date(2026, 9, 17))
    return "17/09/2026"


def _new_formulation(practitioner, w):
    formulation(
        practitioner,
        consultation=w["consultation"],
        lines=[LineInput(ingredient=Ingredient.objects.get(name=ZINC), amount=Decimal("1"))],
    )
    return ZINC


def _session_recorded(practitioner, w):
    made = formulation(
        practitioner,
        consultation=w["consultation"],
        lines=[LineInput(ingredient=Ingredient.objects.get(name=VITAMIN_C), amount=Decimal("100"))],
    )
    treatment_services.record_session(
        formulation=made,
        by=practitioner,
        areas=["face"],
        technique="needle",
        needle_gauge="32G",
        volume_ml=Decimal("3"),
        pain_score=2,
        performed_at=datetime.datetime(2026, 10, 6, 10, tzinfo=datetime.UTC),
    )
    return "06/10/2026"


def _booked(practitioner, w):
    book_appointment(
        patient=w["patient"],
        practitioner=practitioner,
        room=w["room"],
        starts_at=at(DAY, 10),
        by=practitioner,
    )
    return "Mon 1 Mar 2027, 10:00"


def _practitioner_renamed(practitioner, w):
    practitioner.last_name = "Vasconcelos-Renamed"
    practitioner.save()
    return "Vasconcelos-Renamed"


CHANGES = {
    "patient details": _rename_patient,
    "screening": _screening,
    "a new consultation": _new_consultation,
    "a new formulation": _new_formulation,
    "a session recorded": _session_recorded,
    "an appointment booked": _booked,
}


@pytest.mark.parametrize("change", CHANGES)
def test_every_change_the_page_shows_retires_the_cached_page(client_as, practitioner, world, change):
    client = client_as(practitioner)
    before = _page(client, world["patient"])
    expected = CHANGES[change](practitioner, world)
    assert expected not in before
    assert expected in _page(client, world["patient"])


def test_a_cancelled_appointment_leaves_the_cached_page(client_as, practitioner, world):
    appointment = book_appointment(
        patient=world["patient"],
        practitioner=practitioner,
        room=world["room"],
        starts_at=at(DAY, 11),
        by=practitioner,
    )
    client = client_as(practitioner)
    assert "Mon 1 Mar 2027, 11:00" in _page(client, world["patient"])
    cancel_appointment(appointment=appointment, reason="Patient is travelling", by=practitioner)
    assert "Mon 1 Mar 2027, 11:00" not in _page(client, world["patient"])


def test_reference_data_renamed_in_the_admin_retires_every_cached_page(client_as, practitioner, world):
    """Names the page shows but the patient does not own: rooms and staff (saved as the admin saves)."""
    _booked(practitioner, world)
    client = client_as(practitioner)
    assert "Room 1" in _page(client, world["patient"])
    room = Room.objects.get(pk=world["room"].pk)
    room.name = "Sala Azul"
    room.save()
    assert "Sala Azul" in _page(client, world["patient"])
    expected = _practitioner_renamed(practitioner, world)
    assert expected in _page(client, world["patient"])


def test_logging_in_does_not_retire_cached_pages(client, practitioner, world):
    """Login stamps the user's last_login, which no page shows: it must not empty the cache."""
    from clinic import fragments

    keys = ["fragment-generation:reference", f"fragment-generation:patient:{world['patient'].pk}"]
    client.force_login(practitioner)
    _page(client, world["patient"])
    generations = fragments.cache.get_many(keys)
    # django-axes needs the request to count failures by address (a bare HttpRequest here).
    from django.http import HttpRequest

    assert client.login(request=HttpRequest(), username=practitioner.username, password="mesoclinic")
    assert fragments.cache.get_many(keys) == generations


def test_each_role_gets_its_own_cached_page(client_as, practitioner, front_desk, world):
    assert "Clinical summary" in _page(client_as(practitioner), world["patient"])
    front_desk_page = _page(client_as(front_desk), world["patient"])
    assert "Clinical summary" not in front_desk_page
    assert world["patient"].chart_number in front_desk_page


def test_a_page_listing_an_appointment_is_not_cached_past_its_end(
    client_as, practitioner, world, monkeypatch, fragment_writes
):
    """Upcoming appointments leave the page when they end, which no write announces."""
    appointment = book_appointment(
        patient=world["patient"],
        practitioner=practitioner,
        room=world["room"],
        starts_at=at(DAY, 10),
        by=practitioner,
    )
    monkeypatch.setattr("django.conf.settings.FRAGMENT_CACHE_SECONDS", 10**9)
    from django.utils import timezone

    # The time left is read before and after the request: the page reads it somewhere in between.
    left_before = (appointment.ends_at - timezone.now()).total_seconds()
    _page(client_as(practitioner), world["patient"])
    left_after = (appointment.ends_at - timezone.now()).total_seconds()
    (timeout,) = fragment_writes.values()
    assert left_after - 5 <= timeout <= left_before
