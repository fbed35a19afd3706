"""Forms validate single fields; the rules that span records live in services.py (Refusal)."""

from django import forms
from django.forms import formset_factory

from clinic.forms import bounded_formfield
from clinic.widgets import QuickSelect
from patients.models import Answer, Contraindication

from .models import Area, Concern, Consultation, Ingredient, Reaction, SessionRecord
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
            existing = {lot.line_id: lot.lot_number for lot in self.instance.lots.all()}
        for line in self.lines:
            self.fields[f"lot_{line.pk}"] = forms.CharField(
                label=f"Lot / batch of {line.ingredient.name}",
                max_length=60,
                required=False,
                initial=existing.get(line.pk, ""),
            )

    @property
    def lot_fields(self):
        return [self[f"lot_{line.pk}"] for line in self.lines]

    def lots(self) -> dict[int, str]:
        return {line.pk: self.cleaned_data[f"lot_{line.pk}"] for line in self.lines}

    def fields_for_service(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}
