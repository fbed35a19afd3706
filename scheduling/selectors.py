"""Reads for the scheduling pages, shaped for the page that uses them (a fixed number of queries)."""

import bisect
import datetime
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db.models import QuerySet
from django.utils import timezone

from clinic.clock import clinic_tz, local_datetime
from clinic.staff import person, person_name
from patients.models import Patient

from .availability import Availability, active_rooms, practitioner_names, practitioners
from .models import ACTIVE_STATES, UPCOMING_STATES, Appointment, Closure, OpeningHours, SessionSeries

SLOT_MINUTES = 30
DAY_VIEW, WEEK_VIEW = "day", "week"
BY_PRACTITIONER, BY_ROOM = "practitioner", "room"


def appointment_for_page(pk: int) -> Appointment:
    return Appointment.objects.select_related(
        "patient", "practitioner", "room", "series", "series__band"
    ).get(pk=pk)


def appointments_on(day: datetime.date, *, room=None, practitioner=None) -> QuerySet[Appointment]:
    """Active appointments of one local day, by time, for the day list."""
    start = local_datetime(day)
    end = local_datetime(day + datetime.timedelta(days=1))
    appointments = Appointment.objects.filter(
        starts_at__gte=start, starts_at__lt=end, state__in=ACTIVE_STATES
    )
    if room is not None:
        appointments = appointments.filter(room=room)
    if practitioner is not None:
        appointments = appointments.filter(practitioner=practitioner)
    return appointments.select_related("patient", "practitioner", "room", "series").order_by(
        "starts_at", "room__name"
    )


def upcoming_for_patient(patient: Patient, *, limit: int = 20) -> QuerySet[Appointment]:
    return (
        Appointment.objects.filter(patient=patient, state__in=UPCOMING_STATES, ends_at__gte=timezone.now())
        .select_related("practitioner", "room")
        # Only what the patient page's rows show (figure 2): not the users' passwords and flags.
        .only(
            "kind",
            "starts_at",
            "ends_at",
            "sequence",
            "series_id",
            "state",
            "practitioner__first_name",
            "practitioner__last_name",
            "practitioner__username",
            "room__name",
        )
        .order_by("starts_at")[:limit]
    )


def series_for_patient(patient: Patient) -> QuerySet[SessionSeries]:
    return (
        SessionSeries.objects.filter(patient=patient).select_related("band").prefetch_related("appointments")
    )


def series_for_page(pk: int) -> SessionSeries:
    return (
        SessionSeries.objects.select_related("patient", "band", "created_by")
        .prefetch_related("appointments__practitioner", "appointments__room")
        .get(pk=pk)
    )


# --- the calendar ------------------------------------------------------------------------------


@dataclass
class Cell:
    starts_at: datetime.datetime
    appointments: list = field(default_factory=list)  # those starting in this slot (availability.Shown)
    busy: bool = False  # covered by an appointment that started earlier
    free: bool = False  # bookable: open, working, nobody booked
    closed: bool = False


@dataclass
class Column:
    day: datetime.date
    title: str
    subtitle: str = ""
    practitioner: object = None
    room: object = None
    note: str = ""  # closure, leave
    link: str = ""  # the day view of this column's day (week view)
    is_today: bool = False
    cells: list[Cell] = field(default_factory=list)


@dataclass
class Calendar:
    view: str
    by: str
    day: datetime.date
    first_day: datetime.date
    last_day: datetime.date
    who: object
    choices: list
    columns: list[Column]
    times: list[datetime.time]
    previous: datetime.date
    next: datetime.date
    # Ids of the shown appointments the hours no longer hold (rule `stranded-appointments`).
    stranded: set = field(default_factory=set)

    @property
    def title(self) -> str:
        if self.view == DAY_VIEW:
            return f"{self.day:%A} {self.day.day} {self.day:%B %Y}"
        return f"Week of {self.first_day.day} {self.first_day:%B %Y}"


def _times(availability: Availability) -> list[datetime.time]:
    """Slot start times from the earliest opening to the latest closing of the week."""
    if not availability.opening:
        return []
    opens = min(o for o, _ in availability.opening.values())
    closes = max(c for _, c in availability.opening.values())
    times, moment = [], datetime.datetime.combine(datetime.date.min, opens)
    end = datetime.datetime.combine(datetime.date.min, closes)
    while moment < end:
        times.append(moment.time())
        moment += datetime.timedelta(minutes=SLOT_MINUTES)
    return times


def build_calendar(*, view: str, by: str, day: datetime.date, who_id: int | None, user=None) -> Calendar:
    """Day (every practitioner or every room as a column) or week (one practitioner or room, a
    column per day) in the clinic's zone, with free slots marked. Six queries, however many
    appointments there are: the practitioners (as `Named` values) or the rooms, then the five of
    Availability.load."""
    # Only the list the page shows: by practitioner the rooms' names come with the appointments.
    choices = practitioner_names() if by == BY_PRACTITIONER else list(active_rooms())
    if view == WEEK_VIEW:
        first_day = day - datetime.timedelta(days=day.weekday())
        last_day = first_day + datetime.timedelta(days=6)
        step = datetime.timedelta(days=7)
    else:
        first_day = last_day = day
        step = datetime.timedelta(days=1)
    who = next((c for c in choices if c.pk == who_id), None)
    if who is None and view == WEEK_VIEW:
        # A practitioner's own week first (by practitioner only: their id is not a room's).
        own = None
        if by == BY_PRACTITIONER and user is not None:
            own = next((p for p in choices if p.pk == user.pk), None)
        who = own or (choices[0] if choices else None)
    # Only the appointments the columns show: one practitioner's or one room's week, or one day of
    # every practitioner or room. Loading the whole clinic's week cost ~0.5 s at clinic-group scale.
    one_column_each_day = view == WEEK_VIEW
    shown_ids = ([who.pk] if who is not None else []) if one_column_each_day else [c.pk for c in choices]
    if by == BY_PRACTITIONER:
        names = {named.pk: named.name for named in choices}  # every column's practitioner is one of them
        availability = Availability.load(
            first_day, last_day, practitioner_ids=shown_ids, shown=True, practitioner_names=names
        )
    else:
        availability = Availability.load(first_day, last_day, room_ids=shown_ids, shown=True)
    times = _times(availability)

    columns = []
    if view == WEEK_VIEW:
        for offset in range(7):
            column_day = first_day + datetime.timedelta(days=offset)
            if column_day.weekday() not in availability.opening and column_day.weekday() >= 5:
                continue  # a weekend day the clinic never opens
            columns.append(
                Column(
                    day=column_day,
                    title=f"{column_day:%a} {column_day.day}",
                    subtitle=f"{column_day:%b}",
                    practitioner=who if by == BY_PRACTITIONER else None,
                    room=who if by == BY_ROOM else None,
                )
            )
    else:
        for item in choices:
            columns.append(
                Column(
                    day=day,
                    title=str(item) if by == BY_ROOM else item.name,
                    practitioner=item if by == BY_PRACTITIONER else None,
                    room=item if by == BY_ROOM else None,
                )
            )

    now = timezone.now()
    slot = datetime.timedelta(minutes=SLOT_MINUTES)
    today = local_today()
    zone = clinic_tz()  # each slot starts at local_datetime(day, time), the zone looked up once
    # Each slot's end on the wall clock, the same every day.
    ends = [(datetime.datetime.combine(datetime.date.min, time) + slot).time() for time in times]
    for column in columns:
        column.is_today = column.day == today
        closed = availability.clinic_closed(column.day)
        if column.practitioner is not None:
            key, index = column.practitioner.pk, availability.by_practitioner
            blocks = availability.working_blocks(column.practitioner.pk, column.day)
            away = availability.on_leave(column.practitioner.pk, column.day)
            column.note = closed or ("On leave" if away else ("" if blocks else "Not working"))
        elif column.room is not None:
            key, index = column.room.pk, availability.by_room
            window = availability.opening_window(column.day)
            blocks = [window] if window else []
            column.note = closed or ""
        else:
            key, index, blocks = None, {}, []
        busy_list = availability.busy(index, key, column.day) if key is not None else []
        starts = [datetime.datetime.combine(column.day, time, tzinfo=zone) for time in times]
        cells = [Cell(starts_at=starts_at, closed=bool(closed)) for starts_at in starts]
        # The slots' starts compared in UTC, as the appointments' times and `now` come: two
        # datetimes of one zone compare without looking up either's offset (~1,200 comparisons a
        # busy week, each twice the lookup across zones).
        instants = [starts_at.astimezone(datetime.UTC) for starts_at in starts]
        # Each busy time marks only the slots it overlaps (found by bisection), not every slot
        # checking every busy time: a full week is ~150 slots and ~200 busy times.
        for busy in busy_list:
            first = bisect.bisect_right(instants, busy.starts_at - slot)
            for i in range(first, bisect.bisect_left(instants, busy.ends_at)):
                if instants[i] <= busy.starts_at:  # starts in this slot (overlap: before its end)
                    cells[i].appointments.append(busy.appointment)
                else:
                    cells[i].busy = True
        for time, slot_end, instant, cell in zip(times, ends, instants, cells, strict=True):
            if cell.appointments or cell.busy or instant <= now:
                continue
            cell.free = any(b_start <= time and slot_end <= b_end for b_start, b_end in blocks)
        column.cells = cells

    shown = [a for column in columns for cell in column.cells for a in cell.appointments]
    return Calendar(
        # The window loaded above holds the hours and leave of every practitioner shown (by room: of all).
        stranded=stranded_appointment_ids(shown, hours=availability),
        view=view,
        by=by,
        day=day,
        first_day=first_day,
        last_day=last_day,
        who=who,
        choices=choices,
        columns=columns,
        times=times,
        previous=day - step,
        next=day + step,
    )


# How far ahead the dashboard looks for the next open day (a long closure: a month's holiday and more).
NEXT_OPEN_HORIZON_DAYS = 62


class ClinicDay(NamedTuple):
    why_closed: str | None  # e.g. "clinic closed on Sundays", "clinic closed (Christmas Day)"; None: open
    next_open: datetime.date | None  # when closed: the next day it opens (None: none within the horizon)


def clinic_day(day: datetime.date) -> ClinicDay:
    """Whether the clinic opens on `day` (opening hours and closures) and, if not, why and the next day
    it does. Two queries, whatever the length of the closure."""
    last = day + datetime.timedelta(days=NEXT_OPEN_HORIZON_DAYS)
    calendar = Availability(
        day,
        last,
        opening={row.weekday: (row.opens, row.closes) for row in OpeningHours.objects.all()},
        closures={c.date: c for c in Closure.objects.filter(date__range=(day, last))},
    )
    why = calendar.clinic_closed(day)
    if why is None:
        return ClinicDay(None, None)
    ahead = (day + datetime.timedelta(days=n) for n in range(1, NEXT_OPEN_HORIZON_DAYS + 1))
    return ClinicDay(why, next((d for d in ahead if calendar.clinic_closed(d) is None), None))


def local_today() -> datetime.date:
    return timezone.now().astimezone(clinic_tz()).date()


# --- One course at a time (rule `one-course-at-a-time`, docs/clinical-rules.md) --------------------


def _day(moment: datetime.datetime) -> str:
    local = moment.astimezone(clinic_tz())
    return f"{local:%a} {local.day} {local:%b %Y}"


def active_course_overlap(patient: Patient, first_start: datetime.datetime) -> tuple[str, str]:
    """Whether a new course starting at `first_start` would overlap the patient's active course: a series
    with an upcoming session whose last active session is not before `first_start`.

    Returns (refusal, reason): ("", "") when it does not overlap; ("", reason) when the practitioner's
    latest signed plan, signed after the active course was booked, gives the reason for a second course
    at the same time (e.g. another area); (refusal, "") otherwise. Three queries at most."""
    from django.db.models import Max, Min

    active_ids = (
        Appointment.objects.filter(patient=patient, series__isnull=False, state__in=UPCOMING_STATES)
        .values_list("series_id", flat=True)
        .distinct()
    )
    spans = (
        Appointment.objects.filter(series_id__in=active_ids, state__in=ACTIVE_STATES)
        .values("series_id")
        .annotate(first=Min("starts_at"), last=Max("starts_at"))
        .filter(last__gte=first_start)
        .order_by("first")
    )
    span = next(iter(spans), None)
    if span is None:
        return "", ""
    course = SessionSeries.objects.get(pk=span["series_id"])
    from treatments.selectors import latest_signed_consultation

    plan = latest_signed_consultation(
        patient, only=("date", "signed_at", "decision", "plan_concurrent_reason", "practitioner__username")
    )
    if plan is not None and plan.is_eligible and plan.signed_at > course.created_at:
        reason = plan.plan_concurrent_reason.strip()
        if reason:
            return "", reason
    what = f"{course.count} sessions, {course.cadence_display}, {_day(span['first'])} to {_day(span['last'])}"
    refusal = " ".join(
        [
            f"{patient.full_name} already has an active course: {what}.",
            "A patient has one course at a time: book the new course after its last session,",
            "or cancel the rest of that course first.",
            "A second course at the same time (e.g. another area) needs the practitioner's reason",
            "in the signed consultation plan.",
        ]
    )
    return refusal, ""


# --- Appointments stranded by a change of hours (rule `stranded-appointments`) --------------------


def stranded_appointment_ids(appointments, *, hours: Availability | None = None) -> set[int]:
    """The ids of the upcoming (booked or confirmed, not yet ended) appointments among `appointments` that
    the clinic's hours no longer hold: a closed day or closure, outside the opening hours, the
    practitioner on leave or not working then.

    `appointments`: any iterable of objects with `pk`, `starts_at`, `ends_at`, `state` and
    `practitioner_id` (Appointment instances, or the calendar's `Shown` values). Four queries for the
    whole set (one Availability window over their days), none when nothing is upcoming, or when `hours`
    (an Availability already loaded over their days with their practitioners' hours and leave, as the
    calendar has) is given."""
    now = timezone.now()
    items = [a for a in appointments if a.state in UPCOMING_STATES and a.ends_at > now]
    if not items:
        return set()
    if hours is None:
        days = [a.starts_at.astimezone(clinic_tz()).date() for a in items]
        hours = Availability.load(
            min(days),
            max(days),
            practitioner_ids={a.practitioner_id for a in items},
            appointments=[],  # only the hours, leave and closures
        )
    return {a.pk for a in items if hours.outside_hours(a.practitioner_id, a.starts_at, a.ends_at)}


def stranded_upcoming(*, days: int = 90, practitioner=None) -> list[Appointment]:
    """The upcoming appointments of the next `days` days the hours no longer hold, soonest first (the
    dashboard's warning). A bounded number of queries: the window, then `stranded_appointment_ids`."""
    now = timezone.now()
    upcoming = Appointment.objects.filter(
        state__in=UPCOMING_STATES, ends_at__gt=now, starts_at__lt=now + datetime.timedelta(days=days)
    ).select_related("patient", "practitioner", "room")
    if practitioner is not None:
        upcoming = upcoming.filter(practitioner=practitioner)
    upcoming = list(upcoming.order_by("starts_at"))
    stranded = stranded_appointment_ids(upcoming)
    return [a for a in upcoming if a.pk in stranded]


# --- Moves in an appointment's history (rule `shift-rest-of-series`) ------------------------------


class Move(NamedTuple):
    at: datetime.datetime
    by: object
    from_start: datetime.datetime
    to_start: datetime.datetime
    from_practitioner_id: int
    to_practitioner_id: int
    from_room_id: int
    to_room_id: int


def moves_of(appointment: Appointment) -> list[Move]:
    """Every move of the appointment (time, practitioner or room): who, when, from and to, oldest first,
    read from its history (each service that moves it records the user). One query."""
    records = list(appointment.history.select_related("history_user").order_by("history_date", "history_id"))
    moves = []
    for before, after in zip(records, records[1:], strict=False):
        if (before.starts_at, before.practitioner_id, before.room_id) != (
            after.starts_at,
            after.practitioner_id,
            after.room_id,
        ):
            moves.append(
                Move(
                    after.history_date,
                    after.history_user,
                    before.starts_at,
                    after.starts_at,
                    before.practitioner_id,
                    after.practitioner_id,
                    before.room_id,
                    after.room_id,
                )
            )
    return moves


# --- the interactive calendar's feed (static/js/calendar-board.js) --------------------------------

# The longest window the feed answers for: the board shows a day or a week (list or grid).
FEED_MAX_DAYS = 31


@dataclass
class BoardFilters:
    """What the board shows: columns by practitioner or by room, narrowed to one of each and a kind."""

    by: str = BY_PRACTITIONER
    practitioner_id: int | None = None
    room_id: int | None = None
    kind: str = ""


def board_columns(filters: BoardFilters) -> list:
    """The board's columns (EventCalendar's resources): every practitioner or every active room, or the
    one the filter names."""
    if filters.by == BY_ROOM:
        columns = list(active_rooms())
        chosen = filters.room_id
    else:
        columns = list(practitioners())
        chosen = filters.practitioner_id
    if chosen is not None:
        columns = [c for c in columns if c.pk == chosen] or columns
    return columns


def board_resources(columns, by: str) -> list[dict]:
    return [{"id": c.pk, "title": str(c) if by == BY_ROOM else person(c)} for c in columns]


def opening_span() -> tuple[datetime.time, datetime.time, list[int]] | None:
    """The earliest opening and latest closing of the week, and the weekdays (Monday 0) it never opens."""
    opening = {row.weekday: (row.opens, row.closes) for row in OpeningHours.objects.all()}
    if not opening:
        return None
    return (
        min(o for o, _ in opening.values()),
        max(c for _, c in opening.values()),
        [d for d in range(7) if d not in opening],
    )


# Each appointment of the feed as plain values, its times already as the clinic's wall clock
# ("2026-12-07T10:00"): the board shows the clinic's hours whatever the zone of the browser.
FEED_VALUES = (
    "pk",
    "local_start",
    "local_end",
    "kind",
    "sequence",
    "state",
    "practitioner_id",
    "room_id",
    "patient__given_name",
    "patient__family_name",
    "practitioner__first_name",
    "practitioner__last_name",
    "practitioner__username",
    "room__name",
)


def _wall_clock(field_name: str):
    """PostgreSQL writes the local time as text itself: parsing ~2,400 timestamps into aware datetimes
    and back into the clinic's zone cost more than the whole query for a busy week (figure 7)."""
    from django.db.models import CharField, F, Func, Value

    return Func(
        Value(clinic_tz().key),
        F(field_name),
        template="to_char(timezone(%(expressions)s), 'YYYY-MM-DD\"T\"HH24:MI')",
        output_field=CharField(),
    )


def _feed_rows(first_day, last_day, filters: BoardFilters, ids: list[int]):
    """(pk, local start, local end, kind, sequence, state, practitioner id, room id, patient's given and
    family name, practitioner's first name, last name and username, room name) of the active
    appointments in the columns `ids` that touch [first_day, last_day], in one query."""
    from django.db import connection

    from .availability import LONGEST_APPOINTMENT

    window_start = local_datetime(first_day)
    window_end = local_datetime(last_day + datetime.timedelta(days=1))
    rows = Appointment.objects.filter(
        state__in=ACTIVE_STATES,
        starts_at__lt=window_end,
        ends_at__gt=window_start,
        starts_at__gt=window_start - LONGEST_APPOINTMENT,
    ).order_by()
    if filters.by == BY_ROOM:
        rows = rows.filter(room_id__in=ids)
        if filters.practitioner_id is not None:
            rows = rows.filter(practitioner_id=filters.practitioner_id)
    else:
        rows = rows.filter(practitioner_id__in=ids)
        if filters.room_id is not None:
            rows = rows.filter(room_id=filters.room_id)
    if filters.kind:
        rows = rows.filter(kind=filters.kind)
    if connection.vendor == "postgresql":
        return rows.annotate(
            local_start=_wall_clock("starts_at"), local_end=_wall_clock("ends_at")
        ).values_list(*FEED_VALUES)
    tz = clinic_tz()
    return [
        (pk, starts.astimezone(tz).isoformat()[:16], ends.astimezone(tz).isoformat()[:16], *rest)
        for pk, starts, ends, *rest in rows.values_list("pk", "starts_at", "ends_at", *FEED_VALUES[3:])
    ]


def board_event(row, *, by: str, stranded: bool, now: str) -> dict:
    """One appointment as the board shows it: what front desk sees (no clinical content, no notes).
    Kept small: ~1,200 of them for a busy week of 30 practitioners (figure 7); the board builds the
    CSS classes, the labels and the link from `kind`, `state` and the id (static/js/calendar-board.js).
    `now` is the clinic's wall clock in the same form as the times."""
    (
        pk,
        start,
        end,
        kind,
        sequence,
        state,
        practitioner_id,
        room_id,
        given,
        family,
        first,
        last,
        user,
        room,
    ) = row
    return {
        "id": pk,
        "resourceId": room_id if by == BY_ROOM else practitioner_id,
        "start": start,
        "end": end,
        "title": f"{given} {family}".strip(),
        "editable": state in UPCOMING_STATES and start > now,
        "extendedProps": {
            "kind": kind,
            "sequence": sequence,
            "state": state,
            "practitioner": person_name(first, last, user),
            "room": room,
            "stranded": stranded,
        },
    }


def _unavailable(blocks, opens, closes) -> list[tuple[datetime.time, datetime.time]]:
    """The parts of [opens, closes) outside `blocks` (sorted, inside the day)."""
    gaps, moment = [], opens
    for begins, ends in blocks:
        if begins > moment:
            gaps.append((moment, begins))
        moment = max(moment, ends)
    if moment < closes:
        gaps.append((moment, closes))
    return gaps


def board_feed(first_day: datetime.date, last_day: datetime.date, filters: BoardFilters) -> list[dict]:
    """The appointments of [first_day, last_day] for the board's columns, each flagged when stranded,
    and the closed and not-working hours as background. Seven queries, however many appointments:
    the columns, the opening hours, closures, working hours and leave, and the appointments."""
    columns = board_columns(filters)
    ids = [c.pk for c in columns]
    # Hours and leave of every practitioner in room columns (a few rows each): a stranded booking is
    # the practitioner's.
    availability = Availability.load(
        first_day,
        last_day,
        practitioner_ids=None if filters.by == BY_ROOM else ids,
        appointments=[],
    )
    span = _times(availability)
    opens = span[0] if span else datetime.time(8)
    closes = max(c for _, c in availability.opening.values()) if availability.opening else datetime.time(20)
    now = timezone.now().astimezone(clinic_tz()).isoformat()[:16]
    blocks_of = {}  # (practitioner id, "YYYY-MM-DD") -> working blocks as "HH:MM" pairs

    def stranded(state: str, practitioner_id: int, start: str, end: str) -> bool:
        """stranded_appointment_ids' rule on the wall-clock texts (an upcoming booking, not yet ended,
        outside the hours), each practitioner's day worked out once."""
        if state not in UPCOMING_STATES or end <= now:
            return False
        key = (practitioner_id, start[:10])
        if key not in blocks_of:
            blocks = availability.working_blocks(practitioner_id, datetime.date.fromisoformat(key[1]))
            blocks_of[key] = [(f"{b:%H:%M}", f"{e:%H:%M}") for b, e in blocks]
        begins_at, ends_at = start[11:], end[11:]
        return end[:10] != key[1] or not any(b <= begins_at and ends_at <= e for b, e in blocks_of[key])

    events = [
        board_event(row, by=filters.by, stranded=stranded(row[5], row[6], row[1], row[2]), now=now)
        for row in _feed_rows(first_day, last_day, filters, ids)
    ]
    day = first_day
    while day <= last_day:
        for column in columns:
            closed = availability.clinic_closed(day)
            if filters.by == BY_ROOM:
                window = availability.opening_window(day)
                blocks = [window] if window else []
                why = closed or "Clinic closed"
            else:
                blocks = availability.working_blocks(column.pk, day)
                away = availability.on_leave(column.pk, day)
                why = closed or ("On leave" if away else "Not working")
            for begins, ends in _unavailable(blocks, opens, closes):
                events.append(
                    {
                        "resourceId": column.pk,
                        "start": f"{day.isoformat()}T{begins:%H:%M}",
                        "end": f"{day.isoformat()}T{ends:%H:%M}",
                        "display": "background",
                        "title": why[:1].upper() + why[1:],
                        "classNames": ["board-closed"],
                    }
                )
        day += datetime.timedelta(days=1)
    return events
