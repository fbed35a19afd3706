"""Writes to consent wording and signed consents (clinical-rules.md, rules `consent-before-session`,
`consent-version-frozen`, `photos-need-consent`). Each refuses with a Refusal a person can act on."""

import base64
import binascii
import io
import uuid

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from clinic.errors import Refusal
from clinic.staff import person
from outbox.services import enqueue
from patients.models import Patient

from . import selectors
from .models import ConsentTemplate, PatientConsent, text_hash

# A drawn signature from signature_pad is a PNG data URL of a few tens of kilobytes.
SIGNATURE_MAX_BYTES = 1024 * 1024
SIGNATURE_MAX_SIDE = 4000


@transaction.atomic
def publish_consent_template(*, by, title: str, text: str, statements: str) -> ConsentTemplate:
    """Save a new wording as the next version (rule `consent-version-frozen`): versions are never
    rewritten, so what a patient signed stays as it was."""
    title, text = (title or "").strip(), (text or "").strip()
    statements = "\n".join(line.strip() for line in (statements or "").splitlines() if line.strip())
    if not title:
        raise Refusal("Give the consent a title.", "title")
    if not text:
        raise Refusal("Write the text the patient reads.", "text")
    if not statements:
        raise Refusal("Write at least one statement for the patient to tick, one per line.", "statements")
    current = ConsentTemplate.objects.select_for_update().order_by("-version").first()
    if current and (current.title, current.text, current.statements) == (title, text, statements):
        raise Refusal(
            f"This is the wording of version {current.version} already: change it to save a new version."
        )
    return ConsentTemplate.objects.create(
        version=(current.version + 1) if current else 1,
        title=title,
        text=text,
        statements=statements,
        created_by=by,
    )


def signature_png(data_url: str, who: str) -> bytes:
    """The drawn signature, checked and re-encoded by Pillow: a PNG data URL with something drawn."""
    prefix = "data:image/png;base64,"
    if not data_url or not data_url.startswith(prefix):
        raise Refusal(f"The {who} has not signed yet: sign in the box with a finger or the mouse.")
    try:
        raw = base64.b64decode(data_url[len(prefix) :], validate=True)
    except (binascii.Error, ValueError):
        raise Refusal(f"The {who}'s signature could not be read: clear it and sign again.") from None
    if len(raw) > SIGNATURE_MAX_BYTES:
        raise Refusal(f"The {who}'s signature is too large: clear it and sign again.")
    try:
        with Image.open(io.BytesIO(raw)) as image:
            if image.format != "PNG" or max(image.size) > SIGNATURE_MAX_SIDE:
                raise Refusal(f"The {who}'s signature could not be read: clear it and sign again.")
            image = image.convert("RGBA")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise Refusal(f"The {who}'s signature could not be read: clear it and sign again.") from None
    if image.getchannel("A").getbbox() is None:
        raise Refusal(f"The {who}'s signature box is empty: sign in the box with a finger or the mouse.")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


@transaction.atomic
def sign_consent(
    *,
    patient: Patient,
    template: ConsentTemplate,
    by,
    patient_name: str,
    statements_ticked: int,
    patient_signature: str,
    practitioner_signature: str,
    photos_clinical: bool,
    photos_marketing: bool,
    photos_research: bool,
    device: str = "",
) -> PatientConsent:
    """Store the consent the patient signed on the tablet and the practitioner countersigned: the version,
    the exact text shown and its hash, both signatures, names, time, user and device, and the three
    separate answers about photos (rules `consent-before-session`, `photos-need-consent`)."""
    current = selectors.current_template()
    if current is None or current.pk != template.pk:
        raise Refusal(
            "The consent wording changed while this page was open: reload the page and read the new version "
            "with the patient."
        )
    patient_name = (patient_name or "").strip()
    if not patient_name:
        raise Refusal("Write the patient's name as they sign.", "patient_name")
    if statements_ticked != len(template.statement_list):
        raise Refusal("The patient must tick every statement before signing.", "statements")
    for answer in (photos_clinical, photos_marketing, photos_research):
        if answer not in (True, False):
            raise Refusal("Answer yes or no to each use of photos.", "photos_clinical")
    patient_png = signature_png(patient_signature, "patient")
    practitioner_png = signature_png(practitioner_signature, "practitioner")
    text = template.wording()
    consent = PatientConsent(
        patient=patient,
        template=template,
        template_version=template.version,
        text_shown=text,
        text_sha256=text_hash(text),
        patient_name=patient_name[:200],
        practitioner=by,
        practitioner_name=person(by)[:200],
        signed_at=timezone.now(),
        device=(device or "")[:400],
        photos_clinical=photos_clinical,
        photos_marketing=photos_marketing,
        photos_research=photos_research,
    )
    # Under the patient's folder (upload_to adds "consents/"): a plain string, so that the migrations
    # need no function of this app.
    stem = f"{patient.pk}/{uuid.uuid4().hex}"
    consent.patient_signature.save(f"{stem}-patient.png", ContentFile(patient_png), save=False)
    consent.practitioner_signature.save(f"{stem}-practitioner.png", ContentFile(practitioner_png), save=False)
    consent.save()
    return consent


def _locked(consent: PatientConsent) -> PatientConsent:
    return PatientConsent.objects.select_for_update().get(pk=consent.pk)


@transaction.atomic
def withdraw_consent(*, consent: PatientConsent, by, reason: str) -> PatientConsent:
    """The patient withdraws the consent: no session from now on until a new one is signed, and their
    photos are hidden (rules `consent-before-session`, `photos-need-consent`)."""
    reason = (reason or "").strip()
    if not reason:
        raise Refusal("Write the reason the patient gave (or “no reason given”).", "reason")
    current = _locked(consent)
    if current.is_withdrawn:
        raise Refusal(
            f"This consent was already withdrawn on {timezone.localtime(current.withdrawn_at):%d/%m/%Y}."
        )
    current.withdrawn_at, current.withdrawn_reason, current.withdrawn_by = timezone.now(), reason, by
    current.save(update_fields=["withdrawn_at", "withdrawn_reason", "withdrawn_by"])
    return current


@transaction.atomic
def withdraw_photo_consent(*, consent: PatientConsent, by, reason: str) -> PatientConsent:
    """The patient withdraws consent to clinical photos only: no new photo, and their photos are hidden
    (kept for the legal record) unless clinic admin releases them (rule `photos-need-consent`)."""
    reason = (reason or "").strip()
    if not reason:
        raise Refusal("Write the reason the patient gave (or “no reason given”).", "reason")
    current = _locked(consent)
    if not current.photos_clinical or current.photos_withdrawn_at:
        raise Refusal("This consent gives no permission for photos to withdraw.")
    current.photos_withdrawn_at, current.photos_withdrawn_reason = timezone.now(), reason
    current.save(update_fields=["photos_withdrawn_at", "photos_withdrawn_reason"])
    return current


def check_consent(patient_id: int, on_date) -> None:
    """A session is recorded or marked done only with a valid signed consent for its day (rule
    `consent-before-session`)."""
    if selectors.valid_consent(patient_id, on_date) is not None:
        return
    latest = selectors.latest_consent(patient_id)
    if latest is None:
        why = "has not signed the treatment consent"
    elif latest.is_withdrawn:
        why = f"withdrew the treatment consent on {timezone.localtime(latest.withdrawn_at):%d/%m/%Y}"
    elif timezone.localdate(latest.signed_at) > on_date:
        why = f"signed the treatment consent only on {timezone.localtime(latest.signed_at):%d/%m/%Y}"
        why += ", after this session"
    else:
        why = f"signed the treatment consent on {timezone.localtime(latest.signed_at):%d/%m/%Y}"
        why += ", and it has expired"
    raise Refusal(
        f"The patient {why}. Sign a new consent with the patient (Consent, then “Sign consent”) "
        "before the session."
    )


CONSENT_COPY = "consent_copy"


@transaction.atomic
def email_consent_copy(*, consent: PatientConsent, by) -> None:
    """Queue the PDF copy of the signed consent to the patient's e-mail (once per consent). It is the
    patient's own record, so it goes to any address they gave; never with photos."""
    patient = consent.patient
    if not patient.email:
        raise Refusal("The patient has no e-mail address: print the copy instead, or add their address.")
    message = enqueue(
        kind=CONSENT_COPY,
        key=f"consent_copy:{consent.pk}",
        recipient=patient.email,
        due_at=timezone.now(),
        patient=patient,
        object_id=consent.pk,
    )
    if message.state == message.State.SENT:
        raise Refusal(f"The copy was already e-mailed on {timezone.localtime(message.sent_at):%d/%m/%Y}.")
