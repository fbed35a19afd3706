"""Demo patients: 200, several locales and accents, ages across and outside the bands, deterministic."""

import io

import pytest
from django.core.validators import validate_email
from django.utils import timezone

from clinic.tests.factories import UserFactory
from patients import demo
from patients.models import Patient, Screening, ScreeningAnswer

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_staff():
    UserFactory(username="frontdesk", role="front_desk")
    UserFactory(username="practitioner", role="practitioner")


def snapshot():
    return list(
        Patient.objects.order_by("chart_number").values_list(
            "chart_number", "given_name", "family_name", "date_of_birth", "phone", "email", "archived_at"
        )
    )


def test_demo_builds_200_believable_patients(demo_staff):
    out = io.StringIO()
    demo.build(stdout=out, seed=2026)
    patients = list(Patient.objects.all())
    assert len(patients) == 200
    today = timezone.localdate()
    ages = [p.age_on(today) for p in patients]
    assert any(a < 18 for a in ages)
    assert any(18 <= a < 28 for a in ages)
    assert any(28 <= a <= 65 for a in ages)
    assert any(40 <= a <= 44 for a in ages)
    assert any(a > 65 for a in ages)
    assert any(any(ord(ch) > 127 for ch in p.full_name) for p in patients)
    assert {p.phone.country_code for p in patients if p.phone} >= {351, 34, 33, 49, 39, 44}
    assert sum(p.email_consent for p in patients) > 100
    assert 0 < sum(p.is_archived for p in patients) < 30
    assert 60 < Screening.objects.count() < 140
    assert ScreeningAnswer.objects.filter(answer="yes").exists()
    assert Patient.objects.filter(search_text="").count() == 0
    assert "200 patients" in out.getvalue()


def test_demo_is_the_same_for_the_same_seed(demo_staff):
    demo.build(stdout=io.StringIO(), seed=7)
    first = [row[1:6] for row in snapshot()]
    Screening.objects.all().delete()
    Patient.objects.all().delete()
    demo.build(stdout=io.StringIO(), seed=7)
    assert [row[1:6] for row in snapshot()] == first


@pytest.mark.parametrize(
    "names, expected",
    [
        (("Hans-H.", "Stahr"), "hans-h.stahr@example.de"),  # an initial's dot never doubles up
        (("José Maria", "Sá Pereira12"), "jose-maria.sa-pereira12@example.de"),
        (("D'Arcy", "O'Neill"), "d-arcy.o-neill@example.de"),
    ],
)
def test_demo_addresses_are_valid_whatever_the_name(names, expected):
    address = demo.email_address(*names, domain="example.de")
    validate_email(address)
    assert address == expected
