"""Clinic admin edits rooms, hours, leave, closures and protocol bands here. Appointments are read
here only: bookings go through the services, which check clashes."""

import copy

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import construct_instance
from simple_history.admin import SimpleHistoryAdmin

from clinic.admin import ReadOnlyAdmin
from clinic.staff import person

from .availability import when
from .models import (
    Appointment,
    AppointmentStateChange,
    Closure,
    Leave,
    OpeningHours,
    ProtocolBand,
    Room,
    SessionSeries,
    WorkingHours,
)


class StrandingCheckForm(forms.ModelForm):
    """A change of hours, leave or closures lists the upcoming appointments it would leave outside the
    hours and is saved only once confirmed (rule `stranded-appointments`, docs/clinical-rules.md); the
    appointments are then flagged on the dashboard and the calendar until they are moved."""

    confirm_stranding = forms.BooleanField(
        label="Save anyway",
        required=False,
        help_text=(
            "Tick to save although booked appointments would be outside the hours; move them afterwards."
        ),
    )

    def clean(self):
        from . import services

        cleaned = super().clean()
        if self.errors or cleaned.get("confirm_stranding"):
            return cleaned
        candidate = construct_instance(self, copy.copy(self.instance))
        stranded = services.appointments_stranded_by(candidate.save)
        if stranded:
            many = len(stranded) != 1
            # Plain text: the admin escapes the message when it shows it.
            listed = "; ".join(
                f"{a.patient.full_name} ({when(a.starts_at)} with {person(a.practitioner)})"
                for a in stranded[:20]
            )
            more = f" and {len(stranded) - 20} more" if len(stranded) > 20 else ""
            raise ValidationError(
                f"This change leaves {len(stranded)} booked appointment{'s' if many else ''} outside the "
                f"hours: {listed}{more}. Tick “Save anyway” to save it and move {'them' if many else 'it'} "
                "afterwards (flagged on the dashboard and the calendar until moved), or change nothing."
            )
        return cleaned


class StrandingCheckAdmin(admin.ModelAdmin):
    """Changes and deletions of hours, leave and closures say what they strand (rule
    `stranded-appointments`). No bulk delete: each deletion goes through its confirmation page, which
    lists the appointments it would strand."""

    form = StrandingCheckForm

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_view(self, request, object_id, extra_context=None):
        from django.contrib import messages

        from . import services

        obj = self.get_object(request, object_id)
        if request.method == "GET" and obj is not None:
            stranded = services.appointments_stranded_by(obj.delete)
            if stranded:
                many = "s" if len(stranded) != 1 else ""
                listed = "; ".join(
                    f"{a.patient.full_name} ({when(a.starts_at)} with {person(a.practitioner)})"
                    for a in stranded[:20]
                )
                messages.warning(
                    request,
                    f"Deleting this leaves {len(stranded)} booked appointment{many} "
                    f"outside the hours: {listed}. They are flagged on the dashboard and the calendar until "
                    "moved.",
                )
        return super().delete_view(request, object_id, extra_context)


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["name", "active", "for_treatments", "description"]
    list_filter = ["active", "for_treatments"]


@admin.register(OpeningHours)
class OpeningHoursAdmin(StrandingCheckAdmin):
    list_display = ["weekday", "opens", "closes"]


@admin.register(WorkingHours)
class WorkingHoursAdmin(StrandingCheckAdmin):
    list_display = ["practitioner", "weekday", "starts", "ends"]
    list_filter = ["practitioner", "weekday"]
    list_select_related = ["practitioner"]


@admin.register(Leave)
class LeaveAdmin(StrandingCheckAdmin):
    list_display = ["practitioner", "first_day", "last_day", "reason"]
    list_filter = ["practitioner"]
    date_hierarchy = "first_day"
    list_select_related = ["practitioner"]


@admin.register(Closure)
class ClosureAdmin(StrandingCheckAdmin):
    list_display = ["date", "kind", "reason"]
    list_filter = ["kind"]
    date_hierarchy = "date"


@admin.register(ProtocolBand)
class ProtocolBandAdmin(SimpleHistoryAdmin):
    list_display = ["label", "ages_display", "cadence_display", "course_display"]


@admin.register(Appointment)
class AppointmentAdmin(ReadOnlyAdmin):
    list_display = ["starts_at", "patient", "practitioner", "room", "kind", "state", "series", "sequence"]
    list_filter = ["state", "kind", "room"]
    date_hierarchy = "starts_at"
    list_select_related = ["patient", "practitioner", "room", "series"]
    search_fields = ["patient__search_text"]


@admin.register(SessionSeries)
class SessionSeriesAdmin(ReadOnlyAdmin):
    list_display = ["patient", "count", "cadence_display", "band", "age_at_start", "created_at"]
    list_select_related = ["patient", "band"]


@admin.register(AppointmentStateChange)
class AppointmentStateChangeAdmin(admin.ModelAdmin):
    list_display = ["appointment", "from_state", "to_state", "by", "at"]
    list_select_related = ["appointment__patient", "by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
