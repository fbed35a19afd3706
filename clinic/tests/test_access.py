"""The access table is the single source of who may open what: every URL x every role x anonymous.

Each app contributes example URL arguments in `<app>/tests/access_world.py`:
`url_kwargs(world) -> {url_name: {kwarg: value}}`, creating whatever objects its URLs need.
"""

from importlib import import_module

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from clinic.access import ACCESS_TABLE, PUBLIC, READ, WRITE, access_level
from clinic.roles import CLINIC_ADMIN, FRONT_DESK, PRACTITIONER, ROLES
from clinic.tests.factories import UserFactory

APPS_WITH_WORLDS = ("clinic", "patients", "treatments", "scheduling", "outbox", "consents", "photos")


def named_urls(resolver=None, namespace=""):
    """Every named URL the project serves, outside Django's admin."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from named_urls(entry, ns)
        elif isinstance(entry, URLPattern):
            assert entry.name, f"URL {entry.pattern} has no name, so the access table cannot list it"
            yield f"{namespace}{entry.name}"


def test_every_url_is_in_the_access_table():
    missing = sorted(set(named_urls()) - ACCESS_TABLE.keys())
    assert missing == [], f"add these URLs to an app's access.py: {missing}"


def test_every_access_rule_names_a_real_url():
    stale = sorted(ACCESS_TABLE.keys() - set(named_urls()))
    assert stale == []


@pytest.fixture
def world(db):
    world = {
        "users": {role: UserFactory(username=f"u_{role}", role=role) for role in ROLES},
    }
    kwargs = {}
    for app in APPS_WITH_WORLDS:
        try:
            module = import_module(f"{app}.tests.access_world")
        except ModuleNotFoundError:
            continue
        kwargs.update(module.url_kwargs(world))
    world["kwargs"] = kwargs
    return world


def url_for(world, name):
    return reverse(name, kwargs=world["kwargs"].get(name, {}))


ALLOWED_GET = {200, 302, 405}
STAFF_URLS = sorted(name for name, row in ACCESS_TABLE.items() if row != PUBLIC)
PUBLIC_URLS = sorted(name for name, row in ACCESS_TABLE.items() if row == PUBLIC)


@pytest.mark.parametrize("url_name", STAFF_URLS)
def test_anonymous_is_sent_to_login(client, world, url_name):
    response = client.get(url_for(world, url_name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("url_name", PUBLIC_URLS)
def test_public_pages_do_not_ask_for_login(client, world, url_name):
    response = client.get(url_for(world, url_name))
    assert not (response.status_code == 302 and response.url.startswith(reverse("login")))
    assert response.status_code != 403


@pytest.mark.parametrize("role", [CLINIC_ADMIN, PRACTITIONER, FRONT_DESK])
@pytest.mark.parametrize("url_name", STAFF_URLS)
def test_each_role_gets_exactly_what_the_table_says(client, world, role, url_name):
    client.force_login(world["users"][role])
    url = url_for(world, url_name)
    level = access_level(frozenset({role}), url_name)
    response = client.get(url)
    if level in (READ, WRITE):
        assert response.status_code in ALLOWED_GET, f"{role} should reach {url_name}"
    else:
        assert response.status_code == 403, f"{role} must not reach {url_name}"
    if level == READ:
        assert client.post(url).status_code == 403, f"{role} may only read {url_name}"
