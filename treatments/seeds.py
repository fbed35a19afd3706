"""A starting catalogue of skin-rejuvenation mesotherapy ingredients (editable data, not code), and
the role permissions on clinical records: practitioners write them, clinic admin reads them and
manages the catalogue, front desk gets nothing (seeded by treatments/migrations/0002; see
clinic/seeds.py for the rules every seed follows)."""

from decimal import Decimal

from clinic.seeds import CLINIC_ADMIN, PRACTITIONER, grant_permissions

T, F, P, H = "texture_tone", "fine_lines", "pigmentation", "hydration"

# name, category, unit, typical, maximum, concerns, allergen group, description
CATALOGUE = [
    (
        "Non-cross-linked hyaluronic acid 1.35%",
        "hyaluronic_acid",
        "mL",
        "2",
        "4",
        [H, F, T],
        "Hyaluronic acid",
        "Free hyaluronic acid for hydration and skin quality",
    ),
    (
        "Vitamin C (sodium ascorbate)",
        "vitamin",
        "mg",
        "100",
        "400",
        [P, T],
        "Vitamin C (ascorbates)",
        "Antioxidant, brightening, collagen synthesis cofactor",
    ),
    ("B-vitamin complex", "vitamin", "mL", "1", "2", [T, H], "B vitamins", "B1, B2, B3, B5, B6 in solution"),
    ("Biotin (vitamin B7)", "vitamin", "mg", "5", "10", [T], "B vitamins", "Skin and scalp support"),
    (
        "Niacinamide (vitamin B3)",
        "vitamin",
        "mg",
        "20",
        "50",
        [P, T],
        "B vitamins",
        "Barrier support, evens tone",
    ),
    (
        "Vitamin E (tocopherol)",
        "vitamin",
        "IU",
        "50",
        "100",
        [H, F],
        "Coenzymes and antioxidants",
        "Lipophilic antioxidant",
    ),
    (
        "Amino-acid blend",
        "amino_acid",
        "mL",
        "1",
        "2",
        [F, T],
        "Amino acids",
        "Glycine, L-proline, L-lysine, L-leucine",
    ),
    (
        "Reduced glutathione",
        "antioxidant",
        "mg",
        "300",
        "600",
        [P],
        "Glutathione",
        "Antioxidant, depigmenting",
    ),
    (
        "Tranexamic acid",
        "depigmenting",
        "mg",
        "25",
        "50",
        [P],
        "Tranexamic acid",
        "Melasma and post-inflammatory pigmentation",
    ),
    (
        "Copper tripeptide-1 (GHK-Cu)",
        "peptide",
        "mg",
        "1",
        "2",
        [F, T],
        "Peptides",
        "Remodelling, wound-healing peptide",
    ),
    ("Acetyl hexapeptide-8", "peptide", "mg", "5", "10", [F], "Peptides", "Expression-line peptide"),
    (
        "Oligopeptide blend (biomimetic)",
        "peptide",
        "mL",
        "1",
        "2",
        [F, T],
        "Peptides",
        "Signal peptides for firmness",
    ),
    (
        "Organic silicon (monomethylsilanetriol)",
        "mineral",
        "mL",
        "1",
        "2",
        [F, T],
        "Organic silicon",
        "Structural support of elastin and collagen",
    ),
    ("DMAE 3%", "other", "mL", "1", "2", [F, T], "DMAE", "Tightening effect"),
    (
        "Polynucleotides (PDRN) 7.5 mg/mL",
        "nucleotide",
        "mL",
        "2",
        "4",
        [F, H, T],
        "Polynucleotides (fish DNA)",
        "Salmon-derived DNA fragments for regeneration",
    ),
    (
        "Alpha-lipoic acid",
        "antioxidant",
        "mg",
        "20",
        "50",
        [F, T],
        "Coenzymes and antioxidants",
        "Antioxidant, anti-inflammatory",
    ),
    (
        "Coenzyme Q10",
        "antioxidant",
        "mg",
        "10",
        "30",
        [F],
        "Coenzymes and antioxidants",
        "Mitochondrial antioxidant",
    ),
    ("Zinc (zinc sulfate)", "mineral", "mg", "2", "5", [T], None, "Trace element"),
    ("Copper (copper gluconate)", "mineral", "mcg", "500", "1000", [T], None, "Trace element"),
    ("Magnesium (magnesium chloride)", "mineral", "mg", "20", "50", [H, T], None, "Trace element"),
    ("Kojic acid 1%", "depigmenting", "%", "1", "2", [P], None, "Tyrosinase inhibitor"),
]

PRACTITIONER_PERMISSIONS = [
    "view_ingredient",
    "view_consultation",
    "add_consultation",
    "change_consultation",
    "view_consultationanswer",
    "add_consultationanswer",
    "change_consultationanswer",
    "view_addendum",
    "add_addendum",
    "view_formulation",
    "add_formulation",
    "view_formulationline",
    "add_formulationline",
    "view_sessionrecord",
    "add_sessionrecord",
    "change_sessionrecord",
    "view_sessionlot",
    "add_sessionlot",
    "change_sessionlot",
]
CLINIC_ADMIN_PERMISSIONS = [
    "view_ingredient",
    "add_ingredient",
    "change_ingredient",
    "view_consultation",
    "view_consultationanswer",
    "view_addendum",
    "view_formulation",
    "view_formulationline",
    "view_sessionrecord",
    "view_sessionlot",
]


def seed_ingredient_catalogue_and_permissions(apps, schema_editor=None) -> None:
    AllergenGroup = apps.get_model("patients", "AllergenGroup")
    Ingredient = apps.get_model("treatments", "Ingredient")
    groups = {g.name: g for g in AllergenGroup.objects.all()}
    for name, category, unit, typical, maximum, concerns, group, description in CATALOGUE:
        Ingredient.objects.get_or_create(
            name=name,
            defaults={
                "category": category,
                "unit": unit,
                "typical_amount": Decimal(typical),
                "maximum_amount": Decimal(maximum),
                "concerns": concerns,
                "allergen_group": groups.get(group) if group else None,
                "description": description,
            },
        )
    grant_permissions(
        apps,
        "treatments",
        {PRACTITIONER: PRACTITIONER_PERMISSIONS, CLINIC_ADMIN: CLINIC_ADMIN_PERMISSIONS},
    )
