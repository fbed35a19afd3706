import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from clinic.access import SESSION_TOUCH_SECONDS, SESSION_TOUCHED_KEY
from clinic.models import ClinicSettings

pytestmark = pytest.mark.django_db


def _set_idle_minutes(minutes: int) -> None:
    """As clinic admin does in the admin: a save, which also retires the cached settings."""
    clinic = ClinicSettings.load()
    clinic.session_idle_minutes = minutes
    clinic.save()


def test_login_with_the_right_password_opens_the_dashboard(client, front_desk):
    response = client.post(reverse("login"), {"username": "frontdesk", "password": "mesoclinic"})
    assert response.status_code == 302
    assert response.url == reverse("clinic:dashboard")


def test_login_with_a_wrong_password_says_so(client, front_desk):
    response = client.post(reverse("login"), {"username": "frontdesk", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_logout_is_a_post_and_ends_the_session(client_as, front_desk):
    client = client_as(front_desk)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("clinic:dashboard")).status_code == 302


def test_password_reset_sends_a_link_that_sets_a_new_password(client, front_desk):
    response = client.post(reverse("password_reset"), {"email": front_desk.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [front_desk.email]
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-long-new-pass-2026", "new_password2": "a-long-new-pass-2026"},
    )
    assert response.status_code == 302
    front_desk.refresh_from_db()
    assert front_desk.check_password("a-long-new-pass-2026")


def test_password_reset_for_an_unknown_address_reveals_nothing(client):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert mail.outbox == []


def test_password_change_requires_the_old_password(client_as, front_desk):
    client = client_as(front_desk)
    response = client.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": "x-long-pass-991", "new_password2": "x-long-pass-991"},
    )
    assert response.status_code == 200
    assert "Your old password was entered incorrectly" in response.content.decode()


def test_session_expires_after_the_clinics_idle_time(client_as, front_desk):
    _set_idle_minutes(15)
    client = client_as(front_desk)
    client.get(reverse("clinic:dashboard"))
    assert client.session.get_expiry_age() == 15 * 60


def _session_row(client):
    return Session.objects.get(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value)


def test_session_is_renewed_at_most_once_a_minute_not_on_every_request(client_as, front_desk):
    client = client_as(front_desk)
    client.get(reverse("clinic:dashboard"))
    first = _session_row(client).expire_date
    response = client.get(reverse("clinic:dashboard"))
    assert response.status_code == 200
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert _session_row(client).expire_date == first


def test_activity_after_a_minute_slides_the_idle_expiry(client_as, front_desk):
    _set_idle_minutes(15)
    client = client_as(front_desk)
    client.get(reverse("clinic:dashboard"))
    session = client.session
    session[SESSION_TOUCHED_KEY] -= SESSION_TOUCH_SECONDS  # the last renewal was a minute ago
    session.save()
    before = _session_row(client).expire_date
    response = client.get(reverse("clinic:dashboard"))
    assert response.status_code == 200
    assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 15 * 60
    assert _session_row(client).expire_date > before


def test_changing_the_idle_time_applies_on_the_next_request(client_as, front_desk):
    client = client_as(front_desk)
    client.get(reverse("clinic:dashboard"))
    _set_idle_minutes(5)
    client.get(reverse("clinic:dashboard"))
    assert client.session.get_expiry_age() == 5 * 60
    assert timezone.now() + timedelta(minutes=4) < _session_row(client).expire_date
    assert _session_row(client).expire_date <= timezone.now() + timedelta(minutes=5)


def test_an_idle_session_is_logged_out(client_as, front_desk):
    _set_idle_minutes(15)
    client = client_as(front_desk)
    client.get(reverse("clinic:dashboard"))
    expired = timezone.now() - timedelta(seconds=1)
    Session.objects.filter(pk=_session_row(client).pk).update(expire_date=expired)
    # With Redis, sessions are cached (cached_db) for exactly their expiry age: drop the copy too.
    cache.delete(cached_db.KEY_PREFIX + _session_row(client).pk)
    response = client.get(reverse("clinic:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_forbidden_page_explains_itself(client_as, front_desk):
    response = client_as(front_desk).get(reverse("clinic:settings"))
    assert response.status_code == 403
    assert "This page is not available to your role" in response.content.decode()


def test_clinic_admin_edits_the_clinic_settings(client_as, clinic_admin):
    client = client_as(clinic_admin)
    data = {
        "name": "Clínica Aurora",
        "address": "Av. da Liberdade 1\nLisboa",
        "phone": "+351 210 111 222",
        "email": "aurora@example.com",
        "website": "",
        "reminder_lead_hours": "72,24",
        "default_appointment_minutes": 60,
        "session_idle_minutes": 20,
        "retention_years": 10,
        "consent_validity_months": 12,
    }
    response = client.post(reverse("clinic:settings"), data)
    assert response.status_code == 302
    row = ClinicSettings.load()
    assert row.name == "Clínica Aurora"
    assert row.lead_hours == [72, 24]


def test_bad_reminder_lead_times_get_a_readable_message(client_as, clinic_admin):
    client = client_as(clinic_admin)
    response = client.post(
        reverse("clinic:settings"),
        {
            "name": "X",
            "address": "Y",
            "phone": "1",
            "email": "a@example.com",
            "reminder_lead_hours": "two days",
            "default_appointment_minutes": 60,
            "session_idle_minutes": 20,
        },
    )
    assert response.status_code == 200
    assert "Give whole hours separated by commas, for example 48,24." in response.content.decode()


def test_the_chart_counter_never_repeats():
    from clinic.models import Counter

    first = Counter.next_value("chart_number")
    second = Counter.next_value("chart_number")
    assert second == first + 1
