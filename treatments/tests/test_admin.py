"""Clinic admin manages the ingredient catalogue in Django's admin and reads the consultation read log;
records written only through the services (consultations, sessions, appointments) are read-only there."""

import pytest
from django.urls import reverse

from treatments.models import Ingredient
from treatments.tests import factories

pytestmark = pytest.mark.django_db


def test_clinic_admin_retires_an_ingredient_in_the_admin(client_as, clinic_admin):
    client = client_as(clinic_admin)
    response = client.get(reverse("admin:treatments_ingredient_changelist") + "?q=glutathione")
    assert response.status_code == 200
    assert "Reduced glutathione" in response.text
    ingredient = Ingredient.objects.get(name="Reduced glutathione")
    response = client.get(reverse("admin:treatments_ingredient_change", args=[ingredient.pk]))
    assert response.status_code == 200
    data = {
        "name": ingredient.name,
        "category": ingredient.category,
        "unit": ingredient.unit,
        "typical_amount": "300",
        "maximum_amount": "200",
        "concerns": ["pigmentation"],
        "allergen_group": ingredient.allergen_group_id,
        "description": "",
    }
    response = client.post(reverse("admin:treatments_ingredient_change", args=[ingredient.pk]), data)
    assert "The maximum cannot be below the typical amount." in response.text
    data["maximum_amount"] = "600"  # is_active left out: retired
    response = client.post(reverse("admin:treatments_ingredient_change", args=[ingredient.pk]), data)
    assert response.status_code == 302
    ingredient.refresh_from_db()
    assert ingredient.is_active is False
    assert ingredient.history.first().history_user == clinic_admin


def test_clinic_admin_sees_read_only_records_in_the_admin(client_as, practitioner, clinic_admin):
    consultation = factories.signed_consultation(practitioner)
    client = client_as(clinic_admin)
    response = client.get(reverse("admin:treatments_consultation_change", args=[consultation.pk]))
    assert response.status_code == 200
    assert 'name="_save"' not in response.text


def test_practitioner_cannot_change_the_catalogue_in_the_admin(client_as, practitioner):
    practitioner.is_staff = True
    practitioner.save()
    response = client_as(practitioner).get(reverse("admin:treatments_ingredient_add"))
    assert response.status_code == 403


@pytest.mark.parametrize(
    "model",
    [
        "treatments_consultation",
        "treatments_sessionrecord",
        "scheduling_appointment",
        "scheduling_sessionseries",
    ],
)
def test_clinic_admin_cannot_add_records_written_only_through_the_services(client_as, clinic_admin, model):
    assert client_as(clinic_admin).get(reverse(f"admin:{model}_add")).status_code == 403
