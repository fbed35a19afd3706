"""Front desk registers a patient and finds them again by typing part of the name without accents."""

import re

from playwright.sync_api import expect

from patients.models import Patient


def test_front_desk_registers_a_patient_and_finds_them_by_a_fragment_of_the_name(page, login, front_desk):
    login(front_desk)
    page.get_by_role("link", name="Patients").click()
    page.get_by_role("link", name="Register patient").click()

    # The form opens on the given name, so staff can start typing at once.
    # expect() waits for the new page, so a slow navigation does not read the old page's focus.
    expect(page.locator("input[name=given_name]")).to_be_focused()
    page.keyboard.type("Joaquim")
    page.get_by_label("Family name").fill("Gonçalves Simões")
    page.get_by_label("Date of birth").fill("1984-02-29")
    page.get_by_label("Phone", exact=True).fill("912 345 678")
    page.get_by_role("textbox", name="E-mail").fill("joaquim@example.pt")
    page.get_by_label("Consents to e-mail reminders").check()
    page.get_by_role("button", name="Register patient").click()

    patient = Patient.objects.get(family_name="Gonçalves Simões")
    page.wait_for_url(f"**/patients/{patient.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Joaquim Gonçalves Simões")
    expect(page.locator(".messages")).to_contain_text(f"registered with chart number {patient.chart_number}")
    expect(page.locator("main")).to_contain_text("+351 912 345 678")

    page.get_by_role("link", name="Patients", exact=True).first.click()
    # The search is htmx's: typing before the page (and htmx) has loaded would search nothing.
    page.wait_for_url("**/patients/", wait_until="load")
    search = page.get_by_role("searchbox")
    page.evaluate("window.sameDocument = true")  # survives only if htmx swaps, not a page load
    search.press_sequentially("simoe", delay=40)
    # htmx swaps in the results and pushes the search into the address bar.
    page.wait_for_url(re.compile(r"/patients/\?q=simoe"))
    results = page.locator("#patient-results")
    expect(results.get_by_text("1 patient match “simoe”")).to_be_visible()
    assert page.evaluate("window.sameDocument") is True
    results.get_by_role("link", name="Gonçalves Simões, Joaquim").click()

    page.wait_for_url(f"**/patients/{patient.pk}/")
    expect(page.locator("main")).to_contain_text(patient.chart_number)
    assert page.console_errors == []


def test_practitioner_answers_a_contraindication_and_sees_it_in_the_history(page, login, practitioner):
    from patients.tests.factories import PatientFactory

    patient = PatientFactory(given_name="Léa", family_name="Dubois")
    login(practitioner)
    page.goto(f"/patients/{patient.pk}/")
    page.get_by_role("link", name="Edit screening").click()
    # Until the page has loaded, patients.js may not be listening yet: a click before then fills no date.
    page.wait_for_url(f"**/patients/{patient.pk}/screening/", wait_until="load")

    row = page.get_by_role("radiogroup", name="Autoimmune disease")
    row.get_by_text("Yes", exact=True).click()
    # Choosing yes fills in today's date (static/js/patients.js), which the answer needs.
    date = page.get_by_label("Date answered (Autoimmune disease)")
    expect(date).to_have_value(date.get_attribute("max"))
    page.get_by_label("Current medications").fill("Methotrexate 10 mg weekly")
    page.get_by_role("button", name="Save screening").click()

    page.wait_for_url(f"**/patients/{patient.pk}/#screening")
    screening = page.locator("#screening")
    expect(screening).to_contain_text("Methotrexate 10 mg weekly")
    screening.get_by_text("Screening history").click()
    history = screening.locator("details")
    expect(history).to_have_attribute("open", "")
    expect(history).to_contain_text("Autoimmune disease:")
    expect(history).to_contain_text("Unknown → Yes")
    assert page.console_errors == []
