"""Erasure requests in Django's admin, read only with their history: a request is recorded and decided
on its own pages, where the decision asks for the password again and the erasure is carried out and
recorded (rule `records-kept-after-erasure`). Patients themselves are not here: their pages log every
read of clinical data, and their changes go through the services (search keys, generations)."""

from django.contrib import admin

from clinic.admin import ReadOnlyAdmin

from .models import ErasureRequest


@admin.register(ErasureRequest)
class ErasureRequestAdmin(ReadOnlyAdmin):
    list_display = ("requested_at", "patient", "state", "recorded_by", "decided_by", "decided_at")
    list_filter = ("state",)
    search_fields = ("patient__search_text", "patient__chart_number")
    list_select_related = ("patient", "recorded_by", "decided_by")
    date_hierarchy = "requested_at"
