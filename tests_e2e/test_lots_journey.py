"""Issue 18 on a tablet (1024x768, touch): the practitioner maps the zones by tapping the diagram,
picks a lot for each product, marks the session done after confirming; clinic admin's lot recall
finds that patient and queues the notice. Screenshots of the map (tablet and phone), the recall
page and the dashboard's stock panel go to the screenshots folder."""

import re
from decimal import Decimal

from playwright.sync_api import expect

from outbox.models import OutboxMessage
from treatments.injection_map import BY_KEY
from treatments.models import SessionRecord
from treatments.tests import factories

from .conftest import pass_second_factor


def tap_zone(page, key, n):
    """Tap the diagram n times inside the zone, on its grid (diagram coordinates to screen ones)."""
    svg = page.locator("svg[data-injection-map]")
    for i in range(n):
        box = svg.bounding_box()  # where the diagram is now (the page may have scrolled)
        scale = box["width"] / 600
        x, y = BY_KEY[key].grid(i)
        page.touchscreen.tap(box["x"] + x * scale, box["y"] + y * scale)


def test_practitioner_maps_by_touch_picks_lots_marks_done_and_the_recall_finds_the_patient(
    browser, live_server, practitioner, clinic_admin, screenshots
):
    formulation = factories.formulation(practitioner, total_volume_ml=Decimal("3"))
    patient = formulation.patient
    patient.email_consent = True
    patient.save()
    lines = list(formulation.lines.all())
    lots = {line.pk: factories.stock_lot(line.ingredient, number=f"TAB-{n}") for n, line in enumerate(lines)}
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 1024, "height": 768},
        has_touch=True,
        is_mobile=True,
        locale="en-GB",
        timezone_id="Europe/Lisbon",
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def login(user):
        page.context.clear_cookies()
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill("mesoclinic")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        pass_second_factor(page, user)  # clinic admin enrols an authenticator app the first time

    login(practitioner)
    page.goto(f"/treatments/formulations/{formulation.pk}/sessions/new/")
    for line in lines:
        # Each product offers its lot from stock, picked by default.
        select = page.get_by_label(re.compile(f"Lot of {re.escape(line.ingredient.name)}"))
        select.select_option(str(lots[line.pk].pk))
    page.get_by_label("Volume given (mL)").fill("3")
    page.get_by_role("button", name="Save session record").tap()
    page.wait_for_url(re.compile(r"/treatments/sessions/\d+/$"))
    record = SessionRecord.objects.get(formulation=formulation)

    page.get_by_role("link", name="Map the zones").tap()
    page.wait_for_url(re.compile(r"/map/$"), wait_until="load")
    tap_zone(page, "forehead", 6)
    expect(page.locator("#id_forehead-treated")).to_be_checked()
    page.locator("#id_forehead-volume").fill("2")
    page.locator("#id_forehead-lot").select_option(str(lots[lines[0].pk].pk))
    tap_zone(page, "cheek_right", 4)
    page.locator("#id_cheek_right-volume").fill("1")
    # A point by keyboard: "Add point" of the right cheek, reached by focus and pressed with Enter.
    page.locator("[data-add-point=cheek_right]").focus()
    page.keyboard.press("Enter")
    expect(page.locator("[data-point-count=cheek_right]")).to_have_text("5")
    expect(page.locator("#map-total")).to_have_text("3")
    page.screenshot(path=str(screenshots / "lots-map-tablet.png"), full_page=False)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(screenshots / "lots-map-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1024, "height": 768})
    page.get_by_role("button", name="Save the map").tap()
    expect(page.get_by_text("Injection map saved.")).to_be_visible()
    zones = {z.zone: z for z in record.zones.all()}
    assert len(zones["forehead"].points) == 6 and len(zones["cheek_right"].points) == 5
    page.screenshot(path=str(screenshots / "lots-session-record.png"), full_page=True)

    page.get_by_role("link", name="Mark done").tap()
    expect(page.get_by_text("This cannot be undone.")).to_be_visible()
    page.get_by_role("button", name="Mark done").tap()
    expect(page.get_by_text("Session marked done.")).to_be_visible()
    record.refresh_from_db()
    assert record.done_at is not None
    for lot in lots.values():
        lot.refresh_from_db()
        assert lot.quantity_remaining < lot.quantity_received

    login(clinic_admin)
    page.goto("/")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(screenshots / "lots-dashboard.png"), full_page=True)
    page.goto("/treatments/stock/recall/")
    page.get_by_label("Lot number").fill("tab-0")
    page.get_by_role("button", name="Find patients").tap()
    expect(page.get_by_role("link", name=patient.full_name)).to_be_visible()
    page.screenshot(path=str(screenshots / "lots-recall.png"), full_page=True)
    page.get_by_role("link", name="Recall this lot").tap()
    page.get_by_label("Reason for the recall").fill("Supplier notice 77")
    page.get_by_role("button", name="Recall the lot and e-mail the patients").tap()
    expect(page.get_by_text("1 recall notice queued")).to_be_visible()
    assert OutboxMessage.objects.filter(kind="lot_recall", patient=patient).count() == 1
    assert errors == []
    context.close()
