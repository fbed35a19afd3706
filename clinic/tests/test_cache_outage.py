"""With the cache (Redis) down, every page still works: sessions come from the database (clinic/sessions.py),
the patient page is rendered instead of read from the cache, and the clinic settings from their row.
Nothing answers 500, and signing in and out still works. No Redis is needed: the cache points at a
port where nothing listens."""

import pytest
from django.urls import reverse

from clinic.models import ClinicSettings
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

NOWHERE = "redis://127.0.0.1:9/0"  # the discard port: nothing listens there


@pytest.fixture
def redis_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "clinic.cache.RedisCache",
            "LOCATION": NOWHERE,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    settings.SESSION_ENGINE = "clinic.sessions"
    settings.FRAGMENT_CACHE_SECONDS = 300


def test_staff_sign_in_work_and_sign_out_while_the_cache_is_down(client, practitioner, redis_down, caplog):
    patient = PatientFactory(given_name="Leonor", family_name="Barros")
    response = client.post(reverse("login"), {"username": "practitioner", "password": "mesoclinic"})
    assert response.status_code == 302

    for _ in range(2):  # the second view would come from the cache, were there one
        page = client.get(reverse("patients:detail", args=[patient.pk]))
        assert page.status_code == 200
        assert "Leonor Barros" in page.content.decode()
    assert client.get(reverse("patients:list")).status_code == 200
    assert any("Session cache unavailable" in r.getMessage() for r in caplog.records)

    assert client.post(reverse("logout")).status_code == 302
    after = client.get(reverse("patients:detail", args=[patient.pk]))
    assert after.status_code == 302 and reverse("login") in after["Location"]


def test_clinic_settings_save_while_the_cache_is_down(redis_down, caplog):
    clinic = ClinicSettings.load()
    clinic.save()
    assert any("Could not retire the cached clinic settings" in r.getMessage() for r in caplog.records)
