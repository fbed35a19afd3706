"""The scheduling section of the patient page (rendered by the patients app): upcoming appointments
and series, with links to plan a series or book an appointment. No clinical content."""

from django.template.loader import render_to_string

from clinic.access import is_allowed

from . import selectors
from .models import cadence_label
from .planner import cadence_for_interval


def section(request, patient) -> str:
    from treatments.selectors import series_plan_for

    if not is_allowed(request.user, "scheduling:calendar"):
        return ""
    # The practitioner's plan, count and cadence only (what front desk books from, DESIGN.md).
    plan = series_plan_for(patient)
    return render_to_string(
        "scheduling/_patient_section.html",
        {
            "patient": patient,
            "plan": plan,
            "plan_cadence": cadence_label(*cadence_for_interval(plan.interval_days)) if plan else "",
            "upcoming": list(selectors.upcoming_for_patient(patient)),
            "series_list": list(selectors.series_for_patient(patient)),
        },
        request=request,
    )
