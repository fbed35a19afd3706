"""The database's own guarantee against double booking (PostgreSQL exclusion constraints)."""

import datetime
import threading
import time

import pytest
from django.db import IntegrityError, connection, connections, transaction

from clinic.tests.factories import UserFactory
from scheduling.errors import BookingClash
from scheduling.models import Appointment
from scheduling.services import book_appointment
from scheduling.tests.factories import at, open_clinic, patient_aged

DAY = datetime.date(2027, 1, 11)

pytestmark = pytest.mark.postgres


@pytest.mark.django_db
def test_the_exclusion_constraint_refuses_a_raw_overlapping_insert(practitioner):
    room = open_clinic(practitioner)[0]
    first, second = patient_aged(33, DAY), patient_aged(34, DAY)
    Appointment.objects.create(
        patient=first, practitioner=practitioner, room=room, starts_at=at(DAY, 10), ends_at=at(DAY, 11)
    )
    table = Appointment._meta.db_table
    with pytest.raises(IntegrityError) as exc, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (patient_id, practitioner_id, room_id, kind, starts_at, ends_at, state,"
            " notes, cancel_reason, created_at, updated_at)"
            " VALUES (%s, %s, %s, 'treatment', %s, %s, 'booked', '', '', now(), now())",
            [second.pk, practitioner.pk, room.pk, at(DAY, 10, 30), at(DAY, 11, 30)],
        )
    assert exc.value.__cause__.diag.constraint_name == "appointment_no_practitioner_overlap"
    # Touching ends ([10:00, 11:00) then [11:00, 12:00)) and cancelled rows are allowed.
    Appointment.objects.create(
        patient=second, practitioner=practitioner, room=room, starts_at=at(DAY, 11), ends_at=at(DAY, 12)
    )
    Appointment.objects.create(
        patient=second,
        practitioner=practitioner,
        room=room,
        starts_at=at(DAY, 10),
        ends_at=at(DAY, 11),
        state="cancelled",
    )
    assert Appointment.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_bookings_of_one_slot_exactly_one_wins():
    practitioner = UserFactory(
        username="practitioner", first_name="Inês", last_name="Moura", role="practitioner"
    )
    room = open_clinic(practitioner)[0]
    front_desk = UserFactory(username="frontdesk", role="front_desk")
    patients = [patient_aged(30 + i, DAY) for i in range(8)]
    barrier = threading.Barrier(len(patients))
    results: list = []
    lock = threading.Lock()

    def attempt(patient):
        try:
            barrier.wait(timeout=10)
            book_appointment(
                patient=patient, practitioner=practitioner, room=room, starts_at=at(DAY, 10), by=front_desk
            )
            outcome = "booked"
        except BookingClash as exc:
            outcome = exc.message
        finally:
            connections.close_all()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=attempt, args=(p,)) for p in patients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert results.count("booked") == 1
    refusals = [r for r in results if r != "booked"]
    assert len(refusals) == len(patients) - 1
    for message in refusals:
        assert message.startswith("The appointment (Mon 11 Jan 2027 at 10:00) cannot be booked: ")
        # Bookings racing for one slot can deadlock in PostgreSQL's exclusion check (see the test
        # below); a loser that deadlocks twice is refused with a message that says so.
        assert (
            "Inês Moura already has" in message
            or "Room 1 is already taken by" in message
            or "someone else was booking the same time at that very moment" in message
        ), message
    assert Appointment.objects.filter(state="booked").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_bookings_that_deadlock_in_the_exclusion_check_end_in_a_readable_refusal():
    """A real deadlock, made on purpose. Another transaction (a series being booked, say) holds
    Inês at 10:00 and waits for Rui's 12:00, which this booking holds; this booking then asks for
    Inês at 10:00 and waits for it. PostgreSQL ends this booking's statement (its deadlock_timeout
    is the shorter); it is tried once more and deadlocks again, since it still holds Rui's 12:00.
    The person gets a readable refusal, nothing of theirs is saved, and the other one goes through."""
    import psycopg

    ines = UserFactory(username="ines", first_name="Inês", last_name="Moura", role="practitioner")
    rui = UserFactory(username="rui", first_name="Rui", last_name="Sá", role="practitioner")
    room_1, room_2 = open_clinic(ines, rui)
    front_desk = UserFactory(username="frontdesk", role="front_desk")
    mine, mine_too, theirs = (patient_aged(30 + i, DAY) for i in range(3))
    table = Appointment._meta.db_table
    insert = (
        f"INSERT INTO {table} (patient_id, practitioner_id, room_id, kind, starts_at, ends_at, state,"
        " notes, cancel_reason, created_at, updated_at)"
        " VALUES (%s, %s, %s, 'treatment', %s, %s, 'booked', '', '', now(), now())"
    )
    params = connection.get_connection_params()
    params.pop("context", None)
    params.pop("cursor_factory", None)
    other = psycopg.connect(**params)  # not in autocommit: one transaction
    other.execute("SET deadlock_timeout = '60s'")  # so that PostgreSQL ends this test's booking
    other.execute(insert, [theirs.pk, ines.pk, room_1.pk, at(DAY, 10), at(DAY, 11)])
    waiting = threading.Event()
    errors = []

    def other_books_rui_at_noon():
        try:
            waiting.set()
            other.execute(insert, [theirs.pk, rui.pk, room_2.pk, at(DAY, 12), at(DAY, 13)])
            other.commit()
        except Exception as exc:  # reported below
            errors.append(exc)
            other.rollback()

    thread = threading.Thread(target=other_books_rui_at_noon)
    with pytest.raises(BookingClash) as refused, transaction.atomic():
        book_appointment(patient=mine, practitioner=rui, room=room_1, starts_at=at(DAY, 12), by=front_desk)
        thread.start()
        waiting.wait(10)
        with connection.cursor() as cursor:
            for _ in range(500):  # until the other transaction waits for ours
                cursor.execute(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [other.info.backend_pid]
                )
                if cursor.fetchone()[0] == "Lock":
                    break
                time.sleep(0.01)
            cursor.execute("SET LOCAL deadlock_timeout = '100ms'")
        book_appointment(
            patient=mine_too, practitioner=ines, room=room_2, starts_at=at(DAY, 10), by=front_desk
        )
    thread.join(30)
    other.close()
    assert errors == []
    assert refused.value.message.startswith(
        "The appointment (Mon 11 Jan 2027 at 10:00) cannot be booked: someone else was booking the same time"
    )
    assert set(Appointment.objects.values_list("patient_id", flat=True)) == {theirs.pk}
    assert Appointment.objects.count() == 2
