"""The e-mail that carries the PDF copy of a signed consent to the patient (kind `consent_copy`).
Never a photo: the only attachment is the consent's own PDF."""

from django.utils import timezone

from clinic.emails import render_email
from outbox.kinds import register_kind
from outbox.models import OutboxMessage

from .documents import consent_pdf, pdf_filename
from .models import PatientConsent
from .services import CONSENT_COPY


def build_consent_copy(message: OutboxMessage):
    consent = PatientConsent.objects.select_related("patient").filter(pk=message.object_id).first()
    if consent is None or not consent.patient.email:
        return None
    patient = consent.patient
    return render_email(
        CONSENT_COPY,
        {
            "name": patient.preferred_name or patient.given_name,
            "signed_at": timezone.localtime(consent.signed_at),
        },
        to=[patient.email],
        attachments=[(pdf_filename(consent), consent_pdf(consent), "application/pdf")],
    )


def sample_consent_copy():
    return render_email(
        CONSENT_COPY, {"name": "Ana", "signed_at": timezone.localtime()}, to=["ana@example.com"]
    )


def register() -> None:
    register_kind(
        CONSENT_COPY, build_consent_copy, label="Copy of signed consent", sample=sample_consent_copy
    )
