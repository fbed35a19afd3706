import datetime

from anyascii import anyascii
from django.conf import settings
from django.db import models
from django.utils import timezone
from phonenumber_field.modelfields import PhoneNumberField
from simple_history.models import HistoricalRecords


def fold(text: str) -> str:
    """`text` transliterated to lower-case ASCII by anyascii, so that "jose" matches "José", "jorgen"
    "Jørgen", "lodz" "Łódź" and "strasse" "Straße" (duplicates, demo e-mail addresses)."""
    return anyascii(text or "").lower()


def fold_for_search(text: str) -> str:
    """`text` as the patient search compares it, both the stored search column and each word typed:
    folded, with apostrophes and hyphens dropped, so "davila" and "d'avila" find "D'Ávila" and
    "avilalecka" finds "Ávila-Łęcka" (each word typed may match anywhere, so "d avila" finds it too).
    patients/migrations/0003 holds a frozen copy, to rewrite the stored column."""
    return fold(text).replace("'", "").replace("-", "")


def name_key(name: str) -> str:
    """A name as the list sorts it and the search compares it: folded, single spaces."""
    return " ".join(fold_for_search(name).split())


def age_on(date_of_birth: datetime.date, day: datetime.date) -> int:
    """Age in whole years on `day` (rule `age-on-first-session`, docs/clinical-rules.md: the age that
    counts is the one on the first session)."""
    before_birthday = (day.month, day.day) < (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - before_birthday


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    INTERSEX = "intersex", "Intersex"


class PreferredContact(models.TextChoices):
    EMAIL = "email", "E-mail"
    PHONE = "phone", "Phone call"
    SMS = "sms", "Text message"


class PatientQuerySet(models.QuerySet):
    def active(self):
        return self.filter(archived_at__isnull=True)


class Patient(models.Model):
    """A person the clinic treats: identity and contact. Clinical content lives elsewhere."""

    chart_number = models.CharField(max_length=16, unique=True, editable=False)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    preferred_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=10, choices=Sex.choices, blank=True)
    email = models.EmailField(blank=True)
    phone = PhoneNumberField(blank=True)
    address_line = models.CharField("street address", max_length=200, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=60, blank=True)
    preferred_contact = models.CharField(
        max_length=10, choices=PreferredContact.choices, default=PreferredContact.EMAIL
    )
    email_consent = models.BooleanField(
        "consents to e-mail reminders", default=False, help_text="Reminders and aftercare by e-mail."
    )
    email_consent_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    notes = models.TextField(
        blank=True, help_text="Administrative notes seen by all staff. No clinical information here."
    )
    archived_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set when the patient's identity was pseudonymised after an erasure (patients/gdpr.py).
    pseudonymised_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Folded name, chart number, e-mail and phone digits: the one column the search matches
    # (trigram-indexed on PostgreSQL, see migration 0002). Kept by services.
    search_text = models.TextField(editable=False, default="")
    # The family and given names folded as the search folds them: the list's order and the search's
    # exact and prefix matches (patients/selectors.py, search_page), indexed in byte order (migration
    # 0005). Kept by services with search_text.
    family_key = models.TextField(editable=False, default="")
    given_key = models.TextField(editable=False, default="")
    # The phone as pages show it (PHONENUMBER_DEFAULT_FORMAT), formatted once when saved: formatting
    # ~25 numbers on every list request was a third of the search's CPU (issue 19).
    phone_display = models.CharField(max_length=40, editable=False, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    history = HistoricalRecords(
        excluded_fields=["search_text", "family_key", "given_key", "phone_display", "updated_at"]
    )
    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["family_name", "given_name", "id"]
        indexes = [
            models.Index(fields=["family_name", "given_name", "id"], name="patient_name_order"),
            models.Index(fields=["date_of_birth"], name="patient_dob"),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.chart_number})"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("patients:detail", kwargs={"pk": self.pk})

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()

    @property
    def display_name(self) -> str:
        if self.preferred_name and self.preferred_name != self.given_name:
            return f"{self.full_name} “{self.preferred_name}”"
        return self.full_name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def is_erased(self) -> bool:
        """Whether an erasure of this patient was carried out (patients/gdpr.py)."""
        if self.pseudonymised_at:
            return True
        return self.erasure_requests.filter(state__in=["contact_erased", "done"]).exists()

    @property
    def wants_email(self) -> bool:
        """E-mails go only to patients who accepted e-mail and gave an address, and are not archived (rule
        `email-needs-consent`, docs/clinical-rules.md)."""
        return bool(self.email and self.email_consent and self.archived_at is None)

    def age_on(self, day: datetime.date) -> int:
        return age_on(self.date_of_birth, day)

    @property
    def age(self) -> int:
        from django.utils import timezone

        return self.age_on(timezone.localdate())

    def fill_search_columns(self) -> None:
        """The search column, the folded name keys and the shown phone, from the fields they are made
        of."""
        self.search_text = self.build_search_text()
        self.phone_display = str(self.phone) if self.phone else ""
        self.family_key = name_key(self.family_name)
        self.given_key = name_key(self.given_name)

    def build_search_text(self) -> str:
        phone_digits = "".join(ch for ch in str(self.phone or "") if ch.isdigit())
        # The national number too, so "912 345 678" finds "+351912345678".
        national = str(self.phone.national_number) if self.phone else ""
        parts = [
            self.given_name,
            self.family_name,
            self.preferred_name,
            self.chart_number,
            self.email,
            phone_digits,
            national,
        ]
        return fold_for_search(" ".join(p for p in parts if p))


class AllergenGroup(models.Model):
    """A family of substances a patient can be allergic to; ingredients name the group they belong to."""

    name = models.CharField(max_length=80, unique=True)
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class FitzpatrickType(models.TextChoices):
    I = "I", "I – always burns, never tans"  # noqa: E741
    II = "II", "II – usually burns, tans minimally"
    III = "III", "III – sometimes burns, tans uniformly"
    IV = "IV", "IV – burns minimally, always tans"
    V = "V", "V – very rarely burns, tans very easily"
    VI = "VI", "VI – never burns"


class Screening(models.Model):
    """The patient's medical screening: practitioners only (front desk never sees it)."""

    patient = models.OneToOneField(Patient, on_delete=models.PROTECT, related_name="screening")
    allergen_groups = models.ManyToManyField(AllergenGroup, blank=True, related_name="+")
    allergy_notes = models.TextField("other allergies", blank=True)
    current_medications = models.TextField(blank=True)
    fitzpatrick_type = models.CharField(
        "Fitzpatrick skin type", max_length=3, choices=FitzpatrickType.choices, blank=True
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    history = HistoricalRecords(m2m_fields=[allergen_groups], excluded_fields=["updated_at"])

    def __str__(self) -> str:
        return f"Screening of {self.patient}"


class Contraindication(models.TextChoices):
    """The usual contraindications screened at consultation (rule `screening-blocks-eligibility`,
    docs/clinical-rules.md)."""

    PREGNANCY = "pregnancy", "Pregnant or breastfeeding"
    ANTICOAGULANTS = "anticoagulants", "Taking anticoagulants"
    SKIN_INFECTION = "skin_infection", "Active skin infection or inflammation at the site"
    AUTOIMMUNE = "autoimmune", "Autoimmune disease"
    INGREDIENT_ALLERGY = "ingredient_allergy", "Known allergy to an ingredient"
    KELOID = "keloid", "Tendency to keloid scarring"
    ISOTRETINOIN = "isotretinoin", "Recent isotretinoin (last 6 months)"


class Answer(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    NO = "no", "No"
    YES = "yes", "Yes"


class ScreeningAnswer(models.Model):
    """One contraindication answered yes / no / unknown on a date."""

    screening = models.ForeignKey(Screening, on_delete=models.CASCADE, related_name="answers")
    item = models.CharField(max_length=30, choices=Contraindication.choices)
    answer = models.CharField(max_length=10, choices=Answer.choices, default=Answer.UNKNOWN)
    answered_on = models.DateField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["screening", "item"]
        constraints = [
            models.UniqueConstraint(
                fields=["screening", "item"],
                name="one_answer_per_item",
                violation_error_message="This contraindication is already answered in the screening.",
            ),
            models.CheckConstraint(
                condition=models.Q(answer="unknown") | models.Q(answered_on__isnull=False),
                name="answer_has_date",
                violation_error_message="Give the date on which the patient answered.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_item_display()}: {self.get_answer_display()}"


class ErasureRequest(models.Model):
    """A patient's request to be erased (GDPR Art. 17) and what became of it: who recorded it, who
    decided and why, and the outcome (rule `records-kept-after-erasure`, docs/clinical-rules.md).
    Nothing here is ever deleted."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting for a decision"
        REFUSED = "refused", "Refused"
        CONTACT_ERASED = "contact_erased", "Contact details erased; clinical records kept"
        DONE = "done", "Pseudonymised"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="erasure_requests")
    requested_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    how_asked = models.CharField(
        "how the patient asked", max_length=300, help_text="For example: by e-mail on 3 March, in person."
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_reason = models.TextField("reason for the decision", max_length=2000, blank=True)
    contact_erased_at = models.DateTimeField(null=True, blank=True)
    keep_clinical_until = models.DateField("clinical records kept until", null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=models.Q(state="pending"),
                name="one_pending_erasure_per_patient",
                violation_error_message="This patient already has an erasure request waiting for a decision.",
            ),
            models.CheckConstraint(
                condition=models.Q(state="pending")
                | (models.Q(decided_at__isnull=False) & models.Q(decided_by__isnull=False)),
                name="erasure_decision_has_who_and_when",
                violation_error_message="A decided erasure request names who decided and when.",
            ),
            models.CheckConstraint(
                condition=~models.Q(state__in=["contact_erased", "done"])
                | (models.Q(contact_erased_at__isnull=False) & models.Q(keep_clinical_until__isnull=False)),
                name="erasure_carried_out_has_dates",
                violation_error_message="An erasure carried out records when and how long records are kept.",
            ),
        ]

    def __str__(self) -> str:
        return f"Erasure request of {self.requested_at:%d/%m/%Y}"

    @property
    def is_pending(self) -> bool:
        return self.state == self.State.PENDING
