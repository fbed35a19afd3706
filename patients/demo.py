"""Demo patients: 200 synthetic people from six European locales, registered through the services.

Ages spread across and outside the protocol bands (rules `age-banded-schedule`, `no-band-no-default`
in docs/clinical-rules.md: under 18, 18–27, 40–44 and over 65 have no band), phones valid for each person's
country, most with e-mail consent, a few archived, and a screening for about half of them. The same seed
always builds the same clinic.
"""

import datetime
import random
import re

import phonenumbers
from django.contrib.auth.models import User
from django.utils import timezone
from faker import Faker

from .models import (
    AllergenGroup,
    Answer,
    Contraindication,
    FitzpatrickType,
    Patient,
    PreferredContact,
    Sex,
    fold,
)
from .services import archive_patient, register_patient, update_screening

PATIENT_COUNT = 200
# locale, phone region, country name, e-mail domain, share of patients
LOCALES = [
    ("pt_PT", "PT", "Portugal", "example.pt", 0.45),
    ("es_ES", "ES", "Spain", "example.es", 0.12),
    ("fr_FR", "FR", "France", "example.fr", 0.12),
    ("de_DE", "DE", "Germany", "example.de", 0.1),
    ("it_IT", "IT", "Italy", "example.it", 0.1),
    ("en_GB", "GB", "United Kingdom", "example.co.uk", 0.11),
]
# (lowest age, highest age, share): across and outside the protocol bands.
AGE_SPREAD = [
    (14, 17, 0.04),
    (18, 27, 0.14),
    (28, 39, 0.3),
    (40, 44, 0.1),
    (45, 65, 0.32),
    (66, 84, 0.1),
]
ALLERGY_NOTES = ["Penicillin", "Nickel", "Peanuts", "Ibuprofen (rash)", "Shellfish", "Iodine contrast"]
MEDICATIONS = [
    "Levothyroxine 50 µg daily",
    "Oral contraceptive",
    "Cetirizine 10 mg as needed",
    "Warfarin 5 mg daily",
    "Vitamin D 1000 IU daily",
    "Metformin 500 mg twice daily",
    "Isotretinoin 20 mg (stopped 3 months ago)",
]


def _phone(rng: random.Random, region: str) -> str:
    """A valid mobile number for the region: the official example with its last digits varied."""
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    national = str(example.national_number)
    for _ in range(20):
        tail = "".join(rng.choice("0123456789") for _ in range(4))
        candidate = phonenumbers.parse(f"+{example.country_code}{national[:-4]}{tail}")
        if phonenumbers.is_valid_number(candidate):
            return phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.E164)
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)


def email_address(*names: str, domain: str) -> str:
    """A valid address made of people's names: "Hans-H." and "Stahr" give hans-h.stahr@domain
    (accents folded; anything but letters and digits becomes a single hyphen)."""
    parts = (re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-") for name in names)
    return ".".join(part for part in parts if part) + f"@{domain}"


def _birth_date(rng: random.Random, today: datetime.date) -> datetime.date:
    low, high, _ = rng.choices(AGE_SPREAD, weights=[w for *_, w in AGE_SPREAD])[0]
    age = rng.randint(low, high)
    return today - datetime.timedelta(days=age * 365 + rng.randint(5, 360))


def build(*, stdout, seed: int) -> None:
    rng = random.Random(seed)
    fakers = {}
    for index, (locale, *_rest) in enumerate(LOCALES):
        fakers[locale] = Faker(locale)
        fakers[locale].seed_instance(seed + index)
    front_desk = User.objects.filter(username="frontdesk").first()
    practitioners = list(User.objects.filter(groups__name="practitioner").order_by("username"))
    groups = list(AllergenGroup.objects.order_by("name"))
    today = timezone.localdate()
    screened = archived = 0
    for number in range(PATIENT_COUNT):
        locale, region, country, domain, _ = rng.choices(LOCALES, weights=[w for *_, w in LOCALES])[0]
        fake = fakers[locale]
        female = rng.random() < 0.78  # most mesotherapy patients are women
        given = fake.first_name_female() if female else fake.first_name_male()
        family = fake.last_name()
        has_email = rng.random() < 0.9
        email = email_address(given, f"{family}{number}", domain=domain) if has_email else ""
        patient = register_patient(
            by=front_desk,
            given_name=given,
            family_name=family,
            preferred_name=given.split()[0] if " " in given and rng.random() < 0.5 else "",
            date_of_birth=_birth_date(rng, today),
            sex=rng.choice([Sex.FEMALE, Sex.FEMALE, ""]) if female else rng.choice([Sex.MALE, ""]),
            email=email,
            phone=_phone(rng, region) if rng.random() < 0.95 else "",
            address_line=fake.street_address(),
            postal_code=fake.postcode(),
            city=fake.city(),
            country=country,
            preferred_contact=rng.choice(
                [PreferredContact.EMAIL, PreferredContact.EMAIL, PreferredContact.SMS, PreferredContact.PHONE]
            )
            if has_email
            else PreferredContact.PHONE,
            email_consent=has_email and rng.random() < 0.85,
            notes=rng.choice(["", "", "", "Prefers late-afternoon appointments.", "Referred by a friend."]),
        )
        if practitioners and rng.random() < 0.5:
            _screen(rng, patient, rng.choice(practitioners), groups, today)
            screened += 1
        if rng.random() < 0.05:
            archive_patient(patient=patient, by=front_desk)
            archived += 1
    stdout.write(f"  {PATIENT_COUNT} patients ({screened} screened, {archived} archived)")


def _screen(rng: random.Random, patient, practitioner, groups, today: datetime.date) -> None:
    asked_on = today - datetime.timedelta(days=rng.randint(0, 200))
    answers = {}
    for item in Contraindication.values:
        roll = rng.random()
        if roll < 0.06:
            answers[item] = (Answer.YES, asked_on)
        elif roll < 0.85:
            answers[item] = (Answer.NO, asked_on)
        else:
            answers[item] = (Answer.UNKNOWN, None)
    allergic = rng.sample(groups, k=1) if groups and rng.random() < 0.15 else []
    update_screening(
        patient=patient,
        by=practitioner,
        allergen_groups=allergic,
        allergy_notes=rng.choice(ALLERGY_NOTES) if rng.random() < 0.2 else "",
        current_medications=rng.choice(MEDICATIONS) if rng.random() < 0.35 else "",
        fitzpatrick_type=rng.choice(FitzpatrickType.values[:5]),
        answers=answers,
    )


# Patients whose names and contact details are the hard cases for every page: markup and template
# syntax that must come out escaped and inert, scripts other than Latin, letters without a Unicode
# decomposition, and the contact states (no e-mail, no consent, archived). All invented.
# key, given name, family name, has e-mail, e-mail consent, archived
NAMED_PATIENTS = [
    ("script", "<script>alert(1)</script>", "Marques", True, True, False),
    ("markup", '"><img src=x onerror=alert(1)>', "Tavares", True, True, False),
    ("template", "{{ x }}", "{% now 'Y' %}", True, True, False),
    ("comment", "{# note #}", "Lobo", True, True, False),
    ("greek", "Ελένη", "Παπαδοπούλου", True, True, False),
    ("cyrillic", "Анна", "Иванова", True, True, False),
    ("arabic", "ليلى", "حداد", True, True, False),
    ("cjk", "美咲", "山田", True, True, False),
    ("folded", "Jørgen", "D'Ávila-Łęcka", True, True, False),
    ("no_email", "Marta", "Semcorreio", False, False, False),
    ("no_consent", "Duarte", "Recusa", True, False, False),
    ("archived", "Olga", "Arquivada", True, True, True),
    ("spare", "Sofia", "Reserva", True, True, False),
]


def build_states(*, by, today: datetime.date) -> dict[str, Patient]:
    """The patients of NAMED_PATIENTS, 33 on `today` (inside a protocol band), by key."""
    patients = {}
    for number, (key, given, family, has_email, consent, archived) in enumerate(NAMED_PATIENTS):
        patient = register_patient(
            by=by,
            given_name=given,
            family_name=family,
            date_of_birth=today.replace(year=today.year - 33) - datetime.timedelta(days=10 + number),
            email=f"state.{key}@example.com" if has_email else "",
            preferred_contact=PreferredContact.EMAIL if has_email else PreferredContact.PHONE,
            email_consent=consent,
            notes=f"Notes for {given} <b>not bold</b> {{{{ notes }}}}",
        )
        if archived:
            archive_patient(patient=patient, by=by)
        patients[key] = patient
    return patients
