"""Writes to clinical records. Each function runs in one transaction, validates, and raises
Refusal with a message a person can act on; views show it on the form. A rule cited
as rule `name` is in docs/clinical-rules.md."""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from clinic.errors import Refusal
from consents.services import check_consent
from patients.models import Answer, Contraindication, Patient
from patients.services import screening_for
from scheduling.models import Appointment, AppointmentKind, ProtocolBand
from scheduling.planner import band_deviation, band_for_age, cadence_for_interval
from scheduling.services import mark_session_took_place

from . import injection_map
from .aftercare import enqueue_aftercare
from .models import (
    Addendum,
    Consultation,
    ConsultationAnswer,
    Decision,
    Formulation,
    FormulationLine,
    Ingredient,
    InjectionZone,
    SessionCorrection,
    SessionLot,
    SessionRecord,
    StockLot,
)
from .selectors import latest_signed_consultation

# ---------------------------------------------------------------- consultations
# (rules `consultation-first`, `eligibility-decision`, `screening-blocks-eligibility`)

CONSULTATION_FIELDS = (
    "date",
    "concerns",
    "concern_other",
    "goals",
    "skin_assessment",
    "decision",
    "decision_reason",
    "override_reason",
    "plan_areas",
    "plan_area_other",
    "plan_session_count",
    "plan_interval_days",
    "plan_reason",
    "plan_concurrent_reason",
    "plan_notes",
)


def screening_answers(patient: Patient) -> dict[str, str]:
    """The patient's current screening answers by contraindication, to pre-fill a visit (rule
    `screening-blocks-eligibility`)."""
    screening = screening_for(patient)
    answers = dict.fromkeys(Contraindication.values, Answer.UNKNOWN)
    answers.update({a.item: a.answer for a in screening.answers.all()})
    return with_recorded_allergy(patient, answers)


def with_recorded_allergy(patient: Patient, answers: dict[str, str]) -> dict[str, str]:
    """An allergy recorded in the screening means yes to "known allergy to an ingredient", whatever
    was answered (rule `allergy-single-source`)."""
    if screening_for(patient).allergen_groups.exists():
        answers = {**answers, Contraindication.INGREDIENT_ALLERGY: Answer.YES}
    return answers


def _check_decision(consultation: Consultation, answers: dict[str, str]) -> None:
    """Any contraindication answered "yes" blocks "eligible" unless a written override reason is given
    (rule `screening-blocks-eligibility`). Not eligible / deferred need a reason (rule
    `eligibility-decision`). "Other" concern needs its text (rule `four-concerns`)."""
    if consultation.date and consultation.date > timezone.localdate():
        raise Refusal("The consultation date cannot be in the future.", "date")
    if "other" in (consultation.concerns or []) and not consultation.concern_other.strip():
        raise Refusal("Describe the “other” concern, or untick it.", "concern_other")
    yes = [Contraindication(item).label for item, answer in answers.items() if answer == Answer.YES]
    if consultation.decision == Decision.ELIGIBLE and yes and not consultation.override_reason.strip():
        raise Refusal(
            f"“Eligible” is blocked: the patient answered yes to {', '.join(yes)}. "
            "Write why treatment is still appropriate in “Contraindication override reason”, "
            "or choose “not eligible” or “deferred”.",
            "override_reason",
        )
    needs_reason = consultation.decision in (Decision.NOT_ELIGIBLE, Decision.DEFERRED)
    if needs_reason and not consultation.decision_reason.strip():
        raise Refusal(f"Give the reason for “{consultation.get_decision_display()}”.", "decision_reason")
    _check_plan(consultation)


def plan_protocol(patient: Patient, day) -> tuple[int, ProtocolBand | None]:
    """The patient's age on the consultation date and the protocol band for it, or None (rules
    `age-banded-schedule`, `band-edges`, `no-band-no-default`)."""
    age = patient.age_on(day)
    return age, band_for_age(age)


def _check_plan(consultation: Consultation) -> None:
    """The band for the patient's age on the consultation date proposes the course (rules
    `band-proposes-practitioner-decides`, `no-band-no-default`, `course-count-range`); a count
    outside its minimum–maximum or another cadence needs the practitioner's reason, and so does any
    course for an age without a band. The comparison is scheduling's own (`band_deviation`)."""
    count, interval = consultation.plan_session_count, consultation.plan_interval_days
    if consultation.decision != Decision.ELIGIBLE or not (count and interval and consultation.date):
        return
    if consultation.plan_reason.strip():
        return
    age, band = plan_protocol(consultation.patient, consultation.date)
    if band is None:
        raise Refusal(
            f"No protocol for age {age}: give the reason for the count and cadence chosen.",
            "plan_reason",
        )
    deviation = band_deviation(band, count=count, cadence=cadence_for_interval(interval))
    if deviation:
        raise Refusal(f"{deviation}: give the reason for this course.", "plan_reason")


def _save_answers(consultation: Consultation, answers: dict[str, str], by) -> None:
    existing = {a.item: a for a in consultation.answers.all()}
    for item in Contraindication.values:
        value = answers.get(item, Answer.UNKNOWN)
        row = existing.get(item) or ConsultationAnswer(consultation=consultation, item=item)
        if row.pk is None or row.answer != value:
            row.answer = value
            row._history_user = by
            row.save()


def _apply(consultation: Consultation, fields: dict) -> None:
    unknown = set(fields) - set(CONSULTATION_FIELDS)
    if unknown:
        raise TypeError(f"unknown consultation fields: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(consultation, name, "" if value is None and name not in _NULLABLE else value)


_NULLABLE = {"plan_session_count", "plan_interval_days", "date"}


@transaction.atomic
def start_consultation(
    *, patient: Patient, by, answers: dict[str, str] | None = None, **fields
) -> Consultation:
    """Open a draft consultation (rule `consultation-first`). Contraindication answers default to the
    patient's screening (rule `screening-blocks-eligibility`)."""
    fields.setdefault("date", timezone.localdate())
    consultation = Consultation(patient=patient, practitioner=by)
    _apply(consultation, fields)
    answers = with_recorded_allergy(patient, {**screening_answers(patient), **(answers or {})})
    _check_decision(consultation, answers)
    consultation._history_user = by
    consultation.full_clean()
    consultation.save()
    _save_answers(consultation, answers, by)
    return consultation


def _locked_consultation(consultation: Consultation) -> Consultation:
    current = Consultation.objects.select_for_update().get(pk=consultation.pk)
    if current.is_signed:
        raise Refusal(
            f"This consultation was signed on {timezone.localtime(current.signed_at):%d/%m/%Y at %H:%M} "
            "and can no longer be edited. Add an addendum to correct or complete it."
        )
    return current


@transaction.atomic
def update_consultation(
    *, consultation: Consultation, by, answers: dict[str, str] | None = None, **fields
) -> Consultation:
    """Change a draft consultation. A signed one is refused: corrections are addenda."""
    _locked_consultation(consultation)
    _apply(consultation, fields)
    current_answers = {a.item: a.answer for a in consultation.answers.all()}
    answers = with_recorded_allergy(consultation.patient, {**current_answers, **(answers or {})})
    _check_decision(consultation, answers)
    consultation._history_user = by
    consultation.full_clean()
    consultation.save()
    _save_answers(consultation, answers, by)
    return consultation


@transaction.atomic
def sign_consultation(*, consultation: Consultation, by) -> Consultation:
    """Sign the note: from now on it is locked (addenda only). A decision is required, and an
    eligible consultation needs its plan (areas, count, interval)."""
    current = _locked_consultation(consultation)
    if not current.decision:
        raise Refusal("Record a decision (eligible, not eligible or deferred) before signing.", "decision")
    _check_decision(current, {a.item: a.answer for a in current.answers.all()})
    if current.decision == Decision.ELIGIBLE:
        if not current.plan_areas:
            raise Refusal("An eligible consultation needs the treatment areas of the plan.", "plan_areas")
        if not current.plan_session_count or not current.plan_interval_days:
            raise Refusal(
                "An eligible consultation needs the proposed number of sessions and the interval in days.",
                "plan_session_count",
            )
    current.signed_at = timezone.now()
    current.signed_by = by
    current._history_user = by
    current.save()
    consultation.signed_at, consultation.signed_by = current.signed_at, current.signed_by
    return current


@transaction.atomic
def add_addendum(*, consultation: Consultation, by, text: str) -> Addendum:
    """Add a correction to a signed consultation: kept with its author and time, never edited."""
    text = (text or "").strip()
    if not text:
        raise Refusal("Write the addendum text.", "text")
    if not Consultation.objects.filter(pk=consultation.pk, signed_at__isnull=False).exists():
        raise Refusal("This consultation is still a draft: edit it directly instead of adding an addendum.")
    addendum = Addendum(consultation=consultation, author=by, text=text)
    addendum._history_user = by
    addendum.save()
    return addendum


# ---------------------------------------------------------------- formulations
# (rules `per-patient-formulation`, `no-allergen-in-formulation`)


@dataclass
class LineInput:
    ingredient: Ingredient
    amount: Decimal
    unit: str = ""
    override_reason: str = ""


def _check_lines(patient: Patient, lines: list[LineInput]) -> None:
    """Rules `per-patient-formulation`, `no-allergen-in-formulation`: positive amounts in the ingredient's
    unit, not above its maximum without a written reason, no retired ingredient, never an ingredient the
    patient is allergic to (no override)."""
    if not lines:
        raise Refusal("Add at least one ingredient.")
    allergies = {g.pk: g.name for g in screening_for(patient).allergen_groups.all()}
    seen = set()
    for line in lines:
        ingredient = line.ingredient
        if ingredient.pk in seen:
            raise Refusal(f"{ingredient.name} appears twice: put its total amount on one line.")
        seen.add(ingredient.pk)
        if ingredient.allergen_group_id in allergies:
            raise Refusal(
                f"{ingredient.name} cannot be used: the patient is allergic to "
                f"{allergies[ingredient.allergen_group_id]}. Remove it from the formulation."
            )
        if not ingredient.is_active:
            raise Refusal(f"{ingredient.name} is retired from the catalogue: choose another ingredient.")
        if line.amount is None or line.amount <= 0:
            raise Refusal(f"The amount of {ingredient.name} must be more than zero.")
        if line.unit and line.unit != ingredient.unit:
            raise Refusal(
                f"{ingredient.name} is dosed in {ingredient.unit}, not {line.unit}: give the amount in "
                f"{ingredient.unit}."
            )
        if line.amount > ingredient.maximum_amount and not line.override_reason.strip():
            amount, maximum = line.amount.normalize(), ingredient.maximum_amount.normalize()
            raise Refusal(
                f"{amount:f} {ingredient.unit} of {ingredient.name} is above the maximum of {maximum:f} "
                f"{ingredient.unit} per session: lower it, or write the reason for exceeding it on that line."
            )


@transaction.atomic
def create_formulation(
    *,
    consultation: Consultation,
    by,
    lines: list[LineInput],
    total_volume_ml: Decimal,
    concerns: list[str] | None = None,
    vehicle: str = "",
    notes: str = "",
    previous: Formulation | None = None,
) -> Formulation:
    """Make the next version of the patient's cocktail (rule `per-patient-formulation`), from an
    eligible signed consultation.
    Versions are never rewritten: a change is always a new version."""
    patient = Patient.objects.select_for_update().get(pk=consultation.patient_id)
    if not (consultation.is_signed and consultation.is_eligible):
        raise Refusal(
            "A formulation needs a signed consultation that found the patient eligible. "
            "Sign the consultation first."
        )
    latest = latest_signed_consultation(patient)
    if latest is not None and not latest.is_eligible:
        raise Refusal(
            f"The latest signed consultation, of {latest.date:%d/%m/%Y}, decided "
            f"“{latest.get_decision_display()}”. "
            "A new formulation needs a new consultation that finds the patient eligible."
        )
    if latest is not None and latest.pk != consultation.pk:
        # An older "eligible" is not the standing decision: the formulation follows the latest one.
        raise Refusal(
            f"This is not the patient's latest signed consultation: formulate from the one of "
            f"{latest.date:%d/%m/%Y}."
        )
    if previous is not None and previous.patient_id != patient.pk:
        raise Refusal("The earlier version belongs to another patient.")
    _check_lines(patient, lines)
    if total_volume_ml is None or total_volume_ml <= 0:
        raise Refusal("The total volume must be more than zero mL.", "total_volume_ml")
    last = Formulation.objects.filter(patient=patient).order_by("-version").values_list("version", flat=True)
    formulation = Formulation(
        patient=patient,
        consultation=consultation,
        version=(last.first() or 0) + 1,
        previous=previous,
        concerns=concerns or [],
        total_volume_ml=total_volume_ml,
        vehicle=vehicle,
        notes=notes,
        created_by=by,
    )
    formulation._history_user = by
    formulation.full_clean()
    formulation.save()
    for line in lines:
        row = FormulationLine(
            formulation=formulation,
            ingredient=line.ingredient,
            amount=line.amount,
            unit=line.ingredient.unit,
            override_reason=line.override_reason.strip()
            if line.amount > line.ingredient.maximum_amount
            else "",
        )
        row._history_user = by
        row.save()
    return formulation


# ---------------------------------------------------------------- session records
# (rules `session-about-an-hour`, `technique-recorded`, `immediate-reactions`,
# `aftercare-instructions`, `aftercare-once`)


def _already_recorded(appointment: Appointment) -> str:
    return (
        f"{_appointment_label(appointment)} already has its session record: open it from the appointment "
        "instead of recording the session again."
    )


def _appointment_label(appointment: Appointment) -> str:
    local = timezone.localtime(appointment.starts_at)
    name = f"Session {appointment.sequence}" if appointment.series_id else "The appointment"
    return f"{name} of {local:%d/%m/%Y at %H:%M}"


@transaction.atomic
def check_appointment_for_session(appointment: Appointment, *, patient_id: int | None = None) -> Appointment:
    """Whether a session can be recorded for this appointment (issue 3, linked records): a treatment
    session, not cancelled or missed, of this patient, on its day or after, and not recorded yet.
    Locks the appointment row, so two practitioners cannot record the same session at once."""
    locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
    label = _appointment_label(locked)
    if locked.kind != AppointmentKind.TREATMENT:
        raise Refusal(
            f"{label} is a {locked.get_kind_display().lower()}, not a treatment session: "
            "record consultations as consultation notes."
        )
    if not locked.is_active:
        raise Refusal(f"{label} is {locked.get_state_display().lower()}: no session can be recorded for it.")
    if patient_id is not None and locked.patient_id != patient_id:
        raise Refusal(f"{label} is another patient's: record the session from their appointment.")
    if timezone.localtime(locked.starts_at).date() > timezone.localdate():
        raise Refusal(f"{label} has not happened yet: record the session on the day.")
    if SessionRecord.objects.filter(appointment=locked).exists():
        raise Refusal(_already_recorded(locked))
    return locked


def _complete_appointment(record: SessionRecord, by) -> None:
    """The session is done, so its appointment took place: completed through scheduling's own service,
    in the caller's transaction (with its state-change log row)."""
    try:
        mark_session_took_place(appointment=record.appointment, by=by)
    except Refusal as exc:
        raise Refusal(
            f"The session cannot be marked done because its appointment cannot be completed: {exc.message}"
        ) from exc


SESSION_FIELDS = (
    "performed_at",
    "areas",
    "area_other",
    "technique",
    "needle_gauge",
    "grid_spacing_mm",
    "depth_mm",
    "numbing_cream",
    "numbing_product",
    "volume_ml",
    "pain_score",
    "reactions",
    "reaction_other",
    "aftercare_instructions",
    "notes",
)


def _check_session(record: SessionRecord) -> None:
    if record.performed_at and record.performed_at > timezone.now() + timedelta(days=1):
        raise Refusal(
            "A session is recorded when it happens: the date cannot be in the future.", "performed_at"
        )
    if record.technique == "needle" and not record.needle_gauge:
        raise Refusal("Give the needle gauge (for example 30G or 32G).", "needle_gauge")
    if record.technique != "needle":
        record.needle_gauge = ""
    if record.numbing_cream and not record.numbing_product.strip():
        raise Refusal("Name the numbing cream that was applied.", "numbing_product")
    if not record.numbing_cream:
        record.numbing_product = ""
    if "other" in (record.reactions or []) and not record.reaction_other.strip():
        raise Refusal("Describe the “other” reaction, or untick it.", "reaction_other")
    if "other" in (record.areas or []) and not record.area_other.strip():
        raise Refusal("Describe the “other” area, or untick it.", "area_other")


def _apply_session(record: SessionRecord, fields: dict) -> None:
    unknown = set(fields) - set(SESSION_FIELDS)
    if unknown:
        raise TypeError(f"unknown session fields: {sorted(unknown)}")
    for name, value in fields.items():
        if value is None and name in (
            "area_other",
            "needle_gauge",
            "numbing_product",
            "reaction_other",
            "aftercare_instructions",
            "notes",
        ):
            value = ""
        setattr(record, name, value)


def _save_lots(record: SessionRecord, lots: dict, by) -> None:
    """The lot picked from stock for each product line (rules `lot-required`, `lot-usable`); None
    leaves the line without a lot while the record is open."""
    existing = {lot.line_id: lot for lot in record.lots.all()}
    day = timezone.localtime(record.performed_at).date()
    for line in record.formulation.lines.all():
        stock_lot = lots.get(line.pk)
        row = existing.get(line.pk) or SessionLot(session_record=record, line=line)
        if stock_lot is not None:
            check_lot_usable(stock_lot, line=line, day=day)
        number = stock_lot.lot_number if stock_lot is not None else ""
        if row.pk is None or row.stock_lot_id != getattr(stock_lot, "pk", None):
            row.stock_lot, row.lot_number = stock_lot, number
            row._history_user = by
            row.save()


@transaction.atomic
def record_session(
    *,
    formulation: Formulation,
    by,
    lots: dict | None = None,
    appointment: Appointment | None = None,
    **fields,
) -> SessionRecord:
    """Start the record of a session with a formulation version of this patient (rules
    `session-about-an-hour`, `technique-recorded`, `immediate-reactions`), linked to
    the treatment appointment it took place in when there is one (one record per appointment)."""
    fields.setdefault("performed_at", timezone.now())
    record = SessionRecord(patient_id=formulation.patient_id, practitioner=by, formulation=formulation)
    if appointment is not None:
        record.appointment = check_appointment_for_session(appointment, patient_id=formulation.patient_id)
    _apply_session(record, fields)
    # clinical-rules.md, rule `consent-before-session`.
    check_consent(record.patient_id, timezone.localdate(record.performed_at or timezone.now()))
    _check_session(record)
    record._history_user = by
    record.full_clean(exclude=["appointment"])
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError as exc:
        if appointment is None or not SessionRecord.objects.filter(appointment=appointment).exists():
            raise
        raise Refusal(_already_recorded(appointment)) from exc
    _save_lots(record, lots or {}, by)
    return record


def _open_record(record: SessionRecord) -> SessionRecord:
    current = SessionRecord.objects.select_for_update().get(pk=record.pk)
    if current.is_done:
        raise Refusal(
            f"This session was marked done on {timezone.localtime(current.done_at):%d/%m/%Y at %H:%M} "
            "and is locked. Add a correction to it instead."
        )
    return current


@transaction.atomic
def update_session_record(
    *, session_record: SessionRecord, by, lots: dict | None = None, **fields
) -> SessionRecord:
    """Change an open session record. A record marked done is locked."""
    _open_record(session_record)
    _apply_session(session_record, fields)
    _check_session(session_record)
    session_record._history_user = by
    session_record.full_clean()
    session_record.save()
    if lots is not None:
        _save_lots(session_record, lots, by)
    return session_record


@transaction.atomic
def mark_session_done(*, session_record: SessionRecord, by) -> SessionRecord:
    """Finish the session: the record is locked, and the aftercare e-mail is queued in the same
    transaction (rules `aftercare-instructions`, `aftercare-once`)."""
    current = _open_record(session_record)
    # clinical-rules.md, rule `consent-before-session`.
    check_consent(current.patient_id, timezone.localdate(current.performed_at))
    if current.volume_ml is None:
        raise Refusal("Record the volume given before marking the session done.", "volume_ml")
    check_map_totals(current)
    use_session_lots(current, by)
    current.done_at = timezone.now()
    current.done_by = by
    current._history_user = by
    current.save()
    if current.appointment_id:
        _complete_appointment(current, by)
    queue_aftercare(session_record=current)
    session_record.refresh_from_db()
    return current


@transaction.atomic
def queue_aftercare(*, session_record: SessionRecord) -> bool:
    """Queue the aftercare e-mail for a session marked done, at most once per session (rule
    `aftercare-once`).

    THE one place the aftercare e-mail is queued: an outbox row (key `aftercare:<record>`) in the
    caller's transaction, so it commits with "done" and is sent right after (treatments/aftercare.py
    says who receives it). Returns True when it queued, False when the session already had its
    aftercare queued."""
    record = SessionRecord.objects.select_for_update().get(pk=session_record.pk)
    if not record.is_done:
        raise Refusal("Aftercare is only sent for a session marked done.")
    if record.aftercare_due_at is not None:
        return False
    record.aftercare_due_at = timezone.now()
    record._history_user = record.done_by
    record.save(update_fields=["aftercare_due_at"])
    session_record.aftercare_due_at = record.aftercare_due_at
    enqueue_aftercare(record)
    return True


# ---------------------------------------------------------------- stock lots
# (rules `lot-required`, `lot-usable`, `lot-stock-decrement`)


def check_lot_usable(
    stock_lot: StockLot, *, line: FormulationLine, day, amount: Decimal | None = None
) -> None:
    """A lot may be used for this line on this day: the line's product, not recalled, not expired,
    with enough left (rule `lot-usable`)."""
    product = line.ingredient.name
    if stock_lot.ingredient_id != line.ingredient_id:
        raise Refusal(f"Lot {stock_lot.lot_number} is not a lot of {product}: pick one of its own lots.")
    state = stock_lot.state_on(day)
    if state == "recalled":
        raise Refusal(f"Lot {stock_lot.lot_number} of {product} is recalled and cannot be used.")
    if state == "expired":
        raise Refusal(
            f"Lot {stock_lot.lot_number} of {product} expired on {stock_lot.expiry_date:%d/%m/%Y}: "
            "pick a lot that is still in date."
        )
    needed = amount if amount is not None else line.amount
    if state == "used up" or stock_lot.quantity_remaining < needed:
        left = stock_lot.quantity_remaining.normalize()
        raise Refusal(
            f"Lot {stock_lot.lot_number} of {product} has {left:f} {line.ingredient.unit} left, not enough "
            f"for {needed.normalize():f} {line.ingredient.unit}: pick another lot or receive new stock."
        )


def use_session_lots(record: SessionRecord, by) -> None:
    """Take what the session used off each lot, in the caller's transaction (rules `lot-required`,
    `lot-stock-decrement`). The lots are locked (PostgreSQL) so two sessions cannot both use the
    last of a lot; the database refuses a negative remainder whatever happens."""
    rows = list(record.lots.select_related("line__ingredient"))
    for line in record.formulation.lines.select_related("ingredient"):
        if not any(row.line_id == line.pk and row.stock_lot_id for row in rows):
            raise Refusal(
                f"Pick the lot of {line.ingredient.name} used at this session before marking it done "
                "(edit the record)."
            )
    day = timezone.localtime(record.performed_at).date()
    locked = StockLot.objects.select_for_update().in_bulk([row.stock_lot_id for row in rows])
    for row in sorted(rows, key=lambda r: r.stock_lot_id):
        stock_lot = locked[row.stock_lot_id]
        check_lot_usable(stock_lot, line=row.line, day=day)
        try:
            with transaction.atomic():
                StockLot.objects.filter(pk=stock_lot.pk).update(
                    quantity_remaining=F("quantity_remaining") - row.line.amount
                )
        except IntegrityError as exc:
            raise Refusal(
                f"Lot {stock_lot.lot_number} of {row.line.ingredient.name} has not enough left: "
                "pick another lot."
            ) from exc
        stock_lot.quantity_remaining -= row.line.amount
        row.quantity_used = row.line.amount
        row._history_user = by
        row.save(update_fields=["quantity_used"])


@transaction.atomic
def receive_stock(
    *,
    ingredient: Ingredient,
    by,
    lot_number: str,
    expiry_date,
    quantity_received: Decimal,
    supplier: str = "",
    received_on=None,
) -> StockLot:
    """Receive a lot of a catalogue product into stock (rule `lot-usable`)."""
    lot_number = (lot_number or "").strip()
    if not lot_number:
        raise Refusal("Give the lot number printed on the product.", "lot_number")
    if expiry_date is None:
        raise Refusal("Give the expiry date printed on the product.", "expiry_date")
    if quantity_received is None or quantity_received <= 0:
        raise Refusal(f"Give the quantity received, in {ingredient.unit}.", "quantity_received")
    if expiry_date < timezone.localdate():
        raise Refusal(
            f"This lot expired on {expiry_date:%d/%m/%Y}: it cannot be received into stock.", "expiry_date"
        )
    received_on = received_on or timezone.localdate()
    if received_on > timezone.localdate():
        raise Refusal("The date received cannot be in the future.", "received_on")
    if StockLot.objects.filter(ingredient=ingredient, lot_number=lot_number).exists():
        raise Refusal(
            f"Lot {lot_number} of {ingredient.name} is already in stock: open it, do not receive it again.",
            "lot_number",
        )
    stock_lot = StockLot(
        ingredient=ingredient,
        lot_number=lot_number,
        expiry_date=expiry_date,
        quantity_received=quantity_received,
        quantity_remaining=quantity_received,
        supplier=(supplier or "").strip(),
        received_on=received_on,
        received_by=by,
    )
    stock_lot._history_user = by
    stock_lot.full_clean()
    stock_lot.save()
    return stock_lot


# ---------------------------------------------------------------- injection map
# (rules `map-totals`, `map-points-in-zone`)


@dataclass
class ZoneInput:
    zone: str
    volume_ml: Decimal
    technique: str = "needle"
    depth_mm: Decimal | None = None
    needle_gauge: str = ""
    stock_lot: StockLot | None = None
    points: list = field(default_factory=list)


def _clean_points(zone: injection_map.Zone, points) -> list[list[int]]:
    if not isinstance(points, list | tuple):
        raise Refusal(f"The points of {zone.label} could not be read: mark them again.")
    if len(points) > injection_map.MAX_POINTS_PER_ZONE:
        raise Refusal(
            f"{zone.label} has more than {injection_map.MAX_POINTS_PER_ZONE} points: use a grid spacing."
        )
    cleaned = []
    for point in points:
        try:
            x, y = (round(float(v)) for v in point)
        except (TypeError, ValueError):
            raise Refusal(f"A point of {zone.label} could not be read: mark it again.") from None
        if not zone.contains(x, y):
            raise Refusal(f"A point marked for {zone.label} lies outside that zone: move or remove it.")
        cleaned.append([x, y])
    return cleaned


def check_map_totals(record: SessionRecord, volumes: list[Decimal] | None = None) -> None:
    """The zones' volumes add up to the volume given (rule `map-totals`); a record without a map
    has nothing to add up."""
    if volumes is None:
        volumes = list(record.zones.values_list("volume_ml", flat=True))
    if not volumes:
        return
    total = sum(volumes, Decimal(0))
    if record.volume_ml is None:
        raise Refusal("Record the volume given before mapping the zones.", "volume_ml")
    if total != record.volume_ml:
        raise Refusal(
            f"The zones add up to {total.normalize():f} mL but the volume given is "
            f"{record.volume_ml.normalize():f} mL: correct a zone's volume or the volume given.",
            "volume_ml",
        )


@transaction.atomic
def save_injection_map(*, session_record: SessionRecord, by, zones: list[ZoneInput]) -> list[InjectionZone]:
    """Replace the map of an open session record: the treated zones, how each was injected, its lot
    (one of the lots picked for the session) and its points (rules `map-totals`, `map-points-in-zone`)."""
    record = _open_record(session_record)
    picked = set(record.lots.exclude(stock_lot=None).values_list("stock_lot_id", flat=True))
    seen = set()
    for item in zones:
        shape = injection_map.BY_KEY.get(item.zone)
        if shape is None:
            raise Refusal("An unknown zone was sent: reload the map and mark it again.")
        if item.zone in seen:
            raise Refusal(f"{shape.label} appears twice: give it once with its whole volume.")
        seen.add(item.zone)
        if item.volume_ml is None or item.volume_ml <= 0:
            raise Refusal(f"Give the volume injected in {shape.label}, in mL.")
        if item.technique == "needle" and not item.needle_gauge:
            raise Refusal(f"Give the needle gauge used for {shape.label}.")
        if item.stock_lot is not None and item.stock_lot.pk not in picked:
            raise Refusal(
                f"The lot given for {shape.label} is not one of the lots picked for this session: "
                "pick the session's lots first."
            )
        item.points = _clean_points(shape, item.points)
    check_map_totals(record, [item.volume_ml for item in zones])
    record.zones.all().delete()
    made = []
    for item in zones:
        row = InjectionZone(
            session_record=record,
            zone=item.zone,
            technique=item.technique,
            depth_mm=item.depth_mm,
            needle_gauge=item.needle_gauge if item.technique == "needle" else "",
            volume_ml=item.volume_ml,
            stock_lot=item.stock_lot,
            points=item.points,
        )
        row._history_user = by
        row.full_clean(exclude=["session_record", "stock_lot"])
        row.save()
        made.append(row)
    return made


# ---------------------------------------------------------------- corrections (rule `session-correction`)


@transaction.atomic
def add_session_correction(*, session_record: SessionRecord, by, what: str, why: str) -> SessionCorrection:
    """Correct a session marked done: what and why, with author and time, shown beside the record,
    which itself never changes."""
    what, why = (what or "").strip(), (why or "").strip()
    if not what:
        raise Refusal("Say what is corrected (for example “Lot of vitamin C: B2231, not B2213”).", "what")
    if not why:
        raise Refusal("Say why the record needs this correction.", "why")
    if not SessionRecord.objects.filter(pk=session_record.pk, done_at__isnull=False).exists():
        raise Refusal("This session is still open: edit the record directly instead of correcting it.")
    correction = SessionCorrection(session_record=session_record, author=by, what=what[:300], why=why)
    correction._history_user = by
    correction.save()
    return correction


# ---------------------------------------------------------------- recall (rule `lot-recall`)


@transaction.atomic
def recall_lot(*, stock_lot: StockLot, by, reason: str) -> int:
    """Recall a lot: it can no longer be picked, and each patient who received it and accepts
    e-mail is sent the recall notice once (key `lot_recall:<lot>:<patient>`; queuing again sends
    nothing new). Returns the number of notices queued by this call."""
    reason = (reason or "").strip()
    if not reason:
        raise Refusal(
            "Give the reason for the recall (the supplier's notice), for the clinic's record.", "reason"
        )
    locked = StockLot.objects.select_for_update().get(pk=stock_lot.pk)
    if locked.recalled_at is None:
        locked.recalled_at, locked.recalled_by, locked.recall_reason = timezone.now(), by, reason
        locked._history_user = by
        locked.save(update_fields=["recalled_at", "recalled_by", "recall_reason"])
    stock_lot.recalled_at = locked.recalled_at
    return queue_recall_notices(stock_lot=locked)


def queue_recall_notices(*, stock_lot: StockLot) -> int:
    """Queue the recall notice for every patient who received this lot and accepts e-mail, in the
    caller's transaction; a patient already sent it is not sent it again."""
    from outbox.models import OutboxMessage

    from .recall import RECALL_NOTICE, enqueue_recall_notice

    patient_ids = set(
        SessionLot.objects.filter(stock_lot=stock_lot).values_list("session_record__patient_id", flat=True)
    )
    keys = {f"lot_recall:{stock_lot.pk}:{pk}" for pk in patient_ids}
    already = set(
        OutboxMessage.objects.filter(kind=RECALL_NOTICE, idempotency_key__in=keys).values_list(
            "idempotency_key", flat=True
        )
    )
    queued = 0
    for patient in Patient.objects.filter(pk__in=patient_ids).order_by("pk"):
        if f"lot_recall:{stock_lot.pk}:{patient.pk}" in already:
            continue
        if enqueue_recall_notice(stock_lot=stock_lot, patient=patient) is not None:
            queued += 1
    return queued
