import datetime

from crispy_forms.bootstrap import InlineRadios
from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Column, Field, Fieldset, Layout, Row, Submit
from django import forms
from django.utils import timezone
from phonenumber_field.formfields import PhoneNumberField

from clinic.forms import bounded_formfield

from .models import AllergenGroup, Answer, Contraindication, Patient, Screening

MAX_AGE_YEARS = 120
PHONE_INVALID = (
    "Enter a valid phone number, for example 912 345 678, or with the country code, "
    "for example +44 7911 123456."
)
DOB_IN_FUTURE = "The date of birth cannot be in the future."
DOB_TOO_OLD = "The date of birth is more than 120 years ago. Check the year."
DATE_INVALID = "Enter a real date, for example 07/03/1985."


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class PatientForm(forms.ModelForm):
    """Identity and contact. Field checks only: the duplicate rule is `selectors.find_duplicates`,
    applied by the view, which then asks for `not_a_duplicate`."""

    phone = PhoneNumberField(
        required=False,
        widget=forms.TextInput(attrs={"type": "tel"}),
        error_messages={"invalid": PHONE_INVALID},
        help_text="Portuguese numbers need no country code; others start with + and the country code.",
    )
    not_a_duplicate = forms.BooleanField(required=False, label="This is a different person — register anyway")

    class Meta:
        model = Patient
        formfield_callback = bounded_formfield
        fields = [
            "given_name",
            "family_name",
            "preferred_name",
            "date_of_birth",
            "sex",
            "phone",
            "email",
            "preferred_contact",
            "email_consent",
            "address_line",
            "postal_code",
            "city",
            "country",
            "notes",
        ]
        widgets = {
            "date_of_birth": DateInput(),
            "notes": forms.Textarea(attrs={"rows": 3}),
            "sex": forms.RadioSelect,
            "preferred_contact": forms.RadioSelect,
        }
        labels = {"sex": "Sex (optional)", "email": "E-mail"}
        error_messages = {
            "date_of_birth": {"invalid": DATE_INVALID},
            "email": {"invalid": "Enter a valid e-mail address, for example name@example.com."},
            "given_name": {"required": "Enter the patient's given name."},
            "family_name": {"required": "Enter the patient's family name."},
        }

    def __init__(self, *args, duplicates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.duplicates = list(duplicates)
        self.fields["date_of_birth"].error_messages["required"] = "Enter the date of birth."
        self.fields["sex"].choices = [("", "Not stated"), *self.fields["sex"].choices[1:]]
        self.fields["sex"].required = False
        # Staff type other people's details here: the browser must not offer the user's own
        # saved name, e-mail or address (WCAG 1.3.5 asks for purpose tokens only for the user's own data).
        for form_field in self.fields.values():
            if isinstance(form_field.widget, forms.TextInput | forms.EmailInput | forms.Textarea):
                form_field.widget.attrs.setdefault("autocomplete", "off")
        self.fields["email"].widget.attrs.update({"inputmode": "email", "spellcheck": "false"})
        self.fields["phone"].widget.attrs.update({"inputmode": "tel"})
        today = timezone.localdate()
        self.fields["date_of_birth"].widget.attrs.update(
            {"max": today.isoformat(), "min": f"{today.year - MAX_AGE_YEARS}-01-01"}
        )
        if not self.instance.pk:
            self.fields["given_name"].widget.attrs["autofocus"] = True
        if self.instance.pk and self.instance.email_consent_changed_at:
            when = timezone.localtime(self.instance.email_consent_changed_at).strftime("%d %b %Y %H:%M")
            given = "given" if self.instance.email_consent else "withdrawn"
            self.fields["email_consent"].help_text = f"Consent {given} on {when}."
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            HTML('{% include "patients/_duplicates.html" %}'),
            Fieldset(
                "Identity",
                Row(
                    Column("given_name", css_class="col-md-4"),
                    Column("family_name", css_class="col-md-4"),
                    Column("preferred_name", css_class="col-md-4"),
                ),
                Row(
                    Column("date_of_birth", css_class="col-md-4"),
                    Column(InlineRadios("sex"), css_class="col-md-8"),
                ),
            ),
            Fieldset(
                "Contact",
                Row(Column("phone", css_class="col-md-5"), Column("email", css_class="col-md-7")),
                Row(
                    Column(InlineRadios("preferred_contact"), css_class="col-md-7"),
                    Column("email_consent", css_class="col-md-5 pt-md-4"),
                ),
                Row(Column("address_line", css_class="col-12")),
                Row(
                    Column("postal_code", css_class="col-md-3"),
                    Column("city", css_class="col-md-5"),
                    Column("country", css_class="col-md-4"),
                ),
            ),
            Fieldset("Notes", Field("notes")),
        )
        self.helper.form_show_labels = True

    def focus_first_error(self) -> None:
        """On a refused form, the cursor goes to the first field to fix (the duplicate box first)."""
        order = ["not_a_duplicate", *self.Meta.fields]
        first = next((name for name in order if name in self.errors), None)
        if first is None:
            return
        for form_field in self.fields.values():
            form_field.widget.attrs.pop("autofocus", None)
        self.fields[first].widget.attrs["autofocus"] = True

    def clean_date_of_birth(self) -> datetime.date:
        born = self.cleaned_data["date_of_birth"]
        today = timezone.localdate()
        if born > today:
            raise forms.ValidationError(DOB_IN_FUTURE)
        try:
            limit = today.replace(year=today.year - MAX_AGE_YEARS)
        except ValueError:  # 29 February
            limit = today.replace(year=today.year - MAX_AGE_YEARS, day=28)
        if born < limit:
            raise forms.ValidationError(DOB_TOO_OLD)
        return born

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def patient_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class ScreeningForm(forms.ModelForm):
    """The practitioner's screening: allergies, medications, skin type, and one yes/no/unknown answer
    with its date for each contraindication (rule `screening-blocks-eligibility`, docs/clinical-rules.md)."""

    allergen_groups = forms.ModelMultipleChoiceField(
        queryset=AllergenGroup.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        label="Allergic to",
    )

    class Meta:
        model = Screening
        formfield_callback = bounded_formfield
        fields = ["allergen_groups", "allergy_notes", "current_medications", "fitzpatrick_type"]
        widgets = {
            "allergy_notes": forms.Textarea(attrs={"rows": 2}),
            "current_medications": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "allergy_notes": "Allergies not covered by the groups above (foods, drugs, materials).",
            "current_medications": "Name, dose and since when. Anticoagulants also count below.",
        }

    def __init__(self, *args, answers=None, read_only=False, **kwargs):
        super().__init__(*args, **kwargs)
        skin = self.fields["fitzpatrick_type"]
        skin.choices = [("", "Not assessed"), *skin.choices[1:]]
        answers = answers or {}
        today = timezone.localdate().isoformat()
        self._rows = []
        for item, label in Contraindication.choices:
            existing = answers.get(item)
            answer_name, date_name = f"answer_{item}", f"date_{item}"
            self.fields[answer_name] = forms.ChoiceField(
                label=label,
                choices=[(Answer.NO, "No"), (Answer.YES, "Yes"), (Answer.UNKNOWN, "Unknown")],
                widget=forms.RadioSelect(attrs={"data-screening-answer": item, "class": "btn-check"}),
                initial=existing.answer if existing else Answer.UNKNOWN,
            )
            self.fields[date_name] = forms.DateField(
                label=f"Date answered ({label})",
                required=False,
                widget=DateInput(
                    attrs={"max": today, "data-screening-date": item, "class": "form-control form-control-sm"}
                ),
                initial=existing.answered_on if existing else None,
                error_messages={"invalid": DATE_INVALID},
            )
            self._rows.append((label, answer_name, date_name))
        if read_only:
            for form_field in self.fields.values():
                form_field.disabled = True

    @property
    def contraindication_rows(self):
        """(label, answer field, date field) per contraindication, for the template's table."""
        return [(label, self[answer], self[date]) for label, answer, date in self._rows]

    def clean(self):
        cleaned = super().clean()
        today = timezone.localdate()
        for item in Contraindication.values:
            answer = cleaned.get(f"answer_{item}")
            answered_on = cleaned.get(f"date_{item}")
            needs_date = answer in (Answer.YES, Answer.NO) and answered_on is None
            if needs_date and f"date_{item}" not in self.errors:
                self.add_error(
                    f"date_{item}",
                    f"Give the date this was answered — a “{answer}” needs one (set “Unknown” if not asked).",
                )
            if answered_on and answered_on > today:
                self.add_error(f"date_{item}", "The date cannot be in the future.")
        return cleaned

    def answers(self) -> dict:
        return {
            item: (self.cleaned_data[f"answer_{item}"], self.cleaned_data[f"date_{item}"])
            for item in Contraindication.values
        }


class ErasureRequestForm(forms.Form):
    how_asked = forms.CharField(
        label="How the patient asked",
        max_length=300,
        help_text="For example: by e-mail on 3 March, in person at the desk.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", "Record the request"))


class ErasureDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[
            ("approve", "Erase: contact details now, clinical records after the retention period"),
            ("refuse", "Refuse"),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label="Reason",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required to refuse; the patient is told it.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", "Record the decision"))
