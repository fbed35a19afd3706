"""The pages: thin views over the services, read logging, refusals shown, timeline query bound."""

import datetime
import re
from decimal import Decimal

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from clinic.errors import Refusal
from clinic.models import AccessLogEntry
from treatments import services
from treatments.dashboard import panel
from treatments.models import Consultation, Formulation, SessionRecord
from treatments.patient_section import section
from treatments.services import LineInput
from treatments.tests import factories
from treatments.tests.factories import HA, PDRN, VITAMIN_C, ingredient

pytestmark = pytest.mark.django_db


def consultation_post(**overrides):
    data = {
        "date": "2026-03-02",
        "concerns": ["hydration", "pigmentation"],
        "goals": "More even tone",
        "skin_assessment": "Dehydrated, fine lines around the eyes",
        "decision": "eligible",
        "plan_areas": ["face"],
        "plan_session_count": "4",
        "plan_interval_days": "14",
    }
    for item in (
        "pregnancy",
        "anticoagulants",
        "skin_infection",
        "autoimmune",
        "ingredient_allergy",
        "keloid",
        "isotretinoin",
    ):
        data[f"answer_{item}"] = "no"
    data.update(overrides)
    return data


def lines_post(rows, **overrides):
    data = {
        "lines-TOTAL_FORMS": str(len(rows)),
        "lines-INITIAL_FORMS": "0",
        "total_volume_ml": "4",
        "vehicle": "Saline 0.9%",
        "concerns": ["hydration"],
    }
    for i, (ingredient_obj, amount, reason) in enumerate(rows):
        data[f"lines-{i}-ingredient"] = str(ingredient_obj.pk) if ingredient_obj else ""
        data[f"lines-{i}-amount"] = amount
        data[f"lines-{i}-override_reason"] = reason
    data.update(overrides)
    return data


def test_practitioner_records_a_consultation_as_a_draft(client_as, practitioner):
    patient = factories.patient()
    response = client_as(practitioner).post(
        reverse("treatments:consultation_create", args=[patient.pk]), consultation_post()
    )
    consultation = Consultation.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("treatments:consultation_detail", args=[consultation.pk])
    assert (consultation.practitioner, consultation.signed_at, consultation.goals) == (
        practitioner,
        None,
        "More even tone",
    )
    assert set(consultation.answers.values_list("answer", flat=True)) == {"no"}


def test_contraindication_refusal_is_shown_on_the_form(client_as, practitioner):
    patient = factories.patient()
    response = client_as(practitioner).post(
        reverse("treatments:consultation_create", args=[patient.pk]),
        consultation_post(answer_pregnancy="yes"),
    )
    assert response.status_code == 200
    assert "“Eligible” is blocked: the patient answered yes to Pregnant or breastfeeding." in response.text
    assert Consultation.objects.count() == 0


def test_signing_from_the_page_locks_the_note(client_as, practitioner):
    consultation = services.start_consultation(
        patient=factories.patient(), by=practitioner, **factories.ELIGIBLE_PLAN
    )
    client = client_as(practitioner)
    # Signing asks to confirm first: the GET (or a POST without the confirmation) signs nothing.
    sign = reverse("treatments:consultation_sign", args=[consultation.pk])
    assert "This cannot be undone." in client.get(sign).text
    assert "This cannot be undone." in client.post(sign).text
    consultation.refresh_from_db()
    assert not consultation.is_signed
    response = client.post(sign, {"confirmed": "yes"})
    assert response.status_code == 302
    response = client.get(reverse("treatments:consultation_edit", args=[consultation.pk]), follow=True)
    assert response.redirect_chain == [
        (reverse("treatments:consultation_detail", args=[consultation.pk]), 302)
    ]
    assert "This consultation is signed and cannot be edited. Add an addendum instead." in response.text
    response = client.post(
        reverse("treatments:consultation_edit", args=[consultation.pk]), consultation_post(goals="changed")
    )
    consultation.refresh_from_db()
    assert consultation.goals == ""


def test_addendum_is_listed_under_the_signed_note(client_as, practitioner):
    consultation = factories.signed_consultation(practitioner)
    client = client_as(practitioner)
    client.post(reverse("treatments:addendum_add", args=[consultation.pk]), {"text": "Forgot: uses retinol."})
    response = client.get(reverse("treatments:consultation_detail", args=[consultation.pk]))
    assert "Forgot: uses retinol." in response.text
    assert "Inês Moura" in response.text


def test_every_read_of_a_consultation_is_logged_and_shown_to_admin(client_as, practitioner, clinic_admin):
    consultation = factories.signed_consultation(practitioner)
    url = reverse("treatments:consultation_detail", args=[consultation.pk])
    client_as(practitioner).get(url)
    client = client_as(clinic_admin)
    assert client.get(url).status_code == 200
    reads = AccessLogEntry.objects.filter(what="consultation", object_id=consultation.pk).order_by("id")
    assert list(reads.values_list("user__username", flat=True)) == ["practitioner", "admin"]
    response = client.get(reverse("clinic:access_log") + f"?patient={consultation.patient_id}")
    assert response.status_code == 200
    rows = response.text.split("<tbody>")[1]
    assert "Inês Moura" in rows and rows.count("<td>Consultation</td>") == 2


def test_clinic_admin_reads_but_cannot_write_clinical_content(client_as, practitioner, clinic_admin):
    consultation = factories.signed_consultation(practitioner)
    client = client_as(clinic_admin)
    url = reverse("treatments:consultation_detail", args=[consultation.pk])
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 403
    assert (
        client.post(reverse("treatments:addendum_add", args=[consultation.pk]), {"text": "x"}).status_code
        == 403
    )
    assert consultation.addenda.count() == 0


def test_front_desk_gets_403_on_clinical_pages(client_as, practitioner, front_desk):
    record = factories.session_record(practitioner)
    client = client_as(front_desk)
    for url in (
        reverse("treatments:timeline", args=[record.patient_id]),
        reverse("treatments:consultation_detail", args=[record.formulation.consultation_id]),
        reverse("treatments:formulation_detail", args=[record.formulation_id]),
        reverse("treatments:session_detail", args=[record.pk]),
        reverse("treatments:ingredients"),
    ):
        assert client.get(url).status_code == 403, url
    assert AccessLogEntry.objects.count() == 0


def test_formulation_from_the_formset_makes_version_one(client_as, practitioner):
    consultation = factories.signed_consultation(practitioner)
    response = client_as(practitioner).post(
        reverse("treatments:formulation_create", args=[consultation.pk]),
        lines_post([(ingredient(HA), "2", ""), (ingredient(VITAMIN_C), "150", ""), (None, "", "")]),
    )
    formulation = Formulation.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("treatments:formulation_detail", args=[formulation.pk])
    assert formulation.version == 1
    assert [(line.ingredient.name, line.amount) for line in formulation.lines.all()] == [
        (HA, Decimal("2")),
        (VITAMIN_C, Decimal("150")),
    ]


def test_allergy_refusal_is_shown_on_the_formulation_page(client_as, practitioner):
    consultation = factories.signed_consultation(practitioner)
    factories.allergic_to(consultation.patient, "Polynucleotides (fish DNA)")
    response = client_as(practitioner).post(
        reverse("treatments:formulation_create", args=[consultation.pk]),
        lines_post([(ingredient(PDRN), "2", "")]),
    )
    assert response.status_code == 200
    assert "the patient is allergic to Polynucleotides (fish DNA)" in response.text
    assert Formulation.objects.count() == 0


def test_revising_prefills_lines_and_saves_a_new_version(client_as, practitioner):
    first = factories.formulation(practitioner)
    client = client_as(practitioner)
    page = client.get(reverse("treatments:formulation_revise", args=[first.pk]))
    assert page.status_code == 200
    assert 'name="lines-0-amount" id="id_lines-0-amount" value="2' in page.text
    response = client.post(
        reverse("treatments:formulation_revise", args=[first.pk]), lines_post([(ingredient(HA), "3", "")])
    )
    second = Formulation.objects.get(version=2)
    assert response.url == reverse("treatments:formulation_detail", args=[second.pk])
    assert second.previous == first
    diff = client.get(reverse("treatments:formulation_diff", args=[first.pk, second.pk]))
    assert "Removed" in diff.text and "Amount changed" in diff.text


def test_formulation_sheet_has_a_print_button(client_as, practitioner):
    formulation = factories.formulation(practitioner)
    response = client_as(practitioner).get(reverse("treatments:formulation_detail", args=[formulation.pk]))
    assert "data-print" in response.text
    assert "formulation-sheet" in response.text


def test_session_is_recorded_and_marked_done_from_the_pages(client_as, practitioner):
    formulation = factories.formulation(practitioner)
    line, other = formulation.lines.all()
    lot = factories.stock_lot(line.ingredient, number="LOT-77")
    later = factories.stock_lot(line.ingredient, expiry=datetime.date.today() + datetime.timedelta(days=900))
    other_lot = factories.stock_lot(other.ingredient)
    client = client_as(practitioner)
    form = client.get(reverse("treatments:session_create", args=[formulation.pk])).context["form"]
    # The lot expiring first is offered first and picked by default (rule `lot-usable`).
    assert form[f"lot_{line.pk}"].initial == lot.pk
    assert list(form.fields[f"lot_{line.pk}"].queryset) == [lot, later]
    response = client.post(
        reverse("treatments:session_create", args=[formulation.pk]),
        {
            "performed_at": "2026-03-09T10:00",
            "areas": ["face", "neck"],
            "technique": "needle",
            "needle_gauge": "30G",
            "grid_spacing_mm": "4",
            "depth_mm": "1.5",
            "volume_ml": "3.5",
            "pain_score": "2",
            "reactions": ["redness"],
            f"lot_{line.pk}": str(lot.pk),
        },
    )
    record = SessionRecord.objects.get()
    assert response.url == reverse("treatments:session_detail", args=[record.pk])
    assert record.lots.get(line=line).lot_number == "LOT-77"
    done = reverse("treatments:session_done", args=[record.pk])
    confirm = client.get(done).text
    assert "This cannot be undone." in confirm
    assert f"No lot picked for {other.ingredient.name}" in confirm
    client.post(done, {"confirmed": "yes"})
    record.refresh_from_db()
    assert record.done_at is None  # refused: a product line has no lot
    client.post(
        reverse("treatments:session_edit", args=[record.pk]),
        {
            "performed_at": "2026-03-09T10:00",
            "areas": ["face", "neck"],
            "technique": "needle",
            "needle_gauge": "30G",
            "volume_ml": "3.5",
            f"lot_{line.pk}": str(lot.pk),
            f"lot_{other.pk}": str(other_lot.pk),
        },
    )
    client.post(done, {"confirmed": "yes"})
    record.refresh_from_db()
    assert record.done_at is not None and record.aftercare_due_at is not None
    response = client.get(reverse("treatments:session_edit", args=[record.pk]), follow=True)
    assert "This session is marked done and locked." in response.text


def _history(practitioner, patient, size):
    consultation = factories.signed_consultation(practitioner, patient)
    previous = None
    for i in range(size):
        lines = [
            LineInput(ingredient=ingredient(HA), amount=Decimal(1 + i % 3)),
            LineInput(ingredient=ingredient(VITAMIN_C), amount=Decimal(100)),
        ]
        previous = factories.formulation(practitioner, consultation, lines=lines, previous=previous)
        record = factories.session_record(practitioner, previous)
        services.mark_session_done(session_record=record, by=practitioner)
        services.start_consultation(patient=patient, by=practitioner)


def _sessions_on_days(practitioner, patient, days):
    """One formulation, then a session on each of `days` consecutive past days (newest yesterday)."""
    formulation = factories.formulation(practitioner, factories.signed_consultation(practitioner, patient))
    now = timezone.now()
    return [
        factories.session_record(practitioner, formulation, performed_at=now - datetime.timedelta(days=d))
        for d in range(days, 0, -1)
    ]


@pytest.mark.parametrize("days", [1, 40])
def test_timeline_loads_in_a_fixed_number_of_queries(
    client_as, practitioner, django_assert_max_num_queries, days
):
    patient = factories.patient()
    _sessions_on_days(practitioner, patient, days)
    client = client_as(practitioner)
    url = reverse("treatments:timeline", args=[patient.pk])
    client.get(url)  # warm the session and the clinic settings row
    with django_assert_max_num_queries(12):
        response = client.get(url)
    assert response.status_code == 200
    assert response.text.count(">Session</a>") == min(days, 23)  # today's formulation + 23 whole days
    assert ("Show older" in response.text) == (days > 23)


def test_timeline_shows_the_newest_entries_and_show_older_reaches_every_entry(client_as, practitioner):
    patient = factories.patient()
    records = _sessions_on_days(practitioner, patient, 60)
    client = client_as(practitioner)
    url = reverse("treatments:timeline", args=[patient.pk])
    first = client.get(url).text
    assert "Formulation v1" in first  # made today: newest first
    seen, pages = [], 0
    while url:
        html = client.get(url).text
        pages += 1
        seen += [int(pk) for pk in re.findall(r'href="/treatments/sessions/(\d+)/"', html)]
        older = re.search(r'href="([^"]+\?before=[0-9-]+)">Show older', html)
        url = older.group(1) if older else None
    assert seen == [r.pk for r in reversed(records)]  # newest first, each once
    assert pages == 3
    assert 'class="fw-semibold">Consultation</a>' in html  # the oldest page ends with the start


def test_timeline_shows_a_crowded_day_whole(client_as, practitioner, django_assert_max_num_queries):
    patient = factories.patient()
    _history(practitioner, patient, 15)  # 46 entries, all today
    client = client_as(practitioner)
    url = reverse("treatments:timeline", args=[patient.pk])
    client.get(url)
    with django_assert_max_num_queries(16):  # the rare day with more entries than a page: 4 more
        response = client.get(url)
    assert response.text.count("Formulation v") == 15
    assert "Changes from v14" in response.text
    assert "Show older" in response.text
    older = client.get(url + "?before=" + timezone.localdate().isoformat())
    assert older.text.count('class="fw-semibold">Consultation</a>') == 1  # the signed one of 2 March
    assert "Formulation v" not in older.text and "Show older" not in older.text


def test_timeline_with_a_mangled_before_shows_the_newest(client_as, practitioner):
    patient = factories.patient()
    _sessions_on_days(practitioner, patient, 2)
    response = client_as(practitioner).get(
        reverse("treatments:timeline", args=[patient.pk]) + "?before=not-a-date"
    )
    assert response.status_code == 200
    assert response.text.count(">Session</a>") == 2


def test_timeline_says_when_nothing_is_older(client_as, practitioner):
    patient = factories.patient()
    response = client_as(practitioner).get(
        reverse("treatments:timeline", args=[patient.pk]) + "?before=2020-01-01"
    )
    assert "No older entries." in response.text


def test_patient_section_is_empty_for_front_desk(rf_user, practitioner, front_desk):
    patient = factories.patient()
    factories.signed_consultation(practitioner, patient)
    assert section(rf_user(front_desk), patient) == ""
    html = section(rf_user(practitioner), patient)
    assert "Clinical summary" in html and "New consultation" in html and "Eligible" in html


def test_patient_section_shows_admin_no_new_consultation_button(rf_user, practitioner, clinic_admin):
    patient = factories.patient()
    html = section(rf_user(clinic_admin), patient)
    assert "Clinical timeline" in html and "New consultation" not in html


def test_dashboard_panel_lists_unsigned_consultations(rf_user, practitioner, front_desk):
    services.start_consultation(patient=factories.patient(given_name="Zélia"), by=practitioner)
    assert "Unsigned consultation · Zélia" in panel(rf_user(practitioner))
    assert panel(rf_user(front_desk)) == ""


@pytest.fixture
def rf_user():
    def make(user):
        request = RequestFactory().get("/")
        request.user = user
        return request

    return make


@pytest.mark.parametrize(
    "name",
    [
        "treatments:consultation_detail",
        "treatments:consultation_edit",
        "treatments:formulation_detail",
        "treatments:formulation_revise",
        "treatments:session_create",
        "treatments:session_detail",
        "treatments:session_edit",
    ],
)
def test_unknown_ids_answer_404(client_as, practitioner, name):
    kwarg = "formulation_id" if name == "treatments:session_create" else "pk"
    assert client_as(practitioner).get(reverse(name, kwargs={kwarg: 999999})).status_code == 404


def test_unknown_diff_version_answers_404(client_as, practitioner):
    formulation = factories.formulation(practitioner)
    url = reverse("treatments:formulation_diff", args=[formulation.pk, 999999])
    assert client_as(practitioner).get(url).status_code == 404


def test_opening_a_draft_to_edit_is_logged_as_a_read(client_as, practitioner):
    consultation = services.start_consultation(patient=factories.patient(), by=practitioner)
    client_as(practitioner).get(reverse("treatments:consultation_edit", args=[consultation.pk]))
    reads = AccessLogEntry.objects.filter(what="consultation", object_id=consultation.pk, user=practitioner)
    assert reads.count() == 1


# ---------------------------------------------------------------- which consultation a formulation follows


def _same_day_decisions(practitioner, *, signed_last: str):
    """Two consultations of one patient for the same day, "not eligible" written first and "eligible"
    second, signed in the order that makes `signed_last` the practitioner's last word that day."""
    patient = factories.patient()
    day = datetime.date(2026, 3, 2)
    refused = services.start_consultation(
        patient=patient, by=practitioner, date=day, decision="not_eligible", decision_reason="Keloid tendency"
    )
    eligible = services.start_consultation(
        patient=patient, by=practitioner, **factories.ELIGIBLE_PLAN, date=day
    )
    order = [eligible, refused] if signed_last == "not_eligible" else [refused, eligible]
    for consultation in order:
        services.sign_consultation(consultation=consultation, by=practitioner)
    return patient, eligible


def _offered_and_accepted(client, practitioner, patient, eligible) -> tuple[bool, bool, bool]:
    timeline = client.get(reverse("treatments:timeline", args=[patient.pk])).text
    detail = client.get(reverse("treatments:consultation_detail", args=[eligible.pk])).text
    try:
        factories.formulation(practitioner, eligible)
        accepted = True
    except Refusal:
        accepted = False
    return "Formulate cocktail" in timeline, "Formulate cocktail" in detail, accepted


@pytest.mark.parametrize(
    ("signed_last", "expected"), [("not_eligible", (False, False, False)), ("eligible", (True, True, True))]
)
def test_the_pages_offer_formulate_exactly_when_the_service_accepts(
    client_as, practitioner, signed_last, expected
):
    # Same visit day: the consultation signed last is the standing decision, on every page and in
    # the service alike (the timeline used to pick the one written last, the service the one signed
    # last, so the timeline offered a formulation the service then refused).
    patient, eligible = _same_day_decisions(practitioner, signed_last=signed_last)
    client = client_as(practitioner)
    assert _offered_and_accepted(client, practitioner, patient, eligible) == expected


def test_an_older_eligible_consultation_offers_no_formulation_once_a_newer_one_is_signed(
    client_as, practitioner
):
    older = factories.signed_consultation(practitioner, date=datetime.date(2026, 1, 5))
    factories.signed_consultation(practitioner, older.patient, date=datetime.date(2026, 3, 2))
    client = client_as(practitioner)
    detail = client.get(reverse("treatments:consultation_detail", args=[older.pk])).text
    assert "Formulate cocktail" not in detail
    with pytest.raises(Refusal, match="not the patient's latest signed consultation"):
        factories.formulation(practitioner, older)
    page = client.get(reverse("treatments:formulation_create", args=[older.pk]), follow=True)
    assert "latest signed consultation" in page.text


def test_no_new_version_is_offered_after_a_signed_deferral(client_as, practitioner):
    formulation = factories.formulation(practitioner)
    later = services.start_consultation(
        patient=formulation.patient,
        by=practitioner,
        date=datetime.date(2026, 4, 6),
        decision="deferred",
        decision_reason="Active infection at the site",
    )
    services.sign_consultation(consultation=later, by=practitioner)
    client = client_as(practitioner)
    sheet = client.get(reverse("treatments:formulation_detail", args=[formulation.pk])).text
    assert "New version from this" not in sheet
    timeline = client.get(reverse("treatments:timeline", args=[formulation.patient.pk])).text
    assert "New formulation version" not in timeline
    page = client.get(reverse("treatments:formulation_revise", args=[formulation.pk]), follow=True)
    assert "Hold a new consultation first" in page.text
