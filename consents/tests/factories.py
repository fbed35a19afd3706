"""Signed consents built through the service, as the tablet page builds them."""

import datetime

from django.utils import timezone

from consents import selectors, services
from consents.demo import drawn_signature
from consents.models import PatientConsent


def signed_consent(
    patient,
    practitioner,
    *,
    days_ago: int = 60,
    on: datetime.datetime | None = None,
    photos: bool = True,
    **answers,
) -> PatientConsent:
    """The patient's consent to the current wording, signed `days_ago` days ago or `on` that time (test
    data only: the service stamps the real time, so the set-up moves it back, as an old record would be)."""
    template = selectors.current_template()
    consent = services.sign_consent(
        patient=patient,
        template=template,
        by=practitioner,
        patient_name=patient.full_name,
        statements_ticked=len(template.statement_list),
        patient_signature=drawn_signature(),
        practitioner_signature=drawn_signature(),
        photos_clinical=photos,
        photos_marketing=answers.get("photos_marketing", False),
        photos_research=answers.get("photos_research", False),
        device="pytest",
    )
    if on or days_ago:
        signed_at = on or timezone.now() - datetime.timedelta(days=days_ago)
        PatientConsent.objects.filter(pk=consent.pk).update(signed_at=signed_at)
        consent.signed_at = signed_at
    return consent
