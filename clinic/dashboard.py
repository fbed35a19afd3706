"""The dashboard gathers one panel per module listed here: `panel(request)` returns HTML (a Bootstrap
column) or "" when it has nothing for this user."""

from .extensions import render_from

PANEL_MODULES = (
    "scheduling.dashboard",
    "scheduling.cancellations_dashboard",
    "treatments.dashboard",
    "patients.dashboard",
    "outbox.dashboard",
)


def panels(request) -> list[str]:
    # marked safe by the template: each panel is rendered from a template, so escaped there.
    return render_from(PANEL_MODULES, lambda module: module.panel(request))
