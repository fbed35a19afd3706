"""The dashboard gathers one panel per module listed here: `panel(request)` returns HTML (a Bootstrap
column) or "" when it has nothing for this user."""

from importlib import import_module

PANEL_MODULES = (
    "scheduling.dashboard",
    "scheduling.cancellations_dashboard",
    "treatments.dashboard",
    "patients.dashboard",
    "clinic.outbox_dashboard",
)


def panels(request) -> list[str]:
    # marked safe by the template: each panel is rendered from a template, so escaped there.
    rendered = []
    for path in PANEL_MODULES:
        try:
            module = import_module(path)
        except ModuleNotFoundError as exc:
            if exc.name != path:
                raise
            continue
        html = module.panel(request)
        if html:
            rendered.append(html)
    return rendered
