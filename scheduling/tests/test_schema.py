"""The no-double-booking constraints exist on PostgreSQL and stay invisible to SQLite (docs/design.md)."""

import pytest
from django.db import connection

from scheduling.models import Appointment

OVERLAP = [c for c in Appointment._meta.constraints if c.name.endswith("_overlap")]


def test_three_exclusion_constraints_practitioner_room_and_patient():
    assert sorted(c.name for c in OVERLAP) == [
        "appointment_no_patient_overlap",
        "appointment_no_practitioner_overlap",
        "appointment_no_room_overlap",
    ]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="about the SQLite schema")
def test_sqlite_table_rebuilds_leave_the_exclusion_constraints_out():
    # What SQLite's AlterField does: re-create the table from the model with all its constraints.
    editor = connection.schema_editor(collect_sql=True)
    editor.deferred_sql = []  # set by __enter__, which SQLite refuses inside the test's transaction
    sql, _params = editor.table_sql(Appointment)
    assert "EXCLUDE" not in sql
    assert '"appointment_ends_after_starts" CHECK' in sql
    assert all(c.create_sql(Appointment, editor) is None for c in OVERLAP)
    assert all(c.remove_sql(Appointment, editor) is None for c in OVERLAP)


@pytest.mark.postgres
def test_postgres_gets_gist_exclusion_over_the_half_open_range():
    editor = connection.schema_editor(collect_sql=True)
    sql = str(OVERLAP[0].constraint_sql(Appointment, editor))
    assert "EXCLUDE USING GIST" in sql
    assert 'TSTZRANGE("starts_at", "ends_at", \'[)\')' in sql
    assert "WHERE" in sql and "'booked'" in sql and "'cancelled'" not in sql


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_planners_window_query_can_be_answered_from_the_active_window_index_alone():
    """Figure 4: the planner's query reads the partial covering index only (no heap, no cancelled
    rows), which needs its state filter to imply the index's condition and every column it reads
    to be in the index. A tiny test table would be scanned whole, so the other kinds of scan are
    switched off; if the index could not answer, PostgreSQL would fall back to one of them anyway."""
    import datetime

    from django.test.utils import CaptureQueriesContext

    from scheduling.availability import Availability

    day = datetime.date(2027, 1, 11)
    with CaptureQueriesContext(connection) as ctx:
        Availability.load(
            day,
            day + datetime.timedelta(days=30),
            practitioner_ids=[1],
            room_ids=[1],
            patient_ids=[1],
            intervals_only=True,
        )
    sql = ctx.captured_queries[-1]["sql"]
    assert "scheduling_appointment" in sql
    with connection.cursor() as cursor:
        # Only index-only scans left at their normal cost: between two indexes on a tiny table the
        # planner's choice is a coin toss (it took a plain scan of appointment_window once).
        for kind in ("seqscan", "bitmapscan", "indexscan"):
            cursor.execute(f"SET LOCAL enable_{kind} = off")
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan using appointment_active_window" in plan, plan
    assert "Sort" not in plan, plan
