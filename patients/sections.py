"""Sections other apps add to the patient page, without editing the patients templates.

Each module listed here may exist or not; when it does, `section(request, patient) -> str` returns
rendered HTML (a Bootstrap card, say, rendered with `render_to_string(..., request=request)`) or ""
when it has nothing for this user. Sections appear in this order, below the patient's details.
"""

from clinic.extensions import render_from

SECTION_MODULES = ("treatments.patient_section", "scheduling.patient_section")


def render_sections(request, patient) -> list[str]:
    return render_from(SECTION_MODULES, lambda module: module.section(request, patient))
