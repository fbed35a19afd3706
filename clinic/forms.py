from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.db import models

from .models import ClinicSettings

# Free text (a TextField has no length in the database) is bounded on the form: longer than any
# note a person types, short enough that a pasted or scripted megabyte is refused with a message.
FREE_TEXT_MAX_LENGTH = 5000


def bounded_formfield(db_field, **kwargs):
    """A ModelForm field as Django makes it, free text bounded (use as Meta.formfield_callback)."""
    if isinstance(db_field, models.TextField) and not db_field.max_length:
        kwargs.setdefault("max_length", FREE_TEXT_MAX_LENGTH)
    return db_field.formfield(**kwargs)


class ClinicSettingsForm(forms.ModelForm):
    website = forms.URLField(required=False, assume_scheme="https")

    class Meta:
        model = ClinicSettings
        formfield_callback = bounded_formfield
        fields = [
            "name",
            "address",
            "phone",
            "email",
            "website",
            "reminder_lead_hours",
            "default_appointment_minutes",
            "session_idle_minutes",
            "require_second_factor",
            "consent_validity_months",
            "retention_years",
        ]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", "Save settings"))
