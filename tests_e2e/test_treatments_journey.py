"""A practitioner records and signs a consultation, formulates a cocktail; front desk cannot see any of it."""

import re

from playwright.sync_api import expect

from patients.models import AllergenGroup
from patients.services import screening_for
from treatments.models import Consultation, Formulation
from treatments.tests import factories
from treatments.tests.factories import HA, PDRN, VITAMIN_C, ingredient


def test_practitioner_consults_signs_and_formulates_and_front_desk_is_kept_out(
    page, login, practitioner, front_desk
):
    patient = factories.patient(given_name="Marta", family_name="Quintela")
    screening_for(patient).allergen_groups.add(AllergenGroup.objects.get(name="Polynucleotides (fish DNA)"))

    login(practitioner)
    page.goto(f"/treatments/patients/{patient.pk}/consultations/new/")
    page.get_by_label("Hydration and nourishment").check()
    page.get_by_label("Fine lines and wrinkles").check()
    page.get_by_label("Patient's goals").fill("Skin that feels less tight")
    page.get_by_label("Skin assessment", exact=True).fill("Dehydrated, fine periorbital lines")
    page.get_by_label("Decision", exact=True).select_option("eligible")
    page.get_by_label("Face", exact=True).check()
    page.get_by_label("Proposed sessions").fill("4")
    page.get_by_label("Interval (days)").fill("14")
    # The patient now says she is pregnant: "eligible" is refused until the practitioner reconsiders.
    page.locator("input[name=answer_pregnancy][value=yes]").check()
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("“Eligible” is blocked")).to_be_visible()
    page.locator("input[name=answer_pregnancy][value=no]").check()
    # The recorded fish-DNA allergy is a "yes" (rule `allergy-single-source`): eligible needs the reason.
    expect(page.locator("[data-clinical-alert]")).to_contain_text("Polynucleotides (fish DNA)")
    page.get_by_label("Contraindication override reason").fill("Polynucleotides left out of the cocktail.")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url(re.compile(r"/treatments/consultations/\d+/$"))
    page.get_by_role("link", name="Sign consultation").click()
    page.get_by_role("button", name="Sign the consultation").click()
    expect(page.get_by_text("Consultation signed.")).to_be_visible()
    consultation = Consultation.objects.get(patient=patient)
    assert consultation.signed_by == practitioner

    page.get_by_role("link", name="Formulate cocktail").click()
    # "Add a line" below is the page's script: wait until the page, scripts included, has loaded.
    page.wait_for_url(re.compile(r"/formulations/new/$"), wait_until="load")
    rows = page.locator("[data-lines] tr")
    expect(rows.nth(0).locator("select")).to_contain_text("ALLERGY")
    rows.nth(0).locator("select").select_option(str(ingredient(HA).pk))
    rows.nth(0).locator("input[type=number]").fill("2")
    # The allergy is refused, with a message saying why.
    rows.nth(1).locator("select").select_option(str(ingredient(PDRN).pk))
    rows.nth(1).locator("input[type=number]").fill("2")
    page.get_by_label("Total volume (mL)").fill("4")
    page.get_by_role("button", name="Save formulation").click()
    expect(page.get_by_text("the patient is allergic to Polynucleotides (fish DNA)")).to_be_visible()
    rows.nth(1).locator("select").select_option(str(ingredient(VITAMIN_C).pk))
    rows.nth(1).locator("input[type=number]").fill("100")
    # "Add a line" adds a keyboard-ready row.
    before = rows.count()
    page.get_by_role("button", name="Add a line").click()
    expect(rows).to_have_count(before + 1)
    page.get_by_role("button", name="Save formulation").click()
    page.wait_for_url(re.compile(r"/treatments/formulations/\d+/$"))
    expect(page.get_by_role("heading", name=re.compile("Formulation v1"))).to_be_visible()
    expect(page.get_by_role("button", name="Print sheet")).to_be_visible()
    formulation = Formulation.objects.get(patient=patient)
    assert [line.ingredient.name for line in formulation.lines.all()] == [
        "Non-cross-linked hyaluronic acid 1.35%",
        "Vitamin C (sodium ascorbate)",
    ]
    assert page.console_errors == []

    page.context.clear_cookies()
    login(front_desk)
    expect(page.locator("nav")).not_to_contain_text("Ingredients")
    for url in (
        f"/treatments/patients/{patient.pk}/",
        f"/treatments/consultations/{consultation.pk}/",
        f"/treatments/formulations/{formulation.pk}/",
        f"/treatments/patients/{patient.pk}/consultations/new/",
    ):
        response = page.goto(url)
        assert response.status == 403, url
        assert "Skin that feels less tight" not in page.content()
        assert "hyaluronic" not in page.content()
