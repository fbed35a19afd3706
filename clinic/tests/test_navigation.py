"""The layout's main navigation (clinic/navigation.py): each role is offered the pages it may open,
and the link of the page being shown is marked as current."""

import re

import pytest
from django.urls import reverse

from clinic.navigation import MAIN_NAV, main_nav

pytestmark = pytest.mark.django_db

EVERYONE = ["Today", "Patients", "Calendar", "Plan series"]
OFFERED = {
    "front_desk": [*EVERYONE, "Messages"],
    "practitioner": [*EVERYONE, "Ingredients", "Stock", "Messages"],
    "clinic_admin": [
        *EVERYONE,
        "Ingredients",
        "Stock",
        "Consent wording",
        "Messages",
        "Access log",
        "Settings",
    ],
}


def nav_links(response) -> list[tuple[str, str, bool]]:
    """(label, href, current) of each link in the main navigation."""
    nav = response.content.decode().split('<ul class="navbar-nav me-auto">')[1].split("</ul>")[0]
    links = []
    for attributes, label in re.findall(r"<a ([^>]*)>([^<]+)</a>", nav):
        active = "nav-link active" in attributes
        # Active for the eye, aria-current for a screen reader.
        assert active == ('aria-current="page"' in attributes), label
        links.append((label, re.search(r'href="([^"]+)"', attributes).group(1), active))
    return links


@pytest.mark.parametrize("role", sorted(OFFERED))
def test_each_role_is_offered_the_pages_it_may_open(role, request, client):
    client.force_login(request.getfixturevalue(role))
    links = nav_links(client.get(reverse("clinic:dashboard")))
    assert [label for label, _href, _current in links] == OFFERED[role]
    for label, href, _current in links:
        assert client.get(href).status_code == 200, label


@pytest.mark.parametrize(
    "page, current",
    [
        ("clinic:dashboard", "Today"),
        ("patients:list", "Patients"),
        ("patients:create", "Patients"),
        ("scheduling:calendar_board", "Calendar"),
        ("scheduling:calendar", "Calendar"),
        ("scheduling:plan", "Plan series"),
        ("treatments:stock", "Stock"),
        ("consents:templates", "Consent wording"),
        ("consents:template_new", "Consent wording"),
        ("clinic:outbox_list", "Messages"),
        ("clinic:access_log", "Access log"),
        ("clinic:settings", "Settings"),
    ],
)
def test_the_page_shown_is_the_current_link(page, current, clinic_admin, client):
    client.force_login(clinic_admin)
    links = nav_links(client.get(reverse(page)))
    assert [label for label, _href, is_current in links if is_current] == [current]


def test_a_page_outside_the_navigation_marks_no_link(clinic_admin, client):
    client.force_login(clinic_admin)
    links = nav_links(client.get(reverse("account_security")))
    assert not [label for label, _href, is_current in links if is_current]


def test_every_entry_names_a_page_the_access_table_knows():
    from clinic.access import ACCESS_TABLE

    for entry in MAIN_NAV:
        assert entry.url_name in ACCESS_TABLE and (entry.shown_if or entry.url_name) in ACCESS_TABLE
        reverse(entry.url_name)


def test_a_user_without_a_role_is_offered_nothing(rf, django_user_model):
    request = rf.get("/")
    request.user = django_user_model.objects.create_user("norole")
    request.resolver_match = None
    assert main_nav(request) == ""
