"""Clinical records: consultations, the ingredient catalogue, per-patient formulations (versioned)
and session records. Practitioners write them; clinic admin reads them. A rule cited as rule
`name` is in docs/clinical-rules.md."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from clinic.errors import Refusal
from patients.models import AllergenGroup, Answer, Contraindication, Patient

from . import injection_map


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
    plan_concurrent_reason = models.TextField(
        "reason for a second course at the same time",
        blank=True,
        help_text=(
            "Only when this course may run while the patient's earlier course is still booked, e.g. "
            "another area: say why."
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

    @property
    def map_rows(self) -> list[dict]:
        """Each zone of the diagram with what was recorded there (None when untreated), for the
        read-only map: prefetch "zones" to read it without a query."""
        by_zone = {zone.zone: zone for zone in self.zones.all()}
        return [{"shape": shape, "zone": by_zone.get(shape.key)} for shape in injection_map.ZONES]


class StockLotQuerySet(models.QuerySet):
    def usable_on(self, day):
        """Lots that may be used on this day: not expired, not recalled, with some left; expiring
        first (rule `lot-usable`)."""
        return self.filter(expiry_date__gte=day, recalled_at__isnull=True, quantity_remaining__gt=0).order_by(
            "expiry_date", "received_on", "id"
        )


class StockLot(models.Model):
    """A lot of a catalogue product received into stock (rules `lot-usable`, `lot-stock-decrement`):
    quantities are in the product's dosing unit. Lots "from old records" were typed by hand before
    stock was kept: they carry the number only, have nothing left and cannot be picked again."""

    ingredient = models.ForeignKey(
        Ingredient, on_delete=models.PROTECT, related_name="stock_lots", verbose_name="product"
    )
    lot_number = models.CharField("lot number", max_length=60, db_index=True)
    expiry_date = models.DateField("expiry date", null=True, blank=True)
    quantity_received = models.DecimalField("quantity received", max_digits=10, decimal_places=3)
    quantity_remaining = models.DecimalField("quantity left", max_digits=10, decimal_places=3)
    supplier = models.CharField(max_length=120, blank=True)
    received_on = models.DateField("date received", null=True, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    from_old_records = models.BooleanField("from records before stock was kept", default=False)
    recalled_at = models.DateTimeField(null=True, blank=True, editable=False)
    recalled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recall_reason = models.TextField("reason for the recall", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()
    objects = StockLotQuerySet.as_manager()

    class Meta:
        ordering = ["ingredient", "expiry_date", "id"]
        indexes = [models.Index(fields=["ingredient", "expiry_date"], name="stock_lot_product_expiry")]
        constraints = [
            models.UniqueConstraint(
                fields=["ingredient", "lot_number"],
                name="one_stock_lot_per_product_number",
                violation_error_message="This product already has a lot with this number in stock.",
            ),
            models.CheckConstraint(
                condition=models.Q(quantity_remaining__gte=0),
                name="stock_lot_remaining_not_negative",
                violation_error_message="Not enough of this lot is left for this use: pick another lot.",
            ),
            models.CheckConstraint(
                condition=models.Q(quantity_remaining__lte=models.F("quantity_received")),
                name="stock_lot_remaining_within_received",
                violation_error_message="A lot cannot hold more than was received.",
            ),
            models.CheckConstraint(
                condition=models.Q(from_old_records=True)
                | (models.Q(expiry_date__isnull=False) & models.Q(quantity_received__gt=0)),
                name="stock_lot_received_has_expiry_and_quantity",
                violation_error_message="A lot received into stock needs its expiry date and a quantity.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lot_number} ({self.ingredient})"

    @property
    def is_recalled(self) -> bool:
        return self.recalled_at is not None

    def state_on(self, day) -> str:
        """Plain words for why a lot can or cannot be used on this day."""
        if self.is_recalled:
            return "recalled"
        if self.expiry_date is None or self.quantity_remaining <= 0:
            return "used up"
        if self.expiry_date < day:
            return "expired"
        return "usable"


class SessionLot(models.Model):
    """The lot of the product used for one formulation line at one session (rule `lot-required`):
    picked from stock (`stock_lot`); `lot_number` keeps the number as recorded (typed by hand on
    records from before stock was kept)."""

    session_record = models.ForeignKey(SessionRecord, on_delete=models.CASCADE, related_name="lots")
    line = models.ForeignKey(FormulationLine, on_delete=models.PROTECT, related_name="+")
    lot_number = models.CharField(max_length=60, blank=True)
    stock_lot = models.ForeignKey(
        StockLot, null=True, blank=True, on_delete=models.PROTECT, related_name="uses"
    )
    # What came off the lot when the session was marked done (rule `lot-stock-decrement`).
    quantity_used = models.DecimalField(max_digits=10, decimal_places=3, null=True, blank=True)

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


class InjectionZone(models.Model):
    """One treated zone of the injection map (rules `map-totals`, `map-points-in-zone`): how it was
    injected and the points, in the diagram's coordinates (treatments/injection_map.py).

    Zones are rows (the lot is a real foreign key the recall can follow; volumes add up in the
    database); the points are a validated JSON list of [x, y] pairs, always read and written with
    their zone and never queried one by one."""

    session_record = models.ForeignKey(SessionRecord, on_delete=models.CASCADE, related_name="zones")
    zone = models.CharField(max_length=30, choices=injection_map.CHOICES)
    technique = models.CharField(max_length=10, choices=Technique.choices, default=Technique.NEEDLE)
    depth_mm = models.DecimalField(
        "depth (mm)",
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0.1), MaxValueValidator(10)],
    )
    needle_gauge = models.CharField(max_length=4, choices=NeedleGauge.choices, blank=True)
    volume_ml = models.DecimalField(
        "volume (mL)", max_digits=6, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    stock_lot = models.ForeignKey(
        StockLot, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name="lot"
    )
    points = models.JSONField(default=list, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["session_record", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["session_record", "zone"],
                name="one_map_zone_per_session",
                violation_error_message="Each zone appears once on a session's map.",
            ),
            models.CheckConstraint(
                condition=models.Q(volume_ml__gt=0),
                name="map_zone_volume_positive",
                violation_error_message="The volume of a zone must be more than zero.",
            ),
        ]

    def __str__(self) -> str:
        return self.get_zone_display()

    @property
    def shape(self) -> injection_map.Zone:
        return injection_map.BY_KEY[self.zone]


class SessionCorrection(models.Model):
    """A correction to a session marked done (rule `session-correction`): what is corrected and why,
    with its author and time; never edited. The record itself stays as it was."""

    session_record = models.ForeignKey(SessionRecord, on_delete=models.PROTECT, related_name="corrections")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    what = models.CharField("what is corrected", max_length=300)
    why = models.TextField("why")

    history = HistoricalRecords()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Correction by {self.author} on {self.created_at:%d/%m/%Y %H:%M}"
