"""Test helpers: a small clinic (rooms, hours) and patients of an exact age on a given day."""

import datetime
import itertools

from clinic.clock import local_datetime
from clinic.tests.factories import UserFactory
from patients.tests.factories import PatientFactory
from scheduling.models import OpeningHours, Room, WorkingHours

WEEKDAYS = range(0, 5)
_numbers = itertools.count(1)


def open_clinic(*practitioners, rooms=("Room 1", "Room 2"), saturday=False):
    """Mon–Fri 09:00–19:00 (and Saturday 09:00–13:00), everyone working whenever the clinic opens."""
    for weekday in WEEKDAYS:
        OpeningHours.objects.get_or_create(
            weekday=weekday, defaults={"opens": datetime.time(9), "closes": datetime.time(19)}
        )
    if saturday:
        OpeningHours.objects.get_or_create(
            weekday=5, defaults={"opens": datetime.time(9), "closes": datetime.time(13)}
        )
    for practitioner in practitioners:
        for weekday in [*WEEKDAYS, 5] if saturday else WEEKDAYS:
            WorkingHours.objects.create(
                practitioner=practitioner, weekday=weekday, starts=datetime.time(9), ends=datetime.time(19)
            )
    return [Room.objects.get_or_create(name=name)[0] for name in rooms]


def patient_aged(age: int, on: datetime.date, **kwargs):
    """A patient who is exactly `age` (whole years) on `on`, with the birthday on that day."""
    born = on.replace(year=on.year - age)
    kwargs.setdefault("email", f"patient{next(_numbers)}@example.com")  # Faker names can carry accents
    return PatientFactory(date_of_birth=born, **kwargs)


def practitioner_user(username="practitioner2", **kwargs):
    return UserFactory(username=username, role="practitioner", **kwargs)


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return local_datetime(day, datetime.time(hour, minute))
