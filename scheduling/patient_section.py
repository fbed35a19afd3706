"""The scheduling section of the patient page (rendered by the patients app): upcoming appointments
and series, with links to plan a series or book an appointment. No clinical content."""

from django.template.loader import render_to_string

from clinic.access import is_allowed

from . import selectors


def section(request, patient) -> str:
    if not is_allowed(request.user, "scheduling:calendar"):
        return ""
    return render_to_string(
        "scheduling/_patient_section.html",
        {
            "patient": patient,
            "upcoming": list(selectors.upcoming_for_patient(patient)),
            "series_list": list(selectors.series_for_patient(patient)),
        },
        request=request,
    )
