"""Practitioners fill in the screening (rule `screening-blocks-eligibility`, docs/clinical-rules.md): each
contraindication yes/no/unknown with a date."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic.errors import Refusal
from patients.models import AllergenGroup, Answer, Contraindication, Screening
from patients.services import update_screening
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def screening_data(**overrides):
    data = {"allergy_notes": "", "current_medications": "", "fitzpatrick_type": "II"}
    for item in Contraindication.values:
        data[f"answer_{item}"] = "no"
        data[f"date_{item}"] = "2026-01-15"
    data.update(overrides)
    return data


def test_practitioner_saves_the_screening(client_as, practitioner):
    patient = PatientFactory()
    latex = AllergenGroup.objects.get(name="Latex")
    response = client_as(practitioner).post(
        reverse("patients:screening", args=[patient.pk]),
        screening_data(allergen_groups=[latex.pk], answer_pregnancy="yes", current_medications="Warfarin"),
    )
    assert response.status_code == 302
    assert response.url == f"{patient.get_absolute_url()}#screening"
    screening = Screening.objects.get(patient=patient)
    assert list(screening.allergen_groups.all()) == [latex]
    assert screening.current_medications == "Warfarin"
    assert screening.updated_by == practitioner
    answers = {a.item: (a.answer, a.answered_on) for a in screening.answers.all()}
    assert answers["pregnancy"] == ("yes", datetime.date(2026, 1, 15))
    assert answers["keloid"] == ("no", datetime.date(2026, 1, 15))
    assert len(answers) == len(Contraindication.values)


def test_yes_or_no_without_a_date_is_refused_with_a_readable_message(client_as, practitioner):
    patient = PatientFactory()
    response = client_as(practitioner).post(
        reverse("patients:screening", args=[patient.pk]), screening_data(date_keloid="")
    )
    assert response.status_code == 200
    assert response.context["form"].errors["date_keloid"] == [
        "Give the date this was answered — a “no” needs one (set “Unknown” if not asked)."
    ]
    assert "Please correct the answers marked below." in response.content.decode()
    assert not Screening.objects.filter(patient=patient).exists()


def test_unknown_needs_no_date_and_keeps_none(client_as, practitioner):
    patient = PatientFactory()
    response = client_as(practitioner).post(
        reverse("patients:screening", args=[patient.pk]),
        screening_data(answer_autoimmune="unknown", date_autoimmune="2026-01-15"),
    )
    assert response.status_code == 302
    answer = Screening.objects.get(patient=patient).answers.get(item="autoimmune")
    assert (answer.answer, answer.answered_on) == ("unknown", None)


def test_answer_date_in_the_future_is_refused(client_as, practitioner):
    patient = PatientFactory()
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    response = client_as(practitioner).post(
        reverse("patients:screening", args=[patient.pk]), screening_data(date_pregnancy=tomorrow)
    )
    assert response.context["form"].errors["date_pregnancy"] == ["The date cannot be in the future."]


def test_service_refuses_a_yes_without_a_date():
    patient = PatientFactory()
    with pytest.raises(Refusal, match="Give the date “Pregnant or breastfeeding” was answered."):
        update_screening(
            patient=patient,
            by=None,
            allergen_groups=[],
            allergy_notes="",
            current_medications="",
            fitzpatrick_type="",
            answers={Contraindication.PREGNANCY: (Answer.YES, None)},
        )


def test_saving_an_unchanged_screening_writes_no_history(practitioner):
    patient = PatientFactory()
    kwargs = {
        "patient": patient,
        "by": practitioner,
        "allergen_groups": [],
        "allergy_notes": "x",
        "current_medications": "",
        "fitzpatrick_type": "",
        "answers": {Contraindication.KELOID: (Answer.NO, datetime.date(2026, 1, 1))},
    }
    screening = update_screening(**kwargs)
    before = (screening.history.count(), sum(a.history.count() for a in screening.answers.all()))
    update_screening(**kwargs)
    after = (screening.history.count(), sum(a.history.count() for a in screening.answers.all()))
    assert after == before


def test_form_shows_every_contraindication_with_its_answer(client_as, practitioner):
    patient = PatientFactory()
    page = client_as(practitioner).get(reverse("patients:screening", args=[patient.pk])).content.decode()
    for _, label in Contraindication.choices:
        assert label in page
    assert page.count('value="unknown" class="btn-check"') + page.count('class="btn-check"') > 0
    assert page.count("checked") == len(Contraindication.values)  # all "unknown" before first save
