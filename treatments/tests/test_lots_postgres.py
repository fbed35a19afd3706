"""Two sessions marked done at once using the last of one lot: exactly one takes it (PostgreSQL;
rule `lot-stock-decrement`)."""

import threading

import pytest
from django.db import connections

from clinic.errors import Refusal
from treatments import services
from treatments.tests import factories

pytestmark = pytest.mark.postgres


@pytest.mark.django_db(transaction=True)
def test_two_sessions_using_the_last_of_a_lot_at_once_exactly_one_wins(practitioner):
    formulation = factories.formulation(practitioner)
    line = formulation.lines.first()
    last = factories.stock_lot(line.ingredient, quantity=line.amount * 3)  # three sessions' worth
    records = [
        factories.session_record(
            practitioner, formulation, lots=factories.lots_for(formulation) | {line.pk: last}
        )
        for _ in range(4)
    ]
    services.mark_session_done(session_record=records.pop(), by=practitioner)
    services.mark_session_done(session_record=records.pop(), by=practitioner)
    barrier = threading.Barrier(len(records))
    results: list = []
    lock = threading.Lock()

    def attempt(record):
        try:
            barrier.wait(timeout=10)
            services.mark_session_done(session_record=record, by=practitioner)
            outcome = "done"
        except Refusal as exc:
            outcome = exc.message
        finally:
            connections.close_all()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=attempt, args=(record,)) for record in records]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert results.count("done") == 1, results
    assert all("not enough" in r for r in results if r != "done")
    last.refresh_from_db()
    assert last.quantity_remaining == 0
