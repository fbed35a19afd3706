"""The lot recall notice (rule `lot-recall`, docs/clinical-rules.md): one e-mail per patient who
received a recalled lot, through the outbox. It asks the patient to contact the clinic and says
nothing clinical (no product, lot, date or treatment): an e-mail can be read by others. Like every
e-mail of the clinic it goes only to patients with an address and e-mail consent (rule
`email-needs-consent`); the clinic calls the others from the recall list."""

from django.utils import timezone

from clinic.emails import render_email
from outbox.kinds import register_kind
from outbox.models import OutboxMessage
from outbox.services import enqueue

RECALL_NOTICE = "lot_recall"


def enqueue_recall_notice(*, stock_lot, patient) -> OutboxMessage | None:
    """Queue the notice in the caller's transaction; the key makes it once per lot and patient."""
    if not patient.wants_email:
        return None
    return enqueue(
        kind=RECALL_NOTICE,
        key=f"lot_recall:{stock_lot.pk}:{patient.pk}",
        recipient=patient.email,
        due_at=timezone.now(),
        patient=patient,
        object_id=stock_lot.pk,
    )


def build_recall_notice(message: OutboxMessage):
    patient = message.patient
    if patient is None or not patient.wants_email:
        return None
    return render_email(
        RECALL_NOTICE,
        {"name": patient.preferred_name or patient.given_name},
        to=[patient.email],
    )


def sample_recall_notice():
    return render_email(RECALL_NOTICE, {"name": "Ana"}, to=["ana@example.com"])


def register() -> None:
    register_kind(RECALL_NOTICE, build_recall_notice, label="Recall notice", sample=sample_recall_notice)
