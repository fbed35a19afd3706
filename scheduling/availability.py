"""Who and what is free when: opening hours, closures, working hours, leave and active appointments.

`Availability.load()` reads a window of days in a fixed number of queries; every question after that
is answered in Python. The planner, the booking services and the calendar share it, so they agree on
what "free" means. Everything here works in the clinic's local time (settings.TIME_ZONE): a slot at
10:00 is 10:00 on the wall clock whatever the UTC offset that day (summer time).
"""

import bisect
import datetime
import operator
from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import BigIntegerField, Func, Q

from clinic.clock import clinic_tz, local_datetime, to_local
from clinic.roles import PRACTITIONER
from clinic.staff import person, person_name

from .models import ACTIVE_STATES, Appointment, Closure, Leave, OpeningHours, Room, WorkingHours

User = get_user_model()

# No appointment lasts longer than this: bookings are at most 240 minutes and inside one day's
# opening hours (the services check both). The window queries use it as a lower bound on starts_at,
# so PostgreSQL reads one index range instead of every appointment that started before the window
# (a sequential scan of the whole table at clinic-group scale).
LONGEST_APPOINTMENT = datetime.timedelta(days=1)


def _epoch(field_name: str) -> Func:
    """PostgreSQL: the timestamp as whole microseconds since the epoch (exact)."""
    return Func(
        field_name,
        template="(EXTRACT(EPOCH FROM %(expressions)s) * 1000000)::bigint",
        output_field=BigIntegerField(),
    )


EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
MICROSECOND = datetime.timedelta(microseconds=1)


def _fetch_values(rows) -> list[tuple]:
    """A `values_list()` query's rows as plain tuples straight from the cursor, in the order the
    query names its fields: the ORM's row iterator (a converter call per epoch value, a tuple
    rebuilt per row) cost more than the query itself for a busy week or month (figures 3 and 4).
    The compiled SELECT lists the columns as `query.selected` says (Django 5.2; older versions put
    model columns before annotations). A query that can match nothing (`pk__in=[]`: a calendar with
    no practitioner yet) compiles to no SQL at all; the ORM's iterator answers it with no rows, and
    so does this."""
    query = rows.query
    columns = list(query.selected)
    in_order = operator.itemgetter(*(columns.index(name) for name in rows._fields))
    try:
        sql, params = query.sql_with_params()
    except EmptyResultSet:
        return []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(map(in_order, cursor.fetchall()))


def when(moment: datetime.datetime) -> str:
    """ "Tue 14 Apr 2026 at 10:00" in the clinic's zone."""
    local = to_local(moment)
    return f"{local:%a} {local.day} {local:%b %Y} at {local:%H:%M}"


def day_label(day: datetime.date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def practitioners():
    """Active users in the practitioner group, by name. One filter on the group's unique name joins
    each user's one membership of it (a user is in a group once), so no DISTINCT is needed."""
    return User.objects.filter(groups__name=PRACTITIONER, is_active=True).order_by(
        "first_name", "last_name", "username"
    )


class Named(NamedTuple):
    """A practitioner as a list of names shows them: the id and `person()`'s name, read as values
    (the calendar's ~30 practitioners as User instances, each parsing two timestamps, cost ~0.35 ms
    of its week view)."""

    pk: int
    name: str


def practitioner_names() -> list[Named]:
    """`practitioners()`, as (id, name) values in the same order."""
    rows = practitioners().values_list("pk", "first_name", "last_name", "username")
    return [Named(pk, person_name(first, last, username)) for pk, first, last, username in rows]


class Busy(NamedTuple):
    """A busy time, and the appointment behind it (None when only the times are loaded). A tuple,
    not a dataclass: the planner holds ~5,000 for a month of a full clinic (figure 4), and a tuple
    of datetimes is one object the garbage collector stops tracking, not two it must scan."""

    starts_at: datetime.datetime
    ends_at: datetime.datetime
    appointment: Appointment | None = None

    def overlaps(self, starts_at: datetime.datetime, ends_at: datetime.datetime) -> bool:
        return self.starts_at < ends_at and starts_at < self.ends_at


class Shown(NamedTuple):
    """An active appointment as the calendar shows it: its times, what it is, and three names, read
    as plain values (figure 3: a week's ~100 appointments as model instances, each with its patient,
    practitioner and room, cost more than the rest of the page's Python)."""

    pk: int
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    kind: str
    sequence: int | None
    state: str
    practitioner_id: int
    room_id: int
    patient_id: int
    patient_name: str  # Patient.full_name
    practitioner_name: str  # person(practitioner)
    room_name: str  # str(room)


SHOWN_VALUES = (
    "pk",
    "starts_at",
    "ends_at",
    "kind",
    "sequence",
    "state",
    "practitioner_id",
    "room_id",
    "patient_id",
    "patient__given_name",
    "patient__family_name",
    "room__name",
)
PRACTITIONER_NAME_VALUES = ("practitioner__first_name", "practitioner__last_name", "practitioner__username")
PRACTITIONER_ID = SHOWN_VALUES.index("practitioner_id")  # its place in a shown row


def _shown_rows(appointments, *, with_practitioner_names: bool):
    """SHOWN_VALUES of the appointments (and PRACTITIONER_NAME_VALUES if asked). On PostgreSQL the
    two times are read as microseconds since the epoch (as `Availability.load(intervals_only=True)`
    reads them) and made into the same aware datetimes here: Django's time-zone-aware timestamp
    loader parses each in Python, about a millisecond for a busy week's ~90 appointments, a tenth of
    the calendar's CPU (issue 19)."""
    names = PRACTITIONER_NAME_VALUES if with_practitioner_names else ()
    if connection.vendor != "postgresql":
        return appointments.values_list(*SHOWN_VALUES, *names)
    rows = appointments.annotate(starts_epoch=_epoch("starts_at"), ends_epoch=_epoch("ends_at")).values_list(
        "pk", "starts_epoch", "ends_epoch", *SHOWN_VALUES[3:], *names
    )
    return [
        (pk, EPOCH + starts * MICROSECOND, EPOCH + ends * MICROSECOND, *rest)
        for pk, starts, ends, *rest in _fetch_values(rows)
    ]


def _shown(row, practitioner_names: dict[int, str] | None) -> Shown:
    if practitioner_names is None:
        *row, first, last, username = row
        practitioner_name = person_name(first, last, username)
    else:
        practitioner_name = practitioner_names[row[PRACTITIONER_ID]]
    *values, given, family, room = row
    return Shown(*values, f"{given} {family}".strip(), practitioner_name, room)


APPOINTMENT_FIELDS = [f.name for f in Appointment._meta.concrete_fields]
SHOWN_WITH_AN_APPOINTMENT = (
    "patient__chart_number",
    "patient__given_name",
    "patient__family_name",
    "patient__preferred_name",
    "practitioner__username",
    "practitioner__first_name",
    "practitioner__last_name",
    "room__name",
)


@dataclass
class Availability:
    first_day: datetime.date
    last_day: datetime.date
    opening: dict = field(default_factory=dict)  # weekday -> (opens, closes)
    closures: dict = field(default_factory=dict)  # date -> Closure
    hours: dict = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )  # user -> wd -> blocks
    leave: dict = field(default_factory=lambda: defaultdict(list))  # user id -> [Leave]
    # (practitioner, room or patient id, local day) -> [Busy]
    by_practitioner: dict = field(default_factory=lambda: defaultdict(list))
    by_room: dict = field(default_factory=lambda: defaultdict(list))
    by_patient: dict = field(default_factory=lambda: defaultdict(list))
    # (practitioner id, day) -> working_blocks(), worked out once: the calendar asks for each of a
    # busy week's ~90 appointments (stranded ones). The hours, leave, closures and opening above are
    # set once, as they are loaded, and never changed after.
    _blocks: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def load(
        cls,
        first_day: datetime.date,
        last_day: datetime.date,
        *,
        practitioner_ids=None,
        room_ids=None,
        patient_ids=None,
        exclude_ids=(),
        appointments=None,
        intervals_only: bool = False,
        shown: bool = False,
        practitioner_names: dict[int, str] | None = None,
    ) -> "Availability":
        """Read everything about [first_day, last_day] in five queries (four with `appointments`).

        `intervals_only`: hold only the times (no Appointment objects, so no patient, practitioner
        or room for messages): what the planner needs, and ~10× cheaper for a month of a full clinic.
        `shown`: hold each appointment as a `Shown` (values and names, no model instances): what the
        calendar displays; not for `clash()`, whose messages need the Appointment. With
        `practitioner_names` (id -> name, for every practitioner in `practitioner_ids`: what the
        calendar by practitioner has already read for its columns), their names come from there and
        the query does not join the users.
        """
        self = cls(first_day, last_day)
        # No ORDER BY: the rows go into dicts by a unique key, or are sorted where read (working
        # blocks) or here (leave, appointments, as their models order them). Django spends about as
        # long compiling an ordering as a filter, on every page; Python sorts a week's rows in
        # microseconds.
        opening = OpeningHours.objects.order_by().values_list("weekday", "opens", "closes")
        self.opening = {weekday: (opens, closes) for weekday, opens, closes in opening}
        closures = Closure.objects.filter(date__range=(first_day, last_day)).order_by()
        self.closures = {c.date: c for c in closures}
        hours = WorkingHours.objects.order_by()
        leave = Leave.objects.filter(first_day__lte=last_day, last_day__gte=first_day).order_by()
        if practitioner_ids is not None:
            hours = hours.filter(practitioner_id__in=practitioner_ids)
            leave = leave.filter(practitioner_id__in=practitioner_ids)
        for practitioner_id, weekday, starts, ends in hours.values_list(
            "practitioner_id", "weekday", "starts", "ends"
        ):
            self.hours[practitioner_id][weekday].append((starts, ends))
        for away in sorted(leave, key=operator.attrgetter("first_day")):  # Leave.Meta.ordering
            self.leave[away.practitioner_id].append(away)
        if appointments is None:
            window_start = local_datetime(first_day)
            window_end = local_datetime(last_day + datetime.timedelta(days=1))
            who = Q()
            if practitioner_ids is not None:
                who |= Q(practitioner_id__in=practitioner_ids)
            if room_ids is not None:
                who |= Q(room_id__in=room_ids)
            if patient_ids is not None:
                who |= Q(patient_id__in=patient_ids)
            appointments = Appointment.objects.filter(
                who,
                state__in=ACTIVE_STATES,
                starts_at__lt=window_end,
                ends_at__gt=window_start,
                starts_at__gt=window_start - LONGEST_APPOINTMENT,
            )
            if exclude_ids:  # (an empty exclusion is the same query, compiled for nothing)
                appointments = appointments.exclude(pk__in=exclude_ids)
            if intervals_only:
                if connection.vendor == "postgresql":
                    # Microseconds since the epoch, not timestamps: Django's time-zone-aware timestamp
                    # loader parses text in Python, which cost more than the query for a month of
                    # a full clinic (figure 4); EPOCH + timedelta gives the same aware datetimes.
                    # The rows come straight from the cursor, without the ORM's per-value
                    # converters (a seventh of the planner's time).
                    rows = (
                        appointments.order_by()  # any order: an index-only scan, no sort
                        .annotate(starts_epoch=_epoch("starts_at"), ends_epoch=_epoch("ends_at"))
                        .values_list("starts_epoch", "ends_epoch", "practitioner_id", "room_id", "patient_id")
                    )
                    fetched = _fetch_values(rows)
                else:
                    fetched = (
                        ((starts_at - EPOCH) // MICROSECOND, (ends_at - EPOCH) // MICROSECOND, *ids)
                        for starts_at, ends_at, *ids in appointments.values_list(
                            "starts_at", "ends_at", "practitioner_id", "room_id", "patient_id"
                        )
                    )
                self._hold_intervals(fetched, practitioner_ids, room_ids, patient_ids)
                return self
            if shown:
                rows = _shown_rows(
                    appointments.order_by(), with_practitioner_names=practitioner_names is None
                )
                for row in sorted(rows, key=operator.itemgetter(1, 0)):  # (starts_at, pk): Meta.ordering
                    self.add(_shown(row, practitioner_names))
                return self
            # The clash messages show only names of the patient, practitioner and room: building
            # whole rows (the phone number parsed by phonenumbers, the user's password hash…) cost
            # more than the query on a busy week (figure 3).
            appointments = appointments.select_related("patient", "practitioner", "room").only(
                *APPOINTMENT_FIELDS, *SHOWN_WITH_AN_APPOINTMENT
            )
        for appointment in appointments:
            self.add(appointment)
        return self

    def add(self, appointment: Appointment) -> None:
        """Hold the appointment under each (person or room, local day) it touches, for quick lookups."""
        busy = Busy(appointment.starts_at, appointment.ends_at, appointment)
        self._hold(busy, appointment.practitioner_id, appointment.room_id, appointment.patient_id)

    def _hold_intervals(self, rows, practitioner_ids, room_ids, patient_ids) -> None:
        """Hold (starts, ends, practitioner id, room id, patient id) rows, times in microseconds since
        the epoch, under every local day each touches, and only under the ids asked for: an index
        is complete only for those (the window query reads anyone else's appointment only where it
        shares an asked-for practitioner, room or patient). The day is found by bisecting the days'
        first microseconds, not by converting two datetimes to the clinic's zone per row, and the
        planner's month of a full clinic holds ~5,000 times once, not three times with a list per
        patient and day for thousands of patients (figure 4: most of its Python time and garbage)."""
        days = [
            self.first_day + datetime.timedelta(days=i)
            for i in range(-2, (self.last_day - self.first_day).days + 4)
        ]
        bounds = [(local_datetime(day) - EPOCH) // MICROSECOND for day in days]
        indexes = [
            (index, None if ids is None else set(ids), position)
            for index, ids, position in (
                (self.by_practitioner, practitioner_ids, 2),
                (self.by_room, room_ids, 3),
                (self.by_patient, patient_ids, 4),
            )
        ]
        for row in rows:
            held = [
                (index, row[position])
                for index, ids, position in indexes
                if ids is None or row[position] in ids
            ]
            if not held:
                continue
            busy = Busy(EPOCH + row[0] * MICROSECOND, EPOCH + row[1] * MICROSECOND)
            for day in days[bisect.bisect_right(bounds, row[0]) - 1 : bisect.bisect_right(bounds, row[1])]:
                for index, key in held:
                    index[(key, day)].append(busy)

    def _hold(self, busy: Busy, practitioner_id, room_id, patient_id) -> None:
        tz = clinic_tz()
        day, last = busy.starts_at.astimezone(tz).date(), busy.ends_at.astimezone(tz).date()
        while day <= last:
            self.by_practitioner[(practitioner_id, day)].append(busy)
            self.by_room[(room_id, day)].append(busy)
            self.by_patient[(patient_id, day)].append(busy)
            day += datetime.timedelta(days=1)

    def add_slot(self, starts_at, ends_at, practitioner, room, patient) -> None:
        """Hold a slot not yet saved (a proposed session) as if it were booked."""
        self.add(
            Appointment(
                starts_at=starts_at, ends_at=ends_at, practitioner=practitioner, room=room, patient=patient
            )
        )

    def busy(self, index: dict, key, day: datetime.date) -> list[Busy]:
        return index.get((key, day), [])

    # --- the day -------------------------------------------------------------------------------
    def clinic_closed(self, day: datetime.date) -> str | None:
        """Why the clinic is closed on `day`, or None when it is open."""
        if day in self.closures:
            return f"clinic closed ({self.closures[day].reason})"
        if day.weekday() not in self.opening:
            return f"clinic closed on {day:%A}s"
        return None

    def opening_window(self, day: datetime.date) -> tuple[datetime.time, datetime.time] | None:
        if self.clinic_closed(day):
            return None
        return self.opening[day.weekday()]

    def on_leave(self, practitioner_id: int, day: datetime.date) -> Leave | None:
        for away in self.leave.get(practitioner_id, ()):
            if away.first_day <= day <= away.last_day:
                return away
        return None

    def working_blocks(
        self, practitioner_id: int, day: datetime.date
    ) -> tuple[tuple[datetime.time, datetime.time], ...]:
        """The practitioner's working time that day, cut to the opening hours (empty on leave)."""
        key = (practitioner_id, day)
        blocks = self._blocks.get(key)
        if blocks is None:
            blocks = self._blocks[key] = tuple(self._working_blocks(practitioner_id, day))
        return blocks

    def _working_blocks(self, practitioner_id: int, day: datetime.date):
        window = self.opening_window(day)
        if window is None or self.on_leave(practitioner_id, day):
            return
        opens, closes = window
        for starts, ends in sorted(self.hours.get(practitioner_id, {}).get(day.weekday(), ())):
            starts, ends = max(starts, opens), min(ends, closes)
            if starts < ends:
                yield starts, ends

    # --- a slot --------------------------------------------------------------------------------
    def practitioner_problem(
        self, practitioner, starts_at: datetime.datetime, ends_at: datetime.datetime
    ) -> str | None:
        """Why `practitioner` cannot take [starts_at, ends_at) apart from other appointments."""
        local_start, local_end = to_local(starts_at), to_local(ends_at)
        day = local_start.date()
        closed = self.clinic_closed(day)
        if closed:
            return closed
        opens, closes = self.opening[day.weekday()]
        if local_end.date() != day or local_start.time() < opens or local_end.time() > closes:
            return f"outside opening hours ({opens:%H:%M}–{closes:%H:%M})"
        away = self.on_leave(practitioner.pk, day)
        if away:
            return f"{person(practitioner)} is on leave" + (f" ({away.reason})" if away.reason else "")
        for block_start, block_end in self.working_blocks(practitioner.pk, day):
            if block_start <= local_start.time() and local_end.time() <= block_end:
                return None
        return f"{person(practitioner)} does not work then"

    def outside_hours(
        self, practitioner_id: int, starts_at: datetime.datetime, ends_at: datetime.datetime
    ) -> bool:
        """Whether [starts_at, ends_at) is outside the clinic's and the practitioner's hours: a closed day,
        outside opening hours, on leave, or not working then (rule `stranded-appointments`)."""
        # Asked for each of a busy week's ~90 appointments by the calendar: the zone and the wall-clock
        # times read once, a plain loop over the day's one or two blocks.
        tz = clinic_tz()
        local_start, local_end = starts_at.astimezone(tz), ends_at.astimezone(tz)
        day = local_start.date()
        if local_end.date() != day:
            return True
        start, end = local_start.time(), local_end.time()
        for block_start, block_end in self.working_blocks(practitioner_id, day):
            if block_start <= start and end <= block_end:
                return False
        return True

    def clash(self, starts_at, ends_at, *, practitioner_id=None, room_id=None, patient_id=None) -> str | None:
        """Describe the first active appointment that overlaps, for the practitioner, room or patient."""
        day = to_local(starts_at).date()
        for busy in self.busy(self.by_practitioner, practitioner_id, day):
            if busy.overlaps(starts_at, ends_at):
                return f"{person(busy.appointment.practitioner)} already has {describe(busy.appointment)}"
        for busy in self.busy(self.by_room, room_id, day):
            if busy.overlaps(starts_at, ends_at):
                return f"{busy.appointment.room} is already taken by {describe(busy.appointment)}"
        for busy in self.busy(self.by_patient, patient_id, day):
            if busy.overlaps(starts_at, ends_at):
                return f"the patient already has {describe(busy.appointment, with_patient=False)}"
        return None

    def slot_problem(self, *, patient, practitioner, room, starts_at, ends_at) -> str | None:
        """Why this slot cannot be booked: outside hours, leave, closure, an inactive room, or a clash."""
        problem = self.practitioner_problem(practitioner, starts_at, ends_at)
        if problem:
            return problem
        if not room.active:
            return f"{room} is not in use"
        return self.clash(
            starts_at, ends_at, practitioner_id=practitioner.pk, room_id=room.pk, patient_id=patient.pk
        )

    def is_free(self, busy_list, starts_at, ends_at) -> bool:
        return not any(b.overlaps(starts_at, ends_at) for b in busy_list)


def describe(appointment: Appointment, *, with_patient: bool = True) -> str:
    start, end = to_local(appointment.starts_at), to_local(appointment.ends_at)
    text = f"an appointment {start:%H:%M}–{end:%H:%M}"
    if with_patient:
        text = f"{appointment.patient.full_name} {start:%H:%M}–{end:%H:%M}"
    else:
        text += f" with {person(appointment.practitioner)} in {appointment.room}"
    return text


def active_rooms():
    return Room.objects.filter(active=True).order_by("name")
