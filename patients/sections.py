"""Sections other apps add to the patient page, without editing the patients templates.

Each module listed here may exist or not; when it does, `section(request, patient) -> str` returns
rendered HTML (a Bootstrap card, say, rendered with `render_to_string(..., request=request)`) or ""
when it has nothing for this user. Sections appear in this order, below the patient's details.
"""

from importlib import import_module

SECTION_MODULES = ("treatments.patient_section", "scheduling.patient_section")


def render_sections(request, patient) -> list[str]:
    rendered = []
    for path in SECTION_MODULES:
        try:
            module = import_module(path)
        except ModuleNotFoundError as exc:
            if exc.name != path:
                raise
            continue
        html = module.section(request, patient)
        if html:
            rendered.append(html)
    return rendered
