"""Sections other apps add to the patient page, below the patient's details, in this order.

Each `section(request, patient) -> str` returns rendered HTML (a Bootstrap card, say, rendered with
`render_to_string(..., request=request)`) or "" when it has nothing for this user.
"""

from consents import patient_section as consents_section
from scheduling import patient_section as scheduling_section
from treatments import patient_section as treatments_section

SECTIONS = (consents_section.section, treatments_section.section, scheduling_section.section)


def render_sections(request, patient) -> list[str]:
    return [html for section in SECTIONS if (html := section(request, patient))]
