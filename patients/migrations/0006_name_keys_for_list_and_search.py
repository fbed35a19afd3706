"""The shown phone (formatted once, PHONENUMBER_DEFAULT_FORMAT) and folded family and given name keys for the patient list's order and the search's exact and prefix
matches (issue 19), filled for every patient, and indexed in byte order: on PostgreSQL as
`COLLATE "C"` expressions (so a prefix is one index range and the order needs no sort, whatever the
database's collation), on SQLite as plain columns (its default collation is already byte order).

The fold is copied here as it was when this migration was written, not imported (see 0003).
"""

import phonenumbers
from anyascii import anyascii
from django.conf import settings
from django.db import migrations, models

BATCH = 20_000

INDEXES = {
    "postgresql": [
        "CREATE INDEX IF NOT EXISTS patient_family_key_order ON patients_patient "
        '((family_key COLLATE "C"), (given_key COLLATE "C"), id)',
        "CREATE INDEX IF NOT EXISTS patient_given_key_order ON patients_patient "
        '((given_key COLLATE "C"), (family_key COLLATE "C"), id)',
    ],
    "sqlite": [
        "CREATE INDEX IF NOT EXISTS patient_family_key_order ON patients_patient (family_key, given_key, id)",
        "CREATE INDEX IF NOT EXISTS patient_given_key_order ON patients_patient (given_key, family_key, id)",
    ],
}


def name_key(name: str) -> str:
    return " ".join(anyascii(name or "").lower().replace("'", "").replace("-", "").split())


def phone_display(phone) -> str:
    if not phone:
        return ""
    try:
        number = phonenumbers.parse(str(phone.as_e164 if hasattr(phone, "as_e164") else phone))
    except phonenumbers.NumberParseException:
        return str(phone)
    return phonenumbers.format_number(
        number, getattr(phonenumbers.PhoneNumberFormat, settings.PHONENUMBER_DEFAULT_FORMAT)
    )


def fill_keys(apps, schema_editor):
    Patient = apps.get_model("patients", "Patient")
    rows = Patient.objects.order_by("id").values_list("id", "family_name", "given_name", "phone")
    postgresql = schema_editor.connection.vendor == "postgresql"
    if postgresql:  # one COPY and one UPDATE per batch (bulk_update's CASE grows with the batch)
        schema_editor.execute(
            "CREATE TEMPORARY TABLE patient_keys (id bigint, family text, given text, phone text)"
        )
    last = 0
    while True:
        batch = list(rows.filter(id__gt=last)[:BATCH])
        if not batch:
            break
        last = batch[-1][0]
        if postgresql:
            with schema_editor.connection.cursor() as cursor:
                with cursor.cursor.copy("COPY patient_keys (id, family, given, phone) FROM STDIN") as copy:
                    for pk, family, given, phone in batch:
                        copy.write_row((pk, name_key(family), name_key(given), phone_display(phone)))
                cursor.execute(
                    "UPDATE patients_patient p SET family_key = k.family, given_key = k.given, "
                    "phone_display = k.phone FROM patient_keys k WHERE p.id = k.id"
                )
                cursor.execute("TRUNCATE patient_keys")
        else:
            Patient.objects.bulk_update(
                [
                    Patient(
                        id=pk, family_key=name_key(f), given_key=name_key(g), phone_display=phone_display(p)
                    )
                    for pk, f, g, p in batch
                ],
                ["family_key", "given_key", "phone_display"],
                batch_size=100,
            )
    if postgresql:
        schema_editor.execute("DROP TABLE patient_keys")


def create_indexes(apps, schema_editor):
    for sql in INDEXES.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql)


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor in INDEXES:
        schema_editor.execute("DROP INDEX IF EXISTS patient_family_key_order")
        schema_editor.execute("DROP INDEX IF EXISTS patient_given_key_order")


class Migration(migrations.Migration):
    dependencies = [
        ("patients", "0005_erasure_requests"),
    ]

    operations = [
        migrations.AddField(
            model_name="patient",
            name="family_key",
            field=models.TextField(default="", editable=False),
        ),
        migrations.AddField(
            model_name="patient",
            name="given_key",
            field=models.TextField(default="", editable=False),
        ),
        migrations.AddField(
            model_name="patient",
            name="phone_display",
            field=models.CharField(default="", editable=False, max_length=40),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
