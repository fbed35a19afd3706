"""The allergen groups a screening offers, and each role's permissions on patients and screenings
(seeded by patients/migrations/0002; see clinic/seeds.py for the rules every seed follows)."""

from clinic.seeds import CLINIC_ADMIN, FRONT_DESK, PRACTITIONER, grant_permissions

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


def seed_allergen_groups_and_permissions(apps, schema_editor=None) -> None:
    AllergenGroup = apps.get_model("patients", "AllergenGroup")
    for name, description in ALLERGEN_GROUPS:
        AllergenGroup.objects.get_or_create(name=name, defaults={"description": description})
    staff_patient = ["view_patient", "add_patient", "change_patient"]
    grant_permissions(
        apps,
        "patients",
        {
            FRONT_DESK: staff_patient,
            PRACTITIONER: staff_patient
            + ["view_screening", "add_screening", "change_screening", "view_allergengroup"],
            CLINIC_ADMIN: staff_patient + ["view_allergengroup", "add_allergengroup", "change_allergengroup"],
        },
    )
