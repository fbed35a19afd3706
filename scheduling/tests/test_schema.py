"""The no-double-booking constraints exist on PostgreSQL and stay invisible to SQLite (DESIGN.md)."""

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
