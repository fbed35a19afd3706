"""Trigram index for patient search (PostgreSQL), the allergen groups, and role permissions."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

from clinic.roles import grant_permissions

ALLERGEN_GROUPS = [
    ("Hyaluronic acid", "Non-cross-linked and cross-linked hyaluronic acid"),
    ("Vitamin C (ascorbates)", "Ascorbic acid and its salts"),
    ("B vitamins", "B-vitamin complexes, including cobalamin and biotin"),
    ("Amino acids", "Amino-acid blends (glycine, proline, lysine…)"),
    ("Glutathione", "Reduced glutathione"),
    ("Tranexamic acid", "Tranexamic acid"),
    ("Peptides", "Biomimetic peptides, copper peptides"),
    ("Organic silicon", "Silanols, monomethylsilanetriol"),
    ("DMAE", "Dimethylaminoethanol"),
    ("Polynucleotides (fish DNA)", "Polynucleotides and PDRN, usually from salmon or trout"),
    ("Local anaesthetics (amide)", "Lidocaine, prilocaine and other amide anaesthetics"),
    ("Parabens and preservatives", "Preservatives in multi-dose vials"),
    ("Sulfites", "Sodium metabisulfite and other sulfite antioxidants"),
    ("Coenzymes and antioxidants", "Alpha-lipoic acid, coenzyme Q10"),
    ("Latex", "Latex in gloves or vial stoppers"),
]

INDEX_SQL = (
    "CREATE INDEX IF NOT EXISTS patient_search_trgm ON patients_patient USING gin (search_text gin_trgm_ops)"
)


def create_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INDEX_SQL)


def drop_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS patient_search_trgm")


def seed(apps, schema_editor):
    AllergenGroup = apps.get_model("patients", "AllergenGroup")
    for name, description in ALLERGEN_GROUPS:
        AllergenGroup.objects.get_or_create(name=name, defaults={"description": description})
    staff_patient = ["view_patient", "add_patient", "change_patient"]
    grant_permissions(
        apps,
        schema_editor,
        "patients",
        {
            "front_desk": staff_patient,
            "practitioner": staff_patient
            + ["view_screening", "add_screening", "change_screening", "view_allergengroup"],
            "clinic_admin": staff_patient
            + ["view_allergengroup", "add_allergengroup", "change_allergengroup"],
        },
    )


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial"), ("clinic", "0002_roles_and_defaults")]
    operations = [
        TrigramExtension(),
        migrations.RunPython(create_search_index, drop_search_index),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
