"""Same accent-folded name and date of birth: warn, link to the existing record, let staff confirm."""

import datetime

import pytest
from django.urls import reverse

from patients.models import Patient
from patients.selectors import find_duplicates
from patients.services import archive_patient
from patients.tests.factories import PatientFactory
from patients.tests.test_patient_form import valid_data

pytestmark = pytest.mark.django_db
BORN = datetime.date(1985, 3, 7)


def test_find_duplicates_ignores_accents_and_case():
    existing = PatientFactory(given_name="José", family_name="Conceição", date_of_birth=BORN)
    assert find_duplicates(given_name="JOSE", family_name="conceicao", date_of_birth=BORN) == [existing]


def test_find_duplicates_needs_the_same_date_of_birth():
    PatientFactory(given_name="José", family_name="Conceição", date_of_birth=BORN)
    other_day = BORN + datetime.timedelta(days=1)
    assert find_duplicates(given_name="José", family_name="Conceição", date_of_birth=other_day) == []


def test_find_duplicates_includes_archived_patients():
    existing = PatientFactory(given_name="José", family_name="Conceição", date_of_birth=BORN)
    archive_patient(patient=existing, by=None)
    assert find_duplicates(given_name="Jose", family_name="Conceicao", date_of_birth=BORN) == [existing]


def test_find_duplicates_leaves_out_the_patient_being_edited():
    existing = PatientFactory(given_name="José", family_name="Conceição", date_of_birth=BORN)
    assert (
        find_duplicates(
            given_name="José", family_name="Conceição", date_of_birth=BORN, exclude_pk=existing.pk
        )
        == []
    )


def test_registering_a_duplicate_warns_and_links_to_the_existing_patient(client_as, front_desk):
    existing = PatientFactory(given_name="José", family_name="Conceição", date_of_birth=BORN)
    response = client_as(front_desk).post(
        reverse("patients:create"), valid_data(given_name="Jose", family_name="CONCEICAO")
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert Patient.objects.count() == 1
    assert "This may be a patient we already have" in page
    assert f'href="{existing.get_absolute_url()}"' in page
    assert f"José Conceição, born 7 Mar 1985 ({existing.chart_number})" in page
    assert "This is a different person — register anyway" in page
    assert response.context["form"].errors["not_a_duplicate"] == [
        "Open the existing record above, or tick this box if this is a different person."
    ]


def test_the_warning_says_when_the_existing_patient_is_archived(client_as, front_desk):
    existing = PatientFactory(given_name="José", family_name="Conceição", date_of_birth=BORN)
    archive_patient(patient=existing, by=None)
    page = client_as(front_desk).post(reverse("patients:create"), valid_data()).content.decode()
    assert "Archived</span> — restore that record instead of registering again" in page


def test_confirming_a_different_person_registers_them(client_as, front_desk):
    PatientFactory(given_name="José", family_name="Conceição", date_of_birth=BORN)
    response = client_as(front_desk).post(reverse("patients:create"), valid_data(not_a_duplicate="on"))
    assert response.status_code == 302
    assert Patient.objects.filter(family_name="Conceição").count() == 2


def test_no_warning_and_no_checkbox_without_a_duplicate(client_as, front_desk):
    page = client_as(front_desk).get(reverse("patients:create")).content.decode()
    assert "register anyway" not in page


def test_renaming_a_patient_into_a_duplicate_warns_on_edit(client_as, front_desk):
    PatientFactory(given_name="José", family_name="Conceição", date_of_birth=BORN)
    other = PatientFactory(given_name="José", family_name="Silva", date_of_birth=BORN)
    response = client_as(front_desk).post(reverse("patients:edit", args=[other.pk]), valid_data())
    assert response.status_code == 200
    assert "This may be a patient we already have" in response.content.decode()
    other.refresh_from_db()
    assert other.family_name == "Silva"


def test_editing_other_fields_of_a_known_duplicate_does_not_warn_again(client_as, front_desk):
    PatientFactory(given_name="José", family_name="Conceição", date_of_birth=BORN)
    twin = PatientFactory(given_name="José", family_name="Conceição", date_of_birth=BORN)
    response = client_as(front_desk).post(reverse("patients:edit", args=[twin.pk]), valid_data(city="Porto"))
    assert response.status_code == 302
    twin.refresh_from_db()
    assert twin.city == "Porto"
