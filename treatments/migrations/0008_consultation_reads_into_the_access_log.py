from django.db import migrations


def copy_reads(apps, schema_editor):
    """Every consultation read logged so far becomes a row of the one access log (clinic.AccessLogEntry),
    with its time and reader; where it came from was not recorded then."""
    old = apps.get_model("treatments", "ConsultationAccessLog")
    new = apps.get_model("clinic", "AccessLogEntry")
    rows = old.objects.select_related("consultation").order_by("accessed_at", "id").iterator(chunk_size=2000)
    batch = []
    for read in rows:
        batch.append(
            new(
                at=read.accessed_at,
                user_id=read.user_id,
                patient_id=read.consultation.patient_id,
                what="consultation",
                object_id=read.consultation_id,
            )
        )
        if len(batch) >= 2000:
            new.objects.bulk_create(batch)
            batch = []
    new.objects.bulk_create(batch)


def copy_back(apps, schema_editor):
    old = apps.get_model("treatments", "ConsultationAccessLog")
    new = apps.get_model("clinic", "AccessLogEntry")
    for read in new.objects.filter(what="consultation", object_id__isnull=False).iterator():
        made = old.objects.create(consultation_id=read.object_id, user_id=read.user_id)
        old.objects.filter(pk=made.pk).update(accessed_at=read.at)


class Migration(migrations.Migration):
    dependencies = [
        ("treatments", "0007_old_lot_numbers_to_stock"),
        ("clinic", "0009_audit_chain_and_access_log"),
    ]

    operations = [
        migrations.RunPython(copy_reads, copy_back),
        migrations.DeleteModel(name="ConsultationAccessLog"),
    ]
