"""The patient list and search at any size (issue 19): matches counted only up to a bound ("more
than 1,000"), exact and prefix matches first, a page control with a bounded number of links, a
bounded number of queries whatever the number of matches, and every request type staff make."""

import datetime
import html
import re
from types import SimpleNamespace

import pytest
from django.urls import reverse

from patients import selectors
from patients.selectors import SearchPage, search_page
from patients.services import archive_patient
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db
ROW_LINK = re.compile(r'<a class="fw-semibold text-decoration-none" href="/patients/\d+/">([^<]*)</a>')
HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']


def names(query, **kwargs):
    response_page = search_page(query, **kwargs)
    return [f"{row['family_name']}, {row['given_name']}" for row in response_page.rows]


def listed(client, query):
    """The names in the list's results, in the order shown."""
    content = client.get(reverse("patients:list"), {"q": query}).content.decode()
    return [html.unescape(name) for name in ROW_LINK.findall(content)]


def test_exact_matches_come_before_prefix_matches_before_the_rest(client_as, front_desk):
    # Registered in an order the list must not follow.
    for given, family in [
        ("Ana", "Da Silva"),  # the word inside a name: the rest
        ("Rui", "Silvano"),  # family name starts with it
        ("Silvana", "Abreu"),  # given name starts with it
        ("Silva", "Costa"),  # given name is it
        ("Zé", "Silva"),  # family name is it
        ("Bea", "Sílva"),  # family name is it, once folded
        ("Inês", "Bassilvas"),  # inside a word: the rest
        ("Eva", "Silva Santos"),  # family name starts with it (a second family name)
    ]:
        PatientFactory(given_name=given, family_name=family)
    # Family name (exact, then starting with it), given name (exact, then starting), the rest.
    expected = [
        "Sílva, Bea",
        "Silva, Zé",
        "Silva Santos, Eva",
        "Silvano, Rui",
        "Costa, Silva",
        "Abreu, Silvana",
        "Bassilvas, Inês",
        "Da Silva, Ana",
    ]
    assert listed(client_as(front_desk), "SILVA") == expected
    assert names("silva") == expected


def test_the_list_without_a_query_is_in_folded_name_order(client_as, front_desk):
    for given, family in [("Rui", "Órfão"), ("Ana", "Abreu"), ("Zé", "oliveira"), ("Bea", "Abreu")]:
        PatientFactory(given_name=given, family_name=family)
    assert names("") == ["Abreu, Ana", "Abreu, Bea", "oliveira, Zé", "Órfão, Rui"]


def test_more_matches_than_the_limit_say_more_than_and_stop_counting(
    client_as, front_desk, monkeypatch, django_assert_max_num_queries
):
    monkeypatch.setattr(selectors, "MATCH_LIMIT", 5, raising=False)
    monkeypatch.setattr(selectors, "PAGE_SIZE", 2, raising=False)
    for n in range(8):
        PatientFactory(given_name=f"Ana{n}", family_name="Sousa")
    client = client_as(front_desk)
    client.get(reverse("patients:list"))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        content = client.get(reverse("patients:list"), {"q": "sousa"}).content.decode()
    assert "More than 5 patients match “sousa” · page 1 of 3" in content
    assert "type more of the name" in content
    counts = [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT 6" in sql for sql in counts), counts
    # Past the bound, the last page it counts.
    last = client.get(reverse("patients:list"), {"q": "sousa", "page": "9"})
    assert last.context["page"].number == 3
    assert "More than 5 patients" in client.get(reverse("patients:list")).content.decode()


def test_a_count_within_the_limit_is_exact(client_as, front_desk):
    for n in range(3):
        PatientFactory(given_name=f"Rui{n}", family_name="Matos")
    content = client_as(front_desk).get(reverse("patients:list"), {"q": "matos"}).content.decode()
    assert "3 patients match “matos”" in content
    assert "More than" not in content


def test_the_page_control_links_a_bounded_number_of_pages():
    for number in range(1, 41):
        links = SearchPage(rows=[], number=number, count=1001).links
        assert len(links) <= 9
        assert links[0] == 1 and links[-1] == 40 and number in links
    assert SearchPage(rows=[], number=20, count=1001).links == [1, None, 18, 19, 20, 21, 22, None, 40]
    assert SearchPage(rows=[], number=1, count=3).links == [1]


def test_the_page_control_renders_first_last_and_neighbours(client_as, front_desk, monkeypatch):
    monkeypatch.setattr(selectors, "PAGE_SIZE", 1, raising=False)
    for n in range(30):
        PatientFactory(given_name=f"Ana{n:02d}", family_name="Sousa")
    content = (
        client_as(front_desk).get(reverse("patients:list"), {"q": "sousa", "page": "15"}).content.decode()
    )
    assert content.count('class="page-link"') <= 11  # Previous, at most nine, Next
    for number in (1, 13, 14, 16, 17, 30):
        assert f'href="?q=sousa&amp;page={number}"' in content
    assert 'href="?q=sousa&amp;page=2"' not in content
    assert '<span class="page-link">15</span>' in content


@pytest.mark.parametrize("matches", [0, 3, 40])
def test_list_and_search_run_a_bounded_number_of_queries(
    client_as, front_desk, django_assert_max_num_queries, matches
):
    for n in range(matches):
        PatientFactory(given_name=f"Ana{n:02d}", family_name="Sousa" if n % 2 else "Anaya")
    PatientFactory(given_name="Rui", family_name="Matos")
    client = client_as(front_desk)
    client.get(reverse("patients:list"))  # warm the session
    # Session and user (1), clinic settings and roles, then at most: three relevance tiers and the
    # bounded count; the session save (+ its savepoint and release).
    for params in [{}, {"q": "a"}, {"q": "an"}, {"q": "ana"}, {"q": "sousa", "page": "2"}, {"q": "912"}]:
        with django_assert_max_num_queries(10):
            response = client.get(reverse("patients:list"), params, HTTP_HX_REQUEST="true")
        assert response.status_code == 200


@pytest.fixture
def clinic():
    born = datetime.date(1984, 2, 29)
    return {
        "maria": PatientFactory(
            given_name="Maria", family_name="Marques", date_of_birth=born, phone="+351912000111"
        ),
        "mario": PatientFactory(
            given_name="Mário", family_name="Teixeira", date_of_birth=datetime.date(1970, 1, 1)
        ),
        "ana": PatientFactory(
            given_name="Ana",
            family_name="Amaral",
            date_of_birth=datetime.date(1990, 5, 5),
            phone="+351934000222",
        ),
        "zoe": PatientFactory(
            given_name="Zoë",
            family_name="Øster",
            date_of_birth=datetime.date(2001, 7, 7),
            email="zo@example.com",
        ),
        "old": PatientFactory(
            given_name="Marta", family_name="Arquivo", date_of_birth=datetime.date(1950, 1, 1)
        ),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["Amaral, Ana", "Marques, Maria", "Øster, Zoë", "Teixeira, Mário"]),  # no query
        ("m", ["Marques, Maria", "Teixeira, Mário", "Amaral, Ana", "Øster, Zoë"]),  # one letter
        ("ma", ["Marques, Maria", "Teixeira, Mário", "Amaral, Ana"]),  # two letters
        ("mar", ["Marques, Maria", "Teixeira, Mário", "Amaral, Ana"]),  # a common name
        ("oster", ["Øster, Zoë"]),  # a rare name
        ("912 000 111", ["Marques, Maria"]),  # a phone
        ("+351 934 000 222", ["Amaral, Ana"]),
        ("29/02/1984", ["Marques, Maria"]),  # a date of birth
        ("1984-02-29", ["Marques, Maria"]),
        ("maria 29/02/1984", ["Marques, Maria"]),
    ],
)
def test_every_request_type_finds_the_right_patients(client_as, front_desk, clinic, query, expected):
    archive_patient(patient=clinic["old"], by=None)
    assert names(query) == expected
    client = client_as(front_desk)
    assert listed(client, query) == expected
    htmx = client.get(reverse("patients:list"), {"q": query}, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 200 and "<html" not in htmx.content.decode()


def test_archived_patients_only_when_asked(clinic):
    archive_patient(patient=clinic["old"], by=None)
    assert "Arquivo, Marta" not in names("marta")
    assert names("marta", include_archived=True) == ["Arquivo, Marta"]


def test_rows_show_formatted_phone_age_and_link(client_as, front_desk, clinic):
    content = client_as(front_desk).get(reverse("patients:list"), {"q": "marques"}).content.decode()
    assert '<a class="text-decoration-none" href="tel:+351912000111">+351 912 000 111</a>' in content
    assert f'href="{clinic["maria"].get_absolute_url()}"' in content
    assert f'29 Feb 1984 <span class="text-body-secondary small">({clinic["maria"].age})</span>' in content


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_names_and_queries_are_escaped(client_as, front_desk, hostile):
    PatientFactory(given_name=hostile, family_name=hostile, preferred_name=hostile)
    client = client_as(front_desk)
    for params in [{}, {"q": hostile}, {"q": "script"}, {"q": "img"}]:
        content = client.get(reverse("patients:list"), params).content.decode()
        assert hostile not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get(
        reverse("patients:list")
    ).content.decode() or ("&quot;&gt;&lt;img" in client.get(reverse("patients:list")).content.decode())


def test_migration_fills_the_name_keys_of_existing_patients():
    from importlib import import_module

    from django.apps import apps
    from django.db import connection

    from patients.models import Patient

    patient = PatientFactory(given_name="Zoë Ana", family_name="D'Ávila-Łęcka")
    Patient.objects.filter(pk=patient.pk).update(family_key="", given_key="")
    migration = import_module("patients.migrations.0006_name_keys_for_list_and_search")
    # The two things fill_keys uses of a schema editor (SQLite's refuses to open inside a test's
    # transaction).
    editor = SimpleNamespace(connection=connection, execute=lambda sql: connection.cursor().execute(sql))
    migration.fill_keys(apps, editor)
    stored = Patient.objects.values("family_key", "given_key").get(pk=patient.pk)
    assert stored == {"family_key": "davilalecka", "given_key": "zoe ana"}


def test_a_one_word_search_reads_the_name_index_in_order_for_its_first_page():
    """A family name starting with the word typed contains it, so the first relevance tier asks for
    the name prefix alone: the database can walk the name index in order and stop after a page. With
    the fragment condition too, PostgreSQL fetched every row the trigram index found for a common
    fragment ("mour": 4,500 rows at a million patients, 45 ms) and sorted them."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for n in range(30):
        PatientFactory(family_name=f"Moura{n:02d}", given_name="Ana")
    with CaptureQueriesContext(connection) as ctx:
        page = search_page("mour")
    assert len(page.rows) == 25 and page.rows[0]["family_name"] == "Moura00"
    first_tier = ctx.captured_queries[0]["sql"]
    assert "family_key" in first_tier and "search_text" not in first_tier
    # Two words: their trigrams narrow faster, and the tier keeps every word's condition.
    with CaptureQueriesContext(connection) as ctx:
        assert search_page("mour ana").rows
    assert "search_text" in ctx.captured_queries[0]["sql"]
