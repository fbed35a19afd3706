"""Finding a patient: by name (accents, case, several words), chart number, phone, e-mail, birth date."""

import datetime
from importlib import import_module

import pytest
from django.urls import reverse

from patients.models import Patient, fold_for_search
from patients.selectors import parse_date_query, patient_search
from patients.services import archive_patient
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db
BORN = datetime.date(1985, 3, 7)


@pytest.fixture
def jose():
    return PatientFactory(
        given_name="José",
        family_name="Conceição Álvares",
        date_of_birth=BORN,
        phone="+351912345678",
        email="ze.conceicao@example.pt",
    )


@pytest.fixture
def others():
    return [
        PatientFactory(given_name="Maria", family_name="Silva", date_of_birth=datetime.date(1990, 1, 2)),
        PatientFactory(
            given_name="Joseph",
            family_name="Müller",
            date_of_birth=datetime.date(1970, 5, 6),
            phone="+4915123456789",
        ),
    ]


def found(query, **kwargs):
    return [p.full_name for p in patient_search(query, **kwargs)]


@pytest.mark.parametrize("query", ["jose", "JOSE", "José", "jOsÉ"])
def test_jose_finds_josé(jose, query):
    assert found(query) == ["José Conceição Álvares"]


@pytest.mark.parametrize("query", ["josé conceicao", "CONCEIÇÃO", "alvares", "ceição", "JOSE CONCEICAO"])
def test_name_matches_without_accents_or_case(jose, others, query):
    assert found(query) == ["José Conceição Álvares"]


def test_accented_query_finds_an_unaccented_name(others):
    assert found("Müller") == ["Joseph Müller"]
    assert found("muller") == ["Joseph Müller"]


@pytest.fixture
def jorgen():
    # An e-mail without the names, so that only the folded names can match.
    return PatientFactory(
        given_name="Jørgen", family_name="D'Ávila-Łęcka", date_of_birth=BORN, email="jd@example.com"
    )


@pytest.mark.parametrize(
    "query",
    [
        "jorgen",
        "JØRGEN",
        "davila",
        "d'avila",
        "D’Ávila",  # a typographic apostrophe
        "d avila",
        "avila",
        "lecka",
        "Łęcka",
        "davila-lecka",
        "davilalecka",
        "jorgen lecka",
    ],
)
def test_names_with_letters_beyond_accents_and_with_punctuation_are_found(jorgen, others, query):
    assert found(query) == ["Jørgen D'Ávila-Łęcka"]


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Łódź", "lodz"),
        ("Søren", "soren"),
        ("Straße", "strasse"),
        ("Æsa", "aesa"),
        ("Đorđe", "dorde"),
        ("O’Brien-Smith", "obriensmith"),
    ],
)
def test_fold_transliterates_letters_that_have_no_accent_to_strip(text, folded):
    assert fold_for_search(text) == folded


def test_non_latin_names_are_found_in_their_own_script_and_in_latin_letters(others):
    PatientFactory(given_name="Иван", family_name="Петров")
    assert found("Петров") == ["Иван Петров"]
    assert found("petrov") == ["Иван Петров"]


def test_the_migration_rewrites_search_columns_folded_the_old_way(jorgen):
    from django.apps import apps

    migration = import_module("patients.migrations.0003_search_text_transliterated")
    old = migration.search_text(jorgen, migration.accent_fold)
    assert "ø" in old and "ł" in old  # what the accent-only fold stored
    Patient.objects.filter(pk=jorgen.pk).update(search_text=old)
    assert found("lecka") == []
    migration.forwards(apps, None)
    assert Patient.objects.get(pk=jorgen.pk).search_text == jorgen.build_search_text()
    assert found("lecka") == found("jorgen") == ["Jørgen D'Ávila-Łęcka"]


def test_several_words_must_all_match_in_any_order(jose, others):
    assert found("alvares jose") == ["José Conceição Álvares"]
    assert found("jose silva") == []


def test_a_name_fragment_matches_several_patients_in_name_order(jose, others):
    assert found("jos") == ["José Conceição Álvares", "Joseph Müller"]


@pytest.mark.parametrize("query", ["MC-000001", "mc-000001", "mc1", "MC-1", "000001", "1"])
def test_chart_number_matches_exactly(jose, others, query):
    assert found(query) == ["José Conceição Álvares"]


def test_short_number_does_not_match_phone_digits(jose, others):
    # "42" means chart MC-000042, not every phone containing 4 and 2
    assert found("45") == []


@pytest.mark.parametrize(
    "query",
    [
        "912345678",
        "912 345 678",
        "912-345-678",
        "+351 912 345 678",
        "+351912345678",
        "00351 912 345 678",
        "(+351) 912 34 56 78",
    ],
)
def test_phone_matches_in_any_formatting(jose, others, query):
    assert found(query) == ["José Conceição Álvares"]


def test_foreign_phone_matches_with_and_without_country_code(jose, others):
    assert found("+49 151 23456789") == ["Joseph Müller"]
    assert found("15123456789") == ["Joseph Müller"]


def test_email_matches(jose, others):
    assert found("ze.conceicao@example.pt") == ["José Conceição Álvares"]
    assert found("ZE.CONCEICAO@") == ["José Conceição Álvares"]


@pytest.mark.parametrize("query", ["1985-03-07", "07/03/1985", "07-03-1985", "7.3.1985", "7/3/1985"])
def test_date_of_birth_matches_in_each_format(jose, others, query):
    assert found(query) == ["José Conceição Álvares"]


def test_name_and_date_together_narrow_the_search(jose, others):
    PatientFactory(
        given_name="José", family_name="Conceição Álvares", date_of_birth=datetime.date(2000, 1, 1)
    )
    assert [p.date_of_birth for p in patient_search("jose 07/03/1985")] == [BORN]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1985-03-07", BORN),
        ("07/03/1985", BORN),
        ("07-03-1985", BORN),
        ("7.3.1985", BORN),
        ("31/02/1985", None),
        ("1985", None),
        ("jose", None),
    ],
)
def test_parse_date_query(text, expected):
    assert parse_date_query(text) == expected


def test_archived_patients_are_hidden_unless_asked_for(jose, others):
    archive_patient(patient=jose, by=None)
    assert found("jose") == ["Joseph Müller"]
    assert found("jose", include_archived=True) == ["José Conceição Álvares", "Joseph Müller"]
    assert found("") == ["Joseph Müller", "Maria Silva"]


def test_empty_query_lists_everyone_by_family_then_given_name():
    for given, family in [("Rui", "Zeferino"), ("Ana", "Abreu"), ("Bruno", "Abreu")]:
        PatientFactory(given_name=given, family_name=family)
    assert found("  ") == ["Ana Abreu", "Bruno Abreu", "Rui Zeferino"]


# --- The list page ------------------------------------------------------------------------------------


def test_list_page_searches_without_javascript(client_as, front_desk, jose, others):
    response = client_as(front_desk).get(reverse("patients:list"), {"q": "conceicao"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" in page
    assert '<form method="get" action="/patients/" role="search"' in page
    assert '<button class="btn btn-outline-secondary" type="submit">Search</button>' in page
    assert "1 patient match “conceicao”" in page
    assert "Conceição Álvares, José" in page
    assert "Müller" not in page


def test_htmx_request_gets_only_the_results_fragment(client_as, front_desk, jose, others):
    response = client_as(front_desk).get(reverse("patients:list"), {"q": "jose"}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert "<html" not in page
    assert "<table" in page
    assert "2 patients match “jose”" in page
    assert response["Vary"].count("HX-Request") == 1


def test_htmx_history_restore_gets_the_whole_page(client_as, front_desk, jose):
    response = client_as(front_desk).get(
        reverse("patients:list"),
        {"q": "jose"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )
    assert "<html" in response.content.decode()


def test_search_box_asks_htmx_for_results_as_you_type(client_as, front_desk):
    page = client_as(front_desk).get(reverse("patients:list")).content.decode()
    assert 'hx-get="/patients/"' in page
    assert 'hx-target="#patient-results"' in page
    assert 'hx-push-url="true"' in page
    assert "input changed delay:250ms from:#patient-q" in page


def test_no_match_says_what_to_try_and_offers_to_register(client_as, front_desk, jose):
    page = client_as(front_desk).get(reverse("patients:list"), {"q": "zzz"}).content.decode()
    assert "No patients match “zzz”." in page
    assert "Check the spelling or search by chart number, phone or date of birth." in page
    assert 'href="/patients/new/"' in page
    assert "Search archived patients too" in page


def test_archived_filter_shows_archived_patients_with_a_badge(client_as, front_desk, jose):
    archive_patient(patient=jose, by=None)
    client = client_as(front_desk)
    assert "Conceição" not in client.get(reverse("patients:list")).content.decode()
    page = client.get(reverse("patients:list"), {"archived": "1"}).content.decode()
    assert "Conceição Álvares, José" in page
    assert '<span class="badge text-bg-secondary ms-1">Archived</span>' in page


def test_list_is_paginated_25_per_page_and_links_keep_the_query(client_as, front_desk):
    for n in range(30):
        PatientFactory(given_name=f"Ana{n:02d}", family_name="Sousa")
    client = client_as(front_desk)
    first = client.get(reverse("patients:list"), {"q": "sousa"})
    assert len(first.context["page"].rows) == 25
    page = first.content.decode()
    assert "30 patients match “sousa” · page 1 of 2" in page
    assert 'href="?q=sousa&amp;page=2"' in page
    second = client.get(reverse("patients:list"), {"q": "sousa", "page": "2"})
    assert [p["given_name"] for p in second.context["page"].rows] == [
        "Ana25",
        "Ana26",
        "Ana27",
        "Ana28",
        "Ana29",
    ]


def test_page_links_keep_the_archived_filter(client_as, front_desk):
    for n in range(26):
        PatientFactory(given_name=f"Rui{n:02d}", family_name="Sousa")
    page = client_as(front_desk).get(reverse("patients:list"), {"archived": "1"}).content.decode()
    assert 'href="?archived=1&amp;page=2"' in page


def test_a_page_number_out_of_range_shows_the_last_page(client_as, front_desk, jose):
    response = client_as(front_desk).get(reverse("patients:list"), {"page": "99"})
    assert response.status_code == 200
    assert response.context["page"].number == 1
    assert client_as(front_desk).get(reverse("patients:list"), {"page": "x"}).status_code == 200


@pytest.mark.parametrize("count", [5, 60])
def test_list_page_runs_a_fixed_number_of_queries(
    client_as, front_desk, django_assert_max_num_queries, count
):
    for n in range(count):
        PatientFactory(given_name=f"Ana{n:02d}", family_name="Sousa", phone="+351912345678")
    client = client_as(front_desk)
    client.get(reverse("patients:list"))  # warm the session
    # session, user, clinic settings, roles, count, page, session save (+ its savepoint and release)
    with django_assert_max_num_queries(9):
        response = client.get(reverse("patients:list"))
    assert response.status_code == 200
    with django_assert_max_num_queries(9):
        client.get(reverse("patients:list"), {"q": "ana", "page": "2"}, HTTP_HX_REQUEST="true")


@pytest.mark.parametrize(
    "query", ["00", "0", "+", "()", "%", "_", "a\x00b", "'; drop table", "x" * 300, "٣", "'", "-", "' -"]
)
def test_odd_input_finds_nothing_and_never_fails(client_as, front_desk, jose, query):
    response = client_as(front_desk).get(reverse("patients:list"), {"q": query})
    assert response.status_code == 200
    assert response.context["page"].count == 0
    assert "No patients match" in response.content.decode()
