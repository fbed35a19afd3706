"""Two practitioners recording the same booked session at once: exactly one record (PostgreSQL)."""

import threading

import pytest
from django.db import connections

from clinic.errors import Refusal
from treatments.models import SessionRecord
from treatments.tests import factories
from treatments.tests.test_appointment_sessions import SESSION, booked

pytestmark = pytest.mark.postgres


@pytest.mark.django_db(transaction=True)
def test_concurrent_records_of_one_appointment_exactly_one_wins(practitioner):
    formulation = factories.formulation(practitioner)
    appointment = booked(practitioner, formulation.patient)
    attempts = 4
    barrier = threading.Barrier(attempts)
    results: list = []
    lock = threading.Lock()

    def attempt():
        try:
            barrier.wait(timeout=10)
            factories.services.record_session(
                formulation=formulation,
                by=practitioner,
                appointment=appointment,
                **{**SESSION, "performed_at": appointment.starts_at},
            )
            outcome = "recorded"
        except Refusal as exc:
            outcome = exc.message
        finally:
            connections.close_all()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=attempt) for _ in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert results.count("recorded") == 1
    assert all("already has its session record" in r for r in results if r != "recorded")
    assert SessionRecord.objects.filter(appointment=appointment).count() == 1
