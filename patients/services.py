"""Writes to patient records. Each function runs in one transaction and keeps the search column."""

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from clinic.models import Counter

from .models import Contraindication, Patient, Screening, ScreeningAnswer

CHART_COUNTER = "chart_number"


def next_chart_number() -> str:
    """A human-readable chart number, unique and never reused (a counter that only goes up)."""
    return f"MC-{Counter.next_value(CHART_COUNTER):06d}"


@transaction.atomic
def patient_create(*, by, **fields) -> Patient:
    """Register a patient: assign the chart number, stamp consent, fill the search column."""
    patient = Patient(**fields, created_by=by)
    patient.chart_number = next_chart_number()
    if patient.email_consent:
        patient.email_consent_changed_at = timezone.now()
    patient.search_text = patient.build_search_text()
    patient._history_user = by
    patient.full_clean()
    patient.save()
    return patient


@transaction.atomic
def patient_update(*, patient: Patient, by, **fields) -> Patient:
    """Change identity or contact details; a change of e-mail consent is time-stamped."""
    before = Patient.objects.select_for_update().get(pk=patient.pk)
    for name, value in fields.items():
        setattr(patient, name, value)
    if patient.email_consent != before.email_consent:
        patient.email_consent_changed_at = timezone.now()
    patient.search_text = patient.build_search_text()
    patient._history_user = by
    patient.full_clean()
    patient.save()
    return patient


def screening_for(patient: Patient) -> Screening:
    """The patient's screening, created with every contraindication "unknown" on first use."""
    screening, created = Screening.objects.get_or_create(patient=patient)
    if created:
        bulk_create_with_history(
            [ScreeningAnswer(screening=screening, item=item) for item in Contraindication.values],
            ScreeningAnswer,
        )
    return screening
