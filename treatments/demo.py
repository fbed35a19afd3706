"""Demo clinical records, after the patients demo: for about 60 patients of treatable age a signed
consultation, one or two formulation versions (never with an ingredient they are allergic to) and a few
sessions marked done; a few deferred consultations for patients with a contraindication, and some
unsigned drafts and open sessions so the practitioners' dashboard has something to show.
The same seed builds the same records."""

import datetime
import random
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth.models import User
from django.utils import timezone

from clinic.roles import PRACTITIONER
from consents.demo import sign_demo_consent
from patients.models import Answer, Patient
from patients.services import screening_for, update_screening
from scheduling.demo import last_open_hour, open_hour
from scheduling.planner import interval_for_cadence

from . import injection_map, services
from .models import Concern, Ingredient, StockLot
from .services import LineInput

ELIGIBLE_TARGET = 60
DEFERRED_TARGET = 6
GOALS = [
    "Brighter, more even skin before a wedding in the summer",
    "Less dull skin and fewer fine lines around the eyes",
    "Fade sun spots on the cheeks and hands",
    "Deeper hydration; skin feels tight after winter",
    "Smoother texture after acne years",
    "Refresh the neck and décolleté",
]
ASSESSMENTS = [
    "Dehydrated, dull complexion; fine lines periorbital and perioral.",
    "Mild photo-ageing, solar lentigines on malar area, good elasticity.",
    "Uneven texture with enlarged pores; no active inflammation.",
    "Thin skin on the neck with horizontal lines; moderate laxity.",
    "Melasma-like pigmentation on forehead and upper lip; Fitzpatrick III.",
]
AFTERCARE = [
    "Use the hyaluronic serum twice a day for a week.",
    "Avoid the gym and sauna for 48 hours.",
    "Arnica gel on any bruise, twice a day.",
    "",
    "",
]
NUMBING = "Lidocaine/prilocaine 2.5%/2.5% cream"


def _dt(day: datetime.date, hour: int) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, 0)))


def _amount(rng: random.Random, ingredient: Ingredient) -> Decimal:
    factor = Decimal(rng.choice(["1", "1", "1", "1.5", "0.5"]))
    amount = min(ingredient.typical_amount * factor, ingredient.maximum_amount)
    return amount.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP).normalize()


def _lines(rng, ingredients, allergies, concerns) -> list[LineInput]:
    allowed = [i for i in ingredients if i.allergen_group_id not in allergies]
    fitting = [i for i in allowed if set(i.concerns) & set(concerns)] or allowed
    chosen = rng.sample(fitting, k=min(len(fitting), rng.randint(3, 5)))
    return [LineInput(ingredient=i, amount=_amount(rng, i)) for i in sorted(chosen, key=lambda i: i.name)]


def _volume(lines: list[LineInput], rng) -> Decimal:
    liquid = sum((line.amount for line in lines if line.ingredient.unit == "mL"), Decimal(0))
    return (liquid + Decimal(rng.choice([1, 2, 2, 3]))).quantize(Decimal("0.5"))


def _backdate(obj, **stamps) -> None:
    """Demo records happened in the past: put their own timestamps there too (a normal, audited save)."""
    for name, value in stamps.items():
        setattr(obj, name, value)
    obj.save()


def build(*, stdout, seed: int) -> None:
    rng = random.Random(seed + 3)
    practitioners = list(User.objects.filter(groups__name=PRACTITIONER).order_by("username"))
    if not practitioners:
        stdout.write("Treatments demo: no practitioners, skipped.")
        return
    ingredients = list(Ingredient.objects.active().order_by("name"))
    today = timezone.localdate()
    patients = [p for p in Patient.objects.active().order_by("id") if 28 <= p.age_on(today) <= 65]
    rng.shuffle(patients)
    eligible = deferred = sessions = versions = 0
    stock = receive_demo_stock(ingredients, by=None, today=today)
    for patient in patients:
        if eligible >= ELIGIBLE_TARGET and deferred >= DEFERRED_TARGET:
            break
        screening = screening_for(patient)
        allergies = {g.pk for g in screening.allergen_groups.all()}
        has_yes = screening.answers.filter(answer=Answer.YES).exists()
        practitioner = rng.choice(practitioners)
        concerns = rng.sample(Concern.values[:4], k=rng.randint(1, 3))
        day = open_hour(today - datetime.timedelta(days=rng.randint(40, 240)), 9).date()  # an open day
        common = {
            "date": day,
            "concerns": concerns,
            "goals": rng.choice(GOALS),
            "skin_assessment": rng.choice(ASSESSMENTS),
        }
        if has_yes:
            if deferred >= DEFERRED_TARGET:
                continue
            consultation = services.start_consultation(
                patient=patient,
                by=practitioner,
                decision="deferred",
                decision_reason="Contraindication at screening: review after it has resolved or with the GP.",
                **common,
            )
            services.sign_consultation(consultation=consultation, by=practitioner)
            _backdate(consultation, signed_at=_dt(day, 18))
            deferred += 1
            continue
        if eligible >= ELIGIBLE_TARGET:
            continue
        # The course the band proposes for the age on the consultation date (rules
        # `band-proposes-practitioner-decides`, `course-count-range`); without a band, the
        # practitioner's own choice with its reason (rule `no-band-no-default`, docs/clinical-rules.md).
        _, band = services.plan_protocol(patient, day)
        if band is not None:
            count = rng.randint(band.min_sessions, band.max_sessions)
            interval = interval_for_cadence(band.sessions_per_period, band.period_days)
            plan_reason = ""
        else:
            count, interval = 4, 14
            plan_reason = (
                "No protocol for this age: four sessions two weeks apart, reviewed after the second."
            )
        consultation = services.start_consultation(
            patient=patient,
            by=practitioner,
            decision="eligible",
            plan_areas=rng.choice([["face"], ["face", "neck"], ["face", "neck", "decollete"], ["hands"]]),
            plan_session_count=count,
            plan_interval_days=interval,
            plan_reason=plan_reason,
            plan_notes="Review the response after the second session.",
            # An allergy recorded is a "yes" (rule `allergy-single-source`): the formulation leaves
            # the allergen out, which is the reason eligibility stands.
            override_reason="Allergen group left out of the formulation." if allergies else "",
            answers={item: Answer.NO for item, answer in services.screening_answers(patient).items()},
            **common,
        )
        services.sign_consultation(consultation=consultation, by=practitioner)
        _backdate(consultation, signed_at=_dt(day, 18))
        sign_demo_consent(patient, practitioner, _dt(day, 18))
        eligible += 1
        lines = _lines(rng, ingredients, allergies, concerns)
        formulation = services.create_formulation(
            consultation=consultation,
            by=practitioner,
            lines=lines,
            total_volume_ml=_volume(lines, rng),
            concerns=concerns,
            vehicle="Sterile saline 0.9%",
        )
        _backdate(formulation, created_at=_dt(day, 18))
        versions += 1
        done = rng.randint(1, consultation.plan_session_count)
        for n in range(done + (1 if eligible % 15 == 0 else 0)):
            when = open_hour(
                day + datetime.timedelta(days=7 + n * interval), rng.choice([9, 10, 11, 14, 15, 16])
            )
            if when.date() >= today:
                break
            if n == 2 and rng.random() < 0.5:
                lines = [
                    LineInput(ingredient=line.ingredient, amount=_amount(rng, line.ingredient))
                    for line in lines
                ]
                formulation = services.create_formulation(
                    consultation=consultation,
                    by=practitioner,
                    lines=lines,
                    total_volume_ml=_volume(lines, rng),
                    concerns=concerns,
                    vehicle="Sterile saline 0.9%",
                    previous=formulation,
                    notes="Adjusted after review at session 2.",
                )
                _backdate(formulation, created_at=when - datetime.timedelta(hours=1))
                versions += 1
            numbing = rng.random() < 0.4
            technique = rng.choice(["needle", "needle", "injector"])
            record = services.record_session(
                formulation=formulation,
                by=practitioner,
                performed_at=when,
                areas=consultation.plan_areas,
                technique=technique,
                needle_gauge=rng.choice(["30G", "32G"]) if technique == "needle" else "",
                grid_spacing_mm=Decimal(rng.choice(["2", "3", "4"])),
                depth_mm=Decimal(rng.choice(["1", "1.5", "2"])),
                numbing_cream=numbing,
                numbing_product=NUMBING if numbing else "",
                volume_ml=formulation.total_volume_ml,
                pain_score=rng.randint(1, 5),
                reactions=rng.choice([["redness"], ["redness", "swelling"], [], ["bruising"]]),
                aftercare_instructions=rng.choice(AFTERCARE),
                lots={line.pk: stock[line.ingredient_id] for line in formulation.lines.all()},
            )
            sessions += 1
            if n < done:
                services.mark_session_done(session_record=record, by=practitioner)
                finished = when + datetime.timedelta(minutes=55)
                _backdate(record, done_at=finished, aftercare_due_at=finished)
    # Unsigned drafts for the practitioners' dashboards.
    for patient in patients[-3:]:
        services.start_consultation(
            patient=patient, by=practitioners[0], concerns=["hydration"], goals="First visit; undecided."
        )
    stdout.write(
        f"Treatments demo: {eligible} eligible and {deferred} deferred consultations, "
        f"{versions} formulation versions, {sessions} session records."
    )


def receive_demo_stock(ingredients, *, by, today) -> dict:
    """One lot of each product, received 300 days ago, in date for a year and a half, with enough for
    every demo session: the lot each demo session picks, by product id."""
    stock = {}
    for ingredient in ingredients:
        stock[ingredient.pk] = services.receive_stock(
            ingredient=ingredient,
            by=by,
            lot_number=f"D{ingredient.pk:03d}-{today:%y}",
            expiry_date=today + datetime.timedelta(days=540),
            quantity_received=ingredient.typical_amount * 1000,
            supplier="Meso Supplies Ltd",
            received_on=today - datetime.timedelta(days=300),
        )
    return stock


def _session(formulation, practitioner, when, **extra):
    return services.record_session(
        formulation=formulation,
        by=practitioner,
        performed_at=when,
        areas=["face"],
        technique="needle",
        needle_gauge="32G",
        grid_spacing_mm=Decimal("3"),
        depth_mm=Decimal("1.5"),
        numbing_cream=False,
        volume_ml=formulation.total_volume_ml,
        pain_score=2,
        reactions=["redness"],
        aftercare_instructions="Avoid the sauna for 48 hours.",
        **extra,
    )


def build_states(*, patients: dict, practitioner, now: datetime.datetime) -> dict:
    """One clinical record in each state the models allow, for the patients of patients.demo.build_states:
    consultations draft, signed, with an addendum, eligible / not eligible / deferred and eligible
    with a contraindication override; three formulation versions (used in a session done, used in a
    session still open, unused), one line above the ingredient's maximum with its reason."""
    today = timezone.localdate(now)
    day = open_hour(today - datetime.timedelta(days=30), 9).date()
    common = {"date": day, "concerns": ["hydration"], "goals": "Brighter skin", "skin_assessment": "Dull."}
    plan = {"plan_areas": ["face"], "plan_session_count": 4, "plan_interval_days": 14}
    made = {}
    made["draft"] = services.start_consultation(
        patient=patients["greek"], by=practitioner, concerns=["hydration"], goals="First visit; undecided."
    )
    for key, decision in (("not_eligible", "not_eligible"), ("deferred", "deferred")):
        patient = patients["cyrillic" if key == "not_eligible" else "arabic"]
        consultation = services.start_consultation(
            patient=patient, by=practitioner, decision=decision, decision_reason="Pregnancy.", **common
        )
        made[key] = services.sign_consultation(consultation=consultation, by=practitioner)
    update_screening(
        patient=patients["cjk"],
        by=practitioner,
        allergen_groups=[],
        allergy_notes="",
        current_medications="Warfarin 5 mg daily",
        fitzpatrick_type="III",
        answers=dict.fromkeys(services.screening_answers(patients["cjk"]), (Answer.NO, day))
        | {"anticoagulants": (Answer.YES, day)},
    )
    override = services.start_consultation(
        patient=patients["cjk"],
        by=practitioner,
        decision="eligible",
        override_reason="The GP confirmed the dose is stable; fine needle, pressure after each point.",
        **common,
        **plan,
    )
    made["override"] = services.sign_consultation(consultation=override, by=practitioner)
    for key in ("folded", "script", "template"):
        eligible = services.start_consultation(
            patient=patients[key],
            by=practitioner,
            decision="eligible",
            answers=dict.fromkeys(services.screening_answers(patients[key]), Answer.NO),
            **common,
            **plan,
        )
        made[f"eligible_{key}"] = services.sign_consultation(consultation=eligible, by=practitioner)
    made["addendum"] = services.add_addendum(
        consultation=made["eligible_folded"], by=practitioner, text="Patient called: {{ fine }} <b>after</b>."
    )
    ingredients = list(Ingredient.objects.active().order_by("name")[:3])
    lines = [LineInput(ingredient=i, amount=i.typical_amount) for i in ingredients]
    first = services.create_formulation(
        consultation=made["eligible_folded"], by=practitioner, lines=lines, total_volume_ml=Decimal("3")
    )
    top = ingredients[0]
    above = [
        LineInput(
            ingredient=top,
            amount=top.maximum_amount + 1,
            override_reason="Resistant pigmentation; agreed with the patient.",
        ),
        *lines[1:],
    ]
    second = services.create_formulation(
        consultation=made["eligible_folded"],
        by=practitioner,
        lines=above,
        total_volume_ml=Decimal("3.5"),
        previous=first,
        notes="More of the first ingredient.",
    )
    third = services.create_formulation(
        consultation=made["eligible_folded"],
        by=practitioner,
        lines=lines,
        total_volume_ml=Decimal("3"),
        previous=second,
        notes="Back to the first amounts.",
    )
    sign_demo_consent(patients["folded"], practitioner, now - datetime.timedelta(days=30))
    stock = _stock_in_every_state(ingredients, by=practitioner, today=today)
    made["stock"] = stock
    fresh = stock["fresh"]
    done = _session(
        first, practitioner, last_open_hour(now - datetime.timedelta(days=14)), lots=_picked(first, fresh)
    )
    services.save_injection_map(session_record=done, by=practitioner, zones=_demo_map(first, fresh))
    services.mark_session_done(session_record=done, by=practitioner)
    made["session_done"] = done
    made["correction"] = services.add_session_correction(
        session_record=done,
        by=practitioner,
        what="Pain score: 3, not 2.",
        why="The patient said 3 at the end; noted from memory before. {{ fine }}",
    )
    # An open session with its lots picked but no map yet, and one without lots.
    made["session_open"] = _session(second, practitioner, last_open_hour(now), lots=_picked(second, fresh))
    made["formulations"] = [first, second, third]
    for key in ("script", "template"):
        formulation = services.create_formulation(
            consultation=made[f"eligible_{key}"], by=practitioner, lines=lines, total_volume_ml=Decimal("3")
        )
        made[f"formulation_{key}"] = formulation
    made["session_no_lots"] = _session(third, practitioner, last_open_hour(last_open_hour(now)))
    # A recall: a lot used at a session marked done, then recalled (the notice is queued).
    recalled = services.receive_stock(
        ingredient=ingredients[0],
        by=practitioner,
        lot_number="RC-2611",
        expiry_date=today + datetime.timedelta(days=200),
        quantity_received=ingredients[0].typical_amount * 10,
        supplier="Meso Supplies Ltd",
    )
    script = made["formulation_script"]
    sign_demo_consent(script.patient, practitioner, now - datetime.timedelta(days=30))
    picked = _picked(script, fresh) | {script.lines.all()[0].pk: recalled}
    recall_session = _session(
        script, practitioner, last_open_hour(now - datetime.timedelta(days=3)), lots=picked
    )
    services.mark_session_done(session_record=recall_session, by=practitioner)
    services.recall_lot(
        stock_lot=recalled, by=practitioner, reason="Supplier notice 2611: sterility not assured."
    )
    made["recall_session"], stock["recalled"] = recall_session, recalled
    # A formulation no session has used yet (the others above are the sessions' own).
    made["formulation_unused"] = services.create_formulation(
        consultation=made["eligible_script"],
        by=practitioner,
        lines=lines,
        total_volume_ml=Decimal("2.5"),
        previous=script,
        notes="Less volume next time.",
    )
    return made


def _picked(formulation, lots: dict) -> dict:
    return {line.pk: lots[line.ingredient_id] for line in formulation.lines.all()}


def _demo_map(formulation, lots: dict) -> list:
    """Two zones: a grid on the forehead and points on the right cheek, the volume split evenly."""
    half = (formulation.total_volume_ml / 2).quantize(Decimal("0.01"))
    forehead, cheek = injection_map.BY_KEY["forehead"], injection_map.BY_KEY["cheek_right"]
    lot = lots[formulation.lines.all()[0].ingredient_id]
    return [
        services.ZoneInput(
            zone="forehead",
            volume_ml=half,
            depth_mm=Decimal("1.5"),
            needle_gauge="32G",
            stock_lot=lot,
            points=[list(forehead.grid(n)) for n in range(12)],
        ),
        services.ZoneInput(
            zone="cheek_right",
            volume_ml=formulation.total_volume_ml - half,
            depth_mm=Decimal("2"),
            needle_gauge="30G",
            stock_lot=lot,
            points=[list(cheek.grid(n)) for n in range(8)],
        ),
    ]


def _stock_in_every_state(ingredients, *, by, today) -> dict:
    """Lots in each state (rule `lot-usable`): fresh for each product, expiring within the month,
    expired, used up, and one typed by hand before stock was kept."""
    fresh = {
        ingredient.pk: services.receive_stock(
            ingredient=ingredient,
            by=by,
            lot_number=f"F{ingredient.pk:03d}-27",
            expiry_date=today + datetime.timedelta(days=400),
            quantity_received=ingredient.maximum_amount * 40,
            supplier='"><img src=x onerror=alert(1)> Pharma',
            received_on=today - datetime.timedelta(days=20),
        )
        for ingredient in ingredients
    }
    first = ingredients[0]
    states = {"fresh": fresh}
    for key, number, days in (
        ("expiring", "EX-0101", 12),
        ("expired", "OLD-0918", 30),
        ("used_up", "UP-7", 90),
    ):
        states[key] = services.receive_stock(
            ingredient=first,
            by=by,
            lot_number=number,
            expiry_date=today + datetime.timedelta(days=days),
            quantity_received=first.typical_amount,
            supplier="Meso Supplies Ltd",
        )
    StockLot.objects.filter(pk=states["expired"].pk).update(expiry_date=today - datetime.timedelta(days=3))
    StockLot.objects.filter(pk=states["used_up"].pk).update(quantity_remaining=0)
    states["old_records"] = StockLot.objects.create(
        ingredient=first,
        lot_number="a1234 (typed)",
        quantity_received=0,
        quantity_remaining=0,
        from_old_records=True,
    )
    return states
