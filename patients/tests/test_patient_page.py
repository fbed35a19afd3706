"""The patient page: identity, consent, history of changes, screening by role, and other apps' sections."""

import datetime

import pytest
from django.urls import reverse

from clinic.tests.factories import UserFactory
from patients import sections
from patients.models import AllergenGroup, Answer, Contraindication
from patients.services import update_patient, update_screening
from patients.tests.factories import PatientFactory
from scheduling import patient_section as scheduling_section
from treatments import patient_section as treatments_section

pytestmark = pytest.mark.django_db
ASKED = datetime.date(2026, 1, 15)


@pytest.fixture
def patient(front_desk):
    return PatientFactory(
        given_name="Inês", family_name="Gonçalves", date_of_birth=datetime.date(1980, 6, 1), by=front_desk
    )


@pytest.fixture
def screened(patient, practitioner):
    update_screening(
        patient=patient,
        by=practitioner,
        allergen_groups=[AllergenGroup.objects.get(name="Latex")],
        allergy_notes="Penicillin",
        current_medications="Warfarin 5 mg daily",
        fitzpatrick_type="III",
        answers={Contraindication.ANTICOAGULANTS: (Answer.YES, ASKED)},
    )
    return patient


def test_page_shows_identity_chart_number_and_age(client_as, front_desk, patient):
    page = client_as(front_desk).get(patient.get_absolute_url()).content.decode()
    assert '<h1 class="h3 mb-1">Inês Gonçalves</h1>' in page
    assert patient.chart_number in page
    assert f"{patient.age} years · born 1 Jun 1980" in page


SCREENING_MARKERS = [
    "screening",
    "Screening",
    "Warfarin",
    "Penicillin",
    "Latex",
    "Fitzpatrick",
    "anticoagulants",
]


def test_front_desk_sees_nothing_of_the_screening(client_as, front_desk, screened):
    page = client_as(front_desk).get(screened.get_absolute_url()).content.decode()
    for marker in SCREENING_MARKERS:
        assert marker not in page, marker


def test_practitioner_sees_the_screening_and_may_edit_it(client_as, practitioner, screened):
    page = client_as(practitioner).get(screened.get_absolute_url()).content.decode()
    assert "Medical screening" in page
    assert "Warfarin 5 mg daily" in page
    assert "Penicillin" in page
    assert "Latex</span>" in page
    assert "III – sometimes burns, tans uniformly" in page
    assert "Edit screening" in page
    assert f'href="{reverse("patients:screening", args=[screened.pk])}"' in page


def test_clinic_admin_reads_the_screening_but_cannot_edit_it(client_as, clinic_admin, screened):
    client = client_as(clinic_admin)
    page = client.get(screened.get_absolute_url()).content.decode()
    assert "Warfarin 5 mg daily" in page
    assert "Edit screening" not in page
    form = client.get(reverse("patients:screening", args=[screened.pk])).content.decode()
    assert "Read only" in form
    assert "Save screening" not in form
    assert client.post(reverse("patients:screening", args=[screened.pk]), {}).status_code == 403


def test_front_desk_cannot_open_the_screening_form(client_as, front_desk, screened):
    assert client_as(front_desk).get(reverse("patients:screening", args=[screened.pk])).status_code == 403


def test_history_shows_who_changed_which_field_from_what_to_what(
    client_as, front_desk, practitioner, patient
):
    update_patient(patient=patient, by=practitioner, family_name="Gonçalves Reis", city="Porto")
    page = client_as(front_desk).get(patient.get_absolute_url()).content.decode()
    assert "<strong>Inês Moura</strong>\n      changed" in page
    assert (
        '<span class="text-body-secondary">Family name:</span> '
        '<del class="text-body-secondary">Gonçalves</del>' in page
    )
    assert '<ins class="text-decoration-none fw-semibold">Gonçalves Reis</ins>' in page
    assert '<span class="text-body-secondary">City:</span> <del class="text-body-secondary">—</del>' in page
    assert "created the record" in page


def test_history_names_choices_and_consent_in_words(client_as, front_desk, patient):
    update_patient(patient=patient, by=front_desk, preferred_contact="sms", email_consent=False)
    entry = client_as(front_desk).get(patient.get_absolute_url()).context["history"][0]
    assert [(c.label, c.old, c.new) for c in entry.changes] == [
        ("Preferred contact", "E-mail", "Text message"),
        ("Consents to e-mail reminders", "Yes", "No"),
    ]


def test_screening_history_shows_answers_allergens_and_fields(client_as, practitioner, screened):
    update_screening(
        patient=screened,
        by=practitioner,
        allergen_groups=[],
        allergy_notes="Penicillin",
        current_medications="",
        fitzpatrick_type="III",
        answers={Contraindication.ANTICOAGULANTS: (Answer.NO, ASKED)},
    )
    entries = client_as(practitioner).get(screened.get_absolute_url()).context["screening_history"]
    latest = entries[0]
    assert latest.who == "Inês Moura"
    assert {(c.label, c.old, c.new) for c in latest.changes} == {
        ("Allergen groups", "Latex", "—"),
        ("Current medications", "Warfarin 5 mg daily", "—"),
        ("Taking anticoagulants", "Yes (15 Jan 2026)", "No (15 Jan 2026)"),
    }


def test_patient_page_queries_stay_bounded_as_history_grows(
    client_as, practitioner, screened, django_assert_max_num_queries
):
    client = client_as(practitioner)
    client.get(screened.get_absolute_url())
    for n in range(15):
        update_patient(patient=screened, by=practitioner, notes=f"note {n}")
        update_screening(
            patient=screened,
            by=practitioner,
            allergen_groups=[],
            allergy_notes=f"a{n}",
            current_medications="",
            fitzpatrick_type="",
            answers={Contraindication.KELOID: (Answer.YES if n % 2 else Answer.NO, ASKED)},
        )
    # 21: the patients page, the clinical summary, and the scheduling section (with the practitioner's plan).
    with django_assert_max_num_queries(21):
        response = client.get(screened.get_absolute_url())
    assert len(response.context["history"]) == 16


def test_other_apps_add_sections_to_the_patient_page(client_as, front_desk, patient, monkeypatch):
    def fake(request, p):
        return f'<section id="fake">Appointments of {p.chart_number}</section>'

    def empty(request, p):
        return ""

    monkeypatch.setattr(
        sections, "SECTIONS", (treatments_section.section, fake, empty, scheduling_section.section)
    )
    page = client_as(front_desk).get(patient.get_absolute_url()).content.decode()
    assert f'<section id="fake">Appointments of {patient.chart_number}</section>' in page


def test_sections_are_listed_in_order():
    from consents import patient_section as consents_section

    assert (
        consents_section.section,
        treatments_section.section,
        scheduling_section.section,
    ) == sections.SECTIONS


def test_unknown_patient_is_a_404(client_as, front_desk):
    assert client_as(front_desk).get(reverse("patients:detail", args=[999999])).status_code == 404


def test_a_second_practitioner_is_named_in_history(client_as, front_desk, patient):
    other = UserFactory(username="tomas", first_name="Tomás", last_name="Figueira", role="practitioner")
    update_patient(patient=patient, by=other, notes="Prefers mornings")
    assert "Tomás Figueira" in client_as(front_desk).get(patient.get_absolute_url()).content.decode()


def test_home_page_offers_patient_search_and_recent_registrations(client_as, front_desk, patient):
    page = client_as(front_desk).get(reverse("clinic:dashboard")).content.decode()
    assert 'action="/patients/" role="search"' in page
    assert "Recently registered" in page
    assert f'href="{patient.get_absolute_url()}">Inês Gonçalves</a>' in page


@pytest.mark.parametrize("role", ["front_desk", "practitioner", "clinic_admin"])
def test_patient_page_prints_no_template_comment(request, client_as, patient, role):
    """Django's {# #} comment is one line only: a two-line one prints as text at the top of the page."""
    response = client_as(request.getfixturevalue(role)).get(reverse("patients:detail", args=[patient.pk]))
    body = response.content.decode()
    assert "{#" not in body and "#}" not in body
