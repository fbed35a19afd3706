"""On a tablet: the patient reads and signs the treatment consent with a drawn signature, the
practitioner countersigns, uploads a before photo at the first session and an after photo at a later
one, and compares them side by side."""

import datetime
import re
import shutil
import subprocess

import pytest
from django.utils import timezone
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from consents.models import PatientConsent
from photos.models import ClinicalPhoto
from treatments.tests import factories

TABLET = {"width": 1024, "height": 768}


@pytest.fixture
def tablet(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url,
        locale="en-GB",
        timezone_id="Europe/Lisbon",
        viewport=TABLET,
        has_touch=True,
        user_agent="Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.console_errors = errors
    yield page
    context.close()


def _draw(page, canvas, points):
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + points[0][0] * box["width"], box["y"] + points[0][1] * box["height"])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=6)
    page.mouse.up()


def _photo(path, shade):
    image = Image.new("RGB", (900, 1200), (236, 232, 226))
    ImageDraw.Draw(image).ellipse([200, 150, 700, 1050], fill=shade)
    image.save(path, format="JPEG")
    return path


def test_patient_signs_on_the_tablet_and_the_practitioner_compares_photos(
    tablet, practitioner, screenshots, tmp_path
):
    page = tablet
    consultation = factories.signed_consultation(practitioner, consent=False)
    patient = consultation.patient
    formulation = factories.formulation(practitioner, consultation=consultation)

    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(practitioner.username)
    page.get_by_label("Password").fill("mesoclinic")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)

    page.goto(f"/patients/{patient.pk}/")
    expect(page.get_by_text("Consent missing")).to_be_visible()
    page.get_by_role("link", name="Sign consent").first.click()
    page.wait_for_url(re.compile(r"/consent/patients/\d+/sign/$"), wait_until="load")
    expect(page.get_by_text("Rarer risks: infection")).to_be_visible()
    for box in page.locator(".consent-statement input[type=checkbox]").all():
        box.check()
    page.get_by_role("radiogroup", name="Photos of the treated areas for my clinical record").get_by_label(
        "Yes"
    ).check()
    page.get_by_role("radiogroup", name="Use of my photos in the clinic's marketing").get_by_label(
        "No"
    ).check()
    page.get_by_role("radiogroup", name="Use of my photos, without my name, for research").get_by_label(
        "No"
    ).check()
    canvases = page.locator("canvas.signature-box")
    # An empty patient box is refused with a message; nothing typed is lost.
    canvases.nth(1).scroll_into_view_if_needed()
    _draw(page, canvases.nth(1), [(0.1, 0.6), (0.3, 0.3), (0.5, 0.7), (0.8, 0.4)])
    page.get_by_role("button", name="Sign consent").click()
    expect(page.get_by_text("The patient has not signed yet")).to_be_visible()
    assert page.locator(".consent-statement input:checked").count() > 0
    for box in page.locator(".consent-statement input[type=checkbox]").all():
        box.check()
    canvases = page.locator("canvas.signature-box")
    canvases.nth(0).scroll_into_view_if_needed()
    _draw(
        page, canvases.nth(0), [(0.05, 0.7), (0.2, 0.2), (0.35, 0.8), (0.5, 0.3), (0.7, 0.75), (0.95, 0.35)]
    )
    _draw(page, canvases.nth(1), [(0.1, 0.6), (0.3, 0.3), (0.5, 0.7), (0.8, 0.4)])
    page.screenshot(path=str(screenshots / "consent-sign-tablet.png"), full_page=True)
    page.get_by_role("button", name="Sign consent").click()
    expect(page.get_by_text("Consent signed and countersigned.")).to_be_visible()
    consent = PatientConsent.objects.get(patient=patient)
    assert consent.device.startswith("Mozilla/5.0 (iPad") and consent.photos_clinical
    with consent.patient_signature.open("rb") as handle:
        drawn = Image.open(handle).convert("RGBA")
        assert drawn.getchannel("A").getbbox() is not None, "the drawn stroke is in the stored image"
    # Both signatures are shown as images (loaded by the browser after the page: wait for them).
    assert page.locator("img.signature-image").count() == 2
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.signature-image')]"
        ".every(i => i.complete && i.naturalWidth > 0)",
        timeout=15000,
    )
    page.screenshot(path=str(screenshots / "consent-detail.png"), full_page=True)

    pdf = page.request.get(f"/consent/{consent.pk}/copy.pdf")
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    (screenshots / "consent-copy.pdf").write_bytes(pdf.body())
    if shutil.which("pdftoppm"):
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "60",
                "-f",
                "1",
                "-l",
                "1",
                str(screenshots / "consent-copy.pdf"),
                str(screenshots / "consent-copy"),
            ],  # fmt: skip
            check=True,
        )

    # The first session, then a later one (the consent now allows both to be recorded).
    first = factories.session_record(
        practitioner, formulation, performed_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    page.goto(f"/photos/sessions/{first.pk}/")
    page.get_by_label("Area").select_option("face_front")
    page.get_by_label("Before").check()
    file_input = page.get_by_label("Photo")
    assert file_input.get_attribute("accept") == "image/*" and file_input.get_attribute("capture") is not None
    file_input.set_input_files(str(_photo(tmp_path / "before.jpg", (214, 170, 150))))
    page.get_by_role("button", name="Save photo").click()
    expect(page.get_by_text("Photo saved")).to_be_visible()

    latest = factories.session_record(practitioner, formulation)
    page.goto(f"/photos/sessions/{latest.pk}/")
    page.get_by_label("Area").select_option("face_front")
    page.get_by_label("After").check()
    page.get_by_label("Photo").set_input_files(str(_photo(tmp_path / "after.jpg", (230, 190, 170))))
    page.get_by_role("button", name="Save photo").click()
    expect(page.get_by_text("Photo saved")).to_be_visible()
    assert ClinicalPhoto.objects.filter(patient=patient).count() == 2

    page.goto(f"/photos/patients/{patient.pk}/face_front/compare/")
    images = page.locator(".photo-compare img")
    expect(images).to_have_count(2)
    for img in images.all():
        img.wait_for(state="visible")
        page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=img.element_handle())
    page.screenshot(path=str(screenshots / "photos-compare.png"), full_page=True)
    page.goto(f"/photos/patients/{patient.pk}/face_front/")
    expect(page.locator("img.photo-thumb")).to_have_count(2)
    assert page.console_errors == []
