"""Trigram index for patient search (PostgreSQL), the allergen groups, and role permissions."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

from patients.seeds import seed_allergen_groups_and_permissions

INDEX_SQL = (
    "CREATE INDEX IF NOT EXISTS patient_search_trgm ON patients_patient USING gin (search_text gin_trgm_ops)"
)


def create_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INDEX_SQL)


def drop_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS patient_search_trgm")


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial"), ("clinic", "0002_roles_and_defaults")]
    operations = [
        TrigramExtension(),
        migrations.RunPython(create_search_index, drop_search_index),
        migrations.RunPython(seed_allergen_groups_and_permissions, migrations.RunPython.noop),
    ]
