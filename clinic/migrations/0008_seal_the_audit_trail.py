from django.db import migrations


def seal_existing_rows(apps, schema_editor):
    """Start the audit chain with every change-history and access-log row that exists now (in table and
    id order); from here on each row is sealed when it is written (clinic/audit_chain.py)."""
    from clinic.audit_chain import chain_models, seal_everything

    seal_everything(chain_models(apps))


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0007_audit_chain_and_access_log"),
        ("treatments", "0005_consultation_reads_into_the_access_log"),
        ("patients", "0004_plain_constraint_messages"),
        ("scheduling", "0006_plain_constraint_messages"),
        ("outbox", "0002_plain_constraint_messages"),
    ]

    operations = [migrations.RunPython(seal_existing_rows, migrations.RunPython.noop)]
