"""Forms validate single fields; the rules that span records live in services.py (Refusal)."""

from decimal import Decimal

from django import forms
from django.db.models import Q
from django.forms import formset_factory
from django.utils import timezone

from clinic.forms import bounded_formfield
from clinic.widgets import QuickSelect
from patients.models import Answer, Contraindication

from . import injection_map
from .models import (
    Area,
    Concern,
    Consultation,
    Ingredient,
    NeedleGauge,
    Reaction,
    SessionRecord,
    StockLot,
    Technique,
)
from .services import CONSULTATION_FIELDS, SESSION_FIELDS

CHECKBOXES = forms.CheckboxSelectMultiple


class ConsultationForm(forms.ModelForm):
    """The consultation note, with one yes/no/unknown field per contraindication for this visit (rule
    `screening-blocks-eligibility`, docs/clinical-rules.md)."""

    concerns = forms.MultipleChoiceField(choices=Concern.choices, widget=CHECKBOXES, required=False)
    plan_areas = forms.MultipleChoiceField(
        label="Treatment areas", choices=Area.choices, widget=CHECKBOXES, required=False
    )

    class Meta:
        model = Consultation
        formfield_callback = bounded_formfield
        fields = list(CONSULTATION_FIELDS)
        help_texts = {
            "plan_session_count": "Pre-filled with the maximum of the band for the patient's age.",
            "plan_interval_days": "Days between sessions; 3 or 4 means two sessions per week.",
        }
        widgets = {
            "date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "goals": forms.Textarea(attrs={"rows": 2}),
            "skin_assessment": forms.Textarea(attrs={"rows": 3}),
            "decision_reason": forms.Textarea(attrs={"rows": 2}),
            "override_reason": forms.Textarea(attrs={"rows": 2}),
            "plan_reason": forms.Textarea(attrs={"rows": 2}),
            "plan_concurrent_reason": forms.Textarea(attrs={"rows": 2}),
            "plan_notes": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, answers: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["decision"].required = False
        self.fields["decision"].choices = [("", "Not decided yet")] + list(self.fields["decision"].choices)[
            1:
        ]
        for item, label in Contraindication.choices:
            self.fields[f"answer_{item}"] = forms.ChoiceField(
                label=label,
                choices=Answer.choices,
                initial=answers.get(item, Answer.UNKNOWN),
                widget=forms.RadioSelect(attrs={"class": "form-check-inline"}),
            )

    @property
    def answer_fields(self):
        return [self[f"answer_{item}"] for item in Contraindication.values]

    def answers(self) -> dict[str, str]:
        return {item: self.cleaned_data[f"answer_{item}"] for item in Contraindication.values}

    def fields_for_service(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class AddendumForm(forms.Form):
    text = forms.CharField(label="Addendum", widget=forms.Textarea(attrs={"rows": 3}), max_length=5000)


class FormulationForm(forms.Form):
    concerns = forms.MultipleChoiceField(
        label="Concerns targeted", choices=Concern.choices[:-1], widget=CHECKBOXES, required=False
    )
    total_volume_ml = forms.DecimalField(
        label="Total volume (mL)", min_value=0.01, max_digits=6, decimal_places=2
    )
    vehicle = forms.CharField(label="Dilution / vehicle", max_length=200, required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=5000)


class IngredientChoiceField(forms.ModelChoiceField):
    """Shows unit, typical and maximum dose; marks ingredients the patient is allergic to."""

    widget = QuickSelect  # a formulation form holds a select of the whole catalogue per line
    allergies: frozenset = frozenset()

    def label_from_instance(self, obj):
        typical, maximum = obj.typical_amount.normalize(), obj.maximum_amount.normalize()
        label = f"{obj.name} ({obj.unit}, typical {typical:f}, max {maximum:f})"
        if obj.allergen_group_id in self.allergies:
            label += " — ALLERGY: not allowed"
        return label


class FormulationLineForm(forms.Form):
    ingredient = IngredientChoiceField(
        queryset=Ingredient.objects.none(), required=False, empty_label="Choose an ingredient…"
    )
    amount = forms.DecimalField(min_value=0.001, max_digits=8, decimal_places=3, required=False)
    override_reason = forms.CharField(label="Reason if above maximum", max_length=300, required=False)

    def __init__(self, *args, ingredients=None, allergies=frozenset(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ingredient"].queryset = (
            ingredients if ingredients is not None else Ingredient.objects.active()
        )
        self.fields["ingredient"].allergies = frozenset(allergies)
        self.fields["amount"].widget.attrs["step"] = "any"

    def clean(self):
        data = super().clean()
        if data.get("ingredient") and data.get("amount") is None and not self.errors:
            self.add_error("amount", "Give the amount for this ingredient.")
        if data.get("amount") is not None and not data.get("ingredient"):
            self.add_error("ingredient", "Choose the ingredient for this amount.")
        return data


# More ingredients than anyone mixes into one formulation; absolute_max stops a POST that declares
# thousands of lines from making Django build them all (seconds of work, megabytes of page).
MAX_LINES = 30
BaseLineFormSet = formset_factory(
    FormulationLineForm,
    extra=0,
    can_delete=False,
    max_num=MAX_LINES,
    absolute_max=MAX_LINES,
    validate_max=True,
)


class LineFormSet(BaseLineFormSet):
    default_error_messages = {
        **BaseLineFormSet.default_error_messages,
        "too_many_forms": (
            f"A formulation has at most {MAX_LINES} ingredient lines: remove some and save again."
        ),
    }

    def __init__(self, *args, ingredients=None, allergies=frozenset(), **kwargs):
        self.ingredients = ingredients
        self.allergies = allergies
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {"ingredients": self.ingredients, "allergies": self.allergies}

    @property
    def empty_form(self):
        form = self.form(
            auto_id=self.auto_id,
            prefix=self.add_prefix("__prefix__"),
            empty_permitted=True,
            use_required_attribute=False,
            ingredients=self.ingredients,
            allergies=self.allergies,
            renderer=self.renderer,
        )
        return form


class StockLotChoiceField(forms.ModelChoiceField):
    unit = ""

    def label_from_instance(self, obj):
        expiry = f"expires {obj.expiry_date:%d/%m/%Y}" if obj.expiry_date else "from old records"
        return f"{obj.lot_number} · {expiry} · {obj.quantity_remaining.normalize():f} {self.unit} left"


class SessionRecordForm(forms.ModelForm):
    areas = forms.MultipleChoiceField(label="Areas treated", choices=Area.choices, widget=CHECKBOXES)
    reactions = forms.MultipleChoiceField(
        label="Immediate reactions", choices=Reaction.choices, widget=CHECKBOXES, required=False
    )
    performed_at = forms.DateTimeField(
        label="Date and time",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    class Meta:
        model = SessionRecord
        formfield_callback = bounded_formfield
        fields = list(SESSION_FIELDS)
        widgets = {
            "aftercare_instructions": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, lines=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = list(lines)
        existing = {}
        if self.instance.pk:
            existing = {lot.line_id: lot.stock_lot_id for lot in self.instance.lots.all()}
        day = timezone.localdate()
        for line in self.lines:
            # Lots usable today, expiring first (rule `lot-usable`), plus the one already picked.
            usable = StockLot.objects.filter(ingredient_id=line.ingredient_id)
            usable = usable.filter(
                Q(pk=existing.get(line.pk)) | Q(pk__in=StockLot.objects.usable_on(day).values("pk"))
            ).order_by("expiry_date", "id")
            choices = list(usable)
            field = StockLotChoiceField(
                queryset=usable,
                label=f"Lot of {line.ingredient.name} ({line.amount.normalize():f} {line.unit})",
                required=False,
                empty_label="No lot picked yet" if choices else "No lot in stock: receive one first",
                initial=existing.get(line.pk) or (choices[0].pk if choices else None),
            )
            field.unit = line.ingredient.unit
            self.fields[f"lot_{line.pk}"] = field

    @property
    def lot_fields(self):
        return [self[f"lot_{line.pk}"] for line in self.lines]

    def lots(self) -> dict:
        return {line.pk: self.cleaned_data[f"lot_{line.pk}"] for line in self.lines}

    def fields_for_service(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


def parse_points(text: str) -> list[list[float]]:
    """Points typed or sent by the map's script: "x,y" pairs separated by spaces or semicolons."""
    points = []
    for pair in (text or "").replace(";", " ").split():
        x, sep, y = pair.partition(",")
        if not sep:
            raise forms.ValidationError("Write each point as x,y (for example 300,92), separated by spaces.")
        try:
            points.append([float(x), float(y)])
        except ValueError:
            raise forms.ValidationError(
                "Write each point as x,y (for example 300,92), separated by spaces."
            ) from None
    return points


def format_points(points) -> str:
    return " ".join(f"{x},{y}" for x, y in points or [])


class InjectionMapForm(forms.Form):
    """The injection map (rules `map-totals`, `map-points-in-zone`): for each zone of the diagram,
    whether it was treated, how, with which of the session's lots, and its points. A plain form: the
    map's script only fills the same fields from taps and keys."""

    def __init__(self, *args, existing=(), lots=(), **kwargs):
        super().__init__(*args, **kwargs)
        by_zone = {zone.zone: zone for zone in existing}
        lot_ids = [lot.pk for lot in lots]
        for shape in injection_map.ZONES:
            key, zone = shape.key, by_zone.get(shape.key)
            self.fields[f"{key}-treated"] = forms.BooleanField(
                label=f"{shape.label} treated", required=False, initial=zone is not None
            )
            self.fields[f"{key}-volume"] = forms.DecimalField(
                label="Volume (mL)",
                min_value=Decimal("0.01"),
                max_digits=6,
                decimal_places=2,
                required=False,
                initial=zone.volume_ml.normalize() if zone else None,
            )
            self.fields[f"{key}-technique"] = forms.ChoiceField(
                label="Technique",
                choices=Technique.choices,
                required=False,
                initial=zone.technique if zone else Technique.NEEDLE,
            )
            self.fields[f"{key}-depth"] = forms.DecimalField(
                label="Depth (mm)",
                min_value=Decimal("0.1"),
                max_value=10,
                max_digits=4,
                decimal_places=1,
                required=False,
                initial=zone.depth_mm.normalize() if zone and zone.depth_mm is not None else None,
            )
            self.fields[f"{key}-gauge"] = forms.ChoiceField(
                label="Needle gauge",
                choices=[("", "—"), *NeedleGauge.choices],
                required=False,
                initial=zone.needle_gauge if zone else "32G",
            )
            self.fields[f"{key}-lot"] = StockLotChoiceField(
                label="Lot",
                queryset=StockLot.objects.filter(pk__in=lot_ids).select_related("ingredient"),
                required=False,
                empty_label="—",
                initial=zone.stock_lot_id if zone else None,
            )
            self.fields[f"{key}-lot"].label_from_instance = lambda obj: (
                f"{obj.lot_number} ({obj.ingredient.name})"
            )
            self.fields[f"{key}-points"] = forms.CharField(
                label="Points (x,y)",
                required=False,
                max_length=4000,
                initial=format_points(zone.points) if zone else "",
                help_text="Tap the zone on the diagram, or write x,y pairs separated by spaces.",
            )

    @property
    def rows(self) -> list[dict]:
        return [
            {
                "shape": shape,
                **{
                    name: self[f"{shape.key}-{name}"]
                    for name in ("treated", "volume", "technique", "depth", "gauge", "lot", "points")
                },
            }
            for shape in injection_map.ZONES
        ]

    def clean(self):
        data = super().clean()
        for shape in injection_map.ZONES:
            key = shape.key
            if not data.get(f"{key}-treated"):
                continue
            if data.get(f"{key}-volume") is None and f"{key}-volume" not in self.errors:
                self.add_error(f"{key}-volume", f"Give the volume injected in {shape.label}.")
            try:
                data[f"{key}-points"] = parse_points(data.get(f"{key}-points", ""))
            except forms.ValidationError as error:
                self.add_error(f"{key}-points", error)
        return data

    def zone_inputs(self) -> list:
        from .services import ZoneInput

        data = self.cleaned_data
        return [
            ZoneInput(
                zone=shape.key,
                volume_ml=data[f"{shape.key}-volume"],
                technique=data.get(f"{shape.key}-technique") or Technique.NEEDLE,
                depth_mm=data.get(f"{shape.key}-depth"),
                needle_gauge=data.get(f"{shape.key}-gauge") or "",
                stock_lot=data.get(f"{shape.key}-lot"),
                points=data[f"{shape.key}-points"],
            )
            for shape in injection_map.ZONES
            if data.get(f"{shape.key}-treated")
        ]


class SessionCorrectionForm(forms.Form):
    what = forms.CharField(label="What is corrected", max_length=300)
    why = forms.CharField(label="Why", widget=forms.Textarea(attrs={"rows": 2}), max_length=5000)


class ReceiveStockForm(forms.Form):
    ingredient = forms.ModelChoiceField(
        label="Product",
        queryset=Ingredient.objects.active().order_by("name"),
        empty_label="Choose a product…",
    )
    lot_number = forms.CharField(label="Lot number", max_length=60)
    expiry_date = forms.DateField(label="Expiry date", widget=forms.DateInput(attrs={"type": "date"}))
    quantity_received = forms.DecimalField(
        label="Quantity received",
        min_value=Decimal("0.001"),
        max_digits=10,
        decimal_places=3,
        help_text="In the product's dosing unit (mg, mL, mcg…), as listed in the catalogue.",
    )
    supplier = forms.CharField(max_length=120, required=False)
    received_on = forms.DateField(
        label="Date received",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Today when left empty.",
    )


class RecallForm(forms.Form):
    reason = forms.CharField(
        label="Reason for the recall",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        help_text="For the clinic's record (the supplier's notice). The patients' e-mail leaves it out.",
    )
