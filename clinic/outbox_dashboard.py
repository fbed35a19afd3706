"""Dashboard panel: e-mails that could not be delivered (DESIGN.md: failures are shown to staff)."""

from django.template.loader import render_to_string

from .access import is_allowed
from .outbox_selectors import failed_count


def panel(request) -> str:
    if not is_allowed(request.user, "clinic:outbox_list"):
        return ""
    failed = failed_count()
    if not failed:
        return ""
    return render_to_string("clinic/_outbox_panel.html", {"failed": failed}, request=request)
