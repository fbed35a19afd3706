"""Availability: the planner's interval-only load and the calendar's shown load hold what the full
load holds."""

import datetime

import pytest

from clinic.staff import person
from scheduling.availability import Availability
from scheduling.models import Appointment
from scheduling.tests.factories import at, open_clinic, patient_aged, practitioner_user

DAY = datetime.date(2027, 1, 11)
# Europe/Lisbon (the settings' zone) goes from UTC+1 back to UTC on Sunday 31 October 2027 at 02:00.
CLOCKS_BACK = datetime.date(2027, 10, 31)


def _held(index, ids=None):
    return {
        key: sorted((b.starts_at, b.ends_at) for b in busy)
        for key, busy in index.items()
        if busy and (ids is None or key[0] in ids)
    }


def _book(patient, practitioner, room, starts_at, ends_at):
    Appointment.objects.create(
        patient=patient, practitioner=practitioner, room=room, starts_at=starts_at, ends_at=ends_at
    )


@pytest.mark.django_db
@pytest.mark.parametrize("first_day", [DAY, CLOCKS_BACK - datetime.timedelta(days=1)])
def test_the_planners_interval_load_holds_the_same_times_as_the_full_load(practitioner, first_day):
    """The planner reads microseconds since the epoch (figure 4) and finds each local day by
    bisecting; the busy times it holds under each practitioner, room and patient and local day are
    the full load's, to the microsecond: one that crosses midnight in the clinic's zone, one that
    ends on the stroke of midnight (held on both days, as the full load does), one just before the
    window, and, in the second case, the night the clocks go back."""
    rooms = open_clinic(practitioner)
    patient = patient_aged(33, first_day)
    last = first_day + datetime.timedelta(days=1)
    odd = at(first_day, 10) + datetime.timedelta(microseconds=123457)
    for starts_at, ends_at, room in (
        (at(first_day, 9), at(first_day, 9, 30), rooms[0]),
        (odd, odd + datetime.timedelta(minutes=45), rooms[1]),
        (at(first_day, 23, 30), at(last, 0, 15), rooms[0]),
        (at(last, 23), at(last + datetime.timedelta(days=1), 0), rooms[1]),
        (at(first_day - datetime.timedelta(days=1), 23), at(first_day, 0, 30), rooms[1]),
    ):
        _book(patient, practitioner, room, starts_at, ends_at)
    fast = Availability.load(first_day, last, intervals_only=True)
    full = Availability.load(first_day, last)
    # The calendar's load reads the times as microseconds since the epoch too (on PostgreSQL).
    shown = Availability.load(first_day, last, shown=True)

    for index in ("by_practitioner", "by_room", "by_patient"):
        assert _held(getattr(fast, index)) == _held(getattr(full, index))
        assert _held(getattr(shown, index)) == _held(getattr(full, index))
    assert len(_held(fast.by_patient)[(patient.pk, last)]) == 2
    assert len(_held(fast.by_patient)[(patient.pk, first_day)]) == 4
    assert len(_held(fast.by_patient)[(patient.pk, last + datetime.timedelta(days=1))]) == 1


@pytest.mark.django_db
def test_the_interval_load_holds_only_the_ids_asked_for(practitioner):
    """An index is complete only for the ids asked for (anyone else's appointment is read only where it
    shares one of them), so the interval load holds nothing else: for a month of a full clinic that
    saved a list per patient and day for thousands of patients."""
    other = practitioner_user()
    rooms = open_clinic(practitioner, other)
    asked, shares_a_room, elsewhere = (patient_aged(30 + i, DAY) for i in range(3))
    _book(asked, practitioner, rooms[0], at(DAY, 9), at(DAY, 10))
    _book(shares_a_room, other, rooms[0], at(DAY, 10), at(DAY, 11))
    _book(elsewhere, other, rooms[1], at(DAY, 11), at(DAY, 12))
    ids = {"practitioner_ids": [practitioner.pk], "room_ids": [rooms[0].pk], "patient_ids": [asked.pk]}

    fast = Availability.load(DAY, DAY, intervals_only=True, **ids)
    full = Availability.load(DAY, DAY, **ids)

    for index, key in (
        ("by_practitioner", "practitioner_ids"),
        ("by_room", "room_ids"),
        ("by_patient", "patient_ids"),
    ):
        assert _held(getattr(fast, index)) == _held(getattr(full, index), ids[key])
    assert _held(fast.by_practitioner) == {(practitioner.pk, DAY): [(at(DAY, 9), at(DAY, 10))]}
    assert _held(fast.by_room) == {
        (rooms[0].pk, DAY): [(at(DAY, 9), at(DAY, 10)), (at(DAY, 10), at(DAY, 11))]
    }
    assert _held(fast.by_patient) == {(asked.pk, DAY): [(at(DAY, 9), at(DAY, 10))]}
    assert not fast.is_free(fast.busy(fast.by_room, rooms[0].pk, DAY), at(DAY, 10, 30), at(DAY, 10, 45))


@pytest.mark.django_db
def test_the_calendars_load_with_the_names_at_hand_shows_what_the_joined_load_shows(practitioner):
    """By practitioner the calendar has its columns' names already and the load does not join the
    users for them: each appointment is shown the same, the name included, as when it does."""
    other = practitioner_user(first_name="Inês", last_name="O'Neil")
    rooms = open_clinic(practitioner, other)
    patient = patient_aged(40, DAY)
    _book(patient, practitioner, rooms[0], at(DAY, 9), at(DAY, 10))
    _book(patient_aged(41, DAY), other, rooms[1], at(DAY, 9), at(DAY, 10))
    ids = [practitioner.pk, other.pk]
    names = {practitioner.pk: person(practitioner), other.pk: "Inês O'Neil"}

    joined = Availability.load(DAY, DAY, practitioner_ids=ids, shown=True)
    at_hand = Availability.load(DAY, DAY, practitioner_ids=ids, shown=True, practitioner_names=names)

    shown = {key: [b.appointment for b in busy] for key, busy in joined.by_practitioner.items()}
    assert {key: [b.appointment for b in busy] for key, busy in at_hand.by_practitioner.items()} == shown
    assert [a.practitioner_name for a in shown[(other.pk, DAY)]] == ["Inês O'Neil"]


@pytest.mark.django_db
@pytest.mark.parametrize("how", [{}, {"intervals_only": True}, {"shown": True}])
def test_a_load_for_nobody_holds_nothing(practitioner, how):
    """A clinic with no practitioner or room yet asks for an empty list of ids: every kind of load
    answers with nothing held (on PostgreSQL the calendar's and the planner's loads failed with
    EmptyResultSet, a server error on the calendar of a new clinic)."""
    rooms = open_clinic(practitioner)
    _book(patient_aged(30, DAY), practitioner, rooms[0], at(DAY, 9), at(DAY, 10))

    for ids in ({"practitioner_ids": []}, {"room_ids": []}):
        loaded = Availability.load(DAY, DAY, **ids, **how)
        assert not _held(loaded.by_practitioner) and not _held(loaded.by_room)
