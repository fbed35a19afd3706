from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms

YES_NO = [("yes", "Yes"), ("no", "No")]


class ConsentTemplateForm(forms.Form):
    title = forms.CharField(max_length=200)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 14}), help_text="What the patient reads.")
    statements = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="One statement per line; the patient ticks each one.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", "Save as a new version"))


class SignConsentForm(forms.Form):
    """The tablet form: the statements are ticked one by one; each photo use is a separate yes/no."""

    patient_name = forms.CharField(max_length=200, label="Patient's name")
    photos_clinical = forms.ChoiceField(
        choices=YES_NO, widget=forms.RadioSelect, label="Photos of the treated areas for my clinical record"
    )
    photos_marketing = forms.ChoiceField(
        choices=YES_NO, widget=forms.RadioSelect, label="Use of my photos in the clinic's marketing"
    )
    photos_research = forms.ChoiceField(
        choices=YES_NO, widget=forms.RadioSelect, label="Use of my photos, without my name, for research"
    )
    patient_signature = forms.CharField(widget=forms.HiddenInput, required=False)
    practitioner_signature = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, statements=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.statement_fields = []
        for number, statement in enumerate(statements):
            name = f"statement_{number}"
            self.fields[name] = forms.BooleanField(label=statement, required=False)
            self.statement_fields.append(name)

    def ticked(self) -> int:
        return sum(1 for name in self.statement_fields if self.cleaned_data.get(name))

    def answers(self) -> dict:
        return {
            name: self.cleaned_data[name] == "yes"
            for name in ("photos_clinical", "photos_marketing", "photos_research")
        }


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
