"""Clinical records built through the services, as the pages build them."""

import datetime
import itertools
from decimal import Decimal

from django.utils import timezone

from consents.tests.factories import signed_consent
from patients.models import AllergenGroup
from patients.services import screening_for
from patients.tests.factories import PatientFactory
from treatments import services
from treatments.models import Ingredient
from treatments.services import LineInput

ELIGIBLE_PLAN = {
    "decision": "eligible",
    "concerns": ["hydration", "fine_lines"],
    "plan_areas": ["face", "neck"],
    "plan_session_count": 4,
    "plan_interval_days": 14,
}


_count = itertools.count(1)


def patient(**fields):
    """A patient with an e-mail that is always valid (names from Faker may carry accents or apostrophes),
    33 on the factories' consultation date: the band [30, 35) is four sessions every two weeks, the plan
    of ELIGIBLE_PLAN, so it needs no reason (rule `course-count-range`, docs/clinical-rules.md)."""
    fields.setdefault("email", f"patient{next(_count)}@example.com")
    fields.setdefault("date_of_birth", datetime.date(1992, 6, 1))
    return PatientFactory(**fields)


def ingredient(name: str) -> Ingredient:
    return Ingredient.objects.get(name=name)


HA = "Non-cross-linked hyaluronic acid 1.35%"
VITAMIN_C = "Vitamin C (sodium ascorbate)"
PDRN = "Polynucleotides (PDRN) 7.5 mg/mL"
ZINC = "Zinc (zinc sulfate)"


def signed_consultation(practitioner, patient_obj=None, *, consent: bool = True, **fields):
    """A signed eligible consultation; with `consent`, the patient has also signed the treatment consent
    sessions need (rule `consent-before-session`, docs/clinical-rules.md)."""
    patient_obj = patient_obj or patient()
    fields = {**ELIGIBLE_PLAN, "date": datetime.date(2026, 3, 2), **fields}
    if consent and not patient_obj.consents.exists():
        # Signed at the consultation, so sessions dated after it are covered; renewed yesterday when that
        # is near the end of its validity, so sessions recorded today are too.
        day = fields["date"] or timezone.localdate()
        signed_consent(
            patient_obj,
            practitioner,
            on=timezone.make_aware(datetime.datetime.combine(day, datetime.time(9))),
        )
        if day < timezone.localdate() - datetime.timedelta(days=300):
            signed_consent(patient_obj, practitioner, days_ago=1)
    consultation = services.start_consultation(patient=patient_obj, by=practitioner, **fields)
    services.sign_consultation(consultation=consultation, by=practitioner)
    return consultation


def formulation(practitioner, consultation=None, lines=None, previous=None, **fields):
    consultation = consultation or signed_consultation(practitioner)
    lines = lines or [
        LineInput(ingredient=ingredient(HA), amount=Decimal("2")),
        LineInput(ingredient=ingredient(VITAMIN_C), amount=Decimal("100")),
    ]
    fields.setdefault("total_volume_ml", Decimal("4"))
    return services.create_formulation(
        consultation=consultation, by=practitioner, lines=lines, previous=previous, **fields
    )


_lot_numbers = itertools.count(1)


def stock_lot(ingredient_obj, *, quantity=Decimal("1000"), expiry=None, by=None, number=None, **fields):
    """A lot of the product received into stock, in date for two years unless told otherwise."""
    lot = services.receive_stock(
        ingredient=ingredient_obj,
        by=by,
        lot_number=number or f"L{next(_lot_numbers):05d}",
        expiry_date=datetime.date.today() + datetime.timedelta(days=730),
        quantity_received=quantity,
        received_on=datetime.date(2025, 12, 1),
        **fields,
    )
    # Expiry is set after receipt so a test can make an already expired lot.
    lot.expiry_date = expiry or (datetime.date.today() + datetime.timedelta(days=730))
    lot.save(update_fields=["expiry_date"])
    return lot


def lots_for(formulation_obj, **options) -> dict:
    """One fresh lot from stock for each product line of the formulation, by line id."""
    return {line.pk: stock_lot(line.ingredient, **options) for line in formulation_obj.lines.all()}


def session_record(practitioner, formulation_obj=None, with_lots=True, **fields):
    """A session record; each product line gets a fresh lot from stock unless `with_lots=False`."""
    formulation_obj = formulation_obj or formulation(practitioner)
    if with_lots and "lots" not in fields:
        fields["lots"] = lots_for(formulation_obj)
    fields = {
        "areas": ["face"],
        "technique": "needle",
        "needle_gauge": "32G",
        "volume_ml": Decimal("3.5"),
        "pain_score": 3,
        **fields,
    }
    return services.record_session(formulation=formulation_obj, by=practitioner, **fields)


def allergic_to(patient, group_name: str) -> None:
    screening_for(patient).allergen_groups.add(AllergenGroup.objects.get(name=group_name))
