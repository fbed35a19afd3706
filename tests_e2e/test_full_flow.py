"""The flow of a patient (docs/design.md) across the three apps, in a real browser: front desk registers a
patient of about 50; the practitioner consults (plan pre-filled from the 45–65 band: 6 sessions, two
per week), signs and formulates; front desk plans the series from that plan and books it; on the day,
the practitioner records session 1 from its appointment and marks it done, which completes the
appointment. Front desk never sees clinical content on the way."""

import datetime
import re

from django.utils import timezone
from playwright.sync_api import expect

from consents.tests.factories import signed_consent
from patients.models import Patient
from scheduling.models import Appointment
from scheduling.tests.factories import open_clinic
from treatments.models import Consultation, SessionRecord
from treatments.tests.factories import HA, ingredient, stock_lot

GOALS = "Wants her neck to look less crepey before the wedding"
ASSESSMENT = "Dehydrated, thin skin on the neck"
NOTES = "Small bruise under the left jaw"
LOT = "HA-2291-B"
CLINICAL = (GOALS, ASSESSMENT, NOTES, LOT, "hyaluronic", "Formulation v1", "Clinical summary")


def assert_no_clinical_content(page):
    html = page.content()
    for text in CLINICAL:
        assert text not in html, f"front desk sees {text!r} on {page.url}"


def test_a_patient_goes_from_registration_to_a_completed_session(page, login, front_desk, practitioner):
    open_clinic(practitioner, rooms=("Treatment room 1", "Treatment room 2"))
    today = timezone.localdate()
    born = today.replace(year=today.year - 50) - datetime.timedelta(days=100)
    monday = today + datetime.timedelta(days=14 - today.weekday())

    # 1. Front desk registers the patient.
    login(front_desk)
    page.goto("/patients/new/")
    page.get_by_label("Given name").fill("Helena")
    page.get_by_label("Family name").fill("Vasconcelos")
    page.get_by_label("Date of birth").fill(born.isoformat())
    page.get_by_role("textbox", name="E-mail").fill("helena@example.pt")
    page.get_by_label("Consents to e-mail reminders").check()
    page.get_by_role("button", name="Register patient").click()
    patient = Patient.objects.get(family_name="Vasconcelos")
    page.wait_for_url(f"**/patients/{patient.pk}/")
    assert_no_clinical_content(page)

    # 2. The practitioner consults: the plan starts from the 45–65 band.
    page.context.clear_cookies()
    login(practitioner)
    page.goto(f"/patients/{patient.pk}/")
    page.get_by_role("link", name="New consultation").first.click()
    page.wait_for_url(re.compile(r"/consultations/new/$"))
    expect(page.locator("#plan-protocol")).to_contain_text("Ages 45–65: two sessions per week")
    expect(page.get_by_label("Proposed sessions")).to_have_value("6")
    expect(page.get_by_label("Interval (days)")).to_have_value("3")
    page.get_by_label("Hydration and nourishment").check()
    page.get_by_label("Patient's goals").fill(GOALS)
    page.get_by_label("Skin assessment", exact=True).fill(ASSESSMENT)
    page.get_by_label("Decision", exact=True).select_option("eligible")
    page.get_by_label("Neck", exact=True).check()
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url(re.compile(r"/treatments/consultations/\d+/$"))
    page.get_by_role("link", name="Sign consultation").click()
    page.get_by_role("button", name="Sign the consultation").click()
    expect(page.get_by_text("Consultation signed.")).to_be_visible()
    consultation = Consultation.objects.get(patient=patient)
    assert (consultation.plan_session_count, consultation.plan_interval_days) == (6, 3)

    # 3. ...and formulates the cocktail.
    page.get_by_role("link", name="Formulate cocktail").click()
    page.wait_for_url(re.compile(r"/formulations/new/$"))
    row = page.locator("[data-lines] tr").nth(0)
    row.locator("select").select_option(str(ingredient(HA).pk))
    row.locator("input[type=number]").fill("2")
    page.get_by_label("Total volume (mL)").fill("4")
    page.get_by_role("button", name="Save formulation").click()
    page.wait_for_url(re.compile(r"/treatments/formulations/\d+/$"))

    # 4. Front desk plans the series from the practitioner's plan and books it in one action.
    page.context.clear_cookies()
    login(front_desk)
    page.goto(f"/patients/{patient.pk}/")
    assert_no_clinical_content(page)
    page.get_by_role("link", name="Plan a series").click()
    page.wait_for_url(re.compile(r"/scheduling/plan/"))
    expect(page.locator("#plan-source")).to_contain_text(
        f"from Inês Moura's plan of {consultation.date:%d/%m/%Y}: 6 sessions, two sessions per week"
    )
    expect(page.get_by_label("Number of sessions")).to_have_value("6")
    expect(page.get_by_label("Cadence", exact=True)).to_have_value("2/7")
    assert_no_clinical_content(page)
    page.get_by_label("First date").fill(monday.isoformat())
    page.get_by_role("button", name="Propose sessions").click()
    expect(page.get_by_text("Proposal: 6 sessions, Ages 45–65: two sessions per week")).to_be_visible()
    page.get_by_role("button", name="Book all sessions").click()
    expect(page.get_by_text("Booked 6 sessions for Helena Vasconcelos.")).to_be_visible()
    assert_no_clinical_content(page)
    first = Appointment.objects.get(patient=patient, sequence=1)
    assert Appointment.objects.filter(series=first.series, state="booked").count() == 6

    stock_lot(ingredient(HA), number=LOT)
    # The patient signed the treatment consent on arrival (the tablet journey: test_consent_photos_journey).
    signed_consent(patient, practitioner, days_ago=0)
    # The day of session 1 comes (the test moves the appointment to earlier today).
    starts = timezone.now().replace(second=0, microsecond=0) - datetime.timedelta(minutes=30)
    Appointment.objects.filter(pk=first.pk).update(
        starts_at=starts, ends_at=starts + datetime.timedelta(hours=1)
    )

    # 5. The practitioner opens the appointment from the dashboard and records the session.
    page.context.clear_cookies()
    login(practitioner)
    page.goto("/")
    panel = page.locator("section[aria-labelledby=today-appointments]")
    panel.locator(f"a[href$='/scheduling/appointments/{first.pk}/']").first.click()
    page.wait_for_url(f"**/scheduling/appointments/{first.pk}/")
    page.get_by_role("link", name="Record session").click()
    page.wait_for_url(re.compile(r"/appointments/\d+/session/$"))
    expect(page.get_by_label("Date and time")).to_have_value(f"{timezone.localtime(starts):%Y-%m-%dT%H:%M}")
    expect(page.get_by_label("Neck", exact=True)).to_be_checked()
    # The lot in stock is picked by default (the only one, expiring first).
    expect(page.get_by_label(re.compile("Lot of"))).to_contain_text(LOT)
    page.get_by_label("Notes").fill(NOTES)
    page.get_by_role("button", name="Save session record").click()
    page.wait_for_url(re.compile(r"/treatments/sessions/\d+/$"))
    page.get_by_role("link", name="Mark done").click()
    page.get_by_role("button", name="Mark done").click()
    expect(page.get_by_text("Session marked done.")).to_be_visible()
    record = SessionRecord.objects.get(appointment=first)
    assert record.done_at is not None

    # 6. The appointment is completed.
    page.get_by_role("link", name=re.compile("treatment session 1 of 6")).click()
    page.wait_for_url(f"**/scheduling/appointments/{first.pk}/")
    expect(page.locator(".badge.fs-6")).to_have_text("Completed")
    expect(page.locator("#session-status")).to_contain_text("Session done")
    first.refresh_from_db()
    assert first.state == "completed"
    assert page.console_errors == []

    # Front desk sees that the session was done, and nothing of what was done.
    page.context.clear_cookies()
    login(front_desk)
    for url in (
        f"/scheduling/appointments/{first.pk}/",
        f"/scheduling/series/{first.series_id}/",
        f"/patients/{patient.pk}/",
        f"/scheduling/calendar/?view=day&date={today.isoformat()}",
        "/",
    ):
        page.goto(url)
        assert_no_clinical_content(page)
    page.goto(f"/scheduling/appointments/{first.pk}/")
    expect(page.locator("#session-status")).to_contain_text("Session done")
    expect(page.get_by_role("link", name="Open the session record")).to_have_count(0)
    assert page.console_errors == []
    assert page.goto(f"/treatments/sessions/{record.pk}/").status == 403
