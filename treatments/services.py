"""Writes to clinical records. Each function runs in one transaction, validates, and raises
Refusal with a message a person can act on; views show it on the form. A rule cited
as rule `name` is in docs/clinical-rules.md."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from clinic.errors import Refusal
from patients.models import Answer, Contraindication, Patient
from patients.services import screening_for
from scheduling.models import Appointment, AppointmentKind, ProtocolBand
from scheduling.planner import band_deviation, band_for_age, cadence_for_interval
from scheduling.services import mark_session_took_place

from .aftercare import enqueue_aftercare
from .models import (
    Addendum,
    Consultation,
    ConsultationAnswer,
    Decision,
    Formulation,
    FormulationLine,
    Ingredient,
    SessionLot,
    SessionRecord,
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
    "plan_notes",
)


def screening_answers(patient: Patient) -> dict[str, str]:
    """The patient's current screening answers by contraindication, to pre-fill a visit (rule
    `screening-blocks-eligibility`)."""
    screening = screening_for(patient)
    answers = dict.fromkeys(Contraindication.values, Answer.UNKNOWN)
    answers.update({a.item: a.answer for a in screening.answers.all()})
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
    answers = {**screening_answers(patient), **(answers or {})}
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
    answers = {**current_answers, **(answers or {})}
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


def _shown(value) -> str:
    if isinstance(value, list):
        return ", ".join(value) or "—"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value) if value not in ("", None) else "—"


def formulation_diff(old: Formulation, new: Formulation) -> dict:
    """What changed between two versions: ingredients added, removed, changed amount; other fields."""
    old_lines = {line.ingredient_id: line for line in old.lines.all()}
    new_lines = {line.ingredient_id: line for line in new.lines.all()}
    added = [new_lines[i] for i in new_lines.keys() - old_lines.keys()]
    removed = [old_lines[i] for i in old_lines.keys() - new_lines.keys()]
    changed = [
        (old_lines[i], new_lines[i])
        for i in old_lines.keys() & new_lines.keys()
        if old_lines[i].amount != new_lines[i].amount
    ]
    fields = []
    for name, label in (
        ("concern_labels", "Concerns targeted"),
        ("total_volume_ml", "Total volume (mL)"),
        ("vehicle", "Dilution / vehicle"),
        ("notes", "Notes"),
    ):
        before, after = _shown(getattr(old, name)), _shown(getattr(new, name))
        if before != after:
            fields.append((label, before, after))
    by_name = lambda line: line.ingredient.name  # noqa: E731
    return {
        "added": sorted(added, key=by_name),
        "removed": sorted(removed, key=by_name),
        "changed": sorted(changed, key=lambda pair: pair[0].ingredient.name),
        "fields": fields,
        "same": not (added or removed or changed or fields),
    }


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


def _save_lots(record: SessionRecord, lots: dict[int, str], by) -> None:
    existing = {lot.line_id: lot for lot in record.lots.all()}
    for line in record.formulation.lines.all():
        value = (lots.get(line.pk) or "").strip()
        row = existing.get(line.pk) or SessionLot(session_record=record, line=line)
        if row.pk is None or row.lot_number != value:
            row.lot_number = value
            row._history_user = by
            row.save()


@transaction.atomic
def record_session(
    *,
    formulation: Formulation,
    by,
    lots: dict[int, str] | None = None,
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
            "and is locked. Note corrections in the patient's next consultation."
        )
    return current


@transaction.atomic
def update_session_record(
    *, session_record: SessionRecord, by, lots: dict[int, str] | None = None, **fields
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
    if current.volume_ml is None:
        raise Refusal("Record the volume given before marking the session done.", "volume_ml")
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
