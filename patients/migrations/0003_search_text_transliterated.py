"""Rewrite every patient's search column with the transliterating fold (anyascii; apostrophes and
hyphens dropped), so that stored values and folded queries agree and the trigram index
(patient_search_trgm, migration 0002) indexes the new values.

The fold and the column's recipe are copied here as they were when this migration was written, not
imported: patients.models may change later, and this migration must keep doing what it did then.
"""

import unicodedata

from anyascii import anyascii
from django.db import migrations

BATCH = 500


def fold(text: str) -> str:
    return anyascii(text or "").lower().replace("'", "").replace("-", "")


def accent_fold(text: str) -> str:
    """The fold before this migration (accents stripped, nothing else): what going back restores."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def search_text(patient, fold) -> str:
    phone_digits = "".join(ch for ch in str(patient.phone or "") if ch.isdigit())
    national = str(patient.phone.national_number) if patient.phone else ""
    parts = [
        patient.given_name,
        patient.family_name,
        patient.preferred_name,
        patient.chart_number,
        patient.email,
        phone_digits,
        national,
    ]
    return fold(" ".join(p for p in parts if p))


def refold(apps, fold):
    Patient = apps.get_model("patients", "Patient")
    changed = []
    for patient in Patient.objects.order_by("pk").iterator(chunk_size=BATCH):
        text = search_text(patient, fold)
        if text != patient.search_text:
            patient.search_text = text
            changed.append(patient)
        if len(changed) >= BATCH:
            Patient.objects.bulk_update(changed, ["search_text"])
            changed = []
    Patient.objects.bulk_update(changed, ["search_text"])


def forwards(apps, schema_editor):
    refold(apps, fold)


def backwards(apps, schema_editor):
    refold(apps, accent_fold)


class Migration(migrations.Migration):
    dependencies = [("patients", "0002_search_index_allergens_permissions")]
    operations = [migrations.RunPython(forwards, backwards)]
