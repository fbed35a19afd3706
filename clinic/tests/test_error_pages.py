"""The production error pages (DEBUG off) wear the clinic's layout; the 500 page can never fail itself:
no request context, no database query, stylesheets linked without the hashed-name manifest."""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

pytestmark = pytest.mark.django_db

STYLESHEETS = ('href="/static/vendor/bootstrap/bootstrap.min.css', 'href="/static/css/app.css')


@pytest.fixture
def production(settings):
    settings.DEBUG = False


@pytest.fixture
def hashed_static_without_manifest(settings):
    """Production's hashed-name storage before (or after a failed) collectstatic: {% static %} raises."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }


def styled(html: str) -> bool:
    return all(link in html for link in STYLESHEETS) and '<main id="main"' in html


def test_a_view_that_raises_shows_the_styled_500_page(
    production, hashed_static_without_manifest, front_desk, monkeypatch
):
    def broken(request):
        raise RuntimeError("a fault in a dashboard panel")

    monkeypatch.setattr("clinic.views.panels", broken)
    client = Client(raise_request_exception=False)
    client.force_login(front_desk)
    response = client.get(reverse("clinic:dashboard"))
    assert response.status_code == 500
    html = response.content.decode()
    assert styled(html), html
    assert "Something went wrong on our side" in html and "Nothing you entered was lost" in html
    assert "a fault in a dashboard panel" not in html


def test_the_500_page_runs_no_database_query(production, django_assert_num_queries):
    request = RequestFactory().get("/")
    with django_assert_num_queries(0):
        response = server_error(request)
    assert response.status_code == 500
    assert styled(response.content.decode())


def test_not_found_is_styled_with_the_navigation(production, client_as, front_desk):
    response = client_as(front_desk).get("/patients/999999/")
    assert response.status_code == 404
    html = response.content.decode()
    assert styled(html) and 'aria-label="Main"' in html
    assert "We could not find that page" in html


def test_not_available_to_your_role_is_styled_with_the_navigation(production, client_as, front_desk):
    response = client_as(front_desk).get(reverse("treatments:ingredients"))
    assert response.status_code == 403
    html = response.content.decode()
    assert styled(html) and 'aria-label="Main"' in html
    assert "This page is not available to your role" in html
