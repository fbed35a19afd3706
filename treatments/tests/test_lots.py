"""Issue 18: product lots from stock, the injection map, corrections and recall (rules `lot-required`,
`lot-usable`, `lot-stock-decrement`, `session-correction`, `lot-recall`, `map-totals`,
`allergy-single-source` in docs/clinical-rules.md)."""

import datetime

import pytest

from clinic.errors import Refusal
from patients.models import AllergenGroup, Answer, Contraindication
from patients.services import update_screening
from treatments import services
from treatments.tests import factories

pytestmark = pytest.mark.django_db


def test_a_session_with_a_product_line_without_lot_cannot_be_marked_done(practitioner):
    record = factories.session_record(practitioner, with_lots=False)  # no lot for either line
    with pytest.raises(Refusal, match="lot"):
        services.mark_session_done(session_record=record, by=practitioner)
    record.refresh_from_db()
    assert record.done_at is None


def test_an_allergy_recorded_means_yes_to_the_ingredient_allergy_question(practitioner):
    patient = factories.patient()
    day = datetime.date(2026, 1, 5)
    update_screening(
        patient=patient,
        by=practitioner,
        allergen_groups=[AllergenGroup.objects.get(name="Hyaluronic acid")],
        allergy_notes="",
        current_medications="",
        fitzpatrick_type="",
        answers={Contraindication.INGREDIENT_ALLERGY: (Answer.NO, day)},
    )
    assert services.screening_answers(patient)[Contraindication.INGREDIENT_ALLERGY] == Answer.YES
    consultation = services.start_consultation(
        patient=patient, by=practitioner, answers={Contraindication.INGREDIENT_ALLERGY: Answer.NO}
    )
    answer = consultation.answers.get(item=Contraindication.INGREDIENT_ALLERGY)
    assert answer.answer == Answer.YES
