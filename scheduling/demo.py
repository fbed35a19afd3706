"""Demo scheduling: rooms, hours, Portuguese public holidays, leave, series and single appointments.

Called by `manage.py demo_data` after the patients and treatments demos, inside one transaction.
Future bookings go through the services (so they obey every rule); the past two weeks are written
directly, as history, after the same clash check.
"""

import contextlib
import datetime
import itertools
import random

from django.contrib.auth import get_user_model
from django.utils import timezone
from faker import Faker

from clinic.clock import local_datetime
from clinic.errors import Refusal
from patients.models import Patient
from patients.services import register_patient
from treatments.selectors import series_plan_for

from . import services
from .availability import Availability
from .models import (
    Appointment,
    AppointmentKind,
    AppointmentState,
    AppointmentStateChange,
    Closure,
    Leave,
    OpeningHours,
    Room,
    WorkingHours,
)
from .planner import band_for_age, cadence_for_interval, plan_and_propose
from .services import book_appointment, book_series

User = get_user_model()

ROOMS = [
    ("Treatment room 1", "Couch, ring light, sharps bin"),
    ("Treatment room 2", "Couch, mechanical injector"),
    ("Treatment room 3", "Couch, small; no injector"),
    ("Consultation room", "Desk, dermatoscope, camera"),
]
OPENING = {d: (datetime.time(9), datetime.time(19)) for d in range(5)} | {
    5: (datetime.time(9), datetime.time(13))
}
# username -> {weekday: [(start, end), ...]}
MORNING, AFTERNOON = (datetime.time(9), datetime.time(13)), (datetime.time(14), datetime.time(19))
WORKING = {
    "practitioner": {d: [MORNING, AFTERNOON] for d in range(5)},
    "practitioner2": {
        0: [MORNING, AFTERNOON],
        2: [MORNING, AFTERNOON],
        4: [MORNING, AFTERNOON],
        5: [MORNING],
    },
    "practitioner3": {
        1: [(datetime.time(10), datetime.time(19))],
        3: [(datetime.time(10), datetime.time(19))],
        5: [MORNING],
    },
}


def easter(year: int) -> datetime.date:
    """Western Easter Sunday (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday) // 451
    month, day = divmod(h + weekday - 7 * m + 114, 31)
    return datetime.date(year, month, day + 1)


def portuguese_holidays(year: int) -> dict[datetime.date, str]:
    """National public holidays in Portugal, plus Lisbon's municipal holiday (Santo António)."""
    sunday = easter(year)
    return {
        datetime.date(year, 1, 1): "New Year's Day",
        sunday - datetime.timedelta(days=2): "Good Friday",
        sunday: "Easter Sunday",
        datetime.date(year, 4, 25): "Freedom Day",
        datetime.date(year, 5, 1): "Labour Day",
        sunday + datetime.timedelta(days=60): "Corpus Christi",
        datetime.date(year, 6, 10): "Portugal Day",
        datetime.date(year, 6, 13): "Santo António (Lisbon)",
        datetime.date(year, 8, 15): "Assumption of Mary",
        datetime.date(year, 10, 5): "Republic Day",
        datetime.date(year, 11, 1): "All Saints' Day",
        datetime.date(year, 12, 1): "Restoration of Independence",
        datetime.date(year, 12, 8): "Immaculate Conception",
        datetime.date(year, 12, 25): "Christmas Day",
    }


def _open(day: datetime.date) -> bool:
    return day.weekday() in OPENING and day not in portuguese_holidays(day.year)


def open_hour(day: datetime.date, hour: int) -> datetime.datetime:
    """An hour-long visit at `hour` on the first day from `day` that the demo clinic opens
    (OPENING, no public holiday), moved inside that day's hours: demo visits keep the hours."""
    while not _open(day):
        day += datetime.timedelta(days=1)
    opens, closes = OPENING[day.weekday()]
    return local_datetime(day, datetime.time(min(max(hour, opens.hour), closes.hour - 1)))


def last_open_hour(before: datetime.datetime) -> datetime.datetime:
    """The start of the demo clinic's latest opening hour that is over by `before`."""
    starts = timezone.localtime(before).replace(minute=0, second=0, microsecond=0) - datetime.timedelta(
        hours=1
    )
    while open_hour(starts.date(), starts.hour) != starts:  # not an hour the clinic is open
        starts -= datetime.timedelta(hours=1)
    return starts


def _patients(rng: random.Random, faker: Faker, stdout) -> list[Patient]:
    patients = list(Patient.objects.active().order_by("id")[:200])
    if len(patients) >= 40:
        return patients
    by = User.objects.filter(username="frontdesk").first()
    today = timezone.localdate()
    missing = 40 - len(patients)
    for _ in range(missing):
        age = rng.choice([29, 31, 33, 34, 36, 38, 47, 52, 58, 63, 42, 25])
        born = today - datetime.timedelta(days=age * 365 + rng.randint(20, 300))
        given, family = faker.first_name(), faker.last_name()
        patients.append(
            register_patient(
                by=by,
                given_name=given,
                family_name=family,
                date_of_birth=born,
                email=f"demo.patient{rng.randint(1000, 999999)}@example.com",
                email_consent=rng.random() < 0.8,
            )
        )
    stdout.write(f"  scheduling: added {missing} synthetic patients to book")
    return patients


def practitioners_exist(staff: dict) -> bool:
    return bool(staff)


def set_up_clinic() -> tuple[list[Room], dict]:
    """Rooms, opening hours and the practitioners' working hours (idempotent)."""
    rooms = [
        Room.objects.get_or_create(
            name=name, defaults={"description": d, "for_treatments": not name.startswith("Consultation")}
        )[0]
        for name, d in ROOMS
    ]
    for weekday, (opens, closes) in OPENING.items():
        OpeningHours.objects.update_or_create(weekday=weekday, defaults={"opens": opens, "closes": closes})
    staff = {u.username: u for u in User.objects.filter(groups__name="practitioner")}
    for username, days in WORKING.items():
        if username not in staff:
            continue
        for weekday, blocks in days.items():
            for starts, ends in blocks:
                WorkingHours.objects.get_or_create(
                    practitioner=staff[username], weekday=weekday, starts=starts, ends=ends
                )
    for username in staff.keys() - WORKING.keys():  # any other practitioner: weekdays, office hours
        for weekday in range(5):
            WorkingHours.objects.get_or_create(
                practitioner=staff[username], weekday=weekday, starts=MORNING[0], ends=AFTERNOON[1]
            )
    return rooms, staff


def build(*, stdout, seed: int) -> None:
    rng = random.Random(seed)
    faker = Faker("pt_PT")
    faker.seed_instance(seed)
    today = timezone.localdate()
    front_desk = User.objects.filter(username="frontdesk").first()

    rooms, staff = set_up_clinic()
    if "practitioner3" in staff:
        first = today + datetime.timedelta(days=21)
        Leave.objects.get_or_create(
            practitioner=staff["practitioner3"],
            first_day=first,
            last_day=first + datetime.timedelta(days=6),
            defaults={"reason": "Training course"},
        )
    horizon = today + datetime.timedelta(days=180)
    closures = 0
    for year in range(today.year, horizon.year + 1):
        for day, reason in portuguese_holidays(year).items():
            if today - datetime.timedelta(days=14) <= day <= horizon:
                closures += Closure.objects.get_or_create(date=day, defaults={"reason": reason})[1]
    staff_day = today + datetime.timedelta(days=rng.randint(30, 60))
    Closure.objects.get_or_create(
        date=staff_day, defaults={"reason": "Staff training day", "kind": Closure.Kind.ONE_OFF}
    )

    if not practitioners_exist(staff):
        stdout.write("  scheduling: no practitioners, so no appointments")
        return
    patients = _patients(rng, faker, stdout)
    rng.shuffle(patients)
    practitioners = list(staff.values())

    # Series starting over the next two weeks, as the flow goes (docs/design.md, the flow of a patient, step
    # 4): only for patients whose practitioner found them eligible and planned count and cadence at a signed
    # consultation.
    series_count = 0
    for patient in patients:
        if series_count >= 9:
            break
        first_date = today + datetime.timedelta(days=rng.randint(1, 12))
        plan = series_plan_for(patient)
        if plan is None or band_for_age(patient.age_on(first_date)) is None:
            continue
        try:
            proposal = plan_and_propose(
                patient=patient,
                first_date=first_date,
                count=plan.count,
                cadence=cadence_for_interval(plan.interval_days),
                override_reason=f"As planned at the consultation of {plan.date:%d/%m/%Y}.",
                practitioner=plan.practitioner,
                preferred_time=datetime.time(rng.choice([9, 10, 11, 14, 15, 16, 17])),
            )
            if not proposal.ok:
                continue
            slots = [(s.starts_at, s.practitioner, s.room) for s in proposal.sessions]
            book_series(patient=patient, plan=proposal.plan, slots=slots, by=front_desk)
            series_count += 1
        except Refusal:
            continue

    # Single consultations and reviews over the next four weeks.
    singles = 0
    for patient in patients[:30]:
        kind = rng.choice(
            [AppointmentKind.CONSULTATION, AppointmentKind.CONSULTATION, AppointmentKind.REVIEW]
        )
        for _attempt in range(6):
            day = today + datetime.timedelta(days=rng.randint(1, 28))
            starts_at = local_datetime(day, datetime.time(rng.randint(9, 17), rng.choice([0, 30])))
            try:
                appointment = book_appointment(
                    patient=patient,
                    practitioner=rng.choice(practitioners),
                    room=rooms[3] if kind == AppointmentKind.CONSULTATION else rng.choice(rooms[:3]),
                    starts_at=starts_at,
                    kind=kind,
                    notes=rng.choice(["", "", "Prefers e-mail reminders", "Parking voucher"]),
                    by=front_desk,
                )
            except Refusal:
                continue
            singles += 1
            if rng.random() < 0.4:
                appointment.state = AppointmentState.CONFIRMED
                appointment._history_user = front_desk
                appointment.save()
                AppointmentStateChange.objects.create(
                    appointment=appointment, from_state="booked", to_state="confirmed", by=front_desk
                )
            break

    # The past two weeks, as history: mostly completed, some no-shows and cancellations.
    past = 0
    start, end = today - datetime.timedelta(days=14), today - datetime.timedelta(days=1)
    availability = Availability.load(start, end)
    now = timezone.now()
    for patient in patients[10:40]:
        for _attempt in range(6):
            day = start + datetime.timedelta(days=rng.randint(0, 13))
            practitioner, room = rng.choice(practitioners), rng.choice(rooms)
            starts_at = local_datetime(day, datetime.time(rng.randint(9, 17)))
            ends_at = starts_at + datetime.timedelta(hours=1)
            if starts_at >= now or availability.practitioner_problem(practitioner, starts_at, ends_at):
                continue
            if availability.clash(
                starts_at, ends_at, practitioner_id=practitioner.pk, room_id=room.pk, patient_id=patient.pk
            ):
                continue
            state = rng.choices(
                [AppointmentState.COMPLETED, AppointmentState.NO_SHOW, AppointmentState.CANCELLED], [8, 1, 1]
            )[0]
            appointment = past_appointment(
                patient=patient,
                practitioner=practitioner,
                room=room,
                kind=rng.choice(list(AppointmentKind.values)),
                starts_at=starts_at,
                state=state,
                reason="Patient unwell" if state == AppointmentState.CANCELLED else "",
                by=front_desk,
            )
            if state != AppointmentState.CANCELLED and state != AppointmentState.NO_SHOW:
                availability.add(appointment)
            past += 1
            break

    stdout.write(
        f"  scheduling: {len(rooms)} rooms, {closures} public holidays, {series_count} series, "
        f"{singles} single appointments ahead, {past} in the past two weeks"
    )


def past_appointment(*, patient, practitioner, room, kind, starts_at, state, by, reason="", minutes=60):
    """An appointment that already happened, written directly as history: booking a time in the past
    is refused by the services. The caller has checked the slot is free."""
    appointment = Appointment(
        patient=patient,
        practitioner=practitioner,
        room=room,
        kind=kind,
        starts_at=starts_at,
        ends_at=starts_at + datetime.timedelta(minutes=minutes),
        state=state,
        cancel_reason=reason if state == AppointmentState.CANCELLED else "",
        created_by=by,
    )
    appointment._history_user = by
    appointment.save()
    AppointmentStateChange.objects.create(appointment=appointment, to_state="booked", by=by)
    if state != AppointmentState.BOOKED:
        AppointmentStateChange.objects.create(
            appointment=appointment, from_state="booked", to_state=state, by=by, reason=reason
        )
    return appointment


def next_open_day(today: datetime.date) -> datetime.date:
    """The first day from `today` on which the clinic opens and someone works."""
    availability = Availability.load(today, today + datetime.timedelta(days=60))
    staff = list(User.objects.filter(groups__name="practitioner").values_list("pk", flat=True))
    for offset in range(61):
        day = today + datetime.timedelta(days=offset)
        if any(availability.working_blocks(pk, day) for pk in staff):
            return day
    raise Refusal("The clinic does not open in the next two months.")


def _free(availability, starts_at, minutes, practitioner, room, patient) -> bool:
    ends_at = starts_at + datetime.timedelta(minutes=minutes)
    return not (
        availability.practitioner_problem(practitioner, starts_at, ends_at)
        or availability.clash(
            starts_at, ends_at, practitioner_id=practitioner.pk, room_id=room.pk, patient_id=patient.pk
        )
    )


def _free_slot(availability, days, practitioner, rooms, patient) -> tuple[datetime.datetime, Room]:
    """The first hour on `days` when practitioner, one of `rooms` and patient are all free."""
    for day in days:
        for starts, ends in availability.working_blocks(practitioner.pk, day):
            for hour in range(starts.hour + (1 if starts.minute else 0), ends.hour):
                starts_at = local_datetime(day, datetime.time(hour))
                for room in rooms:
                    if _free(availability, starts_at, 60, practitioner, room, patient):
                        return starts_at, room
    raise Refusal("No free hour for the every-state demo.")


def build_next_open_day(*, now: datetime.datetime, patients: list[Patient], by) -> dict:
    """A believable list for the next open day (today when the clinic opens today), whatever day the
    demo is built on: each working practitioner's hours filled every other hour, the times already
    past as patients who came and whose session is still to be recorded; and, for each practitioner,
    treatment sessions of the last open days that nobody recorded yet."""
    today = timezone.localdate(now)
    day = next_open_day(today)
    rooms = list(Room.objects.filter(active=True, for_treatments=True).order_by("name"))
    staff = list(User.objects.filter(groups__name="practitioner").order_by("username"))
    first = today - datetime.timedelta(days=10)
    availability = Availability.load(first, day)
    pool = itertools.cycle(patients)
    made = {"day": day, "appointments": [], "to_record": []}

    def place(practitioner, starts_at, *, state=None):
        for attempt in range(len(patients)):
            patient, room = next(pool), rooms[attempt % len(rooms)]
            if not _free(availability, starts_at, 60, practitioner, room, patient):
                continue
            if state is None:
                try:
                    appointment = book_appointment(
                        patient=patient, practitioner=practitioner, room=room, starts_at=starts_at, by=by
                    )
                except Refusal:
                    continue
            else:
                appointment = past_appointment(
                    patient=patient,
                    practitioner=practitioner,
                    room=room,
                    kind=AppointmentKind.TREATMENT,
                    starts_at=starts_at,
                    state=state,
                    by=by,
                )
            availability.add(appointment)
            return appointment
        return None

    days = [day]
    for listed in days:
        for practitioner in staff:
            for starts, ends in availability.working_blocks(practitioner.pk, listed):
                hour = starts.hour + (1 if starts.minute else 0)
                while hour + 1 <= ends.hour:
                    starts_at = local_datetime(listed, datetime.time(hour))
                    past = starts_at + datetime.timedelta(hours=1) <= now
                    # Earlier today: the first patients' sessions are recorded, the latest still to do.
                    state = (
                        (AppointmentState.ARRIVED if hour >= 14 else AppointmentState.COMPLETED)
                        if past
                        else None
                    )
                    appointment = place(practitioner, starts_at, state=state)
                    if appointment is not None:
                        made["to_record" if past else "appointments"].append(appointment)
                    hour += 2
        if not made["appointments"] and len(days) == 1:  # today's hours are over: the next day too
            days.append(next_open_day(listed + datetime.timedelta(days=1)))
            availability = Availability.load(first, days[-1])
    made["day"] = days[-1]
    for practitioner in staff:
        # Two sessions of the last days this practitioner worked, still to be recorded.
        earlier, missing = today - datetime.timedelta(days=1), 2
        while missing and earlier >= first:
            blocks = availability.working_blocks(practitioner.pk, earlier)
            if blocks:
                starts_at = local_datetime(earlier, blocks[0][0])
                appointment = place(practitioner, starts_at, state=AppointmentState.CONFIRMED)
                if appointment is not None:
                    made["to_record"].append(appointment)
                    missing -= 1
            earlier -= datetime.timedelta(days=1)
    return made


def build_states(*, patients: dict, practitioner, front_desk, now: datetime.datetime) -> dict:
    """One appointment in each state, for the patients of patients.demo.build_states: booked,
    confirmed by staff and by the patient's e-mail link (a change with no user), cancelled by the
    clinic and by the patient's link, no-show, arrived, completed; and a series."""
    from .email_views import PATIENT_CANCEL_REASON
    from .planner import plan_for

    rooms = [room for room in set_up_clinic()[0] if room.for_treatments]
    today = timezone.localdate(now)
    availability = Availability.load(
        today - datetime.timedelta(days=14), today + datetime.timedelta(days=120)
    )
    ahead = [
        today + datetime.timedelta(days=n)
        for n in range(1, 60)
        if availability.working_blocks(practitioner.pk, today + datetime.timedelta(days=n))
    ]
    behind = [
        today - datetime.timedelta(days=n)
        for n in range(1, 14)
        if availability.working_blocks(practitioner.pk, today - datetime.timedelta(days=n))
    ]
    room = rooms[0]  # the series'
    made = {}
    future = [
        ("booked", "script", None, None),
        ("confirmed_by_staff", "markup", services.confirm_appointment, front_desk),
        ("confirmed_by_link", "template", services.confirm_appointment, None),
        ("cancelled_by_clinic", "greek", services.cancel_appointment, front_desk),
        ("cancelled_by_link", "cyrillic", services.cancel_appointment, None),
        ("no_email", "no_email", None, None),
        ("no_consent", "no_consent", None, None),
    ]
    for number, (key, patient_key, change, by) in enumerate(future):
        patient = patients[patient_key]
        starts_at, room = _free_slot(availability, ahead, practitioner, rooms, patient)
        appointment = book_appointment(
            patient=patient,
            practitioner=practitioner,
            room=room,
            starts_at=starts_at,
            kind=AppointmentKind.TREATMENT if number % 2 else AppointmentKind.CONSULTATION,
            notes="Parking voucher <b>please</b> {{ notes }}",
            by=front_desk,
        )
        availability.add(appointment)
        if change is services.cancel_appointment:
            reason = "Practitioner unwell" if by else PATIENT_CANCEL_REASON
            appointment = change(appointment=appointment, reason=reason, by=by)
        elif change is not None:
            appointment = change(appointment=appointment, by=by)
        made[key] = appointment
    for key, patient_key, state in [
        ("no_show", "arabic", AppointmentState.NO_SHOW),
        ("arrived", "cjk", AppointmentState.ARRIVED),
        ("completed", "folded", AppointmentState.COMPLETED),
    ]:
        starts_at, room = _free_slot(availability, behind, practitioner, rooms, patients[patient_key])
        made[key] = past_appointment(
            patient=patients[patient_key],
            practitioner=practitioner,
            room=room,
            kind=AppointmentKind.TREATMENT,
            starts_at=starts_at,
            state=state,
            by=front_desk,
        )
        availability.add(made[key])
    monday = next(day for day in ahead if day.weekday() == 0)
    slots = [
        (local_datetime(monday + datetime.timedelta(days=14 * n), datetime.time(17)), practitioner, room)
        for n in range(4)
    ]
    try:
        made["series"] = book_series(
            patient=patients["folded"], plan=plan_for(age=33), slots=slots, by=front_desk
        )
    except Refusal:  # the demo's holidays can fall on the fortnightly days: no series then
        made["series"] = None
    if made["series"] is not None:
        # A session moved once (its history shows who moved it, when, from and to).
        third = made["series"].appointments.get(sequence=3)
        with contextlib.suppress(Refusal):  # that day may be a holiday: then no move
            services.reschedule_appointment(
                appointment=third, starts_at=third.starts_at + datetime.timedelta(days=1), by=front_desk
            )
    # Booked before the hours changed (rule `stranded-appointments`, docs/clinical-rules.md): before the
    # clinic opens, flagged on the dashboard and the calendar until moved. Written directly, as the
    # services refuse such a time.
    day = ahead[1]
    made["stranded"] = past_appointment(
        patient=patients["cjk"],
        practitioner=practitioner,
        room=rooms[0],
        kind=AppointmentKind.TREATMENT,
        starts_at=local_datetime(day, datetime.time(6, 30)),
        state=AppointmentState.BOOKED,
        by=front_desk,
    )
    made["stranded_by_leave"] = _stranded_by_leave(
        availability, ahead, practitioner, rooms, patients["cjk"], front_desk
    )
    return made


def _stranded_by_leave(availability, days, practitioner, rooms, patient, by) -> Appointment:
    """A booking left outside its practitioner's time: booked first, then a day of leave taken over
    it (the calendar flags it until someone moves it). On the last working day ahead, away from the
    days the rest of the demo fills."""
    starts_at, room = _free_slot(availability, days[-1:], practitioner, rooms, patient)
    appointment = book_appointment(
        patient=patient, practitioner=practitioner, room=room, starts_at=starts_at, by=by
    )
    availability.add(appointment)
    day = timezone.localtime(starts_at).date()
    Leave.objects.get_or_create(
        practitioner=practitioner, first_day=day, last_day=day, defaults={"reason": "Training course"}
    )
    return appointment
