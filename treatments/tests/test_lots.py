"""Issue 18: product lots from stock, the injection map, corrections and recall (rules `lot-required`,
`lot-usable`, `lot-stock-decrement`, `session-correction`, `lot-recall`, `map-totals`,
`allergy-single-source` in docs/clinical-rules.md)."""

import datetime
from decimal import Decimal

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


# ---------------------------------------------------------------- lots from stock


def _line(record, name):
    return next(line for line in record.formulation.lines.all() if line.ingredient.name == name)


def test_marking_done_takes_what_was_used_off_each_lot(practitioner):
    record = factories.session_record(practitioner)
    before = {lot.stock_lot_id: lot.stock_lot.quantity_remaining for lot in record.lots.all()}
    services.mark_session_done(session_record=record, by=practitioner)
    for lot in record.lots.select_related("line", "stock_lot"):
        assert lot.quantity_used == lot.line.amount
        assert lot.stock_lot.quantity_remaining == before[lot.stock_lot_id] - lot.line.amount
        assert lot.lot_number == lot.stock_lot.lot_number


def test_an_expired_lot_is_refused(practitioner):
    formulation = factories.formulation(practitioner)
    lots = factories.lots_for(formulation)
    line = formulation.lines.first()
    lots[line.pk] = factories.stock_lot(line.ingredient, expiry=datetime.date(2026, 1, 1))
    with pytest.raises(Refusal, match="expired on 01/01/2026"):
        factories.session_record(practitioner, formulation, lots=lots)


def test_an_exhausted_lot_is_refused_when_picked_and_when_marking_done(practitioner):
    formulation = factories.formulation(practitioner)
    line = formulation.lines.first()
    small = factories.stock_lot(line.ingredient, quantity=line.amount)  # exactly one session's worth
    first = factories.session_record(
        practitioner, formulation, lots=factories.lots_for(formulation) | {line.pk: small}
    )
    second = factories.session_record(
        practitioner, formulation, lots=factories.lots_for(formulation) | {line.pk: small}
    )
    services.mark_session_done(session_record=first, by=practitioner)
    small.refresh_from_db()
    assert small.quantity_remaining == 0
    with pytest.raises(Refusal, match="left, not enough"):
        services.mark_session_done(session_record=second, by=practitioner)
    with pytest.raises(Refusal, match="left, not enough"):
        factories.session_record(practitioner, formulation, lots={line.pk: small})


def test_a_lot_of_another_product_is_refused(practitioner):
    formulation = factories.formulation(practitioner)
    first, second = formulation.lines.all()
    with pytest.raises(Refusal, match="is not a lot of"):
        factories.session_record(
            practitioner, formulation, lots={first.pk: factories.stock_lot(second.ingredient)}
        )


def test_the_database_refuses_a_negative_remainder(practitioner):
    from django.db import IntegrityError, transaction

    lot = factories.stock_lot(factories.ingredient(factories.HA), quantity=Decimal("1"))
    lot.quantity_remaining = Decimal("-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        lot.save()


# ---------------------------------------------------------------- corrections


def test_a_done_session_gets_correction_addenda_and_stays_as_it_was(practitioner):
    record = factories.session_record(practitioner)
    with pytest.raises(Refusal, match="still open"):
        services.add_session_correction(session_record=record, by=practitioner, what="x", why="y")
    services.mark_session_done(session_record=record, by=practitioner)
    with pytest.raises(Refusal, match="why"):
        services.add_session_correction(session_record=record, by=practitioner, what="Pain 4", why=" ")
    correction = services.add_session_correction(
        session_record=record, by=practitioner, what="Pain score 4, not 3", why="Misheard."
    )
    assert (correction.author, correction.what) == (practitioner, "Pain score 4, not 3")
    record.refresh_from_db()
    assert record.pain_score == 3
    with pytest.raises(Refusal, match="Add a correction"):
        services.update_session_record(session_record=record, by=practitioner, pain_score=4)


# ---------------------------------------------------------------- injection map


def _zone(key, volume, **fields):
    from treatments.injection_map import BY_KEY

    shape = BY_KEY[key]
    fields.setdefault("points", [list(shape.grid(n)) for n in range(3)])
    return services.ZoneInput(zone=key, volume_ml=Decimal(volume), needle_gauge="32G", **fields)


def test_the_zones_volumes_add_up_to_the_volume_given(practitioner):
    record = factories.session_record(practitioner, volume_ml=Decimal("3.5"))
    with pytest.raises(Refusal, match="zones add up to 3 mL but the volume given is 3.5 mL"):
        services.save_injection_map(
            session_record=record, by=practitioner, zones=[_zone("forehead", "1"), _zone("chin", "2")]
        )
    lot = record.lots.first().stock_lot
    zones = services.save_injection_map(
        session_record=record,
        by=practitioner,
        zones=[_zone("forehead", "1.5", stock_lot=lot), _zone("chin", "2")],
    )
    assert [z.zone for z in zones] == ["forehead", "chin"]
    assert record.zones.get(zone="forehead").points == [list(p) for p in zones[0].points]
    # Changing the volume given afterwards is caught when marking done.
    services.update_session_record(session_record=record, by=practitioner, volume_ml=Decimal("4"))
    with pytest.raises(Refusal, match="zones add up"):
        services.mark_session_done(session_record=record, by=practitioner)


def test_a_point_outside_its_zone_or_a_foreign_lot_is_refused(practitioner):
    record = factories.session_record(practitioner, volume_ml=Decimal("1"))
    with pytest.raises(Refusal, match="outside that zone"):
        services.save_injection_map(
            session_record=record, by=practitioner, zones=[_zone("forehead", "1", points=[[10, 700]])]
        )
    with pytest.raises(Refusal, match="could not be read"):
        services.save_injection_map(
            session_record=record, by=practitioner, zones=[_zone("forehead", "1", points=[["a", None]])]
        )
    other = factories.stock_lot(factories.ingredient(factories.ZINC))
    with pytest.raises(Refusal, match="not one of the lots picked"):
        services.save_injection_map(
            session_record=record, by=practitioner, zones=[_zone("forehead", "1", stock_lot=other)]
        )


# ---------------------------------------------------------------- recall


def test_recall_finds_every_patient_of_a_lot_and_queues_one_notice_each(practitioner):
    from outbox.models import OutboxMessage
    from treatments import selectors

    ha = factories.ingredient(factories.HA)
    lot = factories.stock_lot(ha, number="RC-1")
    records = []
    for _ in range(3):
        formulation = factories.formulation(practitioner)
        line = next(li for li in formulation.lines.all() if li.ingredient_id == ha.pk)
        record = factories.session_record(
            practitioner, formulation, lots=factories.lots_for(formulation) | {line.pk: lot}
        )
        services.mark_session_done(session_record=record, by=practitioner)
        records.append(record)
    for record, consent in zip(records, (True, True, False), strict=True):
        record.patient.email_consent = consent
        record.patient.save()
    no_consent = records[2].patient
    uses = selectors.recall_uses([found.pk for found in selectors.lots_numbered(" rc-1 ")])
    assert {u.session_record.patient_id for u in uses} == {r.patient_id for r in records}
    assert services.recall_lot(stock_lot=lot, by=practitioner, reason="Supplier notice") == 2
    assert services.recall_lot(stock_lot=lot, by=practitioner, reason="Again") == 0
    notices = OutboxMessage.objects.filter(kind="lot_recall")
    assert notices.count() == 2
    assert no_consent.pk not in set(notices.values_list("patient_id", flat=True))
    lot.refresh_from_db()
    assert lot.is_recalled and lot.recall_reason == "Supplier notice"
    formulation = factories.formulation(practitioner)
    line = next(li for li in formulation.lines.all() if li.ingredient_id == ha.pk)
    with pytest.raises(Refusal, match="recalled"):
        factories.session_record(practitioner, formulation, lots={line.pk: lot})


def test_the_recall_notice_says_nothing_clinical(practitioner):
    from outbox.kinds import build_email
    from outbox.models import OutboxMessage

    record = factories.session_record(practitioner)
    services.mark_session_done(session_record=record, by=practitioner)
    lot = record.lots.first().stock_lot
    services.recall_lot(stock_lot=lot, by=practitioner, reason="Supplier notice")
    email = build_email(OutboxMessage.objects.get(kind="lot_recall"))
    body = email.body + email.subject
    for clinical in (lot.lot_number, lot.ingredient.name, "hyaluronic", "vitamin", "lot"):
        assert clinical.lower() not in body.lower()
