from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render

from .dashboard import panels
from .forms import ClinicSettingsForm
from .models import ClinicSettings


def dashboard(request):
    """The home page: what needs attention today, by role."""
    return render(request, "clinic/dashboard.html", {"panels": panels(request)})


def settings_edit(request):
    settings_row = ClinicSettings.for_request(request)
    form = ClinicSettingsForm(request.POST or None, instance=settings_row)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.save()
            if "reminder_lead_hours" in form.changed_data:
                # Pending reminders follow the new lead times (rule `reminder-lead-times`,
                # docs/clinical-rules.md), in the same transaction.
                from scheduling.notifications import resync_all_reminders

                resync_all_reminders()
        messages.success(request, "Clinic settings saved.")
        return redirect("clinic:settings")
    return render(request, "clinic/settings.html", {"form": form})
