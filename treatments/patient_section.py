"""The clinical part of the patient page, which the patients app renders with `section(request, patient)`."""

from django.template.loader import render_to_string

from clinic.access import is_allowed

from .selectors import clinical_summary


def section(request, patient) -> str:
    """A compact clinical summary with links, or "" for roles that may not see clinical content."""
    if not is_allowed(request.user, "treatments:timeline"):
        return ""
    return render_to_string(
        "treatments/_patient_section.html",
        {
            "patient": patient,
            "summary": clinical_summary(patient),
            "can_write": is_allowed(request.user, "treatments:consultation_create", "POST"),
        },
        request=request,
    )
