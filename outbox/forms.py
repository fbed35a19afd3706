from django import forms

from .kinds import registered_kinds
from .models import OutboxMessage


class OutboxFilterForm(forms.Form):
    """The filters of the Messages page (GET). Bad values become field errors, never a 500."""

    state = forms.ChoiceField(required=False, choices=[("", "Any state"), *OutboxMessage.State.choices])
    kind = forms.ChoiceField(required=False)
    q = forms.CharField(
        required=False,
        max_length=100,
        label="Patient or address",
        widget=forms.TextInput(attrs={"placeholder": "Name, chart number or e-mail", "type": "search"}),
    )
    patient = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    date_from = forms.DateField(
        required=False, label="Due from", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="Due until", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        kinds = [(name, kind.label) for name, kind in registered_kinds().items()]
        self.fields["kind"].choices = [("", "Any kind"), *kinds]

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "The end date is before the start date.")
        return data

    def filters(self) -> dict:
        """What outbox_list() filters by; nothing while any filter is not understood."""
        return self.cleaned_data if self.is_valid() else {}


class TestMessageForm(forms.Form):
    recipient = forms.EmailField(label="Send a test message to", max_length=254)
