"""Data for figures 8 and 9, made by the figures themselves (bench/build_data.py is the shared data):
a practitioner, a session with a 60-point map, and a lot used at 5,000 sessions. Idempotent: the
second run finds what the first made. Rows are bulk-inserted (the services would take minutes for
5,000 sessions); what the pages read is the same."""

import datetime
from decimal import Decimal

MAP_CHART = "BL-MAP-01"
RECALL_LOT = "BENCH-RC-5000"
RECALL_USES = 5000
PER_PATIENT = 5


def practitioner():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from clinic.roles import PRACTITIONER

    user, made = get_user_model().objects.get_or_create(
        username="bench-lots-prac", defaults={"first_name": "Bench", "last_name": "Lots"}
    )
    if made:
        user.set_password("bench")
        user.save()
        user.groups.add(Group.objects.get(name=PRACTITIONER))
    return user


def _patients(prefix: str, count: int, by) -> list:
    from patients.models import Patient

    existing = list(Patient.objects.filter(chart_number__startswith=prefix).order_by("chart_number"))
    if len(existing) >= count:
        return existing[:count]
    made = [
        Patient(
            chart_number=f"{prefix}{n:05d}",
            given_name="Bench",
            family_name=f"Lot {n}",
            date_of_birth=datetime.date(1985, 1, 1),
            email=f"bench-lot-{prefix.lower()}{n}@example.com",
            email_consent=True,
            created_by=by,
        )
        for n in range(len(existing), count)
    ]
    Patient.objects.bulk_create(made, batch_size=1000)
    return list(Patient.objects.filter(chart_number__startswith=prefix).order_by("chart_number"))


def _courses(patients, by, ingredient):
    """One signed consultation, one formulation with one line of `ingredient` per patient."""
    from django.utils import timezone

    from treatments.models import Consultation, Formulation, FormulationLine

    now = timezone.now()
    consultations = Consultation.objects.bulk_create(
        [
            Consultation(
                patient=p,
                practitioner=by,
                date=datetime.date(2026, 1, 5),
                decision="eligible",
                signed_at=now,
                signed_by=by,
            )
            for p in patients
        ],
        batch_size=1000,
    )
    formulations = Formulation.objects.bulk_create(
        [
            Formulation(
                patient=c.patient, consultation=c, version=1, total_volume_ml=Decimal("3"), created_by=by
            )
            for c in consultations
        ],
        batch_size=1000,
    )
    lines = FormulationLine.objects.bulk_create(
        [
            FormulationLine(
                formulation=f, ingredient=ingredient, amount=ingredient.typical_amount, unit=ingredient.unit
            )
            for f in formulations
        ],
        batch_size=1000,
    )
    return list(zip(formulations, lines, strict=True))


def _lot(ingredient, number, by, quantity):
    from treatments.models import StockLot

    lot, _ = StockLot.objects.get_or_create(
        ingredient=ingredient,
        lot_number=number,
        defaults={
            "expiry_date": datetime.date(2030, 1, 1),
            "quantity_received": quantity,
            "quantity_remaining": quantity,
            "received_on": datetime.date(2026, 1, 1),
            "received_by": by,
        },
    )
    return lot


def map_session():
    """A session marked done with a 60-point map over four zones."""
    from django.db import transaction
    from django.utils import timezone

    from treatments.injection_map import BY_KEY
    from treatments.models import Ingredient, InjectionZone, SessionLot, SessionRecord

    by = practitioner()
    found = SessionRecord.objects.filter(patient__chart_number=f"{MAP_CHART}00000").first()
    if found:
        return found
    with transaction.atomic():
        ingredient = Ingredient.objects.active().order_by("name").first()
        patient = _patients(MAP_CHART, 1, by)[0]
        [(formulation, line)] = _courses([patient], by, ingredient)
        lot = _lot(ingredient, "BENCH-MAP-1", by, ingredient.typical_amount * 10)
        now = timezone.now()
        record = SessionRecord.objects.create(
            patient=patient,
            practitioner=by,
            performed_at=now - datetime.timedelta(days=1),
            formulation=formulation,
            areas=["face", "neck"],
            needle_gauge="32G",
            volume_ml=Decimal("3"),
            done_at=now,
            done_by=by,
        )
        SessionLot.objects.create(session_record=record, line=line, lot_number=lot.lot_number, stock_lot=lot)
        for key, n, volume in (
            ("forehead", 20, "1"),
            ("cheek_right", 15, "0.75"),
            ("cheek_left", 15, "0.75"),
            ("neck_front", 10, "0.5"),
        ):
            InjectionZone.objects.create(
                session_record=record,
                zone=key,
                needle_gauge="32G",
                depth_mm=Decimal("1.5"),
                volume_ml=Decimal(volume),
                stock_lot=lot,
                points=[list(BY_KEY[key].grid(i)) for i in range(n)],
            )
    return record


def recall_lot():
    """A lot used at RECALL_USES sessions of RECALL_USES / PER_PATIENT patients."""
    from django.db import transaction
    from django.utils import timezone

    from treatments.models import Ingredient, SessionLot, SessionRecord, StockLot

    by = practitioner()
    existing = StockLot.objects.filter(lot_number=RECALL_LOT).first()
    if existing and existing.uses.count() >= RECALL_USES:
        return existing
    with transaction.atomic():
        ingredient = Ingredient.objects.active().order_by("-name").first()
        lot = _lot(ingredient, RECALL_LOT, by, ingredient.typical_amount * RECALL_USES)
        patients = _patients("BL-RC-", RECALL_USES // PER_PATIENT, by)
        courses = _courses(patients, by, ingredient)
        now = timezone.now()
        records = SessionRecord.objects.bulk_create(
            [
                SessionRecord(
                    patient_id=formulation.patient_id,
                    practitioner=by,
                    performed_at=now - datetime.timedelta(days=7 * n + 1),
                    formulation=formulation,
                    areas=["face"],
                    needle_gauge="32G",
                    volume_ml=Decimal("3"),
                    done_at=now,
                    done_by=by,
                )
                for formulation, _ in courses
                for n in range(PER_PATIENT)
            ],
            batch_size=1000,
        )
        line_of = {formulation.pk: line for formulation, line in courses}
        SessionLot.objects.bulk_create(
            [
                SessionLot(
                    session_record=r, line=line_of[r.formulation_id], lot_number=lot.lot_number, stock_lot=lot
                )
                for r in records
            ],
            batch_size=1000,
        )
    return lot
