"""The series planner: from a patient's age band to one proposed slot per session.

A rule cited as rule `name` is in docs/clinical-rules.md: `band-proposes-practitioner-decides`,
`age-banded-schedule`, `band-edges`, `age-on-first-session`, `no-band-no-default`,
`no-series-under-18`, `course-count-range`, `twice-weekly-spacing`, `move-within-tolerance`.

`band_for_age` answers which band applies (or explicitly none). `plan_for` settles count and cadence
(band defaults, or the practitioner's override with a reason). `propose_series` places each session
in a window loaded once (see availability.py), so proposing is a handful of queries and Python.
"""

import datetime
from dataclasses import dataclass, field

from django.utils import timezone

from clinic.clock import clinic_tz, local_datetime, to_local
from clinic.errors import Refusal
from clinic.models import ClinicSettings
from clinic.staff import person

from .availability import Availability, active_rooms, day_label, practitioners
from .models import ProtocolBand, cadence_label

MINIMUM_SERIES_AGE = 18
SLOT_STEP_MINUTES = 15
EARLIEST_SEARCH_DAYS = 90
DEFAULT_TWICE_WEEKLY_DAYS = (0, 3)  # Monday and Thursday (rule `twice-weekly-spacing`)


def band_for_age(age: int) -> ProtocolBand | None:
    """The protocol band for an age in whole years, or None: "no protocol for this age" (rules
    `band-edges`, `no-band-no-default`).

    Never a silent default: the caller must show that there is no band and ask for an explicit plan.
    """
    for band in ProtocolBand.objects.filter(min_age__lte=age, max_age__gte=age):
        if band.contains(age):
            return band
    return None


def band_deviation(band: ProtocolBand, *, count: int, cadence: tuple[int, int]) -> str:
    """How a count and cadence depart from the band (rules `band-proposes-practitioner-decides`,
    `course-count-range`): "" when they follow it, else a sentence saying what differs. A departure needs the
    practitioner's written reason."""
    what = []
    if not (band.min_sessions <= count <= band.max_sessions):
        what.append(f"{count} sessions is outside the band's {band.course_display}")
    if tuple(cadence) != (band.sessions_per_period, band.period_days):
        what.append(f"the band's cadence is {band.cadence_display}")
    return "; ".join(what).capitalize()


# A consultation's plan stores the cadence as days between sessions. Two sessions per week (rule
# `twice-weekly-spacing`) are 3 or 4 days apart (Monday, Thursday, Monday): the plan writes it as 3,
# and reads 3 or 4 back as two per week. Any other interval N is one session every N days.
TWICE_WEEKLY_INTERVALS = (3, 4)


def cadence_for_interval(interval_days: int) -> tuple[int, int]:
    """The planner's cadence (sessions per period, period days) for a plan's interval in days."""
    if interval_days in TWICE_WEEKLY_INTERVALS:
        return (2, 7)
    return (1, interval_days)


def interval_for_cadence(sessions_per_period: int, period_days: int) -> int:
    """The interval in days a consultation's plan stores for a cadence (two per week: 3)."""
    if (sessions_per_period, period_days) == (2, 7):
        return TWICE_WEEKLY_INTERVALS[0]
    return max(1, period_days // sessions_per_period)


def tolerance_days(sessions_per_period: int, period_days: int) -> int:
    """How far the planner may move a session from its target date (rule `move-within-tolerance`)."""
    if sessions_per_period > 1 or period_days < 14:
        return 1
    return 2


def cadence_problems(
    sessions_per_period: int, period_days: int, sessions: list[tuple[int, datetime.date]]
) -> dict[int, str]:
    """What breaks the cadence, by session number (rule `cadence-in-every-booking`): the same rules for the
    planner's proposal, a series placed by hand, a booking, a move and a shift.

    `sessions`: (number, local date) of the series' active sessions, in order. Twice weekly (rule
    `twice-weekly-spacing`): at most two sessions in a calendar week, and 2 to 5 days between two
    consecutive sessions (at least 2 after a missed or cancelled one). One session every N days (rule
    `move-within-tolerance`): each session within the tolerance of its date in the cadence, counted from
    session 1, or from the first session after a missed or cancelled one (the shift of the rest of the
    series starts the count again there)."""
    twice = (sessions_per_period, period_days) == (2, 7)
    tolerance = tolerance_days(sessions_per_period, period_days)
    step = max(1, round(period_days / sessions_per_period))
    problems: dict[int, str] = {}
    per_week: dict[tuple[int, int], int] = {}
    anchor = previous = None
    for number, day in sessions:
        problem = ""
        consecutive = previous is not None and number == previous[0] + 1
        gap = (day - previous[1]).days if previous is not None else None
        if twice:
            week = day.isocalendar()[:2]
            per_week[week] = per_week.get(week, 0) + 1
            if gap is not None and (gap < 2 or (consecutive and gap > 5)):
                problem = (
                    f"{gap} days after the previous session: two sessions per week need 2 to 5 days between"
                )
            elif per_week[week] > 2:
                monday = day - datetime.timedelta(days=day.weekday())
                problem = f"a third session in the week of {day_label(monday)}: two sessions per week at most"
        elif not consecutive:
            anchor = (number, day)
            if gap is not None and gap < step - tolerance:
                cadence = cadence_label(sessions_per_period, period_days)
                problem = f"{gap} days after the previous session: {cadence}"
        else:
            target = anchor[1] + datetime.timedelta(days=step * (number - anchor[0]))
            off = abs((day - target).days)
            if off > tolerance:
                problem = (
                    f"{off} days from its date in the cadence ({day_label(target)}): "
                    f"{cadence_label(sessions_per_period, period_days)} allows ±{tolerance} "
                    f"day{'s' if tolerance > 1 else ''}"
                )
        if problem:
            problems[number] = problem
        previous = (number, day)
    return problems


@dataclass
class SeriesPlan:
    """Count and cadence for a series, and where they came from (band or override with reason)."""

    age: int
    band: ProtocolBand | None
    count: int
    sessions_per_period: int
    period_days: int
    weekdays: tuple[int, ...] = ()
    override_reason: str = ""

    @property
    def is_twice_weekly(self) -> bool:
        return self.sessions_per_period == 2 and self.period_days == 7

    @property
    def tolerance(self) -> int:
        return tolerance_days(self.sessions_per_period, self.period_days)

    @property
    def cadence_display(self) -> str:
        return cadence_label(self.sessions_per_period, self.period_days)


def plan_for(
    *,
    age: int,
    count: int | None = None,
    cadence: tuple[int, int] | None = None,
    weekdays: tuple[int, ...] | None = None,
    override_reason: str = "",
) -> SeriesPlan:
    """Settle count and cadence for a patient of `age` on the first session date (rule
    `age-on-first-session`).

    Under 18 is refused (rule `no-series-under-18`). With a band, the count defaults to its maximum
    (rule `course-count-range`) and the cadence to the band's; a count outside [min, max] or another
    cadence needs a reason. Without a band (rule `no-band-no-default`) the count and cadence must be
    chosen explicitly, with a reason.
    """
    override_reason = (override_reason or "").strip()
    if age < MINIMUM_SERIES_AGE:
        raise Refusal(
            f"The patient is {age} on the first session date: a treatment series is not booked for under-18s."
        )
    band = band_for_age(age)
    if band is None:
        if not count or not cadence:
            raise Refusal(
                f"No protocol for this age ({age}). Choose the number of sessions and the cadence, "
                "and give the reason."
            )
        if not override_reason:
            raise Refusal(
                f"No protocol for this age ({age}): give the reason for the count and cadence chosen."
            )
    else:
        count = count or band.max_sessions
        cadence = cadence or (band.sessions_per_period, band.period_days)
        deviation = band_deviation(band, count=count, cadence=cadence)
        if deviation and not override_reason:
            raise Refusal(f"{deviation}: give the reason for the change.")
        if not deviation:
            override_reason = ""
    per, days = cadence
    if count < 1 or count > 30:
        raise Refusal("A series has between 1 and 30 sessions.")
    twice_weekly = per == 2 and days == 7
    if twice_weekly:
        weekdays = tuple(sorted(set(weekdays or DEFAULT_TWICE_WEEKLY_DAYS)))
        if len(weekdays) != 2:
            raise Refusal("Choose exactly two weekdays for a twice-weekly series.")
        gap = weekdays[1] - weekdays[0]
        if not (2 <= gap <= 5):
            raise Refusal("The two weekdays must be 2 to 5 days apart, for example Monday and Thursday.")
    else:
        weekdays = ()
    return SeriesPlan(
        age=age,
        band=band,
        count=count,
        sessions_per_period=per,
        period_days=days,
        weekdays=weekdays,
        override_reason=override_reason,
    )


@dataclass
class ProposedSession:
    number: int
    target: datetime.date | None
    starts_at: datetime.datetime | None = None
    ends_at: datetime.datetime | None = None
    practitioner: object = None
    room: object = None
    problem: str = ""

    @property
    def placed(self) -> bool:
        return self.starts_at is not None and not self.problem

    @property
    def local_start(self) -> datetime.datetime | None:
        return self.starts_at.astimezone(clinic_tz()) if self.starts_at else None

    @property
    def date(self) -> datetime.date | None:
        return self.local_start.date() if self.starts_at else None

    @property
    def time(self) -> datetime.time | None:
        return self.local_start.time() if self.starts_at else None


@dataclass
class Proposal:
    patient: object
    plan: SeriesPlan
    minutes: int
    sessions: list[ProposedSession] = field(default_factory=list)
    # Why the proposal is not what was asked for (rule `one-practitioner-per-course`), shown above it.
    note: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.sessions) and all(s.placed for s in self.sessions)

    @property
    def problems(self) -> list[str]:
        return [f"Session {s.number}: {s.problem}" for s in self.sessions if s.problem]


def _target_dates(plan: SeriesPlan, first: datetime.date) -> list[datetime.date]:
    """The ideal date of each session after the first one is placed on `first`."""
    if plan.is_twice_weekly:
        dates, day = [first], first + datetime.timedelta(days=1)
        while len(dates) < plan.count:
            if day.weekday() in plan.weekdays:
                dates.append(day)
            day += datetime.timedelta(days=1)
        return dates
    step = max(1, round(plan.period_days / plan.sessions_per_period))
    return [first + datetime.timedelta(days=step * i) for i in range(plan.count)]


def _around(target: datetime.date, tolerance: int) -> list[datetime.date]:
    """Target first, then the nearest days, later before earlier (rule `move-within-tolerance`)."""
    days = [target]
    for offset in range(1, tolerance + 1):
        days += [target + datetime.timedelta(days=offset), target - datetime.timedelta(days=offset)]
    return days


class _Placer:
    """Places sessions one by one in a loaded Availability, remembering what it has placed."""

    def __init__(self, availability, *, patient, candidates, rooms, minutes, preferred_time, now):
        self.availability = availability
        self.patient = patient
        self.candidates = list(candidates)  # practitioners, preferred first
        self.rooms = list(rooms)
        self.minutes = minutes
        self.preferred_time = preferred_time
        self.now = now
        self.placed: list[tuple] = []  # (starts, ends, practitioner id, room id)

    def _taken_by_series(self, starts, ends, *, practitioner_id=None, room_id=None) -> bool:
        for s, e, p, r in self.placed:
            if s < ends and starts < e and (p == practitioner_id or r == room_id or practitioner_id is None):
                return True
        return False

    def _starts(self, day: datetime.date, blocks) -> list[datetime.datetime]:
        """Start times that fit in the blocks, nearest the preferred time first."""
        length = datetime.timedelta(minutes=self.minutes)
        step = datetime.timedelta(minutes=SLOT_STEP_MINUTES)
        starts = []
        for block_start, block_end in blocks:
            moment = local_datetime(day, block_start)
            end = local_datetime(day, block_end)
            while moment + length <= end:
                if moment > self.now:
                    starts.append(moment)
                moment += step
        preferred = local_datetime(day, self.preferred_time)
        return sorted(set(starts), key=lambda m: (abs((m - preferred).total_seconds()), m))

    def try_day(self, day: datetime.date) -> tuple[ProposedSession | None, str]:
        """The best slot on `day`, or None with the reason that day cannot take the session."""
        av = self.availability
        closed = av.clinic_closed(day)
        if closed:
            return None, f"{day_label(day)}: {closed}"
        if day < self.now.astimezone(clinic_tz()).date():
            return None, f"{day_label(day)}: in the past"
        length = datetime.timedelta(minutes=self.minutes)
        reasons = []
        patient_busy = av.busy(av.by_patient, self.patient.pk, day)
        for practitioner in self.candidates:
            blocks = av.working_blocks(practitioner.pk, day)
            if not blocks:
                away = av.on_leave(practitioner.pk, day)
                reasons.append(
                    f"{person(practitioner)} {'is on leave' if away else 'does not work that day'}"
                )
                continue
            mine = av.busy(av.by_practitioner, practitioner.pk, day)
            for starts in self._starts(day, blocks):
                ends = starts + length
                if not av.is_free(mine, starts, ends) or not av.is_free(patient_busy, starts, ends):
                    continue
                if self._taken_by_series(starts, ends, practitioner_id=practitioner.pk):
                    continue
                for room in self.rooms:
                    if av.is_free(
                        av.busy(av.by_room, room.pk, day), starts, ends
                    ) and not self._taken_by_series(starts, ends, room_id=room.pk):
                        self.placed.append((starts, ends, practitioner.pk, room.pk))
                        return ProposedSession(0, day, starts, ends, practitioner, room), ""
            reasons.append(f"{person(practitioner)} fully booked")
        if not self.candidates:
            reasons.append("no practitioner available")
        if not self.rooms:
            reasons.append("no room available")
        return None, f"{day_label(day)}: {', '.join(reasons)}"


def propose_series(
    *,
    patient,
    plan: SeriesPlan,
    first_date: datetime.date | None = None,
    practitioner=None,
    room=None,
    preferred_time: datetime.time = datetime.time(10, 0),
    minutes: int | None = None,
    now: datetime.datetime | None = None,
) -> Proposal:
    """Propose a slot for every session of `plan`, or say which session cannot be placed and why.

    Respects opening hours, closures, working hours, leave, the active appointments of the
    practitioner, the room and the patient, and the cadence's tolerance (rule `move-within-tolerance`),
    keeping the sessions in order. Twice weekly (rule `twice-weekly-spacing`): two sessions per calendar week
    on the chosen weekdays, 2–5 days apart. Without `first_date` the first session goes to the earliest
    available day. Reads one window of data (a fixed number of queries); everything else is computed in
    Python.
    """
    now = now or timezone.now()
    minutes = minutes or ClinicSettings.load().default_appointment_minutes
    today = now.astimezone(clinic_tz()).date()
    start_day = max(first_date or today, today)
    tolerance = plan.tolerance
    span = plan.count * plan.period_days // plan.sessions_per_period + 2 * tolerance + 7
    first_day = start_day - datetime.timedelta(days=tolerance)
    last_day = start_day + datetime.timedelta(days=(EARLIEST_SEARCH_DAYS if first_date is None else 0) + span)

    staff = [practitioner] if practitioner else list(practitioners())
    rooms = [room] if room else list(active_rooms().filter(for_treatments=True))
    availability = Availability.load(
        first_day,
        last_day,
        practitioner_ids=[p.pk for p in staff],
        room_ids=[r.pk for r in rooms],
        patient_ids=[patient.pk],
        intervals_only=True,  # the placer asks only "is it free?"
    )
    place = {
        "patient": patient,
        "plan": plan,
        "rooms": rooms,
        "minutes": minutes,
        "preferred_time": preferred_time,
        "now": now,
        "first_date": first_date,
        "start_day": start_day,
    }
    if practitioner is not None or len(staff) < 2:
        return _place_series(availability, staff=staff, **place)
    # "Any practitioner": one practitioner for the whole course (rule `one-practitioner-per-course`), in
    # the window already loaded. First the one who would take session 1 (the earliest, nearest the
    # preferred time), alone; then the others in turn, alone, until one can take every session. When
    # nobody can, the one who places the most, saying why. Usually one placement (session 1's
    # practitioner takes them all), never more than one per practitioner plus one.
    spread = _place_series(availability, staff=staff, **place)
    lead = spread.sessions[0].practitioner if spread.sessions else None
    if spread.ok and all(s.practitioner == lead for s in spread.sessions):
        return spread  # the usual case: one placement, as before
    order = sorted(staff, key=lambda p: lead is None or p.pk != lead.pk)
    tried = []
    for candidate in order:
        tried.append((candidate, _place_series(availability, staff=[candidate], **place)))
        if tried[-1][1].ok:
            break
    if tried[-1][1].ok:
        chosen, proposal = tried[-1]
    else:
        chosen, proposal = max(tried, key=lambda item: sum(s.placed for s in item[1].sessions))
    passed = [
        f"{person(p)} cannot take every session (session "
        f"{next(s.number for s in other.sessions if not s.placed)} does not fit)"
        for p, other in tried
        if p is not chosen and not other.ok
    ]
    if not proposal.ok:
        proposal.note = (
            f"No single practitioner can take all {plan.count} sessions: shown is the best with one "
            f"practitioner, {person(chosen)}; move the sessions that could not be placed, or choose the "
            "practitioner and another first date."
        )
    elif passed:
        proposal.note = f"{'; '.join(passed)}: every session is with {person(chosen)}."
    return proposal


def _place_series(
    availability, *, patient, plan, staff, rooms, minutes, preferred_time, now, first_date, start_day
) -> Proposal:
    """Place every session of `plan` with the practitioners in `staff` (one, or any, preferred in order)."""
    today = now.astimezone(clinic_tz()).date()
    tolerance = plan.tolerance
    placer = _Placer(
        availability,
        patient=patient,
        candidates=staff,
        rooms=rooms,
        minutes=minutes,
        preferred_time=preferred_time,
        now=now,
    )
    proposal = Proposal(patient=patient, plan=plan, minutes=minutes)

    # Session 1: the chosen date (moved within the tolerance), or the earliest day that can take it.
    if first_date is None:
        # Earliest available starts tomorrow; a twice-weekly series starts on one of its weekdays.
        first_days = [start_day + datetime.timedelta(days=i) for i in range(1, EARLIEST_SEARCH_DAYS)]
        if plan.is_twice_weekly:
            first_days = [d for d in first_days if d.weekday() in plan.weekdays]
    else:
        first_days = [d for d in _around(first_date, tolerance) if d >= today]
    first, reasons = None, []
    for day in first_days:
        first, reason = placer.try_day(day)
        if first:
            break
        reasons.append(reason)
    if first is None:
        why = (
            "; ".join(reasons[:6]) if first_date else f"no free slot in the next {EARLIEST_SEARCH_DAYS} days"
        )
        proposal.sessions = [ProposedSession(1, first_date, problem=f"could not be placed ({why}).")] + [
            ProposedSession(n, None, problem="waits for session 1.") for n in range(2, plan.count + 1)
        ]
        return proposal
    first.number = 1
    proposal.sessions.append(first)
    # The practitioner who takes session 1 is preferred for the rest (continuity of care).
    placer.candidates.sort(key=lambda p: p.pk != first.practitioner.pk)
    placer.rooms.sort(key=lambda r: r.pk != first.room.pk)  # and, where possible, one room

    previous = first.date
    for number, target in enumerate(_target_dates(plan, first.date)[1:], start=2):
        session, reasons = None, []
        for day in _around(target, tolerance):
            if day <= previous:
                reasons.append(f"{day_label(day)}: would not keep the sessions in order")
                continue
            if plan.is_twice_weekly:
                gap = (day - previous).days
                if day.isocalendar()[:2] != target.isocalendar()[:2]:
                    reasons.append(f"{day_label(day)}: outside the week of the target")
                    continue
                if not 2 <= gap <= 5:
                    reasons.append(f"{day_label(day)}: {gap} days after the previous session (2–5 needed)")
                    continue
            session, reason = placer.try_day(day)
            if session:
                break
            reasons.append(reason)
        if session is None:
            proposal.sessions.append(
                ProposedSession(
                    number,
                    target,
                    problem=(
                        f"could not be placed within ±{tolerance} day{'s' if tolerance > 1 else ''} of "
                        f"{day_label(target)} ({'; '.join(reasons)})."
                    ),
                )
            )
            continue
        session.number = number
        session.target = target
        proposal.sessions.append(session)
        previous = session.date
    return proposal


def plan_and_propose(
    *,
    patient,
    first_date: datetime.date | None,
    count: int | None = None,
    cadence: tuple[int, int] | None = None,
    weekdays: tuple[int, ...] | None = None,
    override_reason: str = "",
    practitioner=None,
    room=None,
    preferred_time: datetime.time = datetime.time(10, 0),
    now: datetime.datetime | None = None,
) -> Proposal:
    """Plan and propose with the age that counts: the one on the first session's date (rule
    `age-on-first-session`).

    With "earliest available" the first date is only known once placed; if the patient's age on that
    date is another band's, the series is planned again from that date.
    """
    now = now or timezone.now()
    # "Earliest available" places session 1 from tomorrow on: that is the first date whose age can count.
    earliest = now.astimezone(clinic_tz()).date() + datetime.timedelta(days=1)
    options = {"count": count, "cadence": cadence, "weekdays": weekdays, "override_reason": override_reason}
    plan = plan_for(age=patient.age_on(first_date or earliest), **options)
    place = {"patient": patient, "practitioner": practitioner, "room": room, "preferred_time": preferred_time}
    proposal = propose_series(plan=plan, first_date=first_date, now=now, **place)
    first = proposal.sessions[0].date if proposal.sessions else None
    if first and patient.age_on(first) != plan.age:
        plan = plan_for(age=patient.age_on(first), **options)
        proposal = propose_series(plan=plan, first_date=first, now=now, **place)
        placed = proposal.sessions[0].date if proposal.sessions else None
        if placed and patient.age_on(placed) != plan.age:
            # Settled on the session actually placed: a first date moved across the birthday again.
            proposal.sessions[0].problem = (
                f"the patient is {patient.age_on(placed)} on {day_label(placed)}, not {plan.age}: "
                "choose the first date."
            )
    return proposal


@dataclass
class CheckedSeries:
    """Sessions placed by hand: the plan they follow and one problem (or "") per session."""

    plan: SeriesPlan
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not any(self.problems)


def check_series(
    *,
    patient,
    slots: list[tuple[datetime.datetime, object, object]],
    minutes: int,
    count: int | None = None,
    cadence: tuple[int, int] | None = None,
    weekdays: tuple[int, ...] | None = None,
    override_reason: str = "",
    proposed_age: int | None = None,
) -> CheckedSeries:
    """Plan a series placed by hand with the age on its first session's date (rule `age-on-first-session`),
    and check each session as booking would (`check_slots`). Refuses an empty series or one whose count the
    plan no longer has (the age band changed with the first date): propose it again.

    `proposed_age`: the age the proposal was planned with. When session 1 was moved to a date where the
    patient is in another band (rule `band-change-needs-a-reason`), session 1 says so until the practitioner's
    reason is given."""
    from .selectors import active_course_overlap

    if not slots:
        raise Refusal("There are no sessions to book: propose the series first.")
    plan = plan_for(
        age=patient.age_on(to_local(slots[0][0]).date()),
        count=count,
        cadence=cadence,
        weekdays=weekdays,
        override_reason=override_reason,
    )
    if len(slots) != plan.count:
        raise Refusal(f"The plan has {plan.count} sessions: propose the series again.")
    problems = check_slots(patient=patient, plan=plan, slots=slots, minutes=minutes)
    changed = band_change(proposed_age, plan.age) if proposed_age is not None else ""
    if changed and not plan.override_reason:
        problems[0] = problems[0] or changed
    overlap, _ = active_course_overlap(patient, slots[0][0])
    if overlap:
        problems[0] = problems[0] or overlap
    return CheckedSeries(plan, problems)


def band_change(old_age: int, new_age: int) -> str:
    """ "" when both ages are in the same band (or both in none), else what changes (rule
    `band-change-needs-a-reason`)."""
    old, new = band_for_age(old_age), band_for_age(new_age)
    if (old and old.pk) == (new and new.pk):
        return ""

    def describe(band):
        return f"{band.label} ({band.cadence_display}, {band.course_display})" if band else "no protocol band"

    return (
        f"the patient is {new_age} on this date, not {old_age} as proposed: the band is {describe(new)}, "
        f"not {describe(old)}: propose the series again from this date, or give the reason for this course"
    )


def check_slots(
    *, patient, plan: SeriesPlan, slots: list[tuple[datetime.datetime, object, object]], minutes: int
) -> list[str]:
    """Re-check sessions moved by hand: one problem (or "") per slot, in session order (rules
    `move-within-tolerance`, `cadence-in-every-booking`, `treatment-rooms-only`).

    The same rules as booking: opening hours, closures, working hours, leave, the appointments of the
    practitioner, the room and the patient, treatment rooms, the order of the sessions and the cadence.
    """
    if not slots:
        return []
    length = datetime.timedelta(minutes=minutes)
    days = [s[0].astimezone(clinic_tz()).date() for s in slots]
    availability = Availability.load(
        min(days),
        max(days),
        practitioner_ids={p.pk for _, p, _ in slots},
        room_ids={r.pk for _, _, r in slots},
        patient_ids=[patient.pk],
    )
    cadence = cadence_problems(plan.sessions_per_period, plan.period_days, list(enumerate(days, start=1)))
    problems, previous = [], None
    for number, (starts_at, practitioner, room) in enumerate(slots, start=1):
        if previous is not None and starts_at <= previous:
            problem = "comes before the previous session"
        elif number in cadence:
            problem = cadence[number]
        elif not room.for_treatments:
            problem = f"{room} is not a treatment room"
        else:
            problem = (
                availability.slot_problem(
                    patient=patient,
                    practitioner=practitioner,
                    room=room,
                    starts_at=starts_at,
                    ends_at=starts_at + length,
                )
                or ""
            )
        if not problem:
            availability.add_slot(starts_at, starts_at + length, practitioner, room, patient)
        problems.append(problem)
        previous = starts_at
    return problems
