"""Every clinical rule, tested at the service that enforces it."""

import datetime
from decimal import Decimal

import pytest

from clinic.errors import Refusal
from patients.models import Answer, Contraindication, ScreeningAnswer
from patients.services import screening_for
from treatments import selectors, services
from treatments.models import (
    Addendum,
    Consultation,
    ConsultationAnswer,
    Formulation,
    FormulationLine,
    Ingredient,
    SessionRecord,
)
from treatments.services import LineInput
from treatments.tests import factories
from treatments.tests.factories import HA, PDRN, VITAMIN_C, ZINC, ingredient

pytestmark = pytest.mark.django_db


def answer_yes(patient, item):
    screening = screening_for(patient)
    row = ScreeningAnswer.objects.get(screening=screening, item=item)
    row.answer, row.answered_on = Answer.YES, datetime.date(2026, 1, 5)
    row.save()


# ---------------------------------------------------------------- catalogue


def test_catalogue_is_seeded_with_a_realistic_starting_set():
    assert Ingredient.objects.count() >= 20
    ha = ingredient(HA)
    assert (ha.category, ha.unit, ha.allergen_group.name) == ("hyaluronic_acid", "mL", "Hyaluronic acid")
    assert ha.typical_amount <= ha.maximum_amount
    assert ingredient(PDRN).allergen_group.name == "Polynucleotides (fish DNA)"


# ---------------------------------------------------------------- consultations


def test_consultation_prefills_contraindications_from_the_screening(practitioner):
    patient = factories.patient()
    answer_yes(patient, Contraindication.ANTICOAGULANTS)
    consultation = services.start_consultation(patient=patient, by=practitioner)
    answers = dict(consultation.answers.values_list("item", "answer"))
    assert len(answers) == len(Contraindication.values)
    assert answers["anticoagulants"] == "yes"
    assert answers["pregnancy"] == "unknown"


def test_answers_confirmed_at_the_visit_override_the_screening(practitioner):
    patient = factories.patient()
    answer_yes(patient, Contraindication.ANTICOAGULANTS)
    consultation = services.start_consultation(
        patient=patient, by=practitioner, answers={"anticoagulants": "no"}
    )
    assert consultation.answers.get(item="anticoagulants").answer == "no"


def test_a_yes_answer_blocks_eligible_without_an_override_reason(practitioner):
    patient = factories.patient()
    with pytest.raises(Refusal) as error:
        services.start_consultation(
            patient=patient, by=practitioner, decision="eligible", answers={"keloid": "yes"}
        )
    assert error.value.field == "override_reason"
    assert "Tendency to keloid scarring" in error.value.message
    assert Consultation.objects.count() == 0


def test_override_reason_allows_eligible_and_is_kept(practitioner):
    consultation = services.start_consultation(
        patient=factories.patient(),
        by=practitioner,
        decision="eligible",
        answers={"keloid": "yes"},
        override_reason="Keloids only on the chest; face treated superficially.",
    )
    consultation.refresh_from_db()
    assert consultation.decision == "eligible"
    assert consultation.override_reason == "Keloids only on the chest; face treated superficially."


def test_deferred_needs_a_reason(practitioner):
    with pytest.raises(Refusal, match="Give the reason for “Deferred”"):
        services.start_consultation(patient=factories.patient(), by=practitioner, decision="deferred")


def test_other_concern_needs_its_text(practitioner):
    with pytest.raises(Refusal, match="Describe the “other” concern"):
        services.start_consultation(patient=factories.patient(), by=practitioner, concerns=["other"])


def test_signing_an_eligible_consultation_needs_the_plan(practitioner):
    consultation = services.start_consultation(
        patient=factories.patient(), by=practitioner, decision="eligible", plan_areas=["face"]
    )
    with pytest.raises(Refusal, match="proposed number of sessions and the interval"):
        services.sign_consultation(consultation=consultation, by=practitioner)
    consultation.refresh_from_db()
    assert consultation.signed_at is None


def test_signing_needs_a_decision(practitioner):
    consultation = services.start_consultation(patient=factories.patient(), by=practitioner)
    with pytest.raises(Refusal, match="Record a decision"):
        services.sign_consultation(consultation=consultation, by=practitioner)


def test_signed_consultation_records_who_and_when(practitioner):
    consultation = factories.signed_consultation(practitioner)
    consultation.refresh_from_db()
    assert consultation.signed_by == practitioner
    assert consultation.signed_at is not None


def test_signed_consultation_cannot_be_edited(practitioner):
    consultation = factories.signed_consultation(practitioner, goals="Brighter skin")
    with pytest.raises(Refusal, match="can no longer be edited. Add an addendum"):
        services.update_consultation(consultation=consultation, by=practitioner, goals="Changed")
    consultation.refresh_from_db()
    assert consultation.goals == "Brighter skin"


def test_signed_consultation_cannot_be_signed_twice(practitioner):
    consultation = factories.signed_consultation(practitioner)
    with pytest.raises(Refusal, match="can no longer be edited"):
        services.sign_consultation(consultation=consultation, by=practitioner)


def test_draft_consultation_can_be_edited(practitioner):
    consultation = services.start_consultation(patient=factories.patient(), by=practitioner, goals="a")
    services.update_consultation(
        consultation=consultation, by=practitioner, goals="b", answers={"pregnancy": "no"}
    )
    consultation.refresh_from_db()
    assert consultation.goals == "b"
    assert consultation.answers.get(item="pregnancy").answer == "no"


def test_addendum_on_signed_consultation_keeps_author_time_and_text(practitioner):
    consultation = factories.signed_consultation(practitioner)
    addendum = services.add_addendum(consultation=consultation, by=practitioner, text="  Patient called. ")
    assert (addendum.author, addendum.text) == (practitioner, "Patient called.")
    assert addendum.created_at is not None
    assert list(consultation.addenda.all()) == [addendum]


def test_addendum_is_refused_on_a_draft(practitioner):
    consultation = services.start_consultation(patient=factories.patient(), by=practitioner)
    with pytest.raises(Refusal, match="still a draft"):
        services.add_addendum(consultation=consultation, by=practitioner, text="x")
    assert Addendum.objects.count() == 0


def test_empty_addendum_is_refused(practitioner):
    consultation = factories.signed_consultation(practitioner)
    with pytest.raises(Refusal, match="Write the addendum text"):
        services.add_addendum(consultation=consultation, by=practitioner, text="   ")


def test_consultation_changes_are_audited(practitioner):
    consultation = services.start_consultation(patient=factories.patient(), by=practitioner, goals="a")
    services.update_consultation(consultation=consultation, by=practitioner, goals="b")
    services.update_consultation(consultation=consultation, by=practitioner, **factories.ELIGIBLE_PLAN)
    services.sign_consultation(consultation=consultation, by=practitioner)
    history = consultation.history.order_by("history_date")
    assert [h.history_type for h in history] == ["+", "~", "~", "~"]
    assert {h.history_user for h in history} == {practitioner}
    assert ConsultationAnswer.history.filter(consultation_id=consultation.pk).count() == len(Contraindication)


# ---------------------------------------------------------------- formulations


def test_formulation_needs_a_signed_eligible_consultation(practitioner):
    draft = services.start_consultation(
        patient=factories.patient(), by=practitioner, **factories.ELIGIBLE_PLAN
    )
    with pytest.raises(Refusal, match="Sign the consultation first"):
        factories.formulation(practitioner, draft)
    not_eligible = factories.signed_consultation(
        practitioner, decision="not_eligible", decision_reason="Pregnant"
    )
    with pytest.raises(Refusal, match="found the patient eligible"):
        factories.formulation(practitioner, not_eligible)
    assert Formulation.objects.count() == 0


def test_formulation_lines_take_the_ingredient_unit(practitioner):
    formulation = factories.formulation(practitioner)
    assert [(line.ingredient.name, line.amount, line.unit) for line in formulation.lines.all()] == [
        (HA, Decimal("2.000"), "mL"),
        (VITAMIN_C, Decimal("100.000"), "mg"),
    ]
    assert formulation.version == 1


def test_ingredient_in_a_patient_allergen_group_is_refused_without_override(practitioner):
    consultation = factories.signed_consultation(practitioner)
    factories.allergic_to(consultation.patient, "Polynucleotides (fish DNA)")
    lines = [LineInput(ingredient=ingredient(PDRN), amount=Decimal("2"), override_reason="I know best")]
    with pytest.raises(Refusal) as error:
        factories.formulation(practitioner, consultation, lines=lines)
    assert error.value.message == (
        "Polynucleotides (PDRN) 7.5 mg/mL cannot be used: the patient is allergic to "
        "Polynucleotides (fish DNA). Remove it from the formulation."
    )
    assert Formulation.objects.count() == 0


def test_amount_above_maximum_needs_a_written_reason(practitioner):
    consultation = factories.signed_consultation(practitioner)
    lines = [LineInput(ingredient=ingredient(VITAMIN_C), amount=Decimal("500"))]
    with pytest.raises(Refusal) as error:
        factories.formulation(practitioner, consultation, lines=lines)
    assert error.value.message == (
        "500 mg of Vitamin C (sodium ascorbate) is above the maximum of 400 mg per session: lower it, "
        "or write the reason for exceeding it on that line."
    )
    lines[0].override_reason = "Severe photo-damage; tolerated 500 mg before."
    formulation = factories.formulation(practitioner, consultation, lines=lines)
    assert formulation.lines.get().override_reason == "Severe photo-damage; tolerated 500 mg before."


def test_override_reason_is_dropped_when_within_maximum(practitioner):
    lines = [LineInput(ingredient=ingredient(VITAMIN_C), amount=Decimal("100"), override_reason="why not")]
    formulation = factories.formulation(practitioner, lines=lines)
    assert formulation.lines.get().override_reason == ""


def test_retired_ingredient_is_refused(practitioner):
    zinc = ingredient(ZINC)
    zinc.is_active = False
    zinc.save()
    with pytest.raises(Refusal, match=r"Zinc \(zinc sulfate\) is retired from the catalogue"):
        factories.formulation(practitioner, lines=[LineInput(ingredient=zinc, amount=Decimal("2"))])


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-1")])
def test_amounts_must_be_positive(practitioner, amount):
    with pytest.raises(Refusal, match="must be more than zero"):
        factories.formulation(practitioner, lines=[LineInput(ingredient=ingredient(HA), amount=amount)])


def test_amount_in_another_unit_is_refused(practitioner):
    line = LineInput(ingredient=ingredient(HA), amount=Decimal("2"), unit="mg")
    with pytest.raises(Refusal, match=r"is dosed in mL, not mg"):
        factories.formulation(practitioner, lines=[line])


def test_an_ingredient_may_appear_once(practitioner):
    lines = [LineInput(ingredient=ingredient(HA), amount=Decimal("1"))] * 2
    with pytest.raises(Refusal, match="appears twice"):
        factories.formulation(practitioner, lines=lines)


def test_formulation_needs_lines_and_volume(practitioner):
    with pytest.raises(Refusal, match="Add at least one ingredient"):
        services.create_formulation(
            consultation=factories.signed_consultation(practitioner),
            by=practitioner,
            lines=[],
            total_volume_ml=4,
        )


def test_each_change_is_a_new_version_and_all_versions_stay(practitioner):
    first = factories.formulation(practitioner)
    lines = [LineInput(ingredient=ingredient(HA), amount=Decimal("3"))]
    second = factories.formulation(practitioner, first.consultation, lines=lines, previous=first)
    assert (first.version, second.version, second.previous) == (1, 2, first)
    assert list(Formulation.objects.filter(patient=first.patient).values_list("version", flat=True)) == [2, 1]
    assert first.lines.count() == 2


def test_versions_are_numbered_per_patient(practitioner):
    factories.formulation(practitioner)
    other = factories.formulation(practitioner)
    assert other.version == 1


def test_a_version_used_in_a_session_never_changes(practitioner):
    record = factories.session_record(practitioner)
    formulation = record.formulation
    formulation.notes = "edited behind the service"
    with pytest.raises(Refusal):
        formulation.save()
    line = formulation.lines.first()
    line.amount = Decimal("9")
    with pytest.raises(Refusal):
        line.save()
    with pytest.raises(Refusal):
        formulation.delete()
    assert Formulation.objects.get(pk=formulation.pk).notes == ""
    assert FormulationLine.objects.get(pk=line.pk).amount == Decimal("2")


def test_diff_lists_added_removed_changed_and_fields(practitioner):
    first = factories.formulation(practitioner, vehicle="Saline")
    lines = [
        LineInput(ingredient=ingredient(HA), amount=Decimal("3")),
        LineInput(ingredient=ingredient(ZINC), amount=Decimal("2")),
    ]
    second = factories.formulation(
        practitioner, first.consultation, lines=lines, previous=first, vehicle="Saline", total_volume_ml=5
    )
    diff = selectors.formulation_diff(first, second)
    assert [line.ingredient.name for line in diff["added"]] == [ZINC]
    assert [line.ingredient.name for line in diff["removed"]] == [VITAMIN_C]
    assert [(a.amount, b.amount) for a, b in diff["changed"]] == [(Decimal("2"), Decimal("3"))]
    assert diff["fields"] == [("Total volume (mL)", "4", "5")]
    assert not diff["same"]


# ---------------------------------------------------------------- session records


def test_session_record_keeps_lots_per_formulation_line(practitioner):
    formulation = factories.formulation(practitioner)
    lines = list(formulation.lines.all())
    lot = factories.stock_lot(lines[0].ingredient, number="HA-2211")
    record = factories.session_record(practitioner, formulation, lots={lines[0].pk: lot, lines[1].pk: None})
    assert dict(record.lots.values_list("line_id", "lot_number")) == {lines[0].pk: "HA-2211", lines[1].pk: ""}
    assert record.lots.get(line=lines[0]).stock_lot == lot
    assert record.patient_id == formulation.patient_id


def test_needle_technique_needs_a_gauge(practitioner):
    with pytest.raises(Refusal, match="needle gauge"):
        factories.session_record(practitioner, needle_gauge="")


def test_numbing_cream_needs_the_product(practitioner):
    with pytest.raises(Refusal, match="Name the numbing cream"):
        factories.session_record(practitioner, numbing_cream=True)


def test_mark_done_locks_the_record_and_queues_aftercare(practitioner):
    record = factories.session_record(practitioner)
    services.mark_session_done(session_record=record, by=practitioner)
    record.refresh_from_db()
    assert record.done_by == practitioner
    assert record.aftercare_due_at is not None
    with pytest.raises(Refusal, match="marked done on .* and is locked"):
        services.update_session_record(session_record=record, by=practitioner, notes="late change")
    with pytest.raises(Refusal, match="is locked"):
        services.mark_session_done(session_record=record, by=practitioner)
    assert SessionRecord.objects.get(pk=record.pk).notes == ""


def test_mark_done_needs_the_volume(practitioner):
    record = factories.session_record(practitioner, volume_ml=None)
    with pytest.raises(Refusal, match="Record the volume given"):
        services.mark_session_done(session_record=record, by=practitioner)
    record.refresh_from_db()
    assert record.done_at is None and record.aftercare_due_at is None


def test_aftercare_is_queued_at_most_once(practitioner):
    record = factories.session_record(practitioner)
    services.mark_session_done(session_record=record, by=practitioner)
    record.refresh_from_db()
    first_due = record.aftercare_due_at
    assert services.queue_aftercare(session_record=record) is False
    record.refresh_from_db()
    assert record.aftercare_due_at == first_due


def test_aftercare_is_not_queued_for_an_open_session(practitioner):
    record = factories.session_record(practitioner)
    with pytest.raises(Refusal, match="only sent for a session marked done"):
        services.queue_aftercare(session_record=record)


def test_open_session_record_can_be_updated(practitioner):
    record = factories.session_record(practitioner)
    services.update_session_record(
        session_record=record, by=practitioner, pain_score=6, reactions=["redness"]
    )
    record.refresh_from_db()
    assert (record.pain_score, record.reactions) == (6, ["redness"])


def test_consultation_date_cannot_be_in_the_future(practitioner):
    tomorrow = datetime.date.today() + datetime.timedelta(days=2)
    with pytest.raises(Refusal, match="cannot be in the future"):
        services.start_consultation(patient=factories.patient(), by=practitioner, date=tomorrow)


def test_no_new_formulation_after_a_later_consultation_deferred_treatment(practitioner):
    first = factories.formulation(practitioner)
    later = services.start_consultation(
        patient=first.patient,
        by=practitioner,
        date=datetime.date(2026, 4, 1),
        decision="deferred",
        decision_reason="Started isotretinoin",
    )
    services.sign_consultation(consultation=later, by=practitioner)
    with pytest.raises(Refusal) as error:
        factories.formulation(practitioner, first.consultation, previous=first)
    assert error.value.message == (
        "The latest signed consultation, of 01/04/2026, decided “Deferred”. "
        "A new formulation needs a new consultation that finds the patient eligible."
    )


def test_session_cannot_be_recorded_in_the_future(practitioner):
    from django.utils import timezone

    with pytest.raises(Refusal, match="cannot be in the future"):
        factories.session_record(practitioner, performed_at=timezone.now() + datetime.timedelta(days=3))
