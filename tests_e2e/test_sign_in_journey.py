"""Signing in, in Chromium: the clinic admin sets up an authenticator app (the test computes the codes
as the app would), signs out and in again with a code; front desk is locked out after repeated
failures and the clinic admin unlocks them. Screenshots of the new pages at desktop and phone width."""

import pytest
from django.conf import settings
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from clinic.roles import CLINIC_ADMIN, FRONT_DESK
from clinic.tests.factories import UserFactory

from .conftest import enrolment_code, totp_code

pytestmark = pytest.mark.django_db(transaction=True)
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def shoot(page, screenshots, name):
    for width, size in WIDTHS.items():
        page.set_viewport_size(size)
        page.screenshot(path=screenshots / f"sign-in-{name}-{width}.png", full_page=True)
    page.set_viewport_size(WIDTHS["desktop"])


def fill_login(page, username, password):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_admin_enrols_an_app_signs_in_with_a_code_and_unlocks_front_desk(page, live_server, screenshots):
    admin = UserFactory(
        username="admin", first_name="Alex", last_name="Admin", role=CLINIC_ADMIN, is_staff=True
    )
    UserFactory(username="frontdesk", first_name="Rita", last_name="Carvalho", role=FRONT_DESK)

    fill_login(page, "admin", "mesoclinic")
    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    expect(page.get_by_alt_text("QR code to scan with your authenticator app")).to_be_visible()
    shoot(page, screenshots, "enrol-app")
    assert not TOTPDevice.objects.filter(user=admin).exists()  # nothing saved until the code confirms it
    page.get_by_label("Code").fill(enrolment_code(page))
    page.get_by_role("button", name="Confirm and continue").click()
    expect(page.get_by_role("list", name="Recovery codes").get_by_role("listitem")).to_have_count(10)
    shoot(page, screenshots, "recovery-codes")
    page.get_by_role("link", name="I have kept them, continue").click()
    expect(page).to_have_url(f"{live_server.url}/")
    page.goto("/accounts/security/")
    expect(page.get_by_role("heading", name="Sign-in and sessions")).to_be_visible()
    shoot(page, screenshots, "sessions")

    page.locator(".dropdown-toggle").first.click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/accounts/login/")
    fill_login(page, "admin", "mesoclinic")
    expect(page.get_by_role("heading", name="Enter your sign-in code")).to_be_visible()
    shoot(page, screenshots, "code-step")
    TOTPDevice.objects.filter(user=admin).update(last_t=-1)  # the enrolment's code may still be current
    page.get_by_label("Code").fill(totp_code(TOTPDevice.objects.get(user=admin, confirmed=True)))
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{live_server.url}/")

    front = page.context.browser.new_context(base_url=live_server.url, locale="en-GB")
    desk = front.new_page()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        fill_login(desk, "frontdesk", "not-my-password")
    fill_login(desk, "frontdesk", "mesoclinic")
    expect(desk.locator("#lockout-message")).to_contain_text("ask the clinic admin to unlock it")
    shoot(desk, screenshots, "locked-out")

    page.goto("/accounts/staff/")
    shoot(page, screenshots, "staff")
    page.get_by_role("button", name="Unlock frontdesk").click()
    expect(page.get_by_text("Rita Carvalho can sign in again.")).to_be_visible()

    fill_login(desk, "frontdesk", "mesoclinic")
    expect(desk).to_have_url(f"{live_server.url}/")
    front.close()
