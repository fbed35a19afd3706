"""Writes to patient records. Each function runs in one transaction and keeps the search column."""

import datetime
import uuid

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from clinic.audit_chain import queue_bulk
from clinic.errors import Refusal
from clinic.models import Counter

from .models import Answer, Contraindication, Patient, Screening, ScreeningAnswer
from .selectors import chart_number_for

CHART_COUNTER = "chart_number"


def next_chart_number() -> str:
    """A human-readable chart number, unique and never reused (a counter that only goes up)."""
    return chart_number_for(Counter.next_value(CHART_COUNTER))


@transaction.atomic
def register_patient(*, by, **fields) -> Patient:
    """Register a patient: assign the chart number, stamp consent, fill the search column."""
    patient = Patient(**fields, created_by=by)
    patient.chart_number = next_chart_number()
    if patient.email_consent:
        patient.email_consent_changed_at = timezone.now()
    patient.fill_search_columns()
    patient._history_user = by
    patient.full_clean()
    patient.save()
    return patient


@transaction.atomic
def update_patient(*, patient: Patient, by, **fields) -> Patient:
    """Change identity or contact details; a change of e-mail consent is time-stamped, and pending
    reminders follow the consent and the address in the same transaction (rule `email-needs-consent`,
    docs/clinical-rules.md)."""
    before = Patient.objects.select_for_update().get(pk=patient.pk)
    for name, value in fields.items():
        setattr(patient, name, value)
    if patient.email_consent != before.email_consent:
        patient.email_consent_changed_at = timezone.now()
    patient.fill_search_columns()
    patient._history_user = by
    patient.full_clean()
    patient.save()
    if (patient.email_consent, patient.email) != (before.email_consent, before.email):
        # Withdrawn consent cancels pending reminders; a new address or consent re-queues them
        # (rule `email-needs-consent`).
        from scheduling.notifications import sync_patient_reminders

        sync_patient_reminders(patient=patient)
    return patient


def screening_for(patient: Patient) -> Screening:
    """The patient's screening, created with every contraindication "unknown" on first use."""
    screening, created = Screening.objects.get_or_create(patient=patient)
    if created:
        bulk_create_with_history(
            [ScreeningAnswer(screening=screening, item=item) for item in Contraindication.values],
            ScreeningAnswer,
        )
        # bulk_create sends no post_save: queue the history rows it wrote for sealing (clinic/audit_chain.py).
        queue_bulk(ScreeningAnswer.history.filter(screening_id=screening.pk))
    return screening


@transaction.atomic
def archive_patient(*, patient: Patient, by) -> Patient:
    """Archive a patient: hidden from the list and search, kept for the record (nothing is deleted)."""
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if patient.is_archived:
        raise Refusal(f"{patient.full_name} is already archived.")
    patient.archived_at = timezone.now()
    patient._history_user = by
    patient.save()
    return patient


@transaction.atomic
def restore_patient(*, patient: Patient, by) -> Patient:
    """Bring an archived patient back to the list and search."""
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if not patient.is_archived:
        raise Refusal(f"{patient.full_name} is not archived.")
    if patient.is_erased:
        raise Refusal(
            f"{patient.full_name} asked to be erased: the record stays archived, kept only for the "
            "clinical records' retention period. Register the patient again if they come back."
        )
    patient.archived_at = None
    patient._history_user = by
    patient.save()
    return patient


@transaction.atomic
def update_screening(
    *,
    patient: Patient,
    by,
    allergen_groups,
    allergy_notes: str,
    current_medications: str,
    fitzpatrick_type: str,
    answers: dict[str, tuple[str, datetime.date | None]],
) -> Screening:
    """Save the practitioner's screening (rule `screening-blocks-eligibility`, docs/clinical-rules.md):
    fields, allergen groups, and each contraindication's answer. A yes or no needs the date it was asked;
    "unknown" keeps no date. Only what changed is written, so the history shows real changes."""
    screening = screening_for(patient)
    screening = Screening.objects.select_for_update().get(pk=screening.pk)
    answers = dict(answers)
    if allergen_groups:
        # An allergy recorded means yes to "known allergy to an ingredient" (rule
        # `allergy-single-source`, docs/clinical-rules.md): the groups are the one source of truth.
        _, answered_on = answers.get(Contraindication.INGREDIENT_ALLERGY, (Answer.YES, None))
        answers[Contraindication.INGREDIENT_ALLERGY] = (Answer.YES, answered_on or timezone.localdate())
    for item, (answer, answered_on) in answers.items():
        if item not in Contraindication.values:
            raise Refusal(f"Unknown contraindication {item!r}.")
        if answer != Answer.UNKNOWN and answered_on is None:
            label = Contraindication(item).label
            raise Refusal(f"Give the date “{label}” was answered.")
    changed = (
        screening.allergy_notes != allergy_notes
        or screening.current_medications != current_medications
        or screening.fitzpatrick_type != fitzpatrick_type
    )
    screening.allergy_notes = allergy_notes
    screening.current_medications = current_medications
    screening.fitzpatrick_type = fitzpatrick_type
    screening.updated_by = by
    screening._history_user = by
    # One key for every history row this save writes, so the page shows it as one change.
    save_key = f"screening save {uuid.uuid4().hex}"
    screening._change_reason = save_key
    if changed:
        screening.full_clean()
        screening.save()
    new_groups = {g.pk for g in allergen_groups}
    if new_groups != set(screening.allergen_groups.values_list("pk", flat=True)):
        if not changed:
            screening.save(update_fields=["updated_by", "updated_at"])
        screening.allergen_groups.set(new_groups)  # m2m_changed writes the history row
    for row in screening.answers.all():
        if row.item not in answers:
            continue
        answer, answered_on = answers[row.item]
        if answer == Answer.UNKNOWN:
            answered_on = None
        if (row.answer, row.answered_on) != (answer, answered_on):
            row.answer, row.answered_on = answer, answered_on
            row._history_user = by
            row._change_reason = save_key
            row.save()
            if not changed:
                screening.save(update_fields=["updated_by", "updated_at"])
                changed = True
    return screening
