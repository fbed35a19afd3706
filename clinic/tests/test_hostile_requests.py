"""Requests no browser of ours sends, but anyone can: a form declaring another charset, a formset
declaring thousands of lines, free text of any length. Each is refused quickly with a readable page."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from treatments.tests import factories

pytestmark = pytest.mark.django_db

LATIN_1 = "application/x-www-form-urlencoded; charset=latin-1"


@pytest.fixture
def production(settings):
    settings.DEBUG = False


def csrf_client(user=None) -> tuple[Client, bytes]:
    """A client that passes the CSRF check as a browser does (cookie + form token)."""
    client = Client(raise_request_exception=False, enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    client.get(reverse("login") if user is None else reverse("patients:create"))
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    return client, f"csrfmiddlewaretoken={token}&".encode()


def styled_400(response) -> bool:
    html = response.content.decode()
    return response.status_code == 400 and "app.css" in html and "could not be read" in html


@pytest.mark.parametrize("charset", ["latin-1", "utf-16", "no-such-charset"])
def test_a_login_post_in_another_charset_is_a_styled_400(production, charset):
    client, token = csrf_client()
    response = client.generic(
        "POST",
        reverse("login"),
        token + b"username=admin&password=x",
        content_type=f"application/x-www-form-urlencoded; charset={charset}",
    )
    assert styled_400(response), (response.status_code, response.content[:300])


def test_a_logged_in_post_in_another_charset_is_a_styled_400(production, front_desk):
    client, token = csrf_client(front_desk)
    response = client.generic(
        "POST", reverse("patients:create"), token + b"given_name=Ana", content_type=LATIN_1
    )
    assert styled_400(response), (response.status_code, response.content[:300])


def test_a_formulation_declaring_ten_thousand_lines_is_refused_quickly(client_as, practitioner):
    consultation = factories.signed_consultation(practitioner)
    data = {
        "lines-TOTAL_FORMS": "10000",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "10000",
        "total_volume_ml": "4",
    }
    client = client_as(practitioner)
    response = client.post(reverse("treatments:formulation_create", args=[consultation.pk]), data)
    assert response.status_code == 200
    assert response.context["formset"].total_form_count() == 30
    assert "Please submit at most 30 forms" not in response.text
    assert "at most 30 ingredient lines" in response.text
    # Refused on the cap, not after building 10,000 forms (~4.6 s and 4.8 MB before).
    assert len(response.content) < 300_000, len(response.content)


def test_the_planner_declaring_ten_thousand_rows_builds_at_most_its_cap():
    from scheduling.forms import SessionRowFormSet
    from treatments.forms import LineFormSet

    for formset_class, prefix in ((SessionRowFormSet, "form"), (LineFormSet, "lines")):
        data = {f"{prefix}-TOTAL_FORMS": "10000", f"{prefix}-INITIAL_FORMS": "0"}
        kwargs = {"form_kwargs": {"choices": None}} if formset_class is SessionRowFormSet else {}
        formset = formset_class(data, prefix=prefix, **kwargs)
        assert formset.absolute_max <= 30
        assert formset.total_form_count() <= 30


def test_every_formset_has_a_cap_a_person_could_reach():
    """absolute_max (what is built) and max_num (what is valid) are set on every formset class."""
    from scheduling.forms import SessionRowFormSet
    from treatments.forms import LineFormSet

    for formset_class in (SessionRowFormSet, LineFormSet):
        assert formset_class.absolute_max <= 30, formset_class
        assert formset_class.max_num <= formset_class.absolute_max
        assert formset_class.validate_max


@pytest.mark.parametrize(
    ("form_path", "field"),
    [
        ("patients.forms.PatientForm", "notes"),
        ("patients.forms.ScreeningForm", "allergy_notes"),
        ("patients.forms.ScreeningForm", "current_medications"),
        ("treatments.forms.ConsultationForm", "goals"),
        ("treatments.forms.ConsultationForm", "skin_assessment"),
        ("treatments.forms.ConsultationForm", "plan_notes"),
        ("treatments.forms.FormulationForm", "notes"),
        ("treatments.forms.SessionRecordForm", "notes"),
        ("treatments.forms.SessionRecordForm", "aftercare_instructions"),
        ("clinic.forms.ClinicSettingsForm", "address"),
    ],
)
def test_free_text_fields_have_a_maximum_length_with_a_readable_message(form_path, field):
    from importlib import import_module

    module, name = form_path.rsplit(".", 1)
    form_class = getattr(import_module(module), name)
    form_field = form_class.base_fields[field]
    assert form_field.max_length and form_field.max_length <= 20_000, form_path
    errors = []
    for validator in form_field.validators:
        try:
            validator("x" * (form_field.max_length + 1))
        except Exception as error:  # ValidationError
            errors += error.messages
    assert any("at most" in e and "characters" in e for e in errors), errors
