"""Signed links in patients' e-mails: confirm, cancel, unsubscribe (docs/design.md, "Links in e-mails").

A token holds no patient data: the appointment id, a fingerprint of the appointment's time and
practitioner when the e-mail was built, and when the link expires (the appointment's start). The
signature (django.core.signing, one salt per action) makes all three unforgeable. The pages check
the token against the appointment's current state, so a link from an older e-mail cannot act on an
appointment that has since moved; a link acts once, because acting changes the state it checks.
Unsubscribe tokens carry the patient id only, and do not expire (a withdrawal must always work).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from clinic.errors import Refusal

from .models import Appointment

CONFIRM = "confirm"
CANCEL = "cancel"
UNSUBSCRIBE_SALT = "mesoclinic.email.unsubscribe"


def _salt(action: str) -> str:
    return f"mesoclinic.email.appointment.{action}"


def fingerprint(appointment: Appointment) -> str:
    """Changes whenever the appointment moves (time or practitioner)."""
    raw = f"{appointment.pk}|{appointment.starts_at.timestamp():.0f}|{appointment.practitioner_id}"
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def appointment_token(appointment: Appointment, action: str) -> str:
    payload = {
        "a": appointment.pk,
        "f": fingerprint(appointment),
        "e": int(appointment.starts_at.timestamp()),
    }
    return signing.dumps(payload, salt=_salt(action), compress=True)


def appointment_link(appointment: Appointment, action: str) -> str:
    token = appointment_token(appointment, action)
    return settings.SITE_URL + reverse(f"scheduling:email_{action}", kwargs={"token": token})


class LinkProblem(Refusal):
    """Why a link cannot be used; the message is shown to the patient.

    Kept apart from other refusals because the e-mail link pages catch it to show a page with its
    `title` (and "expired" as 410 Gone) instead of the form's refusal."""

    def __init__(self, message: str, *, title: str = "This link cannot be used"):
        super().__init__(message)
        self.title = title


@dataclass
class LinkTarget:
    appointment: Appointment
    fingerprint: str  # the appointment's fingerprint when the e-mail was built

    @property
    def current(self) -> bool:
        """False when the appointment moved since the e-mail was built."""
        return fingerprint(self.appointment) == self.fingerprint

    def lock(self) -> bool:
        """Lock the appointment row for this transaction and re-read it; False if it moved meanwhile.
        Acting on the locked row means no change can slip in between the check and the action."""
        self.appointment = (
            Appointment.objects.select_for_update()
            .select_related("patient", "practitioner", "room")
            .get(pk=self.appointment.pk)
        )
        return self.current


def read_appointment_token(token: str, action: str) -> LinkTarget:
    """The appointment a link is about, or LinkProblem (tampered, expired, unknown appointment)."""
    try:
        payload = signing.loads(token, salt=_salt(action))
        appointment_id, print_, expires = int(payload["a"]), str(payload["f"]), int(payload["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise LinkProblem(
            "The link is incomplete or was changed. Open it again from the e-mail, "
            "or call the clinic to confirm or change your appointment."
        ) from None
    if timezone.now().timestamp() >= expires:
        raise LinkProblem(
            "The appointment this link is about has already started or passed, so the link has "
            "expired. Call the clinic if you need to change anything.",
            title="This link has expired",
        )
    appointment = (
        Appointment.objects.select_related("patient", "practitioner", "room")
        .filter(pk=appointment_id)
        .first()
    )
    if appointment is None:
        raise LinkProblem("We could not find this appointment. Call the clinic, and we will help.")
    return LinkTarget(appointment=appointment, fingerprint=print_)


def unsubscribe_token(patient) -> str:
    return signing.dumps({"p": patient.pk}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_link(patient) -> str:
    return settings.SITE_URL + reverse(
        "scheduling:email_unsubscribe", kwargs={"token": unsubscribe_token(patient)}
    )


def read_unsubscribe_token(token: str):
    from patients.models import Patient

    try:
        patient_id = int(signing.loads(token, salt=UNSUBSCRIBE_SALT)["p"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise LinkProblem(
            "The link is incomplete or was changed. Open it again from the e-mail, or ask the "
            "clinic to stop sending you e-mails."
        ) from None
    patient = Patient.objects.filter(pk=patient_id).first()
    if patient is None:
        raise LinkProblem("We could not find your record. Ask the clinic to stop sending you e-mails.")
    return patient
