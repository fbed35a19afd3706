"""Writes to the appointment book: booking, series, rescheduling, cancelling and state changes.

No double booking (docs/design.md): on PostgreSQL the exclusion constraints on Appointment refuse an
overlapping active appointment of the same practitioner, room or patient, whatever two requests do at
once; the IntegrityError is turned into the same readable BookingClash the checks below raise (two
bookings that deadlock in that check are handled too: `_save_in_savepoint`). On
SQLite the settings open every transaction with BEGIN IMMEDIATE (`transaction_mode`), so the
outermost `transaction.atomic()` takes the database's write lock before the clash check reads: two
bookings cannot interleave their check and insert. The checks here run on both databases, so the
person at the desk always gets a message naming the session, the time and who or what is taken.

A rule cited as rule `name` is in docs/clinical-rules.md.

Each service is the one place for its event (booked, moved, cancelled, state changed): anything that
must follow such an event in the same transaction (reminders in the outbox) belongs in that service.
"""

import datetime
from dataclasses import dataclass, field

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from clinic.clock import to_local
from clinic.errors import Refusal
from clinic.models import ClinicSettings

from . import notifications
from .availability import Availability, when
from .errors import BookingClash
from .models import (
    ACTIVE_STATES,
    UPCOMING_STATES,
    Appointment,
    AppointmentKind,
    AppointmentState,
    AppointmentStateChange,
    SessionSeries,
)
from .planner import MINIMUM_SERIES_AGE, SeriesPlan, band_for_age, cadence_problems
from .selectors import active_course_overlap

DEADLOCK_DETECTED = "40P01"  # PostgreSQL's SQLSTATE
OVERLAP_CONSTRAINTS = {
    "appointment_no_practitioner_overlap",
    "appointment_no_room_overlap",
    "appointment_no_patient_overlap",
}

# From each state, the states an appointment may move to.
TRANSITIONS = {
    AppointmentState.BOOKED: {
        AppointmentState.CONFIRMED,
        AppointmentState.ARRIVED,
        AppointmentState.CANCELLED,
        AppointmentState.NO_SHOW,
    },
    AppointmentState.CONFIRMED: {
        AppointmentState.ARRIVED,
        AppointmentState.CANCELLED,
        AppointmentState.NO_SHOW,
    },
    AppointmentState.ARRIVED: {AppointmentState.COMPLETED},
    AppointmentState.COMPLETED: set(),
    AppointmentState.CANCELLED: set(),
    AppointmentState.NO_SHOW: set(),
}


def _is_overlap_violation(exc: IntegrityError) -> bool:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) in OVERLAP_CONSTRAINTS


def _is_deadlock(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) == DEADLOCK_DETECTED


def _save_in_savepoint(appointment: Appointment) -> None:
    """Save in a savepoint; after a deadlock, once more.

    Two bookings of the same time at the same moment can each find the other's row, not yet
    committed, in PostgreSQL's check of an exclusion constraint, and each wait for the other.
    PostgreSQL ends one of them with a deadlock error (after `deadlock_timeout`, 1 s) and only its
    savepoint is lost. Tried again, the loser now waits for the winner and then meets its committed
    row: the usual overlap error, with a message that names the clash. A second deadlock raises.
    """
    try:
        with transaction.atomic():
            appointment.save()
    except OperationalError as exc:
        if not _is_deadlock(exc):
            raise
        with transaction.atomic():
            appointment.save()


def _slot_problem(availability: Availability, appointment: Appointment) -> str | None:
    if appointment.kind == AppointmentKind.TREATMENT and not appointment.room.for_treatments:
        return f"{appointment.room} is not a treatment room"  # rule `treatment-rooms-only`
    return availability.slot_problem(
        patient=appointment.patient,
        practitioner=appointment.practitioner,
        room=appointment.room,
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
    )


def _load_for(appointments: list[Appointment], *, exclude_ids=()) -> Availability:
    days = [to_local(a.starts_at).date() for a in appointments]
    return Availability.load(
        min(days),
        max(days),
        practitioner_ids={a.practitioner_id for a in appointments},
        room_ids={a.room_id for a in appointments},
        patient_ids={a.patient_id for a in appointments},
        exclude_ids=exclude_ids,
    )


def _save_checked(appointment: Appointment, label: str, availability: Availability, *, action: str) -> None:
    """Check the slot, then save in a savepoint; the exclusion constraint has the last word (PostgreSQL)."""
    problem = _slot_problem(availability, appointment)
    if problem:
        raise BookingClash(f"{label} ({when(appointment.starts_at)}) cannot be {action}: {problem}.")
    try:
        _save_in_savepoint(appointment)
    except OperationalError as exc:
        if not _is_deadlock(exc):
            raise
        # The same again: this booking holds rows the other one waits for (earlier sessions of its
        # series). Nothing is saved (the caller's transaction rolls back); the person may try again.
        raise BookingClash(
            f"{label} ({when(appointment.starts_at)}) cannot be {action}: someone else was booking "
            "the same time at that very moment. Nothing was saved; please check the calendar and "
            "try again."
        ) from exc
    except IntegrityError as exc:
        if not _is_overlap_violation(exc):
            raise
        # Another booking committed this slot between our check and our insert (PostgreSQL only).
        taken = Availability(availability.first_day, availability.last_day)
        for other in (
            Appointment.objects.filter(
                Q(practitioner_id=appointment.practitioner_id)
                | Q(room_id=appointment.room_id)
                | Q(patient_id=appointment.patient_id),
                state__in=ACTIVE_STATES,
                starts_at__lt=appointment.ends_at,
                ends_at__gt=appointment.starts_at,
            )
            .exclude(pk=appointment.pk)
            .select_related("patient", "practitioner", "room")
        ):
            taken.add(other)
        detail = taken.clash(
            appointment.starts_at,
            appointment.ends_at,
            practitioner_id=appointment.practitioner_id,
            room_id=appointment.room_id,
            patient_id=appointment.patient_id,
        )
        detail = f"{detail} (booked a moment ago)" if detail else "the time was taken a moment ago"
        raise BookingClash(f"{label} ({when(appointment.starts_at)}) cannot be {action}: {detail}.") from exc
    availability.add(appointment)


def _log_state(appointment: Appointment, from_state: str, to_state: str, by, reason: str = "") -> None:
    AppointmentStateChange.objects.create(
        appointment=appointment, from_state=from_state, to_state=to_state, by=by, reason=reason
    )


def _new_appointment(
    *, patient, practitioner, room, starts_at, minutes, kind, notes, by, series=None, sequence=None
):
    appointment = Appointment(
        patient=patient,
        practitioner=practitioner,
        room=room,
        kind=kind,
        starts_at=starts_at,
        ends_at=starts_at + datetime.timedelta(minutes=minutes),
        series=series,
        sequence=sequence,
        notes=notes,
        created_by=by,
    )
    appointment._history_user = by
    return appointment


@transaction.atomic
def book_appointment(
    *,
    patient,
    practitioner,
    room,
    starts_at: datetime.datetime,
    kind: str = AppointmentKind.TREATMENT,
    minutes: int | None = None,
    notes: str = "",
    by,
) -> Appointment:
    """Book one appointment (rule `session-about-an-hour`: default length from the clinic settings),
    refusing any clash."""
    if starts_at <= timezone.now():
        raise Refusal("That time is in the past: choose a later time.")
    minutes = minutes or ClinicSettings.load().default_appointment_minutes
    appointment = _new_appointment(
        patient=patient,
        practitioner=practitioner,
        room=room,
        starts_at=starts_at,
        minutes=minutes,
        kind=kind,
        notes=notes,
        by=by,
    )
    _save_checked(appointment, "The appointment", _load_for([appointment]), action="booked")
    _log_state(appointment, "", appointment.state, by)
    notifications.on_booked(appointment)
    return appointment


@transaction.atomic
def book_series(
    *,
    patient,
    plan: SeriesPlan,
    slots: list[tuple[datetime.datetime, object, object]],
    minutes: int | None = None,
    by,
) -> SessionSeries:
    """Book every session of a series in one transaction, or none (docs/design.md, "No double booking";
    rules `age-on-first-session`, `no-series-under-18`, `move-within-tolerance`).

    `slots` are (starts_at, practitioner, room) in session order. The first refusal names the
    session, its time and what clashed; the whole series is then rolled back.
    """
    if len(slots) != plan.count:
        raise Refusal(f"The series has {plan.count} sessions but {len(slots)} were given.")
    starts = [s[0] for s in slots]
    if any(b <= a for a, b in zip(starts, starts[1:], strict=False)):
        raise Refusal("The sessions must be in order, each after the one before.")
    age = patient.age_on(to_local(starts[0]).date())
    if age != plan.age:
        raise Refusal(
            f"The patient is {age} on the first session date, not {plan.age}: propose the series again."
        )
    if age < MINIMUM_SERIES_AGE:
        raise Refusal(f"The patient is {age}: a treatment series is not booked for under-18s.")
    if starts[0] <= timezone.now():
        raise Refusal("The first session is in the past: choose a later date.")
    overlap, concurrent_reason = active_course_overlap(patient, starts[0])  # rule `one-course-at-a-time`
    if overlap:
        raise Refusal(overlap)
    days = [(n, to_local(s).date()) for n, s in enumerate(starts, start=1)]
    for number, problem in cadence_problems(plan.sessions_per_period, plan.period_days, days).items():
        raise Refusal(  # rule `cadence-in-every-booking`: the first one, as for a clash
            f"Session {number} ({when(starts[number - 1])}) cannot be booked: {problem}. "
            "Nothing was booked: move that session and book again."
        )
    minutes = minutes or ClinicSettings.load().default_appointment_minutes
    series = SessionSeries(
        patient=patient,
        band=plan.band,
        override_reason=plan.override_reason,
        concurrent_reason=concurrent_reason,
        count=plan.count,
        sessions_per_period=plan.sessions_per_period,
        period_days=plan.period_days,
        weekdays=",".join(str(d) for d in plan.weekdays),
        age_at_start=age,
        created_by=by,
    )
    series._history_user = by
    series.save()
    appointments = [
        _new_appointment(
            patient=patient,
            practitioner=practitioner,
            room=room,
            starts_at=starts_at,
            minutes=minutes,
            kind=AppointmentKind.TREATMENT,
            notes="",
            by=by,
            series=series,
            sequence=number,
        )
        for number, (starts_at, practitioner, room) in enumerate(slots, start=1)
    ]
    availability = _load_for(appointments)
    for appointment in appointments:
        label = f"Session {appointment.sequence}"
        try:
            _save_checked(appointment, label, availability, action="booked")
        except BookingClash as exc:
            raise BookingClash(
                f"{exc.message} Nothing was booked: move that session and book again."
            ) from exc
        _log_state(appointment, "", appointment.state, by)
    notifications.on_series_booked(series, appointments)
    return series


def _lock(appointment: Appointment) -> Appointment:
    locked = (
        Appointment.objects.select_for_update()
        .select_related("patient", "practitioner", "room")
        .get(pk=appointment.pk)
    )
    return locked


def _label(appointment: Appointment) -> str:
    if appointment.series_id:
        return f"Session {appointment.sequence}"
    return "The appointment"


def _series_dates(series_id: int, moved: dict[int, datetime.datetime]) -> list[tuple[int, datetime.date]]:
    """(number, local date) of the series' active sessions, with the starts in `moved` (by pk) instead."""
    rows = Appointment.objects.filter(series_id=series_id, state__in=ACTIVE_STATES).values_list(
        "pk", "sequence", "starts_at"
    )
    return sorted((number, to_local(moved.get(pk, start)).date()) for pk, number, start in rows)


def _new_cadence_problems(series: SessionSeries, moved: dict[int, datetime.datetime]) -> dict[int, str]:
    """What the move breaks in the series' cadence that was not broken before (rule
    `cadence-in-every-booking`): an old series booked before the rule is not blocked by its own past."""
    per, days = series.sessions_per_period, series.period_days
    before = cadence_problems(per, days, _series_dates(series.pk, {}))
    after = cadence_problems(per, days, _series_dates(series.pk, moved))
    return {n: p for n, p in after.items() if before.get(n) != p}


def _band_change(series: SessionSeries, moved: dict[int, datetime.datetime]) -> tuple[int, object, str]:
    """The age on the series' (new) first session and its band, and what changes (rule
    `band-change-needs-a-reason`): "" when the band stays."""
    first = min(_series_dates(series.pk, moved), default=None)
    if first is None:
        return series.age_at_start, series.band, ""
    age = series.patient.age_on(first[1])
    band = band_for_age(age)
    if (band and band.pk) == series.band_id:
        return age, band, ""
    now_band = f"{band.label} ({band.cadence_display})" if band else "no protocol band"
    was = f"{series.band.label} ({series.band.cadence_display})" if series.band else "no protocol band"
    return (
        age,
        band,
        f"the patient is {age} on the new first session date ({first[1]:%d/%m/%Y}), so the band would be "
        f"{now_band}, not {was} as booked",
    )


def _settle_first_session(series: SessionSeries, moved: dict, band_reason: str, by) -> None:
    """Keep the series' age on its first session (rule `age-on-first-session`); a change of band needs
    the reason the protocol asks for, kept on the series (rule `band-change-needs-a-reason`)."""
    age, band, change = _band_change(series, moved)
    if change:
        band_reason = (band_reason or "").strip()
        if not band_reason:
            raise Refusal(
                f"Moving session 1 changes the band: {change}. Give the reason for keeping this course "
                "as it is, or cancel the rest of the series and plan a new one.",
                "band_reason",
            )
        series.band = band
        note = f"Band changed when session 1 moved: {band_reason}"
        series.override_reason = f"{series.override_reason}\n{note}".strip()
    if age != series.age_at_start or change:
        series.age_at_start = age
        series._history_user = by
        series.save()


def _needs_confirming_again(appointment: Appointment, before_start, by) -> None:
    """A confirmed appointment the clinic moved to another time is booked again until the patient
    confirms the new time (rule `moved-needs-confirming-again`); the change notice carries the link."""
    if appointment.state == AppointmentState.CONFIRMED and appointment.starts_at != before_start:
        appointment.state = AppointmentState.BOOKED
        appointment.save(update_fields=["state", "updated_at"])
        _log_state(
            appointment,
            AppointmentState.CONFIRMED,
            AppointmentState.BOOKED,
            by,
            "Moved by the clinic: the patient confirms the new time.",
        )


@transaction.atomic
def reschedule_appointment(
    *,
    appointment: Appointment,
    starts_at: datetime.datetime,
    practitioner=None,
    room=None,
    band_reason: str = "",
    by,
) -> Appointment:
    """Move one upcoming appointment, keeping its length; the new slot is checked like a booking, and a
    series session keeps the series' cadence (rule `cadence-in-every-booking`)."""
    appointment = _lock(appointment)
    if not appointment.is_upcoming:
        raise Refusal(f"A {appointment.get_state_display().lower()} appointment cannot be moved.")
    if starts_at <= timezone.now():
        raise Refusal("The new time is in the past: choose a later time.")
    _check_series_order(appointment, starts_at)
    if appointment.series_id:
        series = SessionSeries.objects.select_related("patient", "band").get(pk=appointment.series_id)
        moved = {appointment.pk: starts_at}
        for number, problem in _new_cadence_problems(series, moved).items():
            raise Refusal(
                f"Session {appointment.sequence} cannot be moved to {when(starts_at)}: "
                + (f"session {number} would then be " if number != appointment.sequence else "")
                + f"{problem}."
            )
        _settle_first_session(series, moved, band_reason, by)
    before = (appointment.starts_at, appointment.practitioner_id)
    length = appointment.ends_at - appointment.starts_at
    appointment.starts_at, appointment.ends_at = starts_at, starts_at + length
    appointment.practitioner = practitioner or appointment.practitioner
    appointment.room = room or appointment.room
    appointment._history_user = by
    availability = _load_for([appointment], exclude_ids=[appointment.pk])
    _save_checked(appointment, _label(appointment), availability, action="moved")
    _needs_confirming_again(appointment, before[0], by)
    notifications.on_moved(appointment, before_start=before[0], before_practitioner_id=before[1])
    return appointment


# The lengths the booking form allows (forms.AppointmentForm.minutes); availability.LONGEST_APPOINTMENT
# relies on the upper bound.
SHORTEST_MINUTES, LONGEST_MINUTES = 15, 240


@transaction.atomic
def change_appointment_length(*, appointment: Appointment, minutes: int, by) -> Appointment:
    """Make one upcoming appointment `minutes` long, keeping its start (the calendar's resize); the
    longer time is checked like a booking (hours, leave, clashes)."""
    appointment = _lock(appointment)
    if not appointment.is_upcoming:
        raise Refusal(f"A {appointment.get_state_display().lower()} appointment cannot be changed.")
    if appointment.starts_at <= timezone.now():
        raise Refusal("This appointment has already started: its length can no longer be changed.")
    if not SHORTEST_MINUTES <= minutes <= LONGEST_MINUTES:
        raise Refusal(
            f"An appointment lasts from {SHORTEST_MINUTES} to {LONGEST_MINUTES} minutes, not {minutes}."
        )
    before = (appointment.starts_at, appointment.practitioner_id)
    appointment.ends_at = appointment.starts_at + datetime.timedelta(minutes=minutes)
    appointment._history_user = by
    availability = _load_for([appointment], exclude_ids=[appointment.pk])
    _save_checked(appointment, _label(appointment), availability, action=f"made {minutes} minutes long")
    notifications.on_moved(appointment, before_start=before[0], before_practitioner_id=before[1])
    return appointment


def _check_series_order(appointment: Appointment, starts_at: datetime.datetime) -> None:
    """A single move must keep the series in order (rule `move-within-tolerance`); to move later sessions too,
    use the shift."""
    if not appointment.series_id:
        return
    neighbours = Appointment.objects.filter(series_id=appointment.series_id).exclude(pk=appointment.pk)
    neighbours = neighbours.filter(state__in=ACTIVE_STATES)
    before = neighbours.filter(sequence__lt=appointment.sequence).order_by("-sequence").first()
    after = neighbours.filter(sequence__gt=appointment.sequence).order_by("sequence").first()
    if before and starts_at <= before.starts_at:
        raise Refusal(
            f"Session {appointment.sequence} would come before session {before.sequence} "
            f"({when(before.starts_at)}): choose a later time."
        )
    if after and starts_at >= after.starts_at:
        raise Refusal(
            f"Session {appointment.sequence} would come after session {after.sequence} "
            f"({when(after.starts_at)}): choose an earlier time, or shift the rest of the series with it."
        )


def _wall_clock_shift(moment: datetime.datetime, offset: datetime.timedelta) -> datetime.datetime:
    """Add `offset` on the local wall clock, so 10:00 stays 10:00 across a summer-time change."""
    local = to_local(moment)
    naive = local.replace(tzinfo=None) + offset
    return naive.replace(tzinfo=local.tzinfo)


@dataclass
class ShiftRow:
    """One session of a shift: where it is, where it would go, and why it cannot ("" when it can)."""

    appointment: Appointment
    old_start: datetime.datetime
    new_start: datetime.datetime
    new_end: datetime.datetime
    problem: str = ""

    @property
    def label(self) -> str:
        return f"Session {self.appointment.sequence}"


@dataclass
class ShiftPreview:
    """Every session a shift of the rest of the series moves, with its new time and every clash (rule
    `shift-rest-of-series`); `band_change`: what moving session 1 does to the band, "" when nothing."""

    rows: list[ShiftRow] = field(default_factory=list)
    band_change: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.rows) and not any(r.problem for r in self.rows)

    @property
    def problems(self) -> list[str]:
        return [f"{r.label} ({when(r.new_start)}): {r.problem}" for r in self.rows if r.problem]


def _shift_rows(appointment: Appointment, starts_at: datetime.datetime, *, lock: bool) -> ShiftPreview:
    if not appointment.series_id:
        raise Refusal("This appointment is not part of a series.")
    if not appointment.is_upcoming:
        raise Refusal(f"A {appointment.get_state_display().lower()} session cannot be moved.")
    if starts_at <= timezone.now():
        raise Refusal("The new time is in the past: choose a later time.")
    offset = to_local(starts_at).replace(tzinfo=None) - to_local(appointment.starts_at).replace(tzinfo=None)
    moving = Appointment.objects.filter(
        series_id=appointment.series_id, sequence__gte=appointment.sequence, state__in=UPCOMING_STATES
    )
    moving = list(
        (moving.select_for_update() if lock else moving)
        .select_related("patient", "practitioner", "room")
        .order_by("sequence")
    )
    earlier = (
        Appointment.objects.filter(series_id=appointment.series_id, sequence__lt=appointment.sequence)
        .filter(state__in=ACTIVE_STATES)
        .order_by("-sequence")
        .first()
    )
    if earlier and starts_at <= earlier.starts_at:
        raise Refusal(
            f"Session {appointment.sequence} would come before session {earlier.sequence}: "
            "choose a later time."
        )
    preview = ShiftPreview()
    for item in moving:
        new_start = _wall_clock_shift(item.starts_at, offset)
        preview.rows.append(
            ShiftRow(item, item.starts_at, new_start, new_start + (item.ends_at - item.starts_at))
        )
    # Every clash, not the first one: each session against everything but the sessions moving (they keep
    # their spacing, so they never clash with one another).
    probes = [
        Appointment(
            pk=r.appointment.pk,
            patient=r.appointment.patient,
            practitioner=r.appointment.practitioner,
            room=r.appointment.room,
            kind=r.appointment.kind,
            starts_at=r.new_start,
            ends_at=r.new_end,
        )
        for r in preview.rows
    ]
    availability = _load_for(probes, exclude_ids=[a.pk for a in moving])
    for row, probe in zip(preview.rows, probes, strict=True):
        row.problem = _slot_problem(availability, probe) or ""
    series = SessionSeries.objects.select_related("patient", "band").get(pk=appointment.series_id)
    moved = {r.appointment.pk: r.new_start for r in preview.rows}
    cadence = _new_cadence_problems(series, moved)
    for row in preview.rows:
        row.problem = row.problem or cadence.get(row.appointment.sequence, "")
    preview.band_change = _band_change(series, moved)[2]
    return preview


def preview_shift(*, appointment: Appointment, starts_at: datetime.datetime) -> ShiftPreview:
    """What shifting this session to `starts_at` and every later upcoming one by the same wall-clock
    amount would do, session by session (rule `shift-rest-of-series`). Reads only."""
    return _shift_rows(appointment, starts_at, lock=False)


@transaction.atomic
def shift_rest_of_series(
    *, appointment: Appointment, starts_at: datetime.datetime, band_reason: str = "", by
) -> list[Appointment]:
    """Move this session to `starts_at` and every later upcoming session of its series by the same
    amount of wall-clock time, in one action, all or nothing (rule `shift-rest-of-series`): every clash
    is named at once; the patient gets one change notice listing every moved session."""
    appointment = _lock(appointment)
    preview = _shift_rows(appointment, starts_at, lock=True)
    if not preview.ok:
        raise BookingClash(f"Nothing was moved: {'; '.join(preview.problems)}.")
    series = SessionSeries.objects.select_related("patient", "band").get(pk=appointment.series_id)
    _settle_first_session(series, {r.appointment.pk: r.new_start for r in preview.rows}, band_reason, by)
    moving = [r.appointment for r in preview.rows]
    for row in preview.rows:
        row.appointment.starts_at, row.appointment.ends_at = row.new_start, row.new_end
        row.appointment._history_user = by
    availability = _load_for(moving, exclude_ids=[a.pk for a in moving])
    # Save the sessions in the order that never overlaps their own old times: the last one first
    # when moving later, the first one first when moving earlier.
    later = preview.rows[0].new_start > preview.rows[0].old_start
    for item in sorted(moving, key=lambda a: a.sequence, reverse=later):
        try:
            _save_checked(item, f"Session {item.sequence}", availability, action="moved")
        except BookingClash as exc:
            raise BookingClash(f"{exc.message} Nothing was moved.") from exc
    for row in preview.rows:
        _needs_confirming_again(row.appointment, row.old_start, by)
    notifications.on_series_moved(series, moving)
    return moving


def _change_state(
    appointment: Appointment, to_state: str, *, by, reason: str = "", notify: bool = True
) -> Appointment:
    appointment = _lock(appointment)
    if to_state not in TRANSITIONS[appointment.state]:
        raise Refusal(
            f"This appointment is {appointment.get_state_display().lower()}: it cannot be marked "
            f"{AppointmentState(to_state).label.lower()}."
        )
    from_state = appointment.state
    appointment.state = to_state
    if to_state == AppointmentState.CANCELLED:
        appointment.cancel_reason = reason
    appointment._history_user = by
    appointment.save()
    _log_state(appointment, from_state, to_state, by, reason)
    notifications.on_state_changed(appointment, by=by, notify=notify)
    return appointment


@transaction.atomic
def confirm_appointment(*, appointment: Appointment, by) -> Appointment:
    """The patient confirmed they will come."""
    return _change_state(appointment, AppointmentState.CONFIRMED, by=by)


@transaction.atomic
def mark_arrived(*, appointment: Appointment, by) -> Appointment:
    """The patient is at the clinic."""
    appointment = _lock(appointment)
    if to_local(appointment.starts_at).date() > timezone.localdate():
        raise Refusal("The patient can be marked as arrived on the day of the appointment.")
    return _change_state(appointment, AppointmentState.ARRIVED, by=by)


@transaction.atomic
def mark_completed(*, appointment: Appointment, by) -> Appointment:
    """The appointment took place."""
    return _change_state(appointment, AppointmentState.COMPLETED, by=by)


@transaction.atomic
def mark_no_show(*, appointment: Appointment, by) -> Appointment:
    """The patient did not come (rule `shift-rest-of-series`: the rest of a series can then be
    shifted). Frees the slot."""
    appointment = _lock(appointment)
    if appointment.starts_at > timezone.now():
        raise Refusal("An appointment can be marked as a no-show only once its start time has passed.")
    return _change_state(appointment, AppointmentState.NO_SHOW, by=by)


@transaction.atomic
def cancel_appointment(*, appointment: Appointment, reason: str, by) -> Appointment:
    """Cancel one appointment, keeping the reason; the slot is free again."""
    reason = (reason or "").strip()
    if not reason:
        raise Refusal("Give the reason for the cancellation.")
    return _change_state(appointment, AppointmentState.CANCELLED, by=by, reason=reason)


@transaction.atomic
def cancel_rest_of_series(*, appointment: Appointment, reason: str, by) -> list[Appointment]:
    """Cancel this session and every later upcoming session of its series (rule `shift-rest-of-series`),
    with the reason."""
    reason = (reason or "").strip()
    if not reason:
        raise Refusal("Give the reason for the cancellation.")
    if not appointment.series_id:
        raise Refusal("This appointment is not part of a series.")
    rest = list(
        Appointment.objects.filter(
            series_id=appointment.series_id,
            sequence__gte=appointment.sequence,
            state__in=UPCOMING_STATES,
        ).order_by("sequence")
    )
    if not rest:
        raise Refusal("No upcoming session of this series is left to cancel.")
    cancelled = [
        _change_state(item, AppointmentState.CANCELLED, by=by, reason=reason, notify=False) for item in rest
    ]
    notifications.on_series_cancelled(cancelled)  # one notice for them all
    return cancelled


@transaction.atomic
def mark_session_took_place(*, appointment: Appointment, by) -> Appointment:
    """The practitioner finished the treatment session booked in this appointment (its session record
    was marked done): the appointment becomes completed, each step logged with who and when.

    Called inside the transaction that marks the record done, so both change or neither does. A
    patient the front desk did not mark as arrived was there all the same: the arrival is logged
    first (on the day of the appointment or later, as `mark_arrived` requires). An appointment
    already completed stays as it is; a cancelled or missed one is refused.
    """
    appointment = _lock(appointment)
    if appointment.state == AppointmentState.COMPLETED:
        return appointment
    if appointment.state in UPCOMING_STATES:
        appointment = mark_arrived(appointment=appointment, by=by)
    return mark_completed(appointment=appointment, by=by)


class _Undo(Exception):
    """Rolls back the trial save of `appointments_stranded_by`."""


def appointments_stranded_by(save_change) -> list[Appointment]:
    """The upcoming appointments a change of opening hours, working hours, leave or closures would leave
    outside the hours (rule `stranded-appointments`), soonest first: `save_change()` is run in a
    savepoint that is always rolled back, so nothing changes. Those already stranded before are not
    listed. For the admin's "asks to confirm"; a rare action, over every upcoming appointment."""
    upcoming = list(
        Appointment.objects.filter(state__in=UPCOMING_STATES, ends_at__gt=timezone.now())
        .select_related("patient", "practitioner")
        .order_by("starts_at")
    )
    if not upcoming:
        return []
    from .selectors import stranded_appointment_ids

    before = stranded_appointment_ids(upcoming)
    after: set[int] = set()
    try:
        with transaction.atomic():
            save_change()
            after = stranded_appointment_ids(upcoming)
            raise _Undo
    except _Undo:
        pass
    return [a for a in upcoming if a.pk in after - before]
