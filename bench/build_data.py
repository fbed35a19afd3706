"""Build the clinic-group-scale benchmark data set on PostgreSQL (issue 6).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mesoclinic_bench \\
        .venv/bin/python bench/build_data.py --seed 1            # full scale (a few minutes)
    ... bench/build_data.py --seed 1 --reset                     # wipe the data and build again
    ... bench/build_data.py --seed 1 --scale tiny --patients 200 # seconds (the smoke test)

Refuses to run on SQLite. Migrates first. Idempotent: a database that already holds the bench data
is left alone (say --reset to wipe every app table and build again; --reset wipes the database's data,
so point it only at a bench database). Reproducible: everything is drawn from one seeded
random.Random, with "today" fixed to the day of the build for dates (re-run on another day and the
dates shift with it).

What it writes (full scale):
- 100,000 patients with accented names from six Faker locales (pt_PT, pt_BR, es_ES, fr_FR, de_DE,
  it_IT); `search_text` computed by `Patient.build_search_text()` itself; chart numbers MC-000001… and
  the `chart_number` counter advanced to the last one; 2 % archived.
- 30 practitioners, 4 front desk, 1 clinic admin (usernames bench-…, password "bench"), 12 rooms,
  opening hours Mon–Fri 08:00–20:00 and Sat 09:00–14:00, Portuguese public holidays as closures,
  working hours (practitioner 1 works every open hour — the "busy practitioner" of figure 3).
- Three years of appointments: 30 months back and 6 months ahead of today.
- Per treated patient (40 %): a signed consultation with its seven answers, one to four formulation
  versions (three to five ingredient lines each) and a session record for every completed treatment
  appointment (linked to it). Patient MC-000001 has the long history (a weekly session for three years, a
  consultation every six months, a new formulation version every ~13 sessions) and a screening.
- 1,000,000 outbox rows in every state (sent, cancelled, failed, pending due in the future, and a
  few sending rows holding a live lease), kinds reminder / series_booked / appointment_moved /
  appointment_cancelled / aftercare / test_message.

The appointment count, honestly: the PostgreSQL exclusion constraints forbid two active appointments
of one practitioner, one room or one patient at overlapping times, and they stay on (nothing is
dropped or deferred). Twelve rooms open 12 h on weekdays and 5 h on Saturdays hold about 125,000
room-hours in three years. The builder packs every room back to back with a realistic mix — 35 %
reviews of 15 minutes, 15 % consultations and 50 % treatment sessions of 30 minutes, a 5 % chance of
a 30- to 90-minute hole before each visit in the past (more ahead: the book fills up as days come closer,
see free_share) — which gives about 240,000 active (booked, confirmed, completed) or no-show visits,
i.e. rooms as full as a clinic ever gets. On top, cancelled bookings (the constraint ignores
cancelled rows; a cancelled slot was re-booked): 1.53 per visit by default, which brings the total to
the issue's ~600,000 rows (seed 1: 598,984). That is ~60 % cancelled rows, far above a real clinic's
share, because twelve rooms cannot hold 600,000 active visits in three years (it would take 6-minute
visits); the cancelled rows sit in the same indexes and time ranges as the visits, so every page pays
for them. `--cancelled-per-visit 0.25` gives a realistic ~20 % share (≈ 300,000 rows, seed 1:
297,057); the pages measured read one week, one day or one patient, whose sizes are set by the (full)
rooms, not by the total.

Not written (bulk rows skip them, on purpose): simple-history tables (no history rows for bulk data,
except the long-history patient's screening, made through the ORM), appointment state changes,
session lots, outbox events, session series (appointments are single bookings).
"""

import argparse
import datetime
import hashlib
import json
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from faker import Faker  # noqa: E402

from clinic.clock import local_datetime  # noqa: E402
from clinic.models import ClinicSettings, Counter  # noqa: E402
from clinic.roles import CLINIC_ADMIN, FRONT_DESK, PRACTITIONER  # noqa: E402
from outbox.kinds import message_id_for  # noqa: E402
from outbox.models import OutboxMessage  # noqa: E402
from patients.models import Answer, Contraindication, Patient, Screening, ScreeningAnswer  # noqa: E402
from patients.selectors import chart_number_for  # noqa: E402
from patients.services import CHART_COUNTER  # noqa: E402
from scheduling.demo import portuguese_holidays  # noqa: E402
from scheduling.models import (  # noqa: E402
    Appointment,
    Closure,
    Leave,
    OpeningHours,
    Room,
    WorkingHours,
)
from treatments.models import (  # noqa: E402
    Concern,
    Consultation,
    ConsultationAnswer,
    Formulation,
    FormulationLine,
    Ingredient,
    SessionRecord,
)

User = get_user_model()
PASSWORD = "bench"
BENCH_ADMIN = "bench-admin"
LOCALES = ["pt_PT", "pt_BR", "es_ES", "fr_FR", "de_DE", "it_IT"]
TLDS = ["pt", "com", "es", "fr", "de", "it", "net"]

SCALES = {
    "full": {
        "patients": 100_000,
        "practitioners": 30,
        "front_desk": 4,
        "rooms": 12,
        "months_back": 30,
        "months_ahead": 6,
        "outbox": 1_000_000,
    },
    "tiny": {
        "patients": 200,
        "practitioners": 4,
        "front_desk": 1,
        "rooms": 3,
        "months_back": 1,
        "months_ahead": 1,
        "outbox": 2_000,
    },
}
WEEKDAY_HOURS = (datetime.time(8), datetime.time(20))
SATURDAY_HOURS = (datetime.time(9), datetime.time(14))
HALF_DAY = datetime.time(14)
KINDS = [("review", 15, 0.35), ("consultation", 30, 0.15), ("treatment", 30, 0.50)]
GAP_CHANCE = 0.05
TREATED_SHARE = 0.40
OUTBOX_KINDS = [
    ("reminder", 0.50),
    ("aftercare", 0.20),
    ("series_booked", 0.10),
    ("appointment_moved", 0.08),
    ("appointment_cancelled", 0.07),
    ("test_message", 0.05),
]

APP_TABLES = [
    "clinic_outboxevent",
    "clinic_outboxmessage",
    "treatments_sessionlot",
    "treatments_sessionrecord",
    "treatments_formulationline",
    "treatments_formulation",
    "clinic_accesslogentry",
    "clinic_auditlink",
    "clinic_auditredaction",
    "patients_erasurerequest",
    "treatments_addendum",
    "treatments_consultationanswer",
    "treatments_consultation",
    "scheduling_appointmentstatechange",
    "scheduling_appointment",
    "scheduling_sessionseries",
    "scheduling_workinghours",
    "scheduling_leave",
    "scheduling_closure",
    "scheduling_room",
    "patients_screeninganswer",
    "patients_screening_allergen_groups",
    "patients_screening",
    "patients_patient",
    "django_session",
    "auth_user_groups",
    "auth_user_user_permissions",
    "auth_user",
]


class Clock:
    def __init__(self):
        self.start = self.last = time.perf_counter()

    def step(self, label: str) -> None:
        now = time.perf_counter()
        print(f"  {label:<58} {now - self.last:7.1f} s   (total {now - self.start:6.1f} s)", flush=True)
        self.last = now


def qn(name: str) -> str:
    return connection.ops.quote_name(name)


def copy_rows(model, fields: list[str], rows) -> int:
    """COPY rows (tuples in the order of `fields`) into the model's table; returns the count.

    The model's other NOT NULL fields that have a default, or may be blank text, get it (Django keeps
    defaults in Python, not in the table), so a field added later does not break the builder."""
    named = [model._meta.get_field(f) for f in fields]
    defaulted = [
        f
        for f in model._meta.concrete_fields
        if f not in named
        and not f.primary_key
        and not f.null
        and (f.has_default() or (f.blank and f.empty_strings_allowed))  # a default, or ""
    ]
    extra = tuple(f.get_db_prep_save(f.get_default(), connection) for f in defaulted)
    columns = ", ".join(qn(f.column) for f in [*named, *defaulted])
    count = 0
    sql = f"COPY {qn(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row((*row, *extra))
            count += 1
    return count


def next_id(model) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {qn(model._meta.db_table)}")
        return cursor.fetchone()[0]


def sync_sequence(model) -> None:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {qn(table)}), 1))",
            [table],
        )


def add_months(day: datetime.date, months: int) -> datetime.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return datetime.date(year, month, min(day.day, 28))


def weighted(rng: random.Random, table):
    roll, acc = rng.random(), 0.0
    for item in table:
        acc += item[-1]
        if roll < acc:
            return item
    return table[-1]


# --- staff, rooms, hours ------------------------------------------------------------------------


def build_staff(cfg, rng: random.Random, faker: Faker) -> tuple[list, list, object]:
    password = make_password(PASSWORD)  # hashed once: PBKDF2 per user would cost seconds
    groups = {name: Group.objects.get(name=name) for name in (PRACTITIONER, FRONT_DESK, CLINIC_ADMIN)}

    def user(username: str, role: str):
        first, last = faker.first_name(), faker.last_name()
        u = User.objects.create(
            username=username,
            first_name=first,
            last_name=last,
            password=password,
            email=f"{username}@bench.test",
        )
        u.groups.add(groups[role])
        return u

    practitioners = [user(f"bench-prac-{i + 1:02d}", PRACTITIONER) for i in range(cfg["practitioners"])]
    desk = [user(f"bench-desk-{i + 1}", FRONT_DESK) for i in range(cfg["front_desk"])]
    admin = user(BENCH_ADMIN, CLINIC_ADMIN)
    return practitioners, desk, admin


def works(index: int, weekday: int, half: int) -> bool:
    """Practitioner `index` (0-based) works this weekday's morning (0) or afternoon (1)?

    Practitioner 0 works every open hour. The others: four weekdays of five; a third mornings only,
    a third afternoons only, a third both; Saturday mornings for the two thirds that work mornings.
    """
    if index == 0:
        return True
    shift = index % 3  # 0 both, 1 mornings, 2 afternoons
    if weekday == 5:
        return half == 0 and shift != 2
    if weekday == index % 5:
        return False
    return shift == 0 or (shift == 1 and half == 0) or (shift == 2 and half == 1)


def build_hours(practitioners, first_day, last_day) -> None:
    OpeningHours.objects.all().delete()
    for weekday in range(5):
        OpeningHours.objects.create(weekday=weekday, opens=WEEKDAY_HOURS[0], closes=WEEKDAY_HOURS[1])
    OpeningHours.objects.create(weekday=5, opens=SATURDAY_HOURS[0], closes=SATURDAY_HOURS[1])
    blocks = []
    for index, practitioner in enumerate(practitioners):
        for weekday in range(6):
            opens, closes = SATURDAY_HOURS if weekday == 5 else WEEKDAY_HOURS
            for half, (starts, ends) in enumerate([(opens, min(HALF_DAY, closes)), (HALF_DAY, closes)]):
                if starts < ends and works(index, weekday, half):
                    blocks.append(
                        WorkingHours(practitioner=practitioner, weekday=weekday, starts=starts, ends=ends)
                    )
    WorkingHours.objects.bulk_create(blocks)
    closures = []
    for year in range(first_day.year, last_day.year + 1):
        for day, reason in portuguese_holidays(year).items():
            if first_day <= day <= last_day:
                closures.append(Closure(date=day, reason=reason))
    Closure.objects.bulk_create(closures, ignore_conflicts=True)


# --- patients -----------------------------------------------------------------------------------


def name_pools(seed: int) -> dict:
    pools = {}
    for index, locale in enumerate(LOCALES):
        faker = Faker(locale)
        faker.seed_instance(seed * 100 + index)
        pools[locale] = {
            "female": sorted({faker.first_name_female() for _ in range(400)}),
            "male": sorted({faker.first_name_male() for _ in range(400)}),
            "family": sorted({faker.last_name() for _ in range(800)}),
            "city": sorted({faker.city() for _ in range(60)}),
            "street": sorted({faker.street_name() for _ in range(200)}),
        }
    return pools


def ascii_part(text: str) -> str:
    from patients.models import fold

    return "".join(ch for ch in fold(text) if ch.isascii() and ch.isalnum())


def build_patients(cfg, rng: random.Random, seed: int, today: datetime.date, start_id: int) -> list[tuple]:
    """COPY the patients; returns [(id, date_of_birth)] in id order."""
    pools = name_pools(seed)
    now = timezone.now()
    fields = [
        "id",
        "chart_number",
        "given_name",
        "family_name",
        "preferred_name",
        "date_of_birth",
        "sex",
        "email",
        "phone",
        "address_line",
        "postal_code",
        "city",
        "country",
        "preferred_contact",
        "email_consent",
        "email_consent_changed_at",
        "notes",
        "archived_at",
        "search_text",
        "family_key",
        "given_key",
        "phone_display",
        "created_at",
        "updated_at",
    ]
    summary: list[tuple] = []
    used_phones: set[str] = set()

    def rows():
        for offset in range(cfg["patients"]):
            pk = start_id + offset
            locale = rng.choice(LOCALES)
            pool = pools[locale]
            sex = "female" if rng.random() < 0.78 else "male"  # aesthetic clinics: mostly women
            given = rng.choice(pool[sex])
            if rng.random() < 0.25:
                given = f"{given} {rng.choice(pool[sex])}"
            family = rng.choice(pool["family"])
            if rng.random() < 0.35:
                family = f"{family} {rng.choice(pool['family'])}"
            born = today - datetime.timedelta(days=rng.randint(19 * 365, 80 * 365))
            while True:
                phone = f"+3519{rng.choice('1236')}{rng.randint(0, 9_999_999):07d}"
                if phone not in used_phones:
                    used_phones.add(phone)
                    break
            email = ""
            if rng.random() < 0.9:
                email = (
                    f"{ascii_part(given.split()[0])}.{ascii_part(family.split()[-1])}{rng.randint(1, 999)}"
                )
                email += f"@example.{rng.choice(TLDS)}"
            patient = Patient(
                chart_number=chart_number_for(pk),
                given_name=given,
                family_name=family,
                preferred_name="",
                email=email,
                phone=phone,
            )
            patient.fill_search_columns()
            consent = bool(email) and rng.random() < 0.8
            created = now - datetime.timedelta(days=rng.randint(0, 5 * 365))
            archived = created + datetime.timedelta(days=rng.randint(1, 300)) if rng.random() < 0.02 else None
            if archived and archived > now:
                archived = now
            summary.append((pk, born))
            yield (
                pk,
                patient.chart_number,
                given,
                family,
                "",
                born,
                sex,
                email,
                phone,
                f"{rng.choice(pool['street'])} {rng.randint(1, 250)}",
                f"{rng.randint(1000, 9999)}-{rng.randint(100, 999)}",
                rng.choice(pool["city"]),
                "Portugal",
                rng.choice(["email", "email", "phone", "sms"]),
                consent,
                created if consent else None,
                "",
                archived,
                patient.search_text,
                patient.family_key,
                patient.given_key,
                patient.phone_display,
                created,
                created,
            )

    copy_rows(Patient, fields, rows())
    Counter.objects.update_or_create(name=CHART_COUNTER, defaults={"value": start_id + cfg["patients"] - 1})
    return summary


def free_share(day: datetime.date, today: datetime.date) -> float:
    """The chance of leaving a hole (30–90 minutes) before a visit: past days were as full as it
    gets (5 %, ~89 % of room time used); the book fills up as days come closer (12 % next week,
    ~78 % used; 60 % six months ahead)."""
    ahead = (day - today).days
    if ahead < 0:
        return GAP_CHANCE
    return 0.10 + 0.5 * min(ahead / 180, 1.0)


# --- appointments -------------------------------------------------------------------------------


def build_appointments(
    cfg,
    rng,
    practitioners,
    rooms,
    patient_ids,
    treated_ids,
    long_id,
    first_day,
    last_day,
    cancelled_per_visit,
) -> tuple[int, int, list[tuple]]:
    """COPY the appointments; returns (rows, visits, completed treatments).

    Completed treatments are (patient, practitioner, starts_at, appointment id).
    """
    now = timezone.now()
    today = timezone.localdate()
    closed = set(Closure.objects.values_list("date", flat=True))
    pk = next_id(Appointment)
    fields = [
        "id",
        "patient",
        "practitioner",
        "room",
        "kind",
        "starts_at",
        "ends_at",
        "state",
        "notes",
        "cancel_reason",
        "created_at",
        "updated_at",
    ]
    treatments: list[tuple] = []
    counts = {"rows": 0, "visits": 0}
    by_index = {p.pk: i for i, p in enumerate(practitioners)}

    def rows():
        nonlocal pk
        day = first_day
        while day <= last_day:
            weekday = day.weekday()
            if weekday == 6 or day in closed:
                day += datetime.timedelta(days=1)
                continue
            opens, closes = SATURDAY_HOURS if weekday == 5 else WEEKDAY_HOURS
            gap_chance = free_share(day, today)
            seen: set[int] = set()  # one active visit per patient per day: no patient overlap
            halves = [(opens, min(HALF_DAY, closes)), (HALF_DAY, closes)]
            for half, (h_start, h_end) in enumerate(halves):
                if h_start >= h_end:
                    continue
                on_duty = [p for p in practitioners if works(by_index[p.pk], weekday, half)]
                busy_first = [p for p in on_duty if by_index[p.pk] == 0]
                others = [p for p in on_duty if by_index[p.pk] != 0]
                rng.shuffle(others)
                # One practitioner per room for the half day: never two rooms at once.
                staffing = (busy_first + others)[: len(rooms)]
                for room_index, (room, practitioner) in enumerate(zip(rooms, staffing, strict=False)):
                    moment = local_datetime(day, h_start)
                    end = local_datetime(day, h_end)
                    first_slot = True
                    while True:
                        if rng.random() < gap_chance:  # a hole of 30, 60 or 90 minutes
                            moment += datetime.timedelta(minutes=30 * rng.choice((1, 2, 2, 3)))
                        kind, minutes, _ = weighted(rng, KINDS)
                        patient = None
                        if first_slot and room_index == 0 and weekday == 1 and half == 0:
                            kind, minutes, patient = "treatment", 30, long_id  # the long history
                        first_slot = False
                        finish = moment + datetime.timedelta(minutes=minutes)
                        if finish > end:
                            break
                        if patient is None:
                            pool = patient_ids if kind == "consultation" else treated_ids
                            for _try in range(50):
                                patient = rng.choice(pool)
                                if patient not in seen and patient != long_id:
                                    break
                            else:  # small data sets: everyone has a visit today, leave the slot free
                                moment = finish
                                continue
                        seen.add(patient)
                        if finish <= now:
                            state = "no_show" if rng.random() < 0.04 else "completed"
                        else:
                            state = "confirmed" if moment - now < datetime.timedelta(days=2) else "booked"
                        created = moment - datetime.timedelta(days=rng.randint(1, 40))
                        counts["visits"] += 1
                        yield (
                            pk,
                            patient,
                            practitioner.pk,
                            room.pk,
                            kind,
                            moment,
                            finish,
                            state,
                            "",
                            "",
                            created,
                            created,
                        )
                        if kind == "treatment" and state == "completed":
                            treatments.append((patient, practitioner.pk, moment, pk))
                        pk += 1
                        extra = cancelled_per_visit
                        while extra > 0 and rng.random() < extra:
                            extra -= 1
                            other = rng.choice(patient_ids)
                            yield (
                                pk,
                                other,
                                practitioner.pk,
                                room.pk,
                                kind,
                                moment,
                                finish,
                                "cancelled",
                                "",
                                rng.choice(["Patient cancelled", "Illness", "Moved by the clinic", "Work"]),
                                created,
                                created,
                            )
                            pk += 1
                        moment = finish
            day += datetime.timedelta(days=1)

    counts["rows"] = copy_rows(Appointment, fields, rows())
    return counts["rows"], counts["visits"], treatments


# --- clinical records ---------------------------------------------------------------------------


def build_clinical(rng, practitioners, treated_ids, long_id, treatments, first_day) -> dict:
    ingredients = list(Ingredient.objects.filter(is_active=True).order_by("id"))
    by_patient: dict[int, list[tuple]] = {}
    for patient, practitioner, starts_at, appointment in treatments:
        by_patient.setdefault(patient, []).append((starts_at, practitioner, appointment))
    now = timezone.now()
    c_id, f_id, l_id, s_id = (
        next_id(Consultation),
        next_id(Formulation),
        next_id(FormulationLine),
        next_id(SessionRecord),
    )
    consultations, answers, formulations, lines, sessions = [], [], [], [], []
    items = [c for c, _ in Contraindication.choices]
    for patient in treated_ids:
        visits = sorted(by_patient.get(patient, []))
        doctor = visits[0][1] if visits else rng.choice(practitioners).pk
        start = (
            visits[0][0]
            if visits
            else timezone.make_aware(datetime.datetime.combine(first_day, datetime.time(10)))
            + datetime.timedelta(days=rng.randint(0, 800))
        )
        start = min(start, now)
        if patient == long_id:
            consult_times = [
                start - datetime.timedelta(days=7) + datetime.timedelta(days=182 * k) for k in range(6)
            ]
            per_version = 13
        else:
            consult_times = [start - datetime.timedelta(days=rng.randint(3, 21))]
            per_version = max(6, len(visits) // rng.randint(1, 4) + 1)
        consult_times = [t for t in consult_times if t <= now] or [start - datetime.timedelta(days=7)]
        concerns = rng.sample(Concern.values[:4], k=rng.randint(1, 3))
        areas = rng.sample(["face", "neck", "decollete", "hands"], k=rng.randint(1, 2))
        consult_ids = []
        for at in consult_times:
            signed = at + datetime.timedelta(hours=1)
            consultations.append(
                (
                    c_id,
                    patient,
                    doctor,
                    timezone.localtime(at).date(),
                    json.dumps(concerns),
                    "",
                    "Fresher, more even skin.",
                    "Dehydrated skin, fine lines around the eyes.",
                    "eligible",
                    "",
                    "",
                    json.dumps(areas),
                    "",
                    6,
                    7,
                    "",
                    "",
                    signed,
                    doctor,
                    at,
                    signed,
                )
            )
            for item in items:
                answers.append((c_id, item, "no"))
            consult_ids.append((at, c_id))
            c_id += 1
        current = None
        chunks = [visits[i : i + per_version] for i in range(0, max(len(visits), 1), per_version)] or [[]]
        for version, chunk in enumerate(chunks, start=1):
            created = (
                chunk[0][0] - datetime.timedelta(days=1)
                if chunk
                else consult_times[0] + datetime.timedelta(hours=2)
            )
            consult = max((c for c in consult_ids if c[0] <= created), default=consult_ids[0])[1]
            chosen = rng.sample(ingredients, k=min(len(ingredients), rng.randint(3, 5)))
            formulations.append(
                (
                    f_id,
                    patient,
                    consult,
                    version,
                    current,
                    json.dumps(concerns),
                    Decimal("5.00"),
                    "Physiological saline",
                    "",
                    doctor,
                    created,
                )
            )
            for ingredient in chosen:
                lines.append((l_id, f_id, ingredient.pk, ingredient.typical_amount, ingredient.unit, ""))
                l_id += 1
            current = f_id
            for starts_at, practitioner, appointment in chunk:
                done = starts_at + datetime.timedelta(minutes=25)
                sessions.append(
                    (
                        s_id,
                        patient,
                        practitioner,
                        starts_at,
                        f_id,
                        json.dumps(areas),
                        "",
                        "needle",
                        "32G",
                        Decimal("2.0"),
                        Decimal("1.0"),
                        False,
                        "",
                        Decimal("4.50"),
                        rng.randint(0, 4),
                        json.dumps(["redness"] if rng.random() < 0.6 else []),
                        "",
                        "",
                        "",
                        done,
                        practitioner,
                        done + datetime.timedelta(hours=2),
                        starts_at,
                        appointment,
                    )
                )
                s_id += 1
            f_id += 1
    copy_rows(
        Consultation,
        [
            "id",
            "patient",
            "practitioner",
            "date",
            "concerns",
            "concern_other",
            "goals",
            "skin_assessment",
            "decision",
            "decision_reason",
            "override_reason",
            "plan_areas",
            "plan_area_other",
            "plan_session_count",
            "plan_interval_days",
            "plan_reason",
            "plan_notes",
            "signed_at",
            "signed_by",
            "created_at",
            "updated_at",
        ],
        consultations,
    )
    copy_rows(ConsultationAnswer, ["consultation", "item", "answer"], answers)
    copy_rows(
        Formulation,
        [
            "id",
            "patient",
            "consultation",
            "version",
            "previous",
            "concerns",
            "total_volume_ml",
            "vehicle",
            "notes",
            "created_by",
            "created_at",
        ],
        formulations,
    )
    copy_rows(
        FormulationLine, ["id", "formulation", "ingredient", "amount", "unit", "override_reason"], lines
    )
    copy_rows(
        SessionRecord,
        [
            "id",
            "patient",
            "practitioner",
            "performed_at",
            "formulation",
            "areas",
            "area_other",
            "technique",
            "needle_gauge",
            "grid_spacing_mm",
            "depth_mm",
            "numbing_cream",
            "numbing_product",
            "volume_ml",
            "pain_score",
            "reactions",
            "reaction_other",
            "aftercare_instructions",
            "notes",
            "done_at",
            "done_by",
            "aftercare_due_at",
            "created_at",
            "appointment",
        ],
        sessions,
    )
    return {
        "consultations": len(consultations),
        "formulations": len(formulations),
        "lines": len(lines),
        "sessions": len(sessions),
    }


# --- outbox -------------------------------------------------------------------------------------


def build_outbox(cfg, rng, patient_ids, emails, first_moment, last_moment) -> dict:
    now = timezone.now()
    span = (now - first_moment).total_seconds()
    ahead = (last_moment - now).total_seconds()
    fields = [
        "kind",
        "idempotency_key",
        "recipient",
        "patient",
        "object_id",
        "due_at",
        "state",
        "attempts",
        "lease_until",
        "claim_token",
        "last_error",
        "sent_at",
        "message_id",
        "subject",
        "body_text",
        "body_html",
        "created_at",
        "updated_at",
    ]
    states = {"sent": 0, "cancelled": 0, "failed": 0, "pending": 0, "sending": 0}
    domain = message_id_for("x").rsplit("@", 1)[1]

    def rows():
        for n in range(cfg["outbox"]):
            kind = weighted(rng, OUTBOX_KINDS)[0]
            key = f"{kind}:bench:{n}"
            patient = rng.choice(patient_ids)
            recipient = emails.get(patient) or f"patient{patient}@example.com"
            roll = rng.random()
            if n % 20_000 == 0 and n:
                state = "sending"
            elif roll < 0.02:
                state = "pending"
            elif roll < 0.03:
                state = "failed"
            elif roll < 0.09:
                state = "cancelled"
            else:
                state = "sent"
            if state in ("pending", "sending"):
                due = now + datetime.timedelta(seconds=rng.uniform(3600, max(ahead, 7200)))
            else:
                due = now - datetime.timedelta(seconds=rng.uniform(60, span))
            states[state] += 1
            sent = due + datetime.timedelta(seconds=rng.randint(1, 90)) if state == "sent" else None
            lease = due + datetime.timedelta(days=3650) if state == "sending" else None
            attempts = {"sent": 1, "failed": 6, "sending": 0}.get(state, 0)
            error = {"failed": "SMTP 550 Mailbox unavailable", "cancelled": "Appointment cancelled."}.get(
                state, ""
            )
            subject = f"Mesoclinic: {kind.replace('_', ' ')}" if state == "sent" else ""
            body = (
                f"Dear patient,\n\nThis is your {kind.replace('_', ' ')} from Mesoclinic, "
                f"{timezone.localtime(due):%d/%m/%Y %H:%M}.\n\nMesoclinic"
                if state == "sent"
                else ""
            )
            msg_id = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"
            created = due - datetime.timedelta(days=2)
            yield (
                kind,
                key,
                recipient,
                patient,
                rng.randint(1, 10_000_000),
                due,
                state,
                attempts,
                lease,
                "benchlease" if state == "sending" else "",
                error,
                sent,
                msg_id,
                subject,
                body,
                "",
                created,
                sent or created,
            )

    copy_rows(OutboxMessage, fields, rows())
    return states


# --- main ---------------------------------------------------------------------------------------


def reset() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(qn(t) for t in APP_TABLES)} RESTART IDENTITY CASCADE")
        cursor.execute(f"DELETE FROM {qn(Counter._meta.db_table)} WHERE name = %s", [CHART_COUNTER])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument("--patients", type=int, help="override the scale's patient count")
    parser.add_argument("--practitioners", type=int, help="override the scale's practitioners (group: 300)")
    parser.add_argument("--rooms", type=int, help="override the scale's rooms (a group of 30 clinics: 120)")
    parser.add_argument("--front-desk", type=int, help="override the scale's front desk users")
    parser.add_argument("--outbox", type=int, help="override the scale's outbox rows (full: 1,000,000)")
    parser.add_argument("--reset", action="store_true", help="wipe every app table first (bench DB only!)")
    parser.add_argument(
        "--cancelled-per-visit",
        type=float,
        default=1.53,
        help="cancelled bookings per visit (default 1.53: ~600,000 appointments; 0.25 is a realistic share)",
    )
    args = parser.parse_args(argv)
    if connection.vendor != "postgresql":
        print("bench/build_data.py needs PostgreSQL: set DATABASE_URL=postgres://…", file=sys.stderr)
        return 2
    cfg = dict(SCALES[args.scale])
    for option in ("patients", "practitioners", "rooms", "front_desk", "outbox"):
        if getattr(args, option) is not None:
            cfg[option] = getattr(args, option)
    clock = Clock()
    print(
        f"Building the bench data set ({args.scale}, seed {args.seed}) in {connection.settings_dict['NAME']}"
    )
    call_command("migrate", verbosity=0, interactive=False)
    clock.step("migrate")
    if args.reset:
        reset()
        clock.step("reset (truncate app tables)")
    if User.objects.filter(username=BENCH_ADMIN).exists():
        print("The bench data is already there (bench-admin exists); --reset to build again.")
        return 0
    if Patient.objects.exists():
        print("This database holds patients that are not bench data; use a bench database (or --reset).")
        return 2

    rng = random.Random(args.seed)
    faker = Faker("pt_PT")
    faker.seed_instance(args.seed)
    today = timezone.localdate()
    first_day = add_months(today, -cfg["months_back"])
    last_day = add_months(today, cfg["months_ahead"])
    with transaction.atomic():
        ClinicSettings.load()
        practitioners, desk, admin = build_staff(cfg, rng, faker)
        rooms = [
            Room.objects.create(name=f"Room {i + 1:02d}", description="Couch, ring light, sharps bin")
            for i in range(cfg["rooms"])
        ]
        build_hours(practitioners, first_day, last_day)
        Leave.objects.all().delete()
    clock.step(f"staff ({len(practitioners)} practitioners), {len(rooms)} rooms, hours, closures")

    with transaction.atomic():
        start_id = next_id(Patient)
        summary = build_patients(cfg, rng, args.seed, today, start_id)
        sync_sequence(Patient)
    clock.step(f"{len(summary):,} patients (COPY)")

    patient_ids = [pk for pk, _ in summary]
    long_id = patient_ids[0]
    treated_ids = sorted(rng.sample(patient_ids[1:], k=max(1, int(len(patient_ids) * TREATED_SHARE)))) + [
        long_id
    ]
    with transaction.atomic():
        rows, visits, treatments = build_appointments(
            cfg,
            rng,
            practitioners,
            rooms,
            patient_ids,
            treated_ids[:-1],
            long_id,
            first_day,
            last_day,
            args.cancelled_per_visit,
        )
        sync_sequence(Appointment)
    clock.step(f"{rows:,} appointments ({visits:,} visits, the rest cancelled) (COPY)")

    with transaction.atomic():
        counts = build_clinical(rng, practitioners, treated_ids, long_id, treatments, first_day)
        for model in (Consultation, Formulation, FormulationLine, SessionRecord):
            sync_sequence(model)
        long_patient = Patient.objects.get(pk=long_id)
        screening = Screening.objects.create(
            patient=long_patient, allergy_notes="None known.", fitzpatrick_type="III"
        )
        ScreeningAnswer.objects.bulk_create(
            ScreeningAnswer(screening=screening, item=item, answer=Answer.NO, answered_on=today)
            for item, _ in Contraindication.choices
        )
    clock.step(
        f"{counts['consultations']:,} consultations, {counts['formulations']:,} formulations "
        f"({counts['lines']:,} lines), {counts['sessions']:,} session records"
    )

    emails = dict(Patient.objects.exclude(email="").values_list("id", "email"))
    with transaction.atomic():
        first_moment = local_datetime(first_day, datetime.time(9))
        last_moment = local_datetime(last_day, datetime.time(9))
        states = build_outbox(cfg, rng, patient_ids, emails, first_moment, last_moment)
        sync_sequence(OutboxMessage)
    clock.step(f"{sum(states.values()):,} outbox rows " + ", ".join(f"{k} {v:,}" for k, v in states.items()))

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    clock.step("VACUUM ANALYZE")
    print(
        f"Done. Long-history patient: id {long_id} ({chart_number_for(long_id)}); busy practitioner: "
        f"{practitioners[0].username}; users bench-prac-01…, bench-desk-1…, {BENCH_ADMIN} "
        f"(password {PASSWORD!r})."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
