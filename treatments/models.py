"""Clinical records: consultations, the ingredient catalogue, per-patient formulations (versioned)
and session records. Practitioners write them; clinic admin reads them. A rule cited as rule
`name` is in docs/clinical-rules.md."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from clinic.errors import Refusal
from patients.models import AllergenGroup, Answer, Contraindication, Patient


class Concern(models.TextChoices):
    """The four concerns the leaflet names (rule `four-concerns`), plus "other" (with text)."""

    TEXTURE_TONE = "texture_tone", "Texture and tone"
    FINE_LINES = "fine_lines", "Fine lines and wrinkles"
    PIGMENTATION = "pigmentation", "Pigmentation and dark spots"
    HYDRATION = "hydration", "Hydration and nourishment"
    OTHER = "other", "Other"


class Area(models.TextChoices):
    FACE = "face", "Face"
    NECK = "neck", "Neck"
    DECOLLETE = "decollete", "Décolleté"
    HANDS = "hands", "Hands"
    SCALP = "scalp", "Scalp"
    OTHER = "other", "Other"


def labels(choices: type[models.TextChoices], values: list[str]) -> list[str]:
    """Human labels for stored choice values, in the order of the choices."""
    chosen = set(values or [])
    return [label for value, label in choices.choices if value in chosen]


class Decision(models.TextChoices):
    """The practitioner's decision on whether mesotherapy suits this case (rule `eligibility-decision`)."""

    ELIGIBLE = "eligible", "Eligible"
    NOT_ELIGIBLE = "not_eligible", "Not eligible"
    DEFERRED = "deferred", "Deferred"


class Consultation(models.Model):
    """One consultation note (rule `consultation-first`): concerns, goals, assessment, screening for this
    visit, decision, plan.

    A draft can be edited; once signed it is locked and corrections are addenda."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consultations")
    practitioner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    date = models.DateField()
    concerns = models.JSONField(default=list, blank=True)
    concern_other = models.CharField("other concern", max_length=200, blank=True)
    goals = models.TextField("patient's goals", blank=True)
    skin_assessment = models.TextField(blank=True)
    decision = models.CharField(max_length=20, choices=Decision.choices, blank=True)
    decision_reason = models.TextField(blank=True)
    override_reason = models.TextField(
        "contraindication override reason",
        blank=True,
        help_text="Required to decide “eligible” when a contraindication is answered “yes”.",
    )
    plan_areas = models.JSONField("treatment areas", default=list, blank=True)
    plan_area_other = models.CharField("other area", max_length=200, blank=True)
    plan_session_count = models.PositiveSmallIntegerField(
        "proposed sessions", null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(30)]
    )
    plan_interval_days = models.PositiveSmallIntegerField(
        "interval (days)", null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(90)]
    )
    plan_reason = models.TextField(
        "reason for this count and cadence",
        blank=True,
        help_text=(
            "Why the number or spacing of sessions differs from the protocol for the patient's age, "
            "or why this course suits an age the protocol does not cover."
        ),
    )
    plan_notes = models.TextField(blank=True)
    signed_at = models.DateTimeField(null=True, blank=True, editable=False)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["patient", "-date"], name="consultation_patient_date")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(signed_at__isnull=True) | models.Q(signed_by__isnull=False),
                name="consultation_signed_has_signer",
                violation_error_message="A signed consultation must name who signed it.",
            ),
        ]

    def __str__(self) -> str:
        return f"Consultation of {self.date:%d/%m/%Y}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    @property
    def is_eligible(self) -> bool:
        return self.decision == Decision.ELIGIBLE

    @property
    def concern_labels(self) -> list[str]:
        return labels(Concern, self.concerns)

    @property
    def area_labels(self) -> list[str]:
        return labels(Area, self.plan_areas)


class ConsultationAnswer(models.Model):
    """A contraindication as confirmed at this visit (rule `screening-blocks-eligibility`), pre-filled
    from the patient's screening."""

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="answers")
    item = models.CharField(max_length=30, choices=Contraindication.choices)
    answer = models.CharField(max_length=10, choices=Answer.choices, default=Answer.UNKNOWN)

    history = HistoricalRecords()

    class Meta:
        ordering = ["consultation", "item"]
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "item"],
                name="one_visit_answer_per_item",
                violation_error_message="This contraindication is already answered for this visit.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_item_display()}: {self.get_answer_display()}"


class Addendum(models.Model):
    """A correction or addition to a signed consultation: author, time and text, never edited."""

    consultation = models.ForeignKey(Consultation, on_delete=models.PROTECT, related_name="addenda")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    text = models.TextField()

    history = HistoricalRecords()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "addenda"

    def __str__(self) -> str:
        return f"Addendum by {self.author} on {self.created_at:%d/%m/%Y %H:%M}"


class Category(models.TextChoices):
    VITAMIN = "vitamin", "Vitamin"
    MINERAL = "mineral", "Mineral"
    AMINO_ACID = "amino_acid", "Amino acid"
    HYALURONIC_ACID = "hyaluronic_acid", "Hyaluronic acid"
    PEPTIDE = "peptide", "Peptide"
    ANTIOXIDANT = "antioxidant", "Antioxidant"
    DEPIGMENTING = "depigmenting", "Depigmenting agent"
    NUCLEOTIDE = "nucleotide", "Nucleotide"
    OTHER = "other", "Other"


class Unit(models.TextChoices):
    MG = "mg", "mg"
    MCG = "mcg", "mcg"
    ML = "mL", "mL"
    PERCENT = "%", "%"
    IU = "IU", "IU"


class IngredientQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Ingredient(models.Model):
    """A catalogue substance: dosing unit, typical and maximum amount per session, allergen group (rule
    `per-patient-formulation`)."""

    name = models.CharField(max_length=100, unique=True)
    category = models.CharField(max_length=20, choices=Category.choices)
    unit = models.CharField("dosing unit", max_length=5, choices=Unit.choices)
    typical_amount = models.DecimalField("typical per session", max_digits=8, decimal_places=3)
    maximum_amount = models.DecimalField("maximum per session", max_digits=8, decimal_places=3)
    concerns = models.JSONField("concerns addressed", default=list, blank=True)
    allergen_group = models.ForeignKey(
        AllergenGroup, null=True, blank=True, on_delete=models.PROTECT, related_name="ingredients"
    )
    description = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(
        "active", default=True, help_text="Retired ingredients cannot be formulated."
    )

    history = HistoricalRecords()
    objects = IngredientQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(typical_amount__gt=0),
                name="ingredient_typical_positive",
                violation_error_message="The typical amount must be more than zero.",
            ),
            models.CheckConstraint(
                condition=models.Q(maximum_amount__gte=models.F("typical_amount")),
                name="ingredient_max_not_below_typical",
                violation_error_message="The maximum amount cannot be below the typical amount.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        both = self.typical_amount is not None and self.maximum_amount is not None
        if both and self.maximum_amount < self.typical_amount:
            raise ValidationError({"maximum_amount": "The maximum cannot be below the typical amount."})

    @property
    def concern_labels(self) -> list[str]:
        return labels(Concern, self.concerns)


class Formulation(models.Model):
    """One version of a patient's cocktail (rule `per-patient-formulation`). A change makes a new version; a
    version used in a session record never changes (the model refuses, as does the service)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="formulations")
    consultation = models.ForeignKey(Consultation, on_delete=models.PROTECT, related_name="formulations")
    version = models.PositiveIntegerField()
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="based on"
    )
    concerns = models.JSONField("concerns targeted", default=list, blank=True)
    total_volume_ml = models.DecimalField(
        "total volume (mL)", max_digits=6, decimal_places=2, validators=[MinValueValidator(0.01)]
    )
    vehicle = models.CharField("dilution / vehicle", max_length=200, blank=True)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["patient", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "version"],
                name="one_formulation_version_per_patient",
                violation_error_message="This patient already has a formulation with that version number.",
            ),
            models.CheckConstraint(
                condition=models.Q(total_volume_ml__gt=0),
                name="formulation_volume_positive",
                violation_error_message="The total volume must be more than zero.",
            ),
        ]

    def __str__(self) -> str:
        return f"Formulation v{self.version}"

    def save(self, *args, **kwargs):
        # The database row of a used version is evidence of what was injected: never rewrite it.
        if self.is_used():
            raise Refusal(f"Formulation v{self.version} was used in a session and cannot change.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.is_used():
            raise Refusal(f"Formulation v{self.version} was used in a session and cannot be deleted.")
        return super().delete(*args, **kwargs)

    def is_used(self) -> bool:
        return self.pk is not None and self.session_records.exists()

    @property
    def concern_labels(self) -> list[str]:
        return labels(Concern, self.concerns)


class FormulationLine(models.Model):
    """One ingredient of a formulation version, in the ingredient's unit."""

    formulation = models.ForeignKey(Formulation, on_delete=models.CASCADE, related_name="lines")
    ingredient = models.ForeignKey(Ingredient, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=8, decimal_places=3)
    unit = models.CharField(max_length=5, choices=Unit.choices)
    override_reason = models.CharField("reason for exceeding the maximum", max_length=300, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["formulation", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["formulation", "ingredient"],
                name="ingredient_once_per_formulation",
                violation_error_message="Each ingredient can appear only once in a formulation.",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0),
                name="formulation_line_amount_positive",
                violation_error_message="Each amount must be more than zero.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ingredient} {self.amount.normalize():f} {self.unit}"

    def save(self, *args, **kwargs):
        if self.formulation_id and self.formulation.is_used():
            raise Refusal("This formulation version was used in a session and cannot change.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.formulation.is_used():
            raise Refusal("This formulation version was used in a session and cannot change.")
        return super().delete(*args, **kwargs)


class Technique(models.TextChoices):
    NEEDLE = "needle", "Needle"
    INJECTOR = "injector", "Mechanical injector"


class NeedleGauge(models.TextChoices):
    G27 = "27G", "27G"
    G30 = "30G", "30G"
    G32 = "32G", "32G"
    G33 = "33G", "33G"
    G34 = "34G", "34G"


class Reaction(models.TextChoices):
    """Immediate reactions (rule `immediate-reactions`: redness or swelling are normal and short-lived)."""

    REDNESS = "redness", "Redness"
    SWELLING = "swelling", "Swelling"
    BRUISING = "bruising", "Bruising"
    OTHER = "other", "Other"


class SessionRecord(models.Model):
    """What was done at one session (rules `session-about-an-hour`, `technique-recorded`,
    `immediate-reactions`). "Mark done" locks it and queues the aftercare e-mail (rule `aftercare-once`)."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="session_records")
    practitioner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    performed_at = models.DateTimeField("date and time")
    formulation = models.ForeignKey(
        Formulation, on_delete=models.PROTECT, related_name="session_records", verbose_name="formulation used"
    )
    # The booked treatment session this record is for. One record per appointment (the database
    # guarantees it); marking the record done completes the appointment in the same transaction.
    appointment = models.OneToOneField(
        "scheduling.Appointment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="session_record",
        editable=False,
    )
    areas = models.JSONField("areas treated", default=list, blank=True)
    area_other = models.CharField("other area", max_length=200, blank=True)
    technique = models.CharField(max_length=10, choices=Technique.choices, default=Technique.NEEDLE)
    needle_gauge = models.CharField(max_length=4, choices=NeedleGauge.choices, blank=True)
    grid_spacing_mm = models.DecimalField(
        "grid spacing (mm)",
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0.1), MaxValueValidator(50)],
    )
    depth_mm = models.DecimalField(
        "depth (mm)",
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0.1), MaxValueValidator(10)],
    )
    numbing_cream = models.BooleanField("numbing cream applied", default=False)
    numbing_product = models.CharField("numbing product", max_length=120, blank=True)
    volume_ml = models.DecimalField(
        "volume given (mL)",
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    pain_score = models.PositiveSmallIntegerField(
        "pain score (0–10)", null=True, blank=True, validators=[MaxValueValidator(10)]
    )
    reactions = models.JSONField("immediate reactions", default=list, blank=True)
    reaction_other = models.CharField("other reaction", max_length=200, blank=True)
    aftercare_instructions = models.TextField(
        "aftercare for this patient", blank=True, help_text="Added to the standard aftercare e-mail."
    )
    notes = models.TextField(blank=True)
    done_at = models.DateTimeField(null=True, blank=True, editable=False)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Set once, in the transaction that marks the session done: the aftercare e-mail is due (rule
    # `aftercare-once`).
    aftercare_due_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-performed_at", "-id"]
        indexes = [
            models.Index(fields=["patient", "-performed_at"], name="session_record_patient_time"),
            models.Index(fields=["practitioner", "done_at"], name="session_record_open"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(pain_score__isnull=True) | models.Q(pain_score__lte=10),
                name="session_pain_score_0_10",
                violation_error_message="The pain score goes from 0 to 10.",
            ),
            models.CheckConstraint(
                condition=models.Q(done_at__isnull=True) | models.Q(done_by__isnull=False),
                name="session_done_has_author",
                violation_error_message="A session marked done must name who marked it.",
            ),
        ]

    def __str__(self) -> str:
        return f"Session of {self.performed_at:%d/%m/%Y}"

    @property
    def is_done(self) -> bool:
        return self.done_at is not None

    @property
    def area_labels(self) -> list[str]:
        return labels(Area, self.areas)

    @property
    def reaction_labels(self) -> list[str]:
        return labels(Reaction, self.reactions)


class SessionLot(models.Model):
    """The lot/batch number of the product used for one formulation line at one session."""

    session_record = models.ForeignKey(SessionRecord, on_delete=models.CASCADE, related_name="lots")
    line = models.ForeignKey(FormulationLine, on_delete=models.PROTECT, related_name="+")
    lot_number = models.CharField(max_length=60, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["session_record", "line"]
        constraints = [
            models.UniqueConstraint(
                fields=["session_record", "line"],
                name="one_lot_per_line",
                violation_error_message="Each ingredient has one lot number per session.",
            )
        ]

    def __str__(self) -> str:
        return self.lot_number
