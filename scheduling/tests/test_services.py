"""Booking, series atomicity, rescheduling, the shift of the rest of a series (rule
`shift-rest-of-series`, docs/clinical-rules.md), cancelling and state changes."""

import datetime

import pytest
from django.utils import timezone

from clinic.errors import Refusal
from scheduling.errors import BookingClash
from scheduling.models import Appointment, AppointmentState, AppointmentStateChange, SessionSeries
from scheduling.planner import plan_for
from scheduling.services import (
    book_appointment,
    book_series,
    cancel_appointment,
    cancel_rest_of_series,
    confirm_appointment,
    mark_arrived,
    mark_completed,
    mark_no_show,
    reschedule_appointment,
    shift_rest_of_series,
)
from scheduling.tests.factories import at, open_clinic, patient_aged, practitioner_user

MONDAY = datetime.date(2027, 1, 11)


def fortnightly(day, hour, practitioner, room, count=4):
    return [(at(day + datetime.timedelta(days=14 * i), hour), practitioner, room) for i in range(count)]


@pytest.fixture
def patient(db):
    return patient_aged(33, MONDAY)


@pytest.fixture
def series(patient, rooms, practitioner, front_desk):
    return book_series(
        patient=patient,
        plan=plan_for(age=33),
        slots=fortnightly(MONDAY, 10, practitioner, rooms[0]),
        by=front_desk,
    )


def test_book_series_writes_every_session_with_its_number_and_a_state_log(series, front_desk):
    sessions = list(series.appointments.order_by("sequence"))
    assert [(a.sequence, a.local_start.strftime("%Y-%m-%d %H:%M")) for a in sessions] == [
        (1, "2027-01-11 10:00"),
        (2, "2027-01-25 10:00"),
        (3, "2027-02-08 10:00"),
        (4, "2027-02-22 10:00"),
    ]
    assert {a.duration_minutes for a in sessions} == {60}
    assert series.band.min_age == 30 and series.age_at_start == 33 and series.created_by == front_desk
    assert AppointmentStateChange.objects.filter(to_state="booked", by=front_desk).count() == 4
    assert sessions[0].history.first().history_user == front_desk


def test_a_clash_on_session_3_books_nothing_and_names_it(patient, rooms, practitioner, front_desk):
    other = patient_aged(40, MONDAY, given_name="Ana", family_name="Silva")
    book_appointment(
        patient=other,
        practitioner=practitioner,
        room=rooms[1],
        starts_at=at(datetime.date(2027, 2, 8), 9, 30),
        by=front_desk,
    )
    with pytest.raises(BookingClash) as exc:
        book_series(
            patient=patient,
            plan=plan_for(age=33),
            slots=fortnightly(MONDAY, 10, practitioner, rooms[0]),
            by=front_desk,
        )
    assert exc.value.message == (
        "Session 3 (Mon 8 Feb 2027 at 10:00) cannot be booked: Inês Moura already has Ana Silva 09:30–10:30. "
        "Nothing was booked: move that session and book again."
    )
    assert SessionSeries.objects.count() == 0
    assert Appointment.objects.filter(patient=patient).count() == 0


def test_a_room_clash_names_the_room(patient, rooms, practitioner, front_desk):
    colleague = practitioner_user()
    open_clinic(colleague)
    book_appointment(
        patient=patient_aged(40, MONDAY, given_name="Rui", family_name="Sousa"),
        practitioner=colleague,
        room=rooms[0],
        starts_at=at(MONDAY, 10),
        by=front_desk,
    )
    with pytest.raises(BookingClash) as exc:
        book_appointment(
            patient=patient,
            practitioner=practitioner,
            room=rooms[0],
            starts_at=at(MONDAY, 10, 30),
            by=front_desk,
        )
    assert exc.value.message == (
        "The appointment (Mon 11 Jan 2027 at 10:30) cannot be booked: "
        "Room 1 is already taken by Rui Sousa 10:00–11:00."
    )


def test_booking_on_a_closed_day_or_outside_hours_is_refused(patient, rooms, practitioner, front_desk):
    with pytest.raises(BookingClash) as exc:
        book_appointment(
            patient=patient,
            practitioner=practitioner,
            room=rooms[0],
            starts_at=at(datetime.date(2027, 1, 9), 10),
            by=front_desk,
        )
    assert exc.value.message.endswith("cannot be booked: clinic closed on Saturdays.")
    with pytest.raises(BookingClash) as exc:
        book_appointment(
            patient=patient,
            practitioner=practitioner,
            room=rooms[0],
            starts_at=at(MONDAY, 18, 30),
            by=front_desk,
        )
    assert exc.value.message.endswith("cannot be booked: outside opening hours (09:00–19:00).")


def test_an_under_18_series_is_refused(rooms, practitioner, front_desk):
    teen = patient_aged(17, MONDAY)
    plan = plan_for(age=33)
    plan.age = 17
    with pytest.raises(Refusal) as exc:
        book_series(
            patient=teen, plan=plan, slots=fortnightly(MONDAY, 10, practitioner, rooms[0]), by=front_desk
        )
    assert exc.value.message == "The patient is 17: a treatment series is not booked for under-18s."
    assert Appointment.objects.count() == 0


def test_rescheduling_rechecks_and_keeps_the_length(series, rooms, practitioner, front_desk):
    second = series.appointments.get(sequence=2)
    moved = reschedule_appointment(
        appointment=second, starts_at=at(datetime.date(2027, 1, 26), 15), by=front_desk
    )
    assert moved.local_start.strftime("%Y-%m-%d %H:%M") == "2027-01-26 15:00"
    assert moved.duration_minutes == 60
    with pytest.raises(Refusal) as exc:
        reschedule_appointment(appointment=second, starts_at=at(datetime.date(2027, 2, 9), 10), by=front_desk)
    assert exc.value.message == (
        "Session 2 would come after session 3 (Mon 8 Feb 2027 at 10:00): choose an earlier time, "
        "or shift the rest of the series with it."
    )


def test_shift_rest_of_series_moves_every_later_session_by_the_same_amount(series, front_desk):
    second = series.appointments.get(sequence=2)
    moved = shift_rest_of_series(
        appointment=second, starts_at=at(datetime.date(2027, 1, 27), 11), by=front_desk
    )
    assert [a.local_start.strftime("%Y-%m-%d %H:%M") for a in moved] == [
        "2027-01-27 11:00",
        "2027-02-10 11:00",
        "2027-02-24 11:00",
    ]
    first = series.appointments.get(sequence=1)
    assert first.local_start.strftime("%Y-%m-%d %H:%M") == "2027-01-11 10:00"


def test_shift_by_exactly_the_cadence_does_not_clash_with_itself(series, front_desk):
    # Issue 15 (rule `cadence-in-every-booking`): a whole cadence later is outside the tolerance while
    # the session before it stands; after a cancelled session the count starts again (rule
    # `shift-rest-of-series`).
    cancel_appointment(appointment=series.appointments.get(sequence=2), reason="Ill", by=front_desk)
    third = series.appointments.get(sequence=3)
    moved = shift_rest_of_series(
        appointment=third, starts_at=at(datetime.date(2027, 2, 22), 10), by=front_desk
    )
    assert [a.local_start.date().isoformat() for a in moved] == ["2027-02-22", "2027-03-08"]


def test_shift_keeps_the_wall_clock_across_summer_time(rooms, practitioner, front_desk):
    patient = patient_aged(33, datetime.date(2027, 3, 1))
    series = book_series(
        patient=patient,
        plan=plan_for(age=33),
        slots=fortnightly(datetime.date(2027, 3, 1), 10, practitioner, rooms[0]),
        by=front_desk,
    )
    moved = shift_rest_of_series(
        appointment=series.appointments.get(sequence=1),
        starts_at=at(datetime.date(2027, 3, 8), 10),
        by=front_desk,
    )
    assert [a.local_start.strftime("%m-%d %H:%M") for a in moved] == [
        "03-08 10:00",
        "03-22 10:00",
        "04-05 10:00",
        "04-19 10:00",
    ]


def test_a_shift_that_clashes_moves_nothing(series, rooms, practitioner, front_desk):
    book_appointment(
        patient=patient_aged(40, MONDAY, given_name="Ana", family_name="Silva"),
        practitioner=practitioner,
        room=rooms[1],
        starts_at=at(datetime.date(2027, 2, 24), 11),
        by=front_desk,
    )
    second = series.appointments.get(sequence=2)
    with pytest.raises(BookingClash) as exc:
        shift_rest_of_series(appointment=second, starts_at=at(datetime.date(2027, 1, 27), 11), by=front_desk)
    # Issue 15: every clash of the shift is named at once (here there is one), not one per try.
    assert exc.value.message == (
        "Nothing was moved: Session 4 (Wed 24 Feb 2027 at 11:00): "
        "Inês Moura already has Ana Silva 11:00–12:00."
    )
    assert [a.local_start.strftime("%m-%d %H:%M") for a in series.appointments.order_by("sequence")] == [
        "01-11 10:00",
        "01-25 10:00",
        "02-08 10:00",
        "02-22 10:00",
    ]


def test_cancel_needs_a_reason_and_frees_the_slot(series, patient, rooms, practitioner, front_desk):
    first = series.appointments.get(sequence=1)
    with pytest.raises(Refusal) as exc:
        cancel_appointment(appointment=first, reason=" ", by=front_desk)
    assert exc.value.message == "Give the reason for the cancellation."
    cancelled = cancel_appointment(appointment=first, reason="Patient has the flu", by=front_desk)
    assert cancelled.state == AppointmentState.CANCELLED and cancelled.cancel_reason == "Patient has the flu"
    again = book_appointment(
        patient=patient_aged(40, MONDAY),
        practitioner=practitioner,
        room=rooms[0],
        starts_at=at(MONDAY, 10),
        by=front_desk,
    )
    assert again.pk
    log = first.state_changes.last()
    assert (log.from_state, log.to_state, log.by, log.reason) == (
        "booked",
        "cancelled",
        front_desk,
        "Patient has the flu",
    )


def test_cancel_rest_of_series(series, front_desk):
    third = series.appointments.get(sequence=3)
    cancelled = cancel_rest_of_series(appointment=third, reason="Moving abroad", by=front_desk)
    assert [a.sequence for a in cancelled] == [3, 4]
    assert list(series.appointments.order_by("sequence").values_list("state", flat=True)) == [
        "booked",
        "booked",
        "cancelled",
        "cancelled",
    ]


def test_states_move_forward_only(rooms, practitioner, front_desk, patient):
    soon = timezone.localtime() + datetime.timedelta(days=1)
    today_slot = at(soon.date(), 10)
    open_days = {soon.weekday()}
    from scheduling.models import OpeningHours, WorkingHours

    for weekday in open_days - set(OpeningHours.objects.values_list("weekday", flat=True)):
        OpeningHours.objects.create(weekday=weekday, opens=datetime.time(9), closes=datetime.time(19))
        WorkingHours.objects.create(
            practitioner=practitioner, weekday=weekday, starts=datetime.time(9), ends=datetime.time(19)
        )
    appointment = book_appointment(
        patient=patient, practitioner=practitioner, room=rooms[0], starts_at=today_slot, by=front_desk
    )
    assert confirm_appointment(appointment=appointment, by=front_desk).state == "confirmed"
    with pytest.raises(Refusal) as exc:
        mark_no_show(appointment=appointment, by=front_desk)
    assert (
        exc.value.message == "An appointment can be marked as a no-show only once its start time has passed."
    )
    with pytest.raises(Refusal) as exc:
        mark_completed(appointment=appointment, by=front_desk)
    assert exc.value.message == "This appointment is confirmed: it cannot be marked completed."
    with pytest.raises(Refusal):
        mark_arrived(appointment=appointment, by=front_desk)  # tomorrow
    assert list(appointment.state_changes.values_list("to_state", flat=True)) == ["booked", "confirmed"]


def test_no_show_after_the_start(rooms, practitioner, front_desk, patient):
    # An appointment from two hours ago (the services refuse to book in the past, so written directly).
    appointment = Appointment.objects.create(
        patient=patient,
        practitioner=practitioner,
        room=rooms[0],
        starts_at=timezone.now() - datetime.timedelta(hours=2),
        ends_at=timezone.now() - datetime.timedelta(hours=1),
    )
    assert mark_no_show(appointment=appointment, by=front_desk).state == AppointmentState.NO_SHOW


def _deadlock():
    """What Django raises when PostgreSQL ends a statement to break a deadlock."""
    import psycopg
    from django.db import OperationalError

    error = OperationalError("deadlock detected")
    error.__cause__ = psycopg.errors.DeadlockDetected("deadlock detected")
    return error


@pytest.mark.parametrize("deadlocks", [1, 2])
def test_a_booking_that_deadlocks_tries_once_more_then_says_so(
    patient, rooms, practitioner, front_desk, monkeypatch, deadlocks
):
    """PostgreSQL can end one of two bookings of the same time with a deadlock error (see
    `_save_in_savepoint`; test_postgres.py makes a real one): the first is tried again, a second
    becomes a readable refusal, never an error page."""
    real_save = Appointment.save
    calls = []

    def save(self, *args, **kwargs):
        calls.append(self.starts_at)
        if len(calls) <= deadlocks:
            raise _deadlock()
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(Appointment, "save", save)
    book = {"patient": patient, "practitioner": practitioner, "room": rooms[0], "starts_at": at(MONDAY, 10)}
    if deadlocks == 1:
        appointment = book_appointment(**book, by=front_desk)
        assert len(calls) == 2 and appointment.pk
        assert Appointment.objects.filter(state="booked").count() == 1
    else:
        with pytest.raises(BookingClash) as refused:
            book_appointment(**book, by=front_desk)
        assert len(calls) == 2
        assert refused.value.message == (
            "The appointment (Mon 11 Jan 2027 at 10:00) cannot be booked: someone else was booking the "
            "same time at that very moment. Nothing was saved; please check the calendar and try again."
        )
        assert not Appointment.objects.exists()


def test_other_database_errors_are_not_taken_for_a_deadlock(
    patient, rooms, practitioner, front_desk, monkeypatch
):
    from django.db import OperationalError

    def save(self, *args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(Appointment, "save", save)
    with pytest.raises(OperationalError, match="locked"):
        book_appointment(
            patient=patient, practitioner=practitioner, room=rooms[0], starts_at=at(MONDAY, 10), by=front_desk
        )
