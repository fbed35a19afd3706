from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render

from .audit import access_log_page
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


def _int_or_none(text) -> int | None:
    return int(text) if text and str(text).isdigit() and len(str(text)) < 12 else None


def access_log(request):
    """Who read which patient's clinical data: clinic admin only (the access table)."""
    from django.contrib.auth import get_user_model
    from django.utils.http import urlencode

    from patients.models import Patient

    patient_id = _int_or_none(request.GET.get("patient"))
    user_id = _int_or_none(request.GET.get("user"))
    patient = Patient.objects.filter(pk=patient_id).first() if patient_id else None
    staff = get_user_model().objects.filter(is_active=True).order_by("first_name", "last_name", "username")
    params = {k: v for k, v in (("patient", patient_id), ("user", user_id)) if v}
    return render(
        request,
        "clinic/access_log.html",
        {
            "page": access_log_page(patient_id=patient_id, user_id=user_id, page=request.GET.get("page")),
            "patient": patient,
            "staff": staff[:500],
            "user_id": user_id,
            "query_string": urlencode(params),
        },
    )
