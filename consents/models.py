"""Treatment consent: the wording clinic admin writes (versioned) and each consent a patient signed
with it (clinical-rules.md, rules `consent-before-session`, `consent-version-frozen`,
`photos-need-consent`)."""

import hashlib

from django.conf import settings
from django.db import models

from clinic.errors import Refusal
from patients.models import Patient


class ConsentTemplate(models.Model):
    """One version of the consent wording. A new wording is a new row with the next version; a version
    a patient signed never changes (rule `consent-version-frozen`: the model refuses, as does the
    service)."""

    version = models.PositiveIntegerField(unique=True)
    title = models.CharField(max_length=200)
    text = models.TextField(help_text="What the patient reads before signing.")
    statements = models.TextField(
        help_text="One statement per line: the patient ticks each one before signing."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(version__gte=1),
                name="consent_template_version_positive",
                violation_error_message="A consent version number starts at 1.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} (version {self.version})"

    def save(self, *args, **kwargs):
        if self.pk is not None and self.signed_consents.exists():
            raise Refusal(
                f"Version {self.version} has been signed and cannot change: save the new wording as a new "
                "version."
            )
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.signed_consents.exists():
            raise Refusal(f"Version {self.version} has been signed and is kept as evidence.")
        return super().delete(*args, **kwargs)

    @property
    def statement_list(self) -> list[str]:
        return [line.strip() for line in self.statements.splitlines() if line.strip()]

    def wording(self) -> str:
        """The exact text the patient is shown, as stored with each signature."""
        lines = [self.title, "", self.text.strip(), ""]
        lines += [f"[x] {statement}" for statement in self.statement_list]
        return "\n".join(lines)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class PatientConsent(models.Model):
    """A consent a patient signed on the tablet, countersigned by the practitioner. Never edited:
    withdrawal adds its time and reason (rule `consent-before-session`)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consents")
    template = models.ForeignKey(ConsentTemplate, on_delete=models.PROTECT, related_name="signed_consents")
    template_version = models.PositiveIntegerField()
    text_shown = models.TextField()
    text_sha256 = models.CharField(max_length=64)
    patient_name = models.CharField("patient's name as signed", max_length=200)
    patient_signature = models.FileField(upload_to="consents", max_length=300)
    practitioner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    practitioner_name = models.CharField(max_length=200)
    practitioner_signature = models.FileField(upload_to="consents", max_length=300)
    signed_at = models.DateTimeField()
    device = models.CharField("device (browser)", max_length=400, blank=True)
    photos_clinical = models.BooleanField("photos for the clinical record")
    photos_marketing = models.BooleanField("photos for marketing")
    photos_research = models.BooleanField("photos for research")
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_reason = models.TextField(blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    photos_withdrawn_at = models.DateTimeField("photo consent withdrawn", null=True, blank=True)
    photos_withdrawn_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-signed_at", "-id"]
        indexes = [models.Index(fields=["patient", "-signed_at"], name="consent_patient_signed")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(withdrawn_at__isnull=True)
                | (~models.Q(withdrawn_reason="") & models.Q(withdrawn_by__isnull=False)),
                name="consent_withdrawal_has_reason",
                violation_error_message="A withdrawal needs its reason and who recorded it.",
            ),
            models.CheckConstraint(
                condition=models.Q(photos_withdrawn_at__isnull=True) | ~models.Q(photos_withdrawn_reason=""),
                name="consent_photo_withdrawal_has_reason",
                violation_error_message="A withdrawal of photo consent needs its reason.",
            ),
            models.CheckConstraint(
                condition=~models.Q(patient_name="") & ~models.Q(practitioner_name=""),
                name="consent_names_given",
                violation_error_message="A signed consent names the patient and the practitioner.",
            ),
        ]

    def __str__(self) -> str:
        return f"Consent version {self.template_version} signed {self.signed_at:%d/%m/%Y}"

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    @property
    def photos_allowed(self) -> bool:
        """Clinical photos may be taken and shown (rule `photos-need-consent`)."""
        return self.photos_clinical and self.withdrawn_at is None and self.photos_withdrawn_at is None

    def text_matches(self) -> bool:
        return text_hash(self.text_shown) == self.text_sha256
