"""The dashboard gathers one panel per function listed here: `panel(request)` returns HTML (a Bootstrap
column) or "" when it has nothing for this user."""

from outbox import views as outbox_views
from patients import dashboard as patients_dashboard
from scheduling import cancellations_dashboard
from scheduling import dashboard as scheduling_dashboard
from treatments import dashboard as treatments_dashboard

PANELS = (
    scheduling_dashboard.panel,
    cancellations_dashboard.panel,
    treatments_dashboard.panel,
    treatments_dashboard.stock_panel,
    patients_dashboard.panel,
    outbox_views.dashboard_panel,
)


def panels(request) -> list[str]:
    # marked safe by the template: each panel is rendered from a template, so escaped there.
    return [html for panel in PANELS if (html := panel(request))]
