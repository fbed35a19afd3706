"""Signing in: the second factor, the sessions of each member of staff, and the notices of changes.

The second factor is django-otp's (TOTP apps, recovery codes) and django-otp-webauthn's (passkeys,
security keys); see docs/design.md, "Signing in". A password sign-in logs the user in, but until the
session has passed its second factor (SECOND_FACTOR_KEY in the session) SecondFactorMiddleware lets
it reach only the sign-in steps. The key is written by the code step, by enrolment, by a passkey
sign-in (django-otp's own session key), or, for a user who needs no second factor and has none, at
login (user_logged_in). Every request then reads only the session: no query.
"""

import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db import transaction
from django.shortcuts import redirect
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY, devices_for_user
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex
from django_otp_webauthn.helpers import WebAuthnHelper

from .models import ClinicSettings, SecurityEvent, StaffSession
from .roles import CLINIC_ADMIN, user_roles
from .staff import person

SECOND_FACTOR_KEY = "_clinic_second_factor"  # how this session passed: a device id, or "none"
SIGNED_IN_AT_KEY = "_clinic_signed_in_at"  # epoch seconds of the sign-in (absolute lifetime)
AUTHENTICATED_AT_KEY = "_clinic_authenticated_at"  # epoch seconds of the last password/code (reauth)
PENDING_TOTP_KEY = "_clinic_totp_pending"  # hex key of the authenticator app being set up
NOT_NEEDED = "none"
RECOVERY_CODE_COUNT = 10
# The sign-in steps an unverified session may reach.
SIGN_IN_STEPS = frozenset(
    {
        "login",
        "logout",
        "second_factor",
        "totp_enrol",  # only while the user has no second factor: see FIRST_ENROLMENT_STEPS
        "otp_webauthn:credential-authentication-begin",
        "otp_webauthn:credential-authentication-complete",
        "otp_webauthn:js-i18n-catalog",
    }
)
# Setting up a second factor replaces the app the user had: before this sign-in passed the second
# factor it is open only to a user who has none yet, or the password alone would enrol a new one.
FIRST_ENROLMENT_STEPS = frozenset({"totp_enrol"})


# --- Who needs a second factor -----------------------------------------------------------------


def second_factor_required(user, clinic: ClinicSettings) -> bool:
    """Always for clinic admin and for the Django admin (staff, superusers); for everyone when the
    clinic setting says so. The demo logins are exempt in DEBUG only (settings.MFA_DEMO_EXEMPT_USERNAMES)."""
    if settings.DEBUG and user.get_username() in settings.MFA_DEMO_EXEMPT_USERNAMES:
        return False
    return (
        clinic.require_second_factor or user.is_staff or user.is_superuser or CLINIC_ADMIN in user_roles(user)
    )


def has_second_factor(user) -> bool:
    return any(True for _ in devices_for_user(user, confirmed=True))


def has_code_device(user) -> bool:
    """An authenticator app or recovery codes: something that gives a code to type (a security key
    or passkey gives none)."""
    return (
        TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        or StaticDevice.objects.filter(user=user, confirmed=True).exists()
    )


def passed_second_factor(request) -> bool:
    if not hasattr(request, "session"):  # rendered outside the middleware (a fragment in a test)
        return False
    value = request.session.get(SECOND_FACTOR_KEY)
    if value == NOT_NEEDED:
        return not second_factor_required(request.user, ClinicSettings.for_request(request))
    return bool(value) or bool(request.session.get(DEVICE_ID_SESSION_KEY))


def mark_second_factor_passed(request, device) -> None:
    """The session passed its second factor with `device` (django-otp's login, plus our key)."""
    from django_otp import login as otp_login

    otp_login(request, device)
    request.session[SECOND_FACTOR_KEY] = device.persistent_id
    request.session[AUTHENTICATED_AT_KEY] = int(time.time())


def mark_recently_authenticated(request) -> None:
    request.session[AUTHENTICATED_AT_KEY] = int(time.time())


# --- TOTP and recovery codes ---------------------------------------------------------------------


def pending_totp_device(request) -> TOTPDevice:
    """The authenticator app being set up, not saved: its key waits in the session until a code from
    the app confirms it. Opening or reloading the page writes no device (an abandoned set-up leaves
    nothing behind), and a reload shows the same QR code as the one already scanned."""
    key = request.session.get(PENDING_TOTP_KEY)
    if not (isinstance(key, str) and len(key) == 40 and all(c in "0123456789abcdef" for c in key)):
        key = random_hex(20)
        request.session[PENDING_TOTP_KEY] = key
    return TOTPDevice(user=request.user, name="Authenticator app", key=key, confirmed=False)


def _code_matches(device: TOTPDevice, code: str) -> bool:
    """A code for a device not yet saved. TOTPDevice.verify_token saves the device (its throttle and
    its last code): here nothing is written until the code is right. Wrong codes need no throttle:
    whoever types them is shown the key."""
    from django_otp.oath import TOTP

    if not code.isdigit():
        return False
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    if not totp.verify(int(code), device.tolerance):
        return False
    device.last_t = totp.t()
    device.drift = totp.drift
    return True


def confirm_totp(request, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm the app with a code it shows: the device is saved as the user's second factor (in
    place of any earlier app), the session passes, and a fresh set of recovery codes is made
    (returned, shown once). None: wrong code, and nothing written."""
    if not _code_matches(device, code.strip().replace(" ", "")):
        return None
    with transaction.atomic():
        TOTPDevice.objects.filter(user=device.user).delete()
        device.confirmed = True
        device.save()
        codes = _new_recovery_codes(device.user)
        record_security_event(device.user, SecurityEvent.Kind.TOTP_ENROLLED, request=request)
    request.session.pop(PENDING_TOTP_KEY, None)
    mark_second_factor_passed(request, device)
    return codes


def create_recovery_codes(request) -> list[str]:
    with transaction.atomic():
        codes = _new_recovery_codes(request.user)
        record_security_event(request.user, SecurityEvent.Kind.RECOVERY_CODES_CREATED, request=request)
    return codes


def _new_recovery_codes(user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Recovery codes")
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def verify_second_factor(request, code: str) -> bool:
    """Check a code from the user's app or one of their recovery codes (used up); django-otp's own
    throttling slows guessing on each device."""
    code = code.strip().replace(" ", "").replace("-", "").lower()
    user = request.user
    for device in TOTPDevice.objects.filter(user=user, confirmed=True):
        if device.verify_token(code):
            mark_second_factor_passed(request, device)
            return True
    for device in StaticDevice.objects.filter(user=user, confirmed=True):
        if device.verify_token(code):
            mark_second_factor_passed(request, device)
            with transaction.atomic():
                record_security_event(user, SecurityEvent.Kind.RECOVERY_CODE_USED, request=request)
            return True
    return False


# --- Security keys and passkeys --------------------------------------------------------------------

PASSKEY_NAME = "Security key or passkey"


class ClinicWebAuthnHelper(WebAuthnHelper):
    """django-otp-webauthn's ceremonies (OTP_WEBAUTHN_HELPER_CLASS), plus the clinic's rule for every
    second factor: adding one is audited and told to the user by e-mail, in the transaction that
    saves it, so there is never a key nobody was told of."""

    def create_credential(self, user, response, parsed_credential, original_data):
        credential = super().create_credential(user, response, parsed_credential, original_data)
        credential.name = PASSKEY_NAME
        return credential

    def register_complete(self, user, state, data):
        with transaction.atomic():
            credential = super().register_complete(user, state, data)
            record_security_event(user, SecurityEvent.Kind.PASSKEY_ADDED, request=self.request)
        return credential


def reset_second_factor(*, user, by, request=None) -> None:
    """The clinic admin removes a user's second factors (lost phone): they enrol again at their
    next sign-in, and every session of theirs ends."""
    from django_otp_webauthn.models import WebAuthnCredential

    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        WebAuthnCredential.objects.filter(user=user).delete()
        record_security_event(user, SecurityEvent.Kind.SECOND_FACTOR_RESET, by=by, request=request)
    end_sessions(user)


def unlock_sign_in(*, user, by, request=None) -> int:
    """The clinic admin lifts a lockout of this username (django-axes' failures for it)."""
    from axes.utils import reset

    removed = reset(username=user.get_username())
    with transaction.atomic():
        record_security_event(user, SecurityEvent.Kind.UNLOCKED, by=by, request=request)
    return removed


def locked_usernames() -> set[str]:
    from axes.models import AccessAttempt

    return set(
        AccessAttempt.objects.filter(failures_since_start__gte=settings.AXES_FAILURE_LIMIT).values_list(
            "username", flat=True
        )
    )


# --- Audit and notices ---------------------------------------------------------------------------


def client_address(request) -> str | None:
    return request.META.get("REMOTE_ADDR") if request is not None else None


def record_security_event(user, kind, *, by=None, request=None, notify_address=None) -> SecurityEvent:
    """Keep the change in the audit and tell the user by e-mail through the outbox, in the caller's
    transaction (so the notice goes once, and only if the change commits)."""
    from outbox.services import enqueue

    address = notify_address if notify_address is not None else user.email
    event = SecurityEvent.objects.create(
        user=user, kind=kind, by=by, ip_address=client_address(request), notified=address or ""
    )
    if address:
        enqueue(
            kind=SECURITY_NOTICE,
            key=f"security:{event.pk}",
            recipient=address,
            due_at=timezone.now(),
            object_id=event.pk,
        )
    return event


SECURITY_NOTICE = "security_notice"


def build_security_notice(message):
    from .emails import render_email

    event = SecurityEvent.objects.select_related("user", "by").filter(pk=message.object_id).first()
    if event is None:
        return None
    return render_email(
        SECURITY_NOTICE,
        {
            "name": person(event.user),
            "what": event.get_kind_display(),
            "at": timezone.localtime(event.at),
            "by": person(event.by) if event.by else "",
        },
    )


def sample_security_notice():
    from .emails import render_email

    return render_email(
        SECURITY_NOTICE,
        {"name": "Rita Carvalho", "what": "Password changed", "at": timezone.localtime(), "by": ""},
    )


def register() -> None:
    from outbox.kinds import register_kind

    register_kind(
        SECURITY_NOTICE, build_security_notice, label="Sign-in change notice", sample=sample_security_notice
    )


def _remember_account_fields(sender, instance, **kwargs):
    """Before a user is saved: whether the password or the e-mail changes (for the notice)."""
    if instance.pk is None or kwargs.get("raw"):
        return
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and not {"password", "email"} & set(update_fields):
        return
    old = sender.objects.filter(pk=instance.pk).values("password", "email").first()
    changes = []
    if (
        old is not None
        and old["password"] != instance.password
        and not _same_password(instance, old["password"])
    ):
        changes.append((SecurityEvent.Kind.PASSWORD_CHANGED, None))
    if old is not None and old["email"] != instance.email:
        changes.append((SecurityEvent.Kind.EMAIL_CHANGED, old["email"]))
    instance._clinic_changes = changes


def _same_password(instance, old_hash: str) -> bool:
    """A new hash of the same password (Django upgrades the hash at sign-in) is no change."""
    from django.contrib.auth.hashers import check_password

    raw = getattr(instance, "_password", None)
    return raw is not None and check_password(raw, old_hash)


def _notify_account_changes(sender, instance, **kwargs):
    changes = getattr(instance, "_clinic_changes", None)
    if not changes:
        return
    instance._clinic_changes = []
    with transaction.atomic():
        for kind, old_email in changes:
            # An e-mail change is told to the old address: the one an attacker did not choose.
            record_security_event(instance, kind, notify_address=old_email)


# --- Sessions ------------------------------------------------------------------------------------


def _on_login(sender, request, user, **kwargs):
    now = time.time()
    session = request.session
    session[SIGNED_IN_AT_KEY] = int(now)
    session[AUTHENTICATED_AT_KEY] = int(now)
    session.pop(SECOND_FACTOR_KEY, None)
    clinic = ClinicSettings.load()
    if not second_factor_required(user, clinic) and not has_second_factor(user):
        session[SECOND_FACTOR_KEY] = NOT_NEEDED
    if session.session_key is None:
        session.save()
    started = timezone.now()
    StaffSession.objects.filter(
        user=user, started_at__lt=started - timezone.timedelta(seconds=settings.SESSION_ABSOLUTE_SECONDS)
    ).delete()
    StaffSession.objects.update_or_create(
        session_key=session.session_key,
        defaults={
            "user": user,
            "started_at": started,
            "ip_address": client_address(request),
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
        },
    )


def _on_logout(sender, request, user, **kwargs):
    if request is not None and request.session.session_key:
        StaffSession.objects.filter(session_key=request.session.session_key).delete()


def active_sessions(user):
    since = timezone.now() - timezone.timedelta(seconds=settings.SESSION_ABSOLUTE_SECONDS)
    return StaffSession.objects.filter(user=user, started_at__gte=since)


def end_sessions(user, *, keep: str | None = None) -> int:
    """End the user's sessions (all but `keep`): each is deleted from the session store (database
    and cache) by its key, which the StaffSession rows remember."""
    from importlib import import_module

    store = import_module(settings.SESSION_ENGINE).SessionStore
    rows = StaffSession.objects.filter(user=user).exclude(session_key=keep or "")
    keys = list(rows.values_list("session_key", flat=True))
    for key in keys:
        store(session_key=key).delete()
    rows.delete()
    return len(keys)


def end_other_sessions(request) -> int:
    ended = end_sessions(request.user, keep=request.session.session_key)
    with transaction.atomic():
        record_security_event(request.user, SecurityEvent.Kind.OTHER_SESSIONS_ENDED, request=request)
    return ended


def connect_signals() -> None:
    from django.contrib.auth import get_user_model
    from django.db.models.signals import post_save, pre_save

    user_model = get_user_model()
    user_logged_in.connect(_on_login, dispatch_uid="clinic-security-login")
    user_logged_out.connect(_on_logout, dispatch_uid="clinic-security-logout")
    pre_save.connect(_remember_account_fields, sender=user_model, dispatch_uid="clinic-account-before")
    post_save.connect(_notify_account_changes, sender=user_model, dispatch_uid="clinic-account-after")


# --- The middleware ------------------------------------------------------------------------------


class SecondFactorMiddleware:
    """A signed-in session reaches the app only once it passed its second factor (or needs none):
    until then every page but the sign-in steps sends it to the second step. A session ends
    SESSION_ABSOLUTE_SECONDS after its sign-in. Reads only the session (and, for a session still at
    the enrolment step, whether the user has a second factor)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not request.user.is_authenticated:
            return None
        session = request.session
        signed_in_at = session.get(SIGNED_IN_AT_KEY)
        if (
            not isinstance(signed_in_at, int)
            or time.time() - signed_in_at > settings.SESSION_ABSOLUTE_SECONDS
        ):
            logout(request)
            from django.contrib.auth.views import redirect_to_login

            return redirect_to_login(request.get_full_path())
        passed = passed_second_factor(request)
        request.user.is_verified = lambda: passed  # what django-otp(-webauthn) asks
        match = request.resolver_match
        step = match.view_name if match is not None else None
        if passed or (
            step in SIGN_IN_STEPS
            and (step not in FIRST_ENROLMENT_STEPS or not has_second_factor(request.user))
        ):
            return None
        from django.utils.http import urlencode

        return redirect(f"{_reverse('second_factor')}?{urlencode({'next': request.get_full_path()})}")


def _reverse(name: str) -> str:
    from django.urls import reverse

    return reverse(name)
