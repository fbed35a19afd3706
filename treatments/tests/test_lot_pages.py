"""The pages of issue 18: the injection map as a plain form, stock receipt, recall search and CSV,
the recall confirmation, the stock panel and the allergy alert (rules `lot-recall`, `map-totals`,
`allergy-single-source`, docs/clinical-rules.md)."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from outbox.models import OutboxMessage
from treatments import services
from treatments.models import StockLot
from treatments.tests import factories
from treatments.views import csv_cell

pytestmark = pytest.mark.django_db


def test_the_map_works_as_a_plain_form_and_shows_read_only_on_the_record(client_as, practitioner):
    record = factories.session_record(practitioner, volume_ml=Decimal("2"))
    lot = record.lots.first().stock_lot
    client = client_as(practitioner)
    url = reverse("treatments:session_map", args=[record.pk])
    assert "data-injection-map" in client.get(url).text
    data = {
        "forehead-treated": "on",
        "forehead-volume": "1.5",
        "forehead-technique": "needle",
        "forehead-gauge": "32G",
        "forehead-depth": "1",
        "forehead-lot": str(lot.pk),
        "forehead-points": "300,92 312,92",
        "chin-treated": "on",
        "chin-volume": "1",
        "chin-technique": "needle",
        "chin-gauge": "30G",
    }
    wrong = client.post(url, data)
    assert "The zones add up to 2.5 mL but the volume given is 2 mL" in wrong.text
    assert '<circle cx="312" cy="92"' in wrong.text  # the posted points are kept on the diagram
    outside = client.post(url, data | {"chin-volume": "0.5", "chin-points": "1,1"})
    assert "lies outside that zone" in outside.text
    bad = client.post(url, data | {"forehead-points": "three hundred"})
    assert "Write each point as x,y" in bad.text
    response = client.post(url, data | {"chin-volume": "0.5"})
    assert response.status_code == 302
    page = client.get(reverse("treatments:session_detail", args=[record.pk])).text
    assert "Forehead" in page and '<circle cx="312" cy="92" r="4"/>' in page
    timeline = client.get(reverse("treatments:timeline", args=[record.patient_id])).text
    assert "injection-map-small" in timeline


def test_clinic_admin_receives_stock_and_practitioners_only_read_it(client_as, clinic_admin, practitioner):
    ha = factories.ingredient(factories.HA)
    receive = reverse("treatments:stock_receive")
    assert client_as(practitioner).get(receive).status_code == 403
    response = client_as(clinic_admin).post(
        receive,
        {
            "ingredient": ha.pk,
            "lot_number": "HA-55",
            "expiry_date": "2099-01-01",
            "quantity_received": "20",
            "supplier": "Meso Supplies",
        },
    )
    assert response.status_code == 302
    lot = StockLot.objects.get(lot_number="HA-55")
    assert (lot.quantity_remaining, lot.received_by) == (Decimal("20"), clinic_admin)
    again = client_as(clinic_admin).post(
        receive,
        {"ingredient": ha.pk, "lot_number": "HA-55", "expiry_date": "2099-01-01", "quantity_received": "1"},
    )
    assert "is already in stock" in again.text
    assert "HA-55" in client_as(practitioner).get(reverse("treatments:stock")).text


def test_csv_cells_that_a_spreadsheet_would_run_are_escaped():
    assert [csv_cell(v) for v in ("=1+1", "+33", "-2", "@SUM(A1)", "\tx", "Ana", None)] == [
        "'=1+1",
        "'+33",
        "'-2",
        "'@SUM(A1)",
        "'\tx",
        "Ana",
        "",
    ]


def _used(practitioner, lot, times):
    ingredient = lot.ingredient
    records = []
    for _ in range(times):
        formulation = factories.formulation(practitioner)
        line = next(li for li in formulation.lines.all() if li.ingredient_id == ingredient.pk)
        record = factories.session_record(
            practitioner, formulation, lots=factories.lots_for(formulation) | {line.pk: lot}
        )
        services.mark_session_done(session_record=record, by=practitioner)
        records.append(record)
    return records


def test_recall_search_lists_every_patient_in_bounded_queries_and_exports_csv(
    client_as, practitioner, clinic_admin, django_assert_max_num_queries
):
    lot = factories.stock_lot(factories.ingredient(factories.HA), number="RC-9")
    records = _used(practitioner, lot, 3)
    records[0].patient.given_name = "=HYPERLINK(evil)"
    records[0].patient.save()
    client = client_as(clinic_admin)
    client.get(reverse("treatments:recall"))  # warm the session
    with django_assert_max_num_queries(12):
        page = client.get(reverse("treatments:recall") + "?q=rc-9").text
    for record in records:
        assert reverse("treatments:session_detail", args=[record.pk]) in page
    assert "3 sessions received it" in page
    export = client.get(reverse("treatments:recall_export") + "?q=RC-9")
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert rows[0][0] == "Lot" and len(rows) == 4
    assert any(row[3].startswith("'=HYPERLINK(evil)") for row in rows[1:])
    assert not any(cell.startswith("=") for row in rows for cell in row)


def test_recall_is_confirmed_first_and_queues_each_notice_once(client_as, clinic_admin, practitioner):
    lot = factories.stock_lot(factories.ingredient(factories.HA), number="RC-10")
    records = _used(practitioner, lot, 2)
    client = client_as(clinic_admin)
    url = reverse("treatments:lot_recall", args=[lot.pk])
    assert "2 patients who received it" in client.get(url).text
    assert "This field is required" in client.post(url, {"reason": ""}).text
    lot.refresh_from_db()
    assert not lot.is_recalled
    client.post(url, {"reason": "Supplier notice 12"})
    client.post(url, {"reason": "Supplier notice 12"})
    lot.refresh_from_db()
    assert lot.is_recalled
    assert OutboxMessage.objects.filter(kind="lot_recall").count() == len({r.patient_id for r in records})
    assert client_as(practitioner).post(url, {"reason": "x"}).status_code == 403


def test_the_admin_dashboard_lists_low_stock_and_lots_expiring_soon(client_as, clinic_admin):
    import datetime

    ha = factories.ingredient(factories.HA)
    soon = factories.stock_lot(ha, number="SOON-1", quantity=Decimal("0.5"))
    soon.expiry_date = datetime.date.today() + datetime.timedelta(days=10)
    soon.save()
    html = client_as(clinic_admin).get(reverse("clinic:dashboard")).text
    assert "SOON-1" in html
    assert "data-low-stock" in html and ha.name in html


def test_running_low_lists_products_kept_in_stock_not_those_never_received(client_as, clinic_admin):
    """Noticed on the dashboard: every product of the catalogue never received into stock was "running
    low" with nothing left, and ten of them filled the panel before the products the clinic keeps. A
    product is low when it was received and its lots in date hold fewer than five typical doses: used
    up and expired lots count as nothing left; a product known only from old records was never kept."""
    import datetime

    from treatments.models import Ingredient
    from treatments.selectors import LOW_STOCK_SESSIONS, low_stock

    today = datetime.date.today()
    plenty = factories.ingredient(factories.HA)
    factories.stock_lot(plenty)
    used_up = factories.ingredient(factories.VITAMIN_C)
    lot = factories.stock_lot(used_up, quantity=Decimal("100"))
    StockLot.objects.filter(pk=lot.pk).update(quantity_remaining=0)
    expired = factories.ingredient(factories.PDRN)
    factories.stock_lot(expired, expiry=today - datetime.timedelta(days=1))
    few = factories.ingredient(factories.ZINC)
    factories.stock_lot(few, quantity=few.typical_amount * (LOW_STOCK_SESSIONS - 1))
    named = {plenty.pk, used_up.pk, expired.pk, few.pk}
    old = Ingredient.objects.active().exclude(pk__in=named).order_by("name").first()
    StockLot.objects.create(
        ingredient=old, lot_number="TYPED-1", quantity_received=0, quantity_remaining=0, from_old_records=True
    )
    assert Ingredient.objects.active().exclude(pk__in=named).count() > 10  # never received: the rest

    assert [p.name for p in low_stock(today, limit=100)] == [expired.name, used_up.name, few.name]
    html = client_as(clinic_admin).get(reverse("clinic:dashboard")).text
    panel = html[html.index("data-low-stock") :].split("</ul>", 1)[0]
    assert expired.name in panel and used_up.name in panel and few.name in panel
    assert old.name not in panel and plenty.name not in panel
    assert panel.count("none usable") == 2


def test_allergies_and_yes_answers_show_in_the_patient_header(client_as, practitioner):
    record = factories.session_record(practitioner)
    factories.allergic_to(record.patient, "Polynucleotides (fish DNA)")
    html = client_as(practitioner).get(reverse("treatments:session_detail", args=[record.pk])).text
    assert "data-clinical-alert" in html and "Polynucleotides (fish DNA)" in html
