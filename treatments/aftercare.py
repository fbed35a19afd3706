"""The aftercare e-mail (rules `aftercare-instructions`, `aftercare-once`, docs/clinical-rules.md):
sent once per session marked done, through the outbox.

Content: the leaflet's five instructions, the practitioner's own instructions for this patient (the
session record's aftercare field) and the date of the patient's next session, looked up when the
e-mail goes. Aftercare is care information, but the patient's e-mail consent is the only say they
have over e-mails from the clinic, so it goes only to patients with an address and consent (the
same rule as reminders, `email-needs-consent`); the practitioner hands the same instructions over
in person (rule `aftercare-instructions`).
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from clinic.emails import render_email
from clinic.staff import person
from outbox.kinds import register_kind
from outbox.models import OutboxMessage
from outbox.services import enqueue

from .models import SessionRecord

AFTERCARE = "aftercare"
# Aftercare is for "right after" the session (rule `aftercare-once`). If it could not go out within this time
# (mail server down for days, or a session record backdated), it is cancelled rather than sent late.
AFTERCARE_TOO_LATE = timedelta(hours=48)


def enqueue_aftercare(record: SessionRecord) -> OutboxMessage | None:
    """Queue the e-mail in the caller's transaction; key `aftercare:<record>` makes it once only."""
    patient = record.patient
    if not patient.wants_email:
        return None
    return enqueue(
        kind=AFTERCARE,
        key=f"aftercare:{record.pk}",
        recipient=patient.email,
        due_at=timezone.now(),
        patient=patient,
        object_id=record.pk,
    )


def next_session_start(record: SessionRecord):
    """When the patient's next session of a series is, if one is booked (read at send time).

    With a session record linked to its appointment (attribute `appointment`), the next session of
    that series; otherwise the patient's next upcoming session of any series."""
    from scheduling.models import UPCOMING_STATES, Appointment

    upcoming = Appointment.objects.filter(
        patient_id=record.patient_id,
        state__in=UPCOMING_STATES,
        series__isnull=False,
        starts_at__gt=max(timezone.now(), record.performed_at),
    )
    series_id = getattr(getattr(record, "appointment", None), "series_id", None)
    if series_id:
        upcoming = upcoming.filter(series_id=series_id)
    following = upcoming.order_by("starts_at").first()
    return timezone.localtime(following.starts_at) if following else None


def build_aftercare(message: OutboxMessage):
    record = (
        SessionRecord.objects.select_related("patient", "practitioner").filter(pk=message.object_id).first()
    )
    if record is None or not record.is_done or not record.patient.wants_email:
        return None
    if record.done_at and timezone.now() - record.done_at > AFTERCARE_TOO_LATE:
        return None
    patient = record.patient
    practitioner = person(record.practitioner)
    return render_email(
        AFTERCARE,
        {
            "record": record,
            "patient": patient,
            "name": patient.preferred_name or patient.given_name,
            "performed_at": timezone.localtime(record.performed_at),
            "practitioner": practitioner,
            "instructions": record.aftercare_instructions.strip(),
            "next_session": next_session_start(record),
        },
        to=[patient.email],
    )


def sample_aftercare():
    """The aftercare e-mail with made-up data, for the "E-mail templates" page."""
    now = timezone.localtime()
    return render_email(
        AFTERCARE,
        {
            "name": "Ana",
            "performed_at": now,
            "practitioner": "Dr Inês Example",
            "instructions": "Apply the hyaluronic serum morning and evening for a week.",
            "next_session": (now + timedelta(days=14)).replace(hour=10, minute=0),
        },
        to=["ana@example.com"],
    )


def register() -> None:
    register_kind(AFTERCARE, build_aftercare, label="Aftercare", sample=sample_aftercare)
