"""Security keys and passkeys in Chromium. Chromium's virtual authenticator (the DevTools protocol's
WebAuthn domain) stands in for the key or the phone: a member of staff adds one on their "Sign-in and
sessions" page, signs out, signs in with the password and then the key, and reaches the dashboard.
The new key is in the audit and the user is told by e-mail. Once as a practitioner, whose key is
their only second factor, and once as the clinic admin, who has an authenticator app already."""

import pytest
from django_otp_webauthn.models import WebAuthnCredential
from playwright.sync_api import expect

from clinic.models import SecurityEvent
from clinic.roles import CLINIC_ADMIN, PRACTITIONER
from clinic.tests.factories import UserFactory
from outbox.kinds import build_email
from outbox.models import OutboxMessage

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def relying_party(settings, live_server):
    """The live server is the relying party: browsers allow WebAuthn on http://localhost only."""
    assert live_server.url.startswith("http://localhost:"), live_server.url
    settings.OTP_WEBAUTHN_RP_ID = "localhost"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [live_server.url]


def add_virtual_authenticator(page):
    """A platform authenticator with user verification (a phone's or a laptop's passkey), which
    answers at once, as if the person touched it."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def fill_login(page, username, password="mesoclinic"):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


@pytest.mark.parametrize("role", [PRACTITIONER, CLINIC_ADMIN])
def test_staff_add_a_passkey_then_sign_in_with_it(page, live_server, login, relying_party, screenshots, role):
    user = UserFactory(username=f"key-{role}", first_name="Inês", last_name="Moura", role=role)
    cdp, authenticator = add_virtual_authenticator(page)
    login(user)  # the clinic admin sets up an authenticator app first, as at every first sign-in
    expect(page).to_have_url(f"{live_server.url}/")

    page.goto("/accounts/security/")
    add = page.get_by_role("button", name="Add a security key or passkey")
    expect(add).to_be_visible()
    page.screenshot(path=screenshots / f"passkey-enrol-{role}.png", full_page=True)
    add.click()
    # The page shows itself again with the key listed and the change among the recent ones.
    expect(page.get_by_text("Security keys and passkeys: 1")).to_be_visible()
    expect(page.get_by_role("region", name="Recent changes")).to_contain_text("Security key or passkey added")
    page.screenshot(path=screenshots / f"passkey-enrolled-{role}.png", full_page=True)
    [stored] = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert stored["rpId"] == "localhost" and stored["isResidentCredential"]
    credential = WebAuthnCredential.objects.get(user=user)
    assert credential.confirmed and credential.name == "Security key or passkey"

    event = SecurityEvent.objects.get(user=user, kind=SecurityEvent.Kind.PASSKEY_ADDED)
    assert event.notified == user.email and event.ip_address in {"127.0.0.1", "::1"}
    message = OutboxMessage.objects.get(kind="security_notice", object_id=event.pk)
    assert message.recipient == user.email
    email = build_email(message)
    assert email.subject.startswith("Security key or passkey added")
    assert "Security key or passkey added" in email.body and "tell the clinic admin at once" in email.body

    page.locator(".dropdown-toggle").first.click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/accounts/login/")
    fill_login(page, user.username)
    heading = "Enter your sign-in code" if role == CLINIC_ADMIN else "Use your security key or passkey"
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    page.screenshot(path=screenshots / f"passkey-sign-in-{role}.png", full_page=True)
    page.get_by_role("button", name="Use a security key or passkey").click()
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    credential.refresh_from_db()
    assert credential.last_used_at is not None
    assert page.console_errors == []
