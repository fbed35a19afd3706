"""What patients receive about their appointments, through the outbox (outbox/; rules
`reminder-lead-times`, `reminders-follow-the-appointment`, `email-needs-consent`,
`session-about-an-hour`). A rule cited as rule `name` is in docs/clinical-rules.md.

Kinds and keys:
- `reminder`: `reminder:<appointment>:<lead>h` per clinic lead time (ClinicSettings.lead_hours), due
  `lead` hours before the start on the clinic's wall clock. If an appointment moves after its
  reminder went, the reminder for the new time gets the key `reminder:<appointment>:<lead>h:<n>`.
- `series_booked`: `series:<series>:booked`, every session in one message and one .ics.
- `appointment_moved` / `appointment_cancelled`: `change:<appointment>:<version>` (the version is
  the appointment's history count at the change), only when the clinic made the change.

The scheduling services call the `on_*` functions inside their transactions; the builders re-read
the appointment, the patient and the consent just before sending and return None when the message
no longer applies (cancelled, moved away, past, consent or address gone).

Consent: reminders, series confirmations and change notices go only to patients with an e-mail
address and e-mail consent (rule `email-needs-consent`). A patient who withdraws consent gets nothing further.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clinic.clock import clinic_tz, to_local
from clinic.emails import render_email
from clinic.models import ClinicSettings
from clinic.staff import person
from outbox.kinds import register_kind
from outbox.models import OutboxMessage
from outbox.services import cancel_pending, enqueue

from . import email_links, ics
from .models import UPCOMING_STATES, Appointment, AppointmentKind, AppointmentState, SessionSeries

REMINDER = "reminder"
APPOINTMENT_BOOKED = "appointment_booked"
SERIES_BOOKED = "series_booked"
SERIES_MOVED = "series_moved"
SERIES_CANCELLED = "series_cancelled"
APPOINTMENT_MOVED = "appointment_moved"
APPOINTMENT_CANCELLED = "appointment_cancelled"

State = OutboxMessage.State


# --- When a reminder is due ----------------------------------------------------------------------


def reminder_due_at(starts_at: datetime.datetime, lead_hours: int) -> datetime.datetime:
    """`lead_hours` before `starts_at` on the clinic's wall clock (rule `reminder-lead-times`): 48 h before
    10:00 is 10:00 two days earlier, whatever summer time did in between.

    A wall-clock time that does not exist (the hour skipped in spring) or exists twice (the hour
    repeated in autumn) resolves to the earlier instant, so a reminder never goes later than promised.
    """
    zone = clinic_tz()
    wall = starts_at.astimezone(zone).replace(tzinfo=None) - datetime.timedelta(hours=lead_hours)
    first, second = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    return min(first.astimezone(datetime.UTC), second.astimezone(datetime.UTC))


# --- Writes, called inside the scheduling services' transactions ---------------------------------


def _reminder_prefix(appointment_id: int, lead: int | None = None) -> str:
    return f"reminder:{appointment_id}:" + (f"{lead}h" if lead is not None else "")


def sync_reminders(appointment: Appointment) -> None:
    """Make the appointment's pending reminders match it now: one per lead time still ahead, due at
    the right time, to the right address; none when it is not upcoming or the patient does not want
    e-mail. Sent reminders stay sent; a moved appointment gets a new one for its new time."""
    now = timezone.now()
    leads = ClinicSettings.load().lead_hours
    active = appointment.state in UPCOMING_STATES and appointment.starts_at > now
    if not active or not appointment.patient.wants_email:
        reason = (
            "The appointment is no longer upcoming." if not active else "The patient does not accept e-mail."
        )
        cancel_pending(key_prefix=_reminder_prefix(appointment.pk), reason=reason)
        return
    rows = list(
        OutboxMessage.objects.filter(idempotency_key__startswith=_reminder_prefix(appointment.pk)).order_by(
            "id"
        )
    )
    for lead in leads:
        due = reminder_due_at(appointment.starts_at, lead)
        base = _reminder_prefix(appointment.pk, lead)
        mine = [r for r in rows if r.idempotency_key == base or r.idempotency_key.startswith(base + ":")]
        latest = mine[-1] if mine else None
        if due <= now:  # the lead time has passed already: no reminder for it
            cancel_pending(key_prefix=base, reason="The reminder time has already passed.")
            continue
        if latest is None or latest.state in (State.PENDING, State.CANCELLED):
            key = latest.idempotency_key if latest else base
        elif latest.due_at == due:
            continue  # already sent (or being sent) for this very time
        else:
            key = f"{base}:{len(mine) + 1}"
        enqueue(
            kind=REMINDER,
            key=key,
            recipient=appointment.patient.email,
            due_at=due,
            patient=appointment.patient,
            object_id=appointment.pk,
        )
    # Lead times the clinic no longer uses.
    for row in rows:
        lead = row.idempotency_key.split(":")[2].rstrip("h")
        if row.state == State.PENDING and lead.isdigit() and int(lead) not in leads:
            cancel_pending(key_prefix=row.idempotency_key, reason="The clinic no longer uses this lead time.")


def cancel_reminders(appointment_id: int, *, reason: str) -> int:
    return cancel_pending(key_prefix=_reminder_prefix(appointment_id), reason=reason)


def on_booked(appointment: Appointment) -> None:
    """Reminders for the lead times still ahead; a booking made after a lead time has passed gets a
    booking confirmation at once instead of that reminder (rule `confirmation-inside-the-lead-time`)."""
    sync_reminders(appointment)
    now = timezone.now()
    leads = ClinicSettings.load().lead_hours
    passed = any(reminder_due_at(appointment.starts_at, lead) <= now for lead in leads)
    if passed and appointment.starts_at > now and appointment.patient.wants_email:
        enqueue(
            kind=APPOINTMENT_BOOKED,
            key=f"booked:{appointment.pk}",
            recipient=appointment.patient.email,
            due_at=now,
            patient=appointment.patient,
            object_id=appointment.pk,
        )


def on_series_booked(series: SessionSeries, appointments: list[Appointment]) -> None:
    """Reminders for every session, and one confirmation listing them all."""
    for appointment in appointments:
        sync_reminders(appointment)
    patient = series.patient
    if patient.wants_email:
        enqueue(
            kind=SERIES_BOOKED,
            key=f"series:{series.pk}:booked",
            recipient=patient.email,
            due_at=timezone.now(),
            patient=patient,
            object_id=series.pk,
        )


def _version(appointment: Appointment) -> int:
    return appointment.history.count()


def on_moved(
    appointment: Appointment, *, before_start: datetime.datetime, before_practitioner_id: int
) -> None:
    """Reminders follow the appointment (rule `reminders-follow-the-appointment`); the patient is told
    the new time."""
    sync_reminders(appointment)
    if appointment.starts_at == before_start and appointment.practitioner_id == before_practitioner_id:
        return  # only the room changed: nothing the patient needs to know
    _notify_change(appointment, APPOINTMENT_MOVED)


def on_series_moved(series: SessionSeries, appointments: list[Appointment]) -> None:
    """The rest of a series was shifted (rule `shift-rest-of-series`): reminders follow each session, and
    the patient gets ONE notice listing every moved session, with one .ics holding them all. Key
    `series:<series>:moved:<first session number>:<n>`; the builder lists that session and the later ones."""
    for appointment in appointments:
        sync_reminders(appointment)
        # A notice about one of these sessions still waiting is superseded by the one for them all.
        cancel_pending(key_prefix=f"change:{appointment.pk}:", reason="Superseded by the series notice.")
    patient = series.patient
    if not appointments or not patient.wants_email:
        return
    prefix = f"series:{series.pk}:moved:"
    cancel_pending(key_prefix=prefix, reason="Superseded by a newer change.")
    count = OutboxMessage.objects.filter(idempotency_key__startswith=prefix).count()
    enqueue(
        kind=SERIES_MOVED,
        key=f"{prefix}{min(a.sequence for a in appointments)}:{count + 1}",
        recipient=patient.email,
        due_at=timezone.now(),
        patient=patient,
        object_id=series.pk,
    )


def on_series_cancelled(appointments: list[Appointment]) -> None:
    """The rest of a series was cancelled by the clinic: ONE notice listing every cancelled session
    (key `series:<series>:cancelled:<first session number>`), one .ics cancelling them all."""
    if not appointments:
        return
    patient = appointments[0].patient
    if not patient.wants_email:
        return
    series_id = appointments[0].series_id
    enqueue(
        kind=SERIES_CANCELLED,
        key=f"series:{series_id}:cancelled:{min(a.sequence for a in appointments)}",
        recipient=patient.email,
        due_at=timezone.now(),
        patient=patient,
        object_id=series_id,
    )


def on_state_changed(appointment: Appointment, *, by, notify: bool = True) -> None:
    """A cancelled, missed or finished appointment has no reminders left; a cancellation by the
    clinic is announced (a patient who cancelled by link knows already, `by` is None then; `notify`
    False when the caller sends one notice for several, `on_series_cancelled`)."""
    if appointment.state in UPCOMING_STATES:
        return
    cancel_reminders(appointment.pk, reason=f"The appointment is {appointment.get_state_display().lower()}.")
    if appointment.state == AppointmentState.CANCELLED:
        cancel_pending(key_prefix=f"change:{appointment.pk}:", reason="The appointment was cancelled.")
        if notify and by is not None and appointment.starts_at > timezone.now():
            _notify_change(appointment, APPOINTMENT_CANCELLED)


def _notify_change(appointment: Appointment, kind: str) -> None:
    if not appointment.patient.wants_email:
        return
    # An older notice still waiting is superseded: the newest one tells the whole story.
    cancel_pending(key_prefix=f"change:{appointment.pk}:", reason="Superseded by a newer change.")
    enqueue(
        kind=kind,
        key=f"change:{appointment.pk}:{_version(appointment)}",
        recipient=appointment.patient.email,
        due_at=timezone.now(),
        patient=appointment.patient,
        object_id=appointment.pk,
    )


@transaction.atomic
def sync_patient_reminders(*, patient) -> None:
    """After a change of the patient's consent or address: pending reminders of their upcoming
    appointments are cancelled (consent withdrawn) or (re)queued to the current address."""
    upcoming = Appointment.objects.filter(
        patient=patient, state__in=UPCOMING_STATES, starts_at__gt=timezone.now()
    ).select_related("patient")
    for appointment in upcoming:
        appointment.patient = patient
        sync_reminders(appointment)
    if not patient.wants_email:
        for prefix in ("change:", "series:"):
            for row in OutboxMessage.objects.filter(
                patient=patient, state=State.PENDING, idempotency_key__startswith=prefix
            ):
                cancel_pending(key_prefix=row.idempotency_key, reason="The patient does not accept e-mail.")


@transaction.atomic
def resync_all_reminders() -> int:
    """After the clinic changed its lead times: every upcoming appointment's pending reminders follow
    the new ones (rule `reminder-lead-times`). A rare admin action; one pass over the upcoming
    appointments."""
    upcoming = Appointment.objects.filter(
        state__in=UPCOMING_STATES, starts_at__gt=timezone.now()
    ).select_related("patient")
    count = 0
    for appointment in upcoming.iterator():
        sync_reminders(appointment)
        count += 1
    return count


def messages_about(appointment: Appointment) -> list[OutboxMessage]:
    """The outbox rows about this appointment (and its series' confirmation), in due order."""
    from django.db.models import Q

    about = Q(
        object_id=appointment.pk,
        kind__in=[REMINDER, APPOINTMENT_BOOKED, APPOINTMENT_MOVED, APPOINTMENT_CANCELLED],
    )
    if appointment.series_id:
        about |= Q(object_id=appointment.series_id, kind__in=[SERIES_BOOKED, SERIES_MOVED, SERIES_CANCELLED])
    return list(OutboxMessage.objects.filter(about).defer("body_text", "body_html").order_by("due_at", "id"))


# --- Builders (run just before sending; must not change anything) -------------------------------


def _appointment(message: OutboxMessage) -> Appointment | None:
    return (
        Appointment.objects.select_related("patient", "practitioner", "room", "series")
        .filter(pk=message.object_id)
        .first()
    )


def _context(appointment: Appointment) -> dict:
    local = to_local(appointment.starts_at)
    return {
        "appointment": appointment,
        "patient": appointment.patient,
        "name": appointment.patient.preferred_name or appointment.patient.given_name,
        "local_start": local,
        "local_end": to_local(appointment.ends_at),
        "practitioner": person(appointment.practitioner),
    }


def _unsubscribe(email, link: str) -> None:
    email.extra_headers["List-Unsubscribe"] = f"<{link}>"
    email.extra_headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"


def _upcoming_appointment(message: OutboxMessage):
    """The message's appointment if it is still ahead and the patient still wants e-mail, else None."""
    appointment = _appointment(message)
    if appointment is None or appointment.state not in UPCOMING_STATES:
        return None
    if appointment.starts_at <= timezone.now() or not appointment.patient.wants_email:
        return None
    return appointment


def _context_with_links(appointment) -> dict:
    """`_context` plus the signed cancel link, and confirm while it is only booked."""
    context = _context(appointment)
    context["cancel_url"] = email_links.appointment_link(appointment, email_links.CANCEL)
    if appointment.state == AppointmentState.BOOKED:
        context["confirm_url"] = email_links.appointment_link(appointment, email_links.CONFIRM)
    return context


def build_reminder(message: OutboxMessage):
    """Date, local time, practitioner, address, what to expect, .ics, confirm/cancel links (rules
    `reminder-lead-times`, `session-about-an-hour`)."""
    appointment = _upcoming_appointment(message)
    if appointment is None:
        return None
    context = _context_with_links(appointment)
    context["lead"] = message.idempotency_key.split(":")[2]
    context["unsubscribe_url"] = email_links.unsubscribe_link(appointment.patient)
    email = render_email(
        REMINDER,
        context,
        to=[appointment.patient.email],
        attachments=[ics.attachment([appointment])],
    )
    _unsubscribe(email, context["unsubscribe_url"])
    return email


def build_series_booked(message: OutboxMessage):
    series = SessionSeries.objects.select_related("patient").filter(pk=message.object_id).first()
    if series is None or not series.patient.wants_email:
        return None
    sessions = list(
        series.appointments.filter(state__in=UPCOMING_STATES, starts_at__gt=timezone.now())
        .select_related("patient", "practitioner", "room")
        .order_by("sequence")
    )
    if not sessions:
        return None
    patient = series.patient
    return render_email(
        SERIES_BOOKED,
        {
            "series": series,
            "patient": patient,
            "name": patient.preferred_name or patient.given_name,
            "sessions": [
                {
                    "appointment": a,
                    "local_start": to_local(a.starts_at),
                    "practitioner": person(a.practitioner),
                }
                for a in sessions
            ],
        },
        to=[patient.email],
        attachments=[ics.attachment(sessions, name="sessions")],
    )


def build_appointment_booked(message: OutboxMessage):
    """The booking confirmation of an appointment booked after a reminder's lead time had passed."""
    appointment = _upcoming_appointment(message)
    if appointment is None:
        return None
    return render_email(
        APPOINTMENT_BOOKED,
        _context_with_links(appointment),
        to=[appointment.patient.email],
        attachments=[ics.attachment([appointment])],
    )


def _series_sessions(message: OutboxMessage, *, states) -> tuple[SessionSeries | None, list[Appointment]]:
    """The series of a `series:<series>:<what>:<first number>…` message and its sessions from that number
    on, in `states`, still ahead."""
    series = SessionSeries.objects.select_related("patient").filter(pk=message.object_id).first()
    if series is None or not series.patient.wants_email:
        return None, []
    first = int(message.idempotency_key.split(":")[3])
    sessions = list(
        series.appointments.filter(state__in=states, sequence__gte=first, starts_at__gt=timezone.now())
        .select_related("patient", "practitioner", "room")
        .order_by("sequence")
    )
    return series, sessions


def _series_context(series: SessionSeries, sessions: list[Appointment]) -> dict:
    patient = series.patient
    return {
        "series": series,
        "patient": patient,
        "name": patient.preferred_name or patient.given_name,
        "sessions": [
            {"appointment": a, "local_start": to_local(a.starts_at), "practitioner": person(a.practitioner)}
            for a in sessions
        ],
    }


def build_series_moved(message: OutboxMessage):
    """ONE notice for a shift of the rest of a series: every moved session and one .ics with them all."""
    series, sessions = _series_sessions(message, states=UPCOMING_STATES)
    if not sessions:
        return None
    context = _series_context(series, sessions)
    for row in context["sessions"]:
        if row["appointment"].state == AppointmentState.BOOKED:
            row["confirm_url"] = email_links.appointment_link(row["appointment"], email_links.CONFIRM)
    return render_email(
        SERIES_MOVED,
        context,
        to=[series.patient.email],
        attachments=[ics.attachment(sessions, name="sessions")],
    )


def build_series_cancelled(message: OutboxMessage):
    """ONE notice for the rest of a series cancelled by the clinic, one .ics cancelling them all."""
    series, sessions = _series_sessions(message, states=[AppointmentState.CANCELLED])
    if not sessions:
        return None
    return render_email(
        SERIES_CANCELLED,
        _series_context(series, sessions),
        to=[series.patient.email],
        attachments=[ics.attachment(sessions, name="sessions", method=ics.CANCEL)],
    )


def build_appointment_moved(message: OutboxMessage):
    appointment = _upcoming_appointment(message)
    if appointment is None:
        return None
    return render_email(
        APPOINTMENT_MOVED,
        _context_with_links(appointment),
        to=[appointment.patient.email],
        attachments=[ics.attachment([appointment])],
    )


def build_appointment_cancelled(message: OutboxMessage):
    appointment = _appointment(message)
    if appointment is None or appointment.state != AppointmentState.CANCELLED:
        return None
    if appointment.starts_at <= timezone.now() or not appointment.patient.wants_email:
        return None
    return render_email(
        APPOINTMENT_CANCELLED,
        _context(appointment),
        to=[appointment.patient.email],
        attachments=[ics.attachment([appointment], method=ics.CANCEL)],
    )


# --- Samples for the "E-mail templates" page (made-up data, nothing saved) -------------------------


def _sample_appointment(days: int = 9, sequence: int | None = None) -> Appointment:
    from patients.models import Patient

    day = timezone.localdate() + datetime.timedelta(days=days)
    starts = datetime.datetime.combine(day, datetime.time(10), tzinfo=clinic_tz())
    patient = Patient(given_name="Ana", family_name="Example", email="ana@example.com", email_consent=True)
    return Appointment(
        patient=patient,
        starts_at=starts,
        ends_at=starts + datetime.timedelta(minutes=60),
        state=AppointmentState.BOOKED,
        kind=AppointmentKind.TREATMENT,
        sequence=sequence,
    )


def _sample_context(appointment: Appointment) -> dict:
    link = settings.SITE_URL + "/scheduling/email/{}/sample-link/"
    return {
        "appointment": appointment,
        "patient": appointment.patient,
        "name": appointment.patient.given_name,
        "local_start": to_local(appointment.starts_at),
        "local_end": to_local(appointment.ends_at),
        "practitioner": "Dr Inês Example",
        "lead": "24h",
        "confirm_url": link.format("confirm"),
        "cancel_url": link.format("cancel"),
        "unsubscribe_url": link.format("unsubscribe"),
    }


def sample_reminder():
    return render_email(REMINDER, _sample_context(_sample_appointment()), to=["ana@example.com"])


def sample_series_booked():
    sessions = [_sample_appointment(9 + 14 * i, sequence=i + 1) for i in range(4)]
    return render_email(
        SERIES_BOOKED,
        {
            "name": "Ana",
            "sessions": [
                {"appointment": a, "local_start": to_local(a.starts_at), "practitioner": "Dr Inês Example"}
                for a in sessions
            ],
        },
        to=["ana@example.com"],
    )


def sample_appointment_booked():
    return render_email(APPOINTMENT_BOOKED, _sample_context(_sample_appointment(1)), to=["ana@example.com"])


def _sample_sessions(first: int = 2) -> dict:
    sessions = [_sample_appointment(9 + 14 * i, sequence=i + 1) for i in range(first - 1, 4)]
    return {
        "name": "Ana",
        "sessions": [
            {"appointment": a, "local_start": to_local(a.starts_at), "practitioner": "Dr Inês Example"}
            for a in sessions
        ],
    }


def sample_series_moved():
    return render_email(SERIES_MOVED, _sample_sessions(), to=["ana@example.com"])


def sample_series_cancelled():
    return render_email(SERIES_CANCELLED, _sample_sessions(), to=["ana@example.com"])


def sample_appointment_moved():
    return render_email(APPOINTMENT_MOVED, _sample_context(_sample_appointment()), to=["ana@example.com"])


def sample_appointment_cancelled():
    return render_email(APPOINTMENT_CANCELLED, _sample_context(_sample_appointment()), to=["ana@example.com"])


def register() -> None:
    register_kind(REMINDER, build_reminder, label="Appointment reminder", sample=sample_reminder)
    register_kind(
        SERIES_BOOKED, build_series_booked, label="Series confirmation", sample=sample_series_booked
    )
    register_kind(
        APPOINTMENT_BOOKED,
        build_appointment_booked,
        label="Booking confirmation",
        sample=sample_appointment_booked,
    )
    register_kind(SERIES_MOVED, build_series_moved, label="Sessions moved", sample=sample_series_moved)
    register_kind(
        SERIES_CANCELLED, build_series_cancelled, label="Sessions cancelled", sample=sample_series_cancelled
    )
    register_kind(
        APPOINTMENT_MOVED, build_appointment_moved, label="Appointment moved", sample=sample_appointment_moved
    )
    register_kind(
        APPOINTMENT_CANCELLED,
        build_appointment_cancelled,
        label="Appointment cancelled",
        sample=sample_appointment_cancelled,
    )
