"""Reads of consent wording and signed consents (clinical-rules.md, rule `consent-before-session`)."""

import datetime

from dateutil.relativedelta import relativedelta
from django.utils import timezone

from clinic.clock import local_datetime
from clinic.models import ClinicSettings

from .models import ConsentTemplate, PatientConsent


def current_template() -> ConsentTemplate | None:
    """The wording patients sign now: the highest version."""
    return ConsentTemplate.objects.order_by("-version").first()


def template_versions():
    return ConsentTemplate.objects.select_related("created_by").order_by("-version")


def patient_consents(patient):
    return PatientConsent.objects.filter(patient=patient).select_related("practitioner", "withdrawn_by")


def latest_consent(patient_id: int) -> PatientConsent | None:
    return PatientConsent.objects.filter(patient_id=patient_id).order_by("-signed_at", "-id").first()


def validity_months() -> int:
    return ClinicSettings.load().consent_validity_months


def valid_from(on_date: datetime.date, months: int) -> datetime.date:
    """The first signing day still valid on `on_date`: a consent lasts `months` calendar months."""
    return on_date - relativedelta(months=months) + datetime.timedelta(days=1)


def _valid_on(on_date: datetime.date, months: int):
    signed = {"signed_at__gte": local_datetime(valid_from(on_date, months))}
    signed["signed_at__lt"] = local_datetime(on_date + datetime.timedelta(days=1))
    return PatientConsent.objects.filter(**signed, withdrawn_at__isnull=True)


def valid_consent(
    patient_id: int, on_date: datetime.date | None = None, *, months: int | None = None
) -> PatientConsent | None:
    """The patient's consent valid on that day (rule `consent-before-session`): signed on or before it,
    less than the clinic's validity period (`months`, read from the settings when not given) before
    it, not withdrawn. None when there is none."""
    on_date = on_date or timezone.localdate()
    months = validity_months() if months is None else months
    return _valid_on(on_date, months).filter(patient_id=patient_id).order_by("-signed_at").first()


def expires_on(consent: PatientConsent, months: int | None = None) -> datetime.date:
    """The last day the consent is valid, which pages show as "valid until": the last day whose
    `valid_from` is on or before the signing day."""
    months = validity_months() if months is None else months
    signed = timezone.localdate(consent.signed_at)
    # Month ends make calendar months irreversible (31 January + 1 month is 28 February, and 28 February
    # - 1 month is 28 January), so the day is found from `valid_from` itself, the rule the checks use:
    # it starts a few days from the answer at most.
    last = signed + relativedelta(months=months)
    while valid_from(last, months) <= signed:
        last += datetime.timedelta(days=1)
    while valid_from(last, months) > signed and last > signed:
        last -= datetime.timedelta(days=1)
    return last


def valid_until(patient_id: int, on_date: datetime.date | None = None) -> datetime.date | None:
    """The last day covered by the patient's consent valid on `on_date`, or None when consent is missing
    (two queries). What every role may see, front desk included: signed until when, or missing, never
    the consent's content."""
    months = validity_months()
    consent = valid_consent(patient_id, on_date, months=months)
    return None if consent is None else expires_on(consent, months)


def consent_status(patient_ids, on_date: datetime.date | None = None) -> dict[int, bool]:
    """For each patient id, whether a valid signed consent covers `on_date` (one query): what front desk
    sees, signed or missing, never the consent's content."""
    ids = set(patient_ids)
    if not ids:
        return {}
    on_date = on_date or timezone.localdate()
    covered = set(
        _valid_on(on_date, validity_months()).filter(patient_id__in=ids).values_list("patient_id", flat=True)
    )
    return {pid: pid in covered for pid in ids}
