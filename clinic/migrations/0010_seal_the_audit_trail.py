from django.db import migrations


def seal_existing_rows(apps, schema_editor):
    """Start the audit chain with every change-history and access-log row that exists now (in table and
    id order); from here on each row is queued for the sealer as it is written (clinic/audit_chain.py)."""
    from clinic.audit_chain import chain_models, seal_everything

    seal_everything(chain_models(apps))


class Migration(migrations.Migration):
    dependencies = [
        ("clinic", "0009_audit_chain_and_access_log"),
        ("treatments", "0008_consultation_reads_into_the_access_log"),
        ("patients", "0006_name_keys_for_list_and_search"),
        ("scheduling", "0007_concurrent_course_reason"),
        ("outbox", "0003_drop_unused_rescheduled_action"),
        ("consents", "0002_seed_template_and_freeze_signed_rows"),
        ("photos", "0001_clinical_photos"),
    ]

    operations = [migrations.RunPython(seal_existing_rows, migrations.RunPython.noop)]
