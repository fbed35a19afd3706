"""The layout's main navigation: which pages a user's roles may open, in one table, and the links
drawn in Python. As five included templates it was ~17 % of the patient page's instructions (each
entry resolving `request.resolver_match` through template lookups and a filter per permission);
now it is one loop over the table (issue 19)."""

from functools import cache
from typing import NamedTuple

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from .access import access_level
from .roles import user_roles


class Entry(NamedTuple):
    label: str
    url_name: str
    # The link is the current page's on its own page, on any page whose view name starts with
    # `prefix`, and on `also_current`.
    prefix: str = ""
    also_current: tuple = ()
    # Shown when the user may open this page (by default the link's own).
    shown_if: str = ""


MAIN_NAV = (
    Entry("Today", "clinic:dashboard"),
    Entry("Patients", "patients:list", prefix="patients:"),
    Entry("Calendar", "scheduling:calendar_board", also_current=("scheduling:calendar",)),
    Entry("Plan series", "scheduling:plan"),
    Entry("Ingredients", "treatments:ingredients"),
    Entry("Stock", "treatments:stock"),
    # In the menu of the clinic admin, who writes the wording; practitioners, who may read it, meet
    # it on a patient's consent pages.
    Entry("Consent wording", "consents:templates", "consents:template", shown_if="consents:template_new"),
    Entry("Messages", "clinic:outbox_list", prefix="clinic:outbox"),
    Entry("Access log", "clinic:access_log"),
    Entry("Settings", "clinic:settings"),
)


def main_nav(request) -> SafeString:
    """The `<li>` items of the main navigation for this request's user; the current page's link is
    marked active and aria-current."""
    match = request.resolver_match
    view_name = match.view_name if match else ""
    roles = user_roles(request.user)
    items = []
    for entry in MAIN_NAV:
        if access_level(roles, entry.shown_if or entry.url_name) is None:
            continue
        current = view_name == entry.url_name or view_name in entry.also_current
        current = current or bool(entry.prefix and view_name.startswith(entry.prefix))
        items.append(_link(get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF, entry, current))
    return mark_safe("\n".join(items))


@cache
def _link(prefix: str, urlconf: str, entry: Entry, current: bool) -> str:
    """An entry's markup is the same on every request (two forms: current or not)."""
    return format_html(
        '<li class="nav-item"><a class="nav-link{}" href="{}"{}>{}</a></li>',
        " active" if current else "",
        _page_url(prefix, urlconf, entry.url_name),
        mark_safe(' aria-current="page"') if current else "",
        entry.label,
    )


def page_url(name: str) -> str:
    """The URL of a page without arguments (the layout's links), reversed once per process: such a
    URL is the same on every request, and the layout's ~15 `{% url %}` tags cost a tenth of the
    patient search's CPU (issue 19). Keyed by the script prefix and the URL configuration, the two
    things besides the name that `reverse()` reads."""
    return _page_url(get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF, name)


@cache
def _page_url(prefix: str, urlconf: str, name: str) -> str:
    return reverse(name, urlconf=urlconf)
