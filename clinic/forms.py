from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms

from .models import ClinicSettings


class ClinicSettingsForm(forms.ModelForm):
    website = forms.URLField(required=False, assume_scheme="https")

    class Meta:
        model = ClinicSettings
        fields = [
            "name",
            "address",
            "phone",
            "email",
            "website",
            "reminder_lead_hours",
            "default_appointment_minutes",
            "session_idle_minutes",
            "retention_years",
        ]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", "Save settings"))
