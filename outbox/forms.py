from django import forms

from .kinds import registered_kinds
from .models import OutboxMessage


class OutboxFilterForm(forms.Form):
    """The filters of the Messages page (GET; the template draws the fields). Bad values become field
    errors, never a 500."""

    state = forms.ChoiceField(required=False, choices=[("", "Any state"), *OutboxMessage.State.choices])
    # A callable: the kinds are registered after this module is imported.
    kind = forms.ChoiceField(
        required=False,
        choices=lambda: [("", "Any kind"), *((k, v.label) for k, v in registered_kinds().items())],
    )
    q = forms.CharField(required=False, max_length=100, label="Patient or address")
    patient = forms.IntegerField(required=False, min_value=1)
    date_from = forms.DateField(required=False, label="Due from")
    date_to = forms.DateField(required=False, label="Due until")

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The end date is before the start date.")
        return data


class TestMessageForm(forms.Form):
    recipient = forms.EmailField(max_length=254)
