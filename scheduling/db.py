"""PostgreSQL-only pieces of the schema that must stay harmless on the embedded SQLite default.

The exclusion constraints that forbid double booking (docs/design.md, "No double booking") exist only on
PostgreSQL. They are declared in Appointment.Meta.constraints so that the migration state matches the
models (`makemigrations --check` stays clean); these classes make sure SQLite never sees their SQL —
neither when the migration adds them nor when a later migration rebuilds the table (SQLite's
AlterField copies the table and re-creates every constraint of the model).
"""

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField
from django.db import DEFAULT_DB_ALIAS, connections, migrations
from django.db.models import Func


class TsTzRange(Func):
    """tstzrange(starts_at, ends_at, '[)'): the half-open time an appointment occupies."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


def _is_postgres(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


class PostgresExclusionConstraint(ExclusionConstraint):
    """An ExclusionConstraint that emits no SQL and validates nothing outside PostgreSQL."""

    def constraint_sql(self, model, schema_editor):
        return super().constraint_sql(model, schema_editor) if _is_postgres(schema_editor) else None

    def create_sql(self, model, schema_editor):
        return super().create_sql(model, schema_editor) if _is_postgres(schema_editor) else None

    def remove_sql(self, model, schema_editor):
        return super().remove_sql(model, schema_editor) if _is_postgres(schema_editor) else None

    def validate(self, model, instance, exclude=None, using=DEFAULT_DB_ALIAS):
        if connections[using].vendor != "postgresql":
            return
        super().validate(model, instance, exclude=exclude, using=using)


class PostgresOnlyAddConstraint(migrations.AddConstraint):
    """AddConstraint that changes the migration state everywhere but touches only PostgreSQL.

    (On SQLite a plain AddConstraint would rebuild the whole table for nothing.)
    """

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if _is_postgres(schema_editor):
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if _is_postgres(schema_editor):
            super().database_backwards(app_label, schema_editor, from_state, to_state)
