"""Signing in (issue 16, "Authentication"): the second factor, login throttling, passwords, sessions,
re-authentication, and the notice by e-mail of every change. Through the pages, as staff meet them."""

import base64
import re
import time

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic import security
from clinic.models import ClinicSettings, SecurityEvent, StaffSession
from clinic.security_views import LOCKED_OUT_MESSAGE
from clinic.tests.factories import UserFactory
from clinic.tests.test_access import named_urls, url_for, world  # noqa: F401 (a fixture)
from outbox.models import OutboxMessage

pytestmark = [pytest.mark.django_db, pytest.mark.real_second_factor]


def code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def unthrottle(user) -> None:
    from django_otp.plugins.otp_static.models import StaticDevice

    for model in (TOTPDevice, StaticDevice):
        model.objects.filter(user=user).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    # and a code is good once: the enrolment's code may still be the current one
    TOTPDevice.objects.filter(user=user).update(last_t=-1)


def sign_in(client, username, password="mesoclinic"):
    return client.post(reverse("login"), {"username": username, "password": password})


def code_for_key(secret: str) -> str:
    """What an authenticator app shows for the key the set-up page gives to type in."""
    secret = secret.replace(" ", "")
    return f"{totp(base64.b32decode(secret + '=' * (-len(secret) % 8))):06d}"


def enrol_totp(client) -> tuple[TOTPDevice, list[str]]:
    page = client.get(reverse("totp_enrol"))
    assert page.status_code == 200
    response = client.post(reverse("totp_enrol"), {"code": code_for_key(page.context["secret"])})
    assert response.status_code == 200, response.content[:500]
    return TOTPDevice.objects.get(user=page.context["user"], confirmed=True), response.context["codes"]


def notices(user) -> list[str]:
    events = dict(SecurityEvent.objects.filter(user=user).values_list("pk", "kind"))
    keys = OutboxMessage.objects.filter(kind="security_notice").values_list("object_id", flat=True)
    return sorted(events[pk] for pk in keys if pk in events)


# --- Second factor -------------------------------------------------------------------------------


def test_clinic_admin_must_enrol_an_app_before_reaching_any_page(client, clinic_admin):
    response = sign_in(client, "admin")
    assert response.status_code == 302 and response.url.startswith(reverse("second_factor"))
    assert client.get(reverse("clinic:dashboard")).url.startswith(reverse("second_factor"))
    assert client.get(reverse("patients:list")).status_code == 302
    assert client.get(reverse("second_factor")).url.startswith(reverse("totp_enrol"))
    page = client.get(reverse("totp_enrol")).content.decode()
    assert 'src="data:image/png;base64,' in page and "Type this key instead" in page


def test_totp_enrolment_then_sign_in_with_a_code_then_with_a_recovery_code(client, clinic_admin):
    sign_in(client, "admin")
    device, codes = enrol_totp(client)
    assert len(codes) == 10
    assert client.get(reverse("clinic:dashboard")).status_code == 200
    assert notices(clinic_admin) == ["totp_enrolled"]

    client.post(reverse("logout"))
    sign_in(client, "admin")
    page = client.get(reverse("second_factor"))
    assert "Enter your sign-in code" in page.content.decode()
    wrong = client.post(reverse("second_factor"), {"code": "000000"})
    assert "That code is not right" in wrong.content.decode()
    assert client.get(reverse("clinic:dashboard")).status_code == 302
    unthrottle(clinic_admin)  # django-otp's own throttle slows the next try after a wrong code
    response = client.post(reverse("second_factor"), {"code": code_for(device)})
    assert response.status_code == 302
    assert client.get(reverse("clinic:dashboard")).status_code == 200

    client.post(reverse("logout"))
    sign_in(client, "admin")
    unthrottle(clinic_admin)
    assert client.post(reverse("second_factor"), {"code": codes[0]}).status_code == 302
    assert client.get(reverse("clinic:dashboard")).status_code == 200
    assert not StaticToken.objects.filter(token=codes[0]).exists()  # used up
    assert notices(clinic_admin) == ["recovery_code_used", "totp_enrolled"]


def test_a_practitioner_without_a_device_signs_in_with_the_password_alone(client, practitioner):
    response = sign_in(client, "practitioner")
    assert response.url == reverse("clinic:dashboard")
    assert client.get(reverse("clinic:dashboard")).status_code == 200


@pytest.fixture
def restore_clinic_settings():
    """The settings row is cached (Redis outlives the test's rollback): put it back by a save."""
    yield
    clinic = ClinicSettings.load()
    clinic.require_second_factor = False
    clinic.save()


def test_the_clinic_setting_requires_a_second_factor_for_everyone(
    client, practitioner, restore_clinic_settings
):
    sign_in(client, "practitioner")
    assert client.get(reverse("clinic:dashboard")).status_code == 200
    clinic = ClinicSettings.load()
    clinic.require_second_factor = True
    clinic.save()
    # Already signed in: sent to enrolment on the next page, not left until the session ends.
    response = client.get(reverse("clinic:dashboard"))
    assert response.status_code == 302 and response.url.startswith(reverse("second_factor"))


def test_the_django_admin_needs_the_second_factor_too(client, db):
    UserFactory(username="boss", is_staff=True, is_superuser=True)
    assert client.get(reverse("admin:login")).url.startswith(reverse("login"))
    sign_in(client, "boss")
    assert client.get(reverse("admin:index")).url.startswith(reverse("second_factor"))


def test_the_clinic_admin_resets_a_lost_second_factor(client, clinic_admin, practitioner):
    other = UserFactory(username="other", role="practitioner")
    device = TOTPDevice.objects.create(user=other, name="app", confirmed=True)
    client.force_login(clinic_admin)
    client.session  # noqa: B018
    session = client.session
    session[security.SECOND_FACTOR_KEY] = "test"
    session.save()
    page = client.get(reverse("staff_sign_in")).content.decode()
    assert "Reset second step" in page
    response = client.post(reverse("staff_reset_second_factor", args=[other.pk]))
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(pk=device.pk).exists()
    event = SecurityEvent.objects.get(user=other)
    assert event.kind == "second_factor_reset" and event.by == clinic_admin
    assert notices(other) == ["second_factor_reset"]


def test_front_desk_cannot_reach_the_staff_sign_in_page(client_as, front_desk):
    client = client_as(front_desk)
    session = client.session
    session[security.SECOND_FACTOR_KEY] = "test"
    session.save()
    assert client.get(reverse("staff_sign_in")).status_code == 403


# --- Between the password and the second factor -------------------------------------------------


def app_links(html: str) -> list[str]:
    """Every link and form target of a page, but the stylesheets, scripts and the skip link."""
    targets = re.findall(r'(?:href|action)="([^"]*)"', html)
    return sorted({t for t in targets if not t.startswith(("/static/", "#"))})


@pytest.fixture
def halfway(client, clinic_admin, front_desk, restore_clinic_settings):
    """`halfway(who, device)`: a client past the password and not the second factor, as the clinic
    admin (always asked for it) or as front desk once the clinic asks it of everyone; with an
    authenticator app already set up (device=True) or none yet (the enrolment step)."""

    def sign_in_halfway(who: str, device: bool):
        user = clinic_admin if who == "clinic admin" else front_desk
        if who != "clinic admin":
            clinic = ClinicSettings.load()
            clinic.require_second_factor = True
            clinic.save()
        if device:
            TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
        response = sign_in(client, user.username)
        assert response.status_code == 302 and response.url.startswith(reverse("second_factor"))
        return client, user

    return sign_in_halfway


HALFWAY = [("clinic admin", True), ("clinic admin", False), ("front desk", True), ("front desk", False)]


@pytest.mark.parametrize(("who", "device"), HALFWAY)
def test_halfway_through_signing_in_the_page_shows_only_the_second_step(halfway, who, device):
    client, user = halfway(who, device)
    step = client.get(reverse("second_factor"), follow=True)
    assert step.status_code == 200
    html = step.content.decode()
    heading = "Enter your sign-in code" if device else "Set up your authenticator app"
    assert heading in html
    assert 'aria-label="Main"' not in html  # no menu of the app
    assert app_links(html) == [reverse("logout")]  # nothing to follow but "Sign out"
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404 and 'aria-label="Main"' not in missing.content.decode()


@pytest.mark.parametrize(("who", "device"), HALFWAY)
def test_halfway_through_signing_in_every_other_page_sends_to_the_second_step(halfway, request, who, device):
    examples = request.getfixturevalue("world")  # every URL's arguments, as test_access.py has them
    client, user = halfway(who, device)
    # The sign-in steps themselves (setting up an app only for a user who has none) and signing out.
    open_steps = security.SIGN_IN_STEPS - ({"totp_enrol"} if device else set())
    step = reverse("second_factor")
    for name in sorted(set(named_urls()) - open_steps) + ["admin:index"]:
        url = url_for(examples, name)
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code == 302 and response.url.startswith(f"{step}?next="), (
                name,
                method,
                response.status_code,
            )
    assert client.get(reverse("login")).url.startswith(step)


def test_halfway_through_signing_in_the_password_alone_cannot_set_up_a_new_app(halfway):
    """The set-up page replaces the user's app: reached with the password alone, it would let anyone
    who knows the password choose the second factor themselves."""
    client, user = halfway("clinic admin", True)
    page = client.get(reverse("totp_enrol"))
    assert page.status_code == 302 and page.url.startswith(reverse("second_factor"))
    answer = client.post(reverse("totp_enrol"), {"code": "123456"})
    assert answer.status_code == 302 and answer.url.startswith(reverse("second_factor"))
    assert client.get(reverse("clinic:dashboard")).url.startswith(reverse("second_factor"))
    assert TOTPDevice.objects.filter(user=user).count() == 1
    assert not SecurityEvent.objects.filter(user=user).exists()


def test_a_user_whose_only_second_factor_is_a_key_is_offered_only_the_key(client, practitioner):
    """No code to type: the second step shows the key alone, and "Confirm it is you" asks for the
    password without offering a code from an app they do not have."""
    from django_otp_webauthn.models import WebAuthnCredential

    WebAuthnCredential.objects.create(
        user=practitioner, credential_id=b"key-1", public_key=b"public", name="Key", confirmed=True
    )
    sign_in(client, "practitioner")
    step = client.get(reverse("second_factor")).content.decode()
    assert "Use your security key or passkey" in step and 'name="code"' not in step
    session = client.session
    session[security.SECOND_FACTOR_KEY] = "test"
    session.save()
    confirm = client.get(reverse("reauthenticate"), {"with": "code"}).content.decode()
    assert 'name="password"' in confirm and "Use a code from your app" not in confirm


def test_a_user_whose_only_second_factor_is_a_key_can_make_recovery_codes(client, practitioner):
    """A lost key with no app and no codes used to mean waiting for the clinic admin: the page
    offered recovery codes only beside an app."""
    from django_otp_webauthn.models import WebAuthnCredential

    WebAuthnCredential.objects.create(
        user=practitioner, credential_id=b"key-1", public_key=b"public", name="Key", confirmed=True
    )
    sign_in(client, "practitioner")
    session = client.session
    session[security.SECOND_FACTOR_KEY] = "test"
    session.save()
    page = client.get(reverse("account_security")).content.decode()
    assert "Make recovery codes" in page and "they let you sign in if you lose your phone or key" in page
    shown = client.post(reverse("recovery_codes_new")).content.decode()
    device = StaticDevice.objects.get(user=practitioner)
    codes = list(device.token_set.values_list("token", flat=True))
    assert len(codes) == security.RECOVERY_CODE_COUNT and all(code in shown for code in codes)
    assert SecurityEvent.objects.filter(user=practitioner, kind="recovery_codes_created").exists()
    page = client.get(reverse("account_security")).content.decode()
    assert "Make new recovery codes" in page and "lose your phone or key" not in page


def test_recovery_codes_come_only_after_an_app_or_a_key(client, practitioner):
    sign_in(client, "practitioner")
    page = client.get(reverse("account_security")).content.decode()
    assert "recovery codes</button>" not in page
    response = client.post(reverse("recovery_codes_new"), follow=True)
    assert "Set up an authenticator app or a security key first" in response.content.decode()
    assert not StaticDevice.objects.filter(user=practitioner).exists()


# --- Setting up an app ---------------------------------------------------------------------------


def test_opening_the_set_up_page_saves_nothing_and_shows_the_same_key_each_time(client, clinic_admin):
    from django_otp.plugins.otp_static.models import StaticDevice

    sign_in(client, "admin")
    first = client.get(reverse("totp_enrol"))
    second = client.get(reverse("totp_enrol"))
    assert first.context["secret"] == second.context["secret"]  # the QR code already scanned still holds
    assert not TOTPDevice.objects.filter(user=clinic_admin).exists()
    wrong = client.post(reverse("totp_enrol"), {"code": "000000"})
    assert "That code is not right" in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=clinic_admin).exists()
    assert not StaticDevice.objects.filter(user=clinic_admin).exists()
    device, codes = enrol_totp(client)
    assert TOTPDevice.objects.filter(user=clinic_admin).count() == 1 and device.confirmed
    assert base64.b32encode(device.bin_key).decode().rstrip("=") == first.context["secret"].replace(" ", "")
    assert security.PENDING_TOTP_KEY not in client.session


def test_a_new_phone_replaces_the_app_with_a_new_key(client, clinic_admin):
    sign_in(client, "admin")
    old, _ = enrol_totp(client)
    page = client.get(reverse("totp_enrol"))
    assert base64.b32encode(old.bin_key).decode().rstrip("=") != page.context["secret"].replace(" ", "")
    new, _ = enrol_totp(client)
    assert list(TOTPDevice.objects.filter(user=clinic_admin)) == [new] and new.pk != old.pk
    assert notices(clinic_admin) == ["totp_enrolled", "totp_enrolled"]


# --- Login throttling ----------------------------------------------------------------------------


def test_five_failures_lock_the_account_with_a_message_that_reveals_nothing(client, front_desk, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "frontdesk", "wrong-password")
    locked = sign_in(client, "frontdesk")  # even the right password
    assert locked.status_code == 429
    message = LOCKED_OUT_MESSAGE.format(minutes=15)
    assert message in locked.content.decode()
    # An account that does not exist gets the very same answer after as many failures.
    other = type(client)(REMOTE_ADDR="10.0.0.9")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(other, "nobody-here", "wrong-password")
    ghost = sign_in(other, "nobody-here")
    assert ghost.status_code == 429 and message in ghost.content.decode()


def test_failures_from_one_address_lock_it_for_every_account(client, front_desk, practitioner, settings):
    for number in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, f"guess{number}", "wrong-password")
    assert sign_in(client, "practitioner").status_code == 429


def test_the_clinic_admin_unlocks_a_locked_out_user(client, front_desk, clinic_admin, settings):
    attacker = type(client)(REMOTE_ADDR="10.0.0.7")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(attacker, "frontdesk", "wrong-password")
    admin = type(client)()
    admin.force_login(clinic_admin)
    session = admin.session
    session[security.SECOND_FACTOR_KEY] = "test"
    session.save()
    page = admin.get(reverse("staff_sign_in")).content.decode()
    assert "Locked after failed sign-ins" in page and "Unlock frontdesk" in page
    assert admin.post(reverse("staff_unlock", args=[front_desk.pk])).status_code == 302
    assert sign_in(client, "frontdesk").status_code == 302
    assert SecurityEvent.objects.filter(user=front_desk, kind="unlocked", by=clinic_admin).exists()


# --- Passwords -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short-pass1", "at least 12 characters"),
        ("x" * 129, "at most 128 characters"),
        ("password1234", "too common"),
        ("frontdesk-2026", "too similar"),
    ],
)
def test_passwords_follow_asvs(front_desk, password, problem):
    with pytest.raises(ValidationError) as refused:
        validate_password(password, front_desk)
    assert any(problem in m for m in refused.value.messages), refused.value.messages


def test_a_long_passphrase_without_digits_or_symbols_is_fine(front_desk):
    validate_password("correct horse battery staple", front_desk)
    validate_password("7" * 20 + "x" * 100, front_desk)  # no composition rules


def test_changing_the_password_or_the_email_is_told_to_the_user(client_as, front_desk):
    client = client_as(front_desk)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "mesoclinic",
            "new_password1": "a long and quiet river",
            "new_password2": "a long and quiet river",
        },
    )
    assert response.status_code == 302
    front_desk.refresh_from_db()
    front_desk.email = "rita.new@example.com"
    front_desk.save()
    assert notices(front_desk) == ["email_changed", "password_changed"]
    changed = SecurityEvent.objects.get(user=front_desk, kind="email_changed")
    assert changed.notified == "frontdesk@mesoclinic.test"  # the old address
    recipients = set(OutboxMessage.objects.filter(kind="security_notice").values_list("recipient", flat=True))
    assert recipients == {"frontdesk@mesoclinic.test"}


def test_the_security_notice_renders_plainly():
    from outbox.kinds import registered_kinds

    email = registered_kinds()["security_notice"].sample()
    assert "Password changed" in email.subject
    assert "tell the clinic admin at once" in email.body


# --- Sessions ------------------------------------------------------------------------------------


def test_a_session_ends_twelve_hours_after_sign_in_whatever_the_activity(client, practitioner):
    sign_in(client, "practitioner")
    assert client.get(reverse("clinic:dashboard")).status_code == 200
    session = client.session
    session[security.SIGNED_IN_AT_KEY] = int(time.time()) - 12 * 3600 - 1
    session.save()
    response = client.get(reverse("clinic:dashboard"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert client.get(reverse("clinic:dashboard")).url.startswith(reverse("login"))


def test_the_sessions_page_lists_sessions_and_signs_out_everywhere_else(client, practitioner):
    laptop, phone = client, type(client)(HTTP_USER_AGENT="Phone browser")
    sign_in(laptop, "practitioner")
    sign_in(phone, "practitioner")
    assert StaffSession.objects.filter(user=practitioner).count() == 2
    page = laptop.get(reverse("account_security")).content.decode()
    assert "This browser" in page and "Another browser" in page and "Phone browser" in page
    response = laptop.post(reverse("sign_out_elsewhere"), follow=True)
    assert "Signed out everywhere else (1 other session ended)." in response.content.decode()
    assert phone.get(reverse("clinic:dashboard")).url.startswith(reverse("login"))
    assert laptop.get(reverse("clinic:dashboard")).status_code == 200
    assert StaffSession.objects.filter(user=practitioner).count() == 1


def test_logging_out_forgets_the_session_row(client, practitioner):
    sign_in(client, "practitioner")
    client.post(reverse("logout"))
    assert not StaffSession.objects.filter(user=practitioner).exists()


# --- Re-authentication ---------------------------------------------------------------------------


def test_signing_a_consultation_asks_for_the_password_again_after_ten_minutes(client, practitioner):
    from treatments.models import Consultation
    from treatments.tests import factories

    sign_in(client, "practitioner")
    consultation = factories.signed_consultation(practitioner)
    Consultation.objects.filter(pk=consultation.pk).update(signed_at=None, signed_by=None)
    session = client.session
    session[security.AUTHENTICATED_AT_KEY] = int(time.time()) - 11 * 60
    session.save()
    sign = reverse("treatments:consultation_sign", args=[consultation.pk])
    detail = reverse("treatments:consultation_detail", args=[consultation.pk])
    response = client.post(sign, HTTP_REFERER=f"http://testserver{detail}")
    assert response.status_code == 302 and response.url.startswith(reverse("reauthenticate"))
    consultation.refresh_from_db()
    assert consultation.signed_at is None  # nothing done
    page = client.get(response.url)
    assert "Confirm it is you" in page.content.decode()
    assert "not right" in client.post(response.url, {"password": "wrong"}).content.decode()
    back = client.post(response.url, {"password": "mesoclinic"})
    assert back.status_code == 302 and back.url.endswith(detail)
    assert client.post(sign, {"confirmed": "yes"}).status_code == 302  # the confirmation step's button
    consultation.refresh_from_db()
    assert consultation.signed_at is not None


def test_require_recent_auth_is_a_reusable_decorator(rf, practitioner):
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.contrib.sessions.backends.db import SessionStore
    from django.http import HttpResponse

    from clinic.reauth import require_recent_auth

    view = require_recent_auth(lambda request: HttpResponse("done"))
    request = rf.get("/patients/1/export/")
    request.user, request.session = practitioner, SessionStore()
    request._messages = FallbackStorage(request)
    assert view(request).url == f"{reverse('reauthenticate')}?next=%2Fpatients%2F1%2Fexport%2F"
    request.session[security.AUTHENTICATED_AT_KEY] = int(time.time())
    assert view(request).content == b"done"


# --- Deployment ------------------------------------------------------------------------------------


def test_check_deploy_is_clean_with_production_values(tmp_path):
    import os
    import subprocess
    import sys

    from django.conf import settings

    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "a-very-long-production-secret-key-with-enough-entropy-" + "x9Q" * 10,
        "DJANGO_ALLOWED_HOSTS": "clinic.example.com",
        "SITE_URL": "https://clinic.example.com",
        "MESOCLINIC_VAR_DIR": str(tmp_path),
    }
    # The browser journeys set this in the test process (Playwright's loop beside Django's ORM); a
    # deployment never has it, and the check rightly refuses it.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django,os;os.environ['DJANGO_SETTINGS_MODULE']='clinic.settings';django.setup();"
            "from django.conf import settings as s;print(s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME)",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert re.fullmatch(r"__Host-sessionid __Host-csrftoken\s*", shown.stdout), shown.stdout + shown.stderr
