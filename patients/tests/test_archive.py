"""Archive and restore: POST only after a confirm page; nothing is ever deleted."""

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic.access import ACCESS_TABLE
from clinic.errors import Refusal
from patients.models import Patient
from patients.services import archive_patient, restore_patient
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_get_shows_a_confirm_page_and_changes_nothing(client_as, front_desk):
    patient = PatientFactory(given_name="Rui", family_name="Matos")
    response = client_as(front_desk).get(reverse("patients:archive", args=[patient.pk]))
    page = response.content.decode()
    assert "Archive Rui Matos?" in page
    assert "Nothing is deleted" in page
    patient.refresh_from_db()
    assert patient.archived_at is None


def test_post_archives_and_the_page_shows_a_banner(client_as, front_desk):
    patient = PatientFactory(given_name="Rui", family_name="Matos")
    client = client_as(front_desk)
    response = client.post(reverse("patients:archive", args=[patient.pk]))
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.archived_at is not None
    page = client.get(patient.get_absolute_url()).content.decode()
    assert "<strong>Archived patient.</strong>" in page
    assert "Rui Matos archived. The record is kept and can be restored at any time." in page
    assert "Edit details" not in page
    assert patient.history.first().history_user == front_desk


def test_restore_brings_the_patient_back(client_as, front_desk):
    patient = PatientFactory(given_name="Rui", family_name="Matos")
    archive_patient(patient=patient, by=front_desk)
    client = client_as(front_desk)
    assert "Restore Rui Matos?" in client.get(reverse("patients:restore", args=[patient.pk])).content.decode()
    client.post(reverse("patients:restore", args=[patient.pk]))
    patient.refresh_from_db()
    assert patient.archived_at is None
    history = client.get(patient.get_absolute_url()).context["history"]
    assert [e.action for e in history] == ["restored", "archived", "created"]


def test_archived_patient_cannot_be_edited_until_restored(client_as, front_desk):
    patient = PatientFactory()
    archive_patient(patient=patient, by=front_desk)
    response = client_as(front_desk).get(reverse("patients:edit", args=[patient.pk]), follow=True)
    assert f"{patient.full_name} is archived. Restore the record to change it." in response.content.decode()


def test_archiving_twice_is_refused_politely(client_as, front_desk):
    patient = PatientFactory()
    archive_patient(patient=patient, by=front_desk)
    with pytest.raises(Refusal, match="is already archived"):
        archive_patient(patient=patient, by=front_desk)
    response = client_as(front_desk).post(reverse("patients:archive", args=[patient.pk]), follow=True)
    assert f"{patient.full_name} is already archived." in response.content.decode()


def test_restoring_an_active_patient_is_refused():
    with pytest.raises(Refusal, match="is not archived"):
        restore_patient(patient=PatientFactory(), by=None)


def test_no_role_can_delete_patients():
    from django.contrib.auth.models import Group

    for group in Group.objects.all():
        assert (
            not group.permissions.filter(codename__startswith="delete_")
            .filter(content_type__app_label="patients")
            .exists()
        ), group.name
    assert not any("delete" in name for name in ACCESS_TABLE if name.startswith("patients:"))
    assert Patient.objects.count() == 0


@pytest.mark.parametrize(
    ("email", "consent", "archived", "wants"),
    [
        ("ana@example.com", True, False, True),
        ("", True, False, False),
        ("ana@example.com", False, False, False),
        ("ana@example.com", True, True, False),
    ],
)
def test_only_a_current_patient_with_an_address_and_consent_wants_email(email, consent, archived, wants):
    patient = Patient(email=email, email_consent=consent, archived_at=timezone.now() if archived else None)
    assert patient.wants_email is wants
