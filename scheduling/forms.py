"""Forms validate field by field; the services decide (and their refusals come back via add_error)."""

import datetime

from django import forms

from clinic.staff import person
from clinic.widgets import QuickSelect

from .availability import active_rooms, practitioners
from .models import AppointmentKind, Cadence, Weekday, cadence_label


class PractitionerChoiceField(forms.ModelChoiceField):
    widget = QuickSelect  # the planner's page holds seven of these (figure 4)

    def label_from_instance(self, obj):
        return person(obj)


class RoomChoiceField(forms.ModelChoiceField):
    widget = QuickSelect


def _date_input():
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _time_input():
    return forms.TimeInput(attrs={"type": "time", "step": 900}, format="%H:%M")


class PlanForm(forms.Form):
    """What the series planner needs besides the patient (rules `band-proposes-practitioner-decides`,
    `age-banded-schedule`, `no-band-no-default`, `course-count-range`, `twice-weekly-spacing`;
    docs/clinical-rules.md)."""

    first_date = forms.DateField(
        required=False, widget=_date_input(), help_text="Leave empty for the earliest available day."
    )
    preferred_time = forms.TimeField(initial=datetime.time(10), widget=_time_input())
    practitioner = PractitionerChoiceField(queryset=None, required=False, empty_label="Any practitioner")
    room = RoomChoiceField(queryset=None, required=False, empty_label="Any room")
    count = forms.IntegerField(
        label="Number of sessions",
        required=False,
        min_value=1,
        max_value=30,
        help_text="Empty: the band's maximum.",
    )
    cadence = forms.ChoiceField(
        choices=[("", "From the protocol band"), *Cadence.choices], required=False, widget=QuickSelect
    )
    weekdays = forms.TypedMultipleChoiceField(
        label="Weekdays (two sessions per week)",
        choices=[c for c in Weekday.choices if c[0] < 6],
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Default Monday and Thursday.",
    )
    override_reason = forms.CharField(
        label="Reason for a count or cadence other than the band's",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=500,
    )

    def __init__(self, *args, plan_cadence: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].queryset = practitioners()
        self.fields["room"].queryset = active_rooms()
        if plan_cadence and plan_cadence not in Cadence.values:
            # The practitioner's plan may use an interval the usual cadences do not list (every 10 days).
            per, days = (int(n) for n in plan_cadence.split("/"))
            label = f"{cadence_label(per, days).capitalize()} (the practitioner's plan)"
            self.fields["cadence"].choices = [*self.fields["cadence"].choices, (plan_cadence, label)]

    @property
    def cadence_tuple(self) -> tuple[int, int] | None:
        value = self.cleaned_data.get("cadence")
        if not value:
            return None
        per, days = value.split("/")
        return int(per), int(days)


class SessionRowForm(forms.Form):
    """One proposed session, movable by the person at the desk."""

    date = forms.DateField(widget=_date_input())
    time = forms.TimeField(widget=_time_input())
    practitioner = PractitionerChoiceField(queryset=None)
    room = RoomChoiceField(queryset=None)

    def __init__(self, *args, staff=None, rooms=None, choices: "RowChoices | None" = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].queryset = staff if staff is not None else practitioners()
        self.fields["room"].queryset = rooms if rooms is not None else active_rooms()
        if choices is not None:
            # The formset's rows share one list of each (read once), not a query per row and select.
            self.fields["practitioner"].choices = choices.practitioners
            self.fields["room"].choices = choices.rooms
        for name in ("date", "time", "practitioner", "room"):
            self.fields[name].widget.attrs["class"] = "form-control form-control-sm"
        self.fields["practitioner"].widget.attrs["class"] = "form-select form-select-sm"
        self.fields["room"].widget.attrs["class"] = "form-select form-select-sm"


class RowChoices:
    """The practitioner and room options of the planner's rows, read once for the whole formset
    (the same options, labels and order each row's ModelChoiceField would query)."""

    def __init__(self):
        practitioner_field = PractitionerChoiceField(queryset=practitioners())
        room_field = RoomChoiceField(queryset=active_rooms())
        self.practitioners = list(practitioner_field.choices)
        self.rooms = list(room_field.choices)


# A series has at most 30 sessions (PlanForm); absolute_max stops a POST that declares more rows
# from making Django build them all before refusing it.
SessionRowFormSet = forms.formset_factory(
    SessionRowForm, extra=0, max_num=30, absolute_max=30, validate_max=True
)


class AppointmentForm(forms.Form):
    """A single appointment (a consultation, a review, or one treatment session)."""

    kind = forms.ChoiceField(choices=AppointmentKind.choices, initial=AppointmentKind.CONSULTATION)
    date = forms.DateField(widget=_date_input())
    time = forms.TimeField(widget=_time_input())
    minutes = forms.IntegerField(label="Length (minutes)", min_value=15, max_value=240)
    practitioner = PractitionerChoiceField(queryset=None)
    room = RoomChoiceField(queryset=None)
    notes = forms.CharField(
        label="Booking notes",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Administrative only: no clinical information.",
        max_length=2000,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].queryset = practitioners()
        self.fields["room"].queryset = active_rooms()


class RescheduleForm(forms.Form):
    date = forms.DateField(widget=_date_input())
    time = forms.TimeField(widget=_time_input())
    practitioner = PractitionerChoiceField(queryset=None)
    room = RoomChoiceField(queryset=None)
    shift_rest = forms.BooleanField(
        label="Shift the rest of the series by the same amount",
        required=False,
        help_text=(
            "Every later session moves by exactly as much as this one, days and time of day together: "
            "moving this one 2 days later and from 10:00 to 11:30 moves every later session 2 days later "
            "and 1 h 30 later in the day; keep the time to keep theirs. Summer time does not change the "
            "time of day. You see every new time and every clash before anything moves."
        ),
    )
    band_reason = forms.CharField(
        label="Reason for the change of band",
        required=False,
        max_length=300,
        help_text="Only when moving session 1 puts the patient's age on the first session in another band.",
    )

    def __init__(self, *args, in_series: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["practitioner"].queryset = practitioners()
        self.fields["room"].queryset = active_rooms()
        if not in_series:
            del self.fields["shift_rest"]
            del self.fields["band_reason"]


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"autofocus": True}))
    rest_of_series = forms.BooleanField(label="Also cancel every later session of the series", required=False)

    def __init__(self, *args, in_series: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not in_series:
            del self.fields["rest_of_series"]
