"""Clinic admin edits rooms, hours, leave, closures and protocol bands here. Appointments are read
here only: bookings go through the services, which check clashes."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from clinic.admin import ReadOnlyAdmin

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


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["name", "active", "for_treatments", "description"]
    list_filter = ["active", "for_treatments"]


@admin.register(OpeningHours)
class OpeningHoursAdmin(admin.ModelAdmin):
    list_display = ["weekday", "opens", "closes"]


@admin.register(WorkingHours)
class WorkingHoursAdmin(admin.ModelAdmin):
    list_display = ["practitioner", "weekday", "starts", "ends"]
    list_filter = ["practitioner", "weekday"]
    list_select_related = ["practitioner"]


@admin.register(Leave)
class LeaveAdmin(admin.ModelAdmin):
    list_display = ["practitioner", "first_day", "last_day", "reason"]
    list_filter = ["practitioner"]
    date_hierarchy = "first_day"
    list_select_related = ["practitioner"]


@admin.register(Closure)
class ClosureAdmin(admin.ModelAdmin):
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
