"""Registering and editing a patient: each bad input gets a readable field message, never a 500."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from patients.models import Patient
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def valid_data(**overrides):
    data = {
        "given_name": "José",
        "family_name": "Conceição",
        "preferred_name": "Zé",
        "date_of_birth": "1985-03-07",
        "sex": "male",
        "phone": "912 345 678",
        "email": "Jose.Conceicao@Example.com",
        "preferred_contact": "email",
        "email_consent": "on",
        "address_line": "Rua das Flores 12",
        "postal_code": "1200-195",
        "city": "Lisboa",
        "country": "Portugal",
        "notes": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def post_create(client, **overrides):
    return client.post(reverse("patients:create"), valid_data(**overrides))


def test_front_desk_registers_a_patient_with_a_chart_number(client_as, front_desk):
    response = post_create(client_as(front_desk))
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("patients:detail", kwargs={"pk": patient.pk})
    assert patient.chart_number == "MC-000001"
    assert patient.created_by == front_desk
    assert patient.history.get().history_user == front_desk


def test_phone_is_stored_in_international_form_and_shown_international(client_as, front_desk):
    client = client_as(front_desk)
    post_create(client, phone="912 345 678")
    patient = Patient.objects.get()
    assert patient.phone.as_e164 == "+351912345678"
    page = client.get(patient.get_absolute_url()).content.decode()
    assert "+351 912 345 678" in page


def test_email_is_stored_in_lower_case(client_as, front_desk):
    post_create(client_as(front_desk))
    assert Patient.objects.get().email == "jose.conceicao@example.com"


def test_email_consent_time_is_stamped_and_shown(client_as, front_desk):
    client = client_as(front_desk)
    post_create(client)
    patient = Patient.objects.get()
    assert patient.email_consent is True
    assert patient.email_consent_changed_at is not None
    page = client.get(patient.get_absolute_url()).content.decode()
    stamp = timezone.localtime(patient.email_consent_changed_at).strftime("%-d %b %Y, %H:%M")
    assert f"Given on {stamp}" in page


def test_withdrawing_consent_on_edit_restamps_it(client_as, front_desk):
    client = client_as(front_desk)
    post_create(client)
    patient = Patient.objects.get()
    first_stamp = patient.email_consent_changed_at
    response = client.post(reverse("patients:edit", args=[patient.pk]), valid_data(email_consent=None))
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.email_consent is False
    assert patient.email_consent_changed_at > first_stamp


def field_errors(response, name):
    return response.context["form"].errors.get(name)


def test_date_of_birth_in_the_future_is_refused(client_as, front_desk):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    response = post_create(client_as(front_desk), date_of_birth=tomorrow.isoformat())
    assert response.status_code == 200
    assert field_errors(response, "date_of_birth") == ["The date of birth cannot be in the future."]
    assert "The date of birth cannot be in the future." in response.content.decode()
    assert Patient.objects.count() == 0


def test_date_of_birth_over_120_years_ago_is_refused(client_as, front_desk):
    long_ago = timezone.localdate().replace(year=timezone.localdate().year - 121)
    response = post_create(client_as(front_desk), date_of_birth=long_ago.isoformat())
    assert field_errors(response, "date_of_birth") == [
        "The date of birth is more than 120 years ago. Check the year."
    ]
    assert Patient.objects.count() == 0


def test_date_of_birth_exactly_120_years_ago_is_accepted(client_as, front_desk):
    today = timezone.localdate()
    born = today.replace(year=today.year - 120, day=min(today.day, 28))
    response = post_create(client_as(front_desk), date_of_birth=born.isoformat())
    assert response.status_code == 302


def test_date_of_birth_that_is_not_a_date_is_refused(client_as, front_desk):
    response = post_create(client_as(front_desk), date_of_birth="1985-02-31")
    assert field_errors(response, "date_of_birth") == ["Enter a real date, for example 07/03/1985."]


def test_missing_names_and_date_of_birth_are_named(client_as, front_desk):
    response = post_create(client_as(front_desk), given_name="", family_name="", date_of_birth="")
    assert field_errors(response, "given_name") == ["Enter the patient's given name."]
    assert field_errors(response, "family_name") == ["Enter the patient's family name."]
    assert field_errors(response, "date_of_birth") == ["Enter the date of birth."]
    assert "Please correct the 3 fields marked below." in response.content.decode()


def test_invalid_email_is_refused(client_as, front_desk):
    response = post_create(client_as(front_desk), email="jose@")
    assert field_errors(response, "email") == ["Enter a valid e-mail address, for example name@example.com."]


@pytest.mark.parametrize("phone", ["12345", "+351 12", "call me maybe", "+44 20 7946 09"])
def test_invalid_phone_is_refused(client_as, front_desk, phone):
    response = post_create(client_as(front_desk), phone=phone)
    assert field_errors(response, "phone") == [
        "Enter a valid phone number, for example 912 345 678, or with the country code, "
        "for example +44 7911 123456."
    ]
    assert Patient.objects.count() == 0


def test_foreign_phone_with_country_code_is_accepted(client_as, front_desk):
    post_create(client_as(front_desk), phone="+44 7911 123456")
    assert Patient.objects.get().phone.as_e164 == "+447911123456"


def test_form_starts_on_the_given_name_and_keeps_browser_autofill_away(client_as, front_desk):
    page = client_as(front_desk).get(reverse("patients:create")).content.decode()
    assert 'name="given_name"' in page
    given_input = page[page.index('name="given_name"') - 300 : page.index('name="given_name"') + 300]
    assert "autofocus" in given_input
    assert 'autocomplete="off"' in given_input
    assert 'type="date"' in page
    assert 'type="tel"' in page
    assert 'type="email"' in page


def test_edit_form_shows_the_phone_in_international_form(client_as, front_desk):
    patient = PatientFactory(phone="+351912345678")
    page = client_as(front_desk).get(reverse("patients:edit", args=[patient.pk])).content.decode()
    assert 'value="+351 912 345 678"' in page


def test_editing_records_who_changed_what(client_as, front_desk):
    patient = PatientFactory(given_name="Ana", family_name="Silva")
    response = client_as(front_desk).post(
        reverse("patients:edit", args=[patient.pk]),
        valid_data(
            given_name="Ana", family_name="Silva Santos", date_of_birth=patient.date_of_birth.isoformat()
        ),
    )
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.family_name == "Silva Santos"
    assert "silva santos" in patient.search_text
    latest = patient.history.first()
    assert latest.history_user == front_desk
    assert latest.family_name == "Silva Santos"


def test_refused_form_puts_the_cursor_on_the_first_field_to_fix(client_as, front_desk):
    response = post_create(client_as(front_desk), email="nope")
    form = response.context["form"]
    assert [name for name, f in form.fields.items() if f.widget.attrs.get("autofocus")] == ["email"]
