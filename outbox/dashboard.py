"""Dashboard panel: e-mails that could not be delivered (failures are shown to staff, never only logged)."""

from django.template.loader import render_to_string

from clinic.access import is_allowed

from .selectors import failed_count


def panel(request) -> str:
    failed = is_allowed(request.user, "clinic:outbox_list") and failed_count()
    return (
        render_to_string("outbox/_dashboard_panel.html", {"failed": failed}, request=request)
        if failed
        else ""
    )
