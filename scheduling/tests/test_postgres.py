"""The database's own guarantee against double booking (PostgreSQL exclusion constraints)."""

import datetime
import threading

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
        assert "Inês Moura already has" in message or "Room 1 is already taken by" in message
    assert Appointment.objects.filter(state="booked").count() == 1
