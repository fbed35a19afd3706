"""Reads for the scheduling pages, shaped for the page that uses them (a fixed number of queries)."""

import bisect
import datetime
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db.models import QuerySet
from django.utils import timezone

from clinic.staff import person
from patients.models import Patient

from .availability import Availability, active_rooms, clinic_tz, local_datetime, practitioners
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
    start = local_datetime(day, datetime.time.min)
    end = local_datetime(day + datetime.timedelta(days=1), datetime.time.min)
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
    column per day) in the clinic's zone, with free slots marked. Seven queries, however many
    appointments there are: practitioners, rooms, then the five of Availability.load."""
    staff = list(practitioners())
    rooms = list(active_rooms())
    if view == WEEK_VIEW:
        first_day = day - datetime.timedelta(days=day.weekday())
        last_day = first_day + datetime.timedelta(days=6)
        step = datetime.timedelta(days=7)
    else:
        first_day = last_day = day
        step = datetime.timedelta(days=1)
    choices = staff if by == BY_PRACTITIONER else rooms
    who = next((c for c in choices if c.pk == who_id), None)
    if who is None and view == WEEK_VIEW:
        own = next((p for p in staff if user is not None and p.pk == user.pk), None)
        who = own or (choices[0] if choices else None)
    # Only the appointments the columns show: one practitioner's or one room's week, or one day of
    # every practitioner or room. Loading the whole clinic's week cost ~0.5 s at clinic-group scale.
    one_column_each_day = view == WEEK_VIEW
    shown_ids = ([who.pk] if who is not None else []) if one_column_each_day else [c.pk for c in choices]
    if by == BY_PRACTITIONER:
        availability = Availability.load(first_day, last_day, practitioner_ids=shown_ids, shown=True)
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
                    title=str(item) if by == BY_ROOM else person(item),
                    practitioner=item if by == BY_PRACTITIONER else None,
                    room=item if by == BY_ROOM else None,
                )
            )

    now = timezone.now()
    slot = datetime.timedelta(minutes=SLOT_MINUTES)
    today = local_today()
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
        starts = [local_datetime(column.day, time) for time in times]
        cells = [Cell(starts_at=starts_at, closed=bool(closed)) for starts_at in starts]
        # Each busy time marks only the slots it overlaps (found by bisection), not every slot
        # checking every busy time: a full week is ~150 slots and ~200 busy times.
        for busy in busy_list:
            first = bisect.bisect_right(starts, busy.starts_at - slot)
            for cell in cells[first : bisect.bisect_left(starts, busy.ends_at)]:
                if cell.starts_at <= busy.starts_at:  # starts in this slot (overlap: before its end)
                    cell.appointments.append(busy.appointment)
                else:
                    cell.busy = True
        for time, cell in zip(times, cells, strict=True):
            if cell.appointments or cell.busy or cell.starts_at <= now:
                continue
            slot_end = (cell.starts_at + slot).time()
            cell.free = any(b_start <= time and slot_end <= b_end for b_start, b_end in blocks)
        column.cells = cells

    return Calendar(
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
