"""The patients panel on the home page: find a patient at once, or register one."""

from django.template.loader import render_to_string

from clinic.access import is_allowed

from .models import Patient

RECENT = 5


def panel(request) -> str:
    if not is_allowed(request.user, "patients:list"):
        return ""
    recent = list(Patient.objects.active().order_by("-created_at", "-id")[:RECENT])
    return render_to_string("patients/_dashboard_panel.html", {"recent": recent}, request=request)
