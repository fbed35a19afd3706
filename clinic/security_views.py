"""The sign-in pages: password, second factor, enrolment, the user's security page with their sessions,
re-authentication, the lockout answer, and the clinic admin's sign-in page for staff."""

import base64

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_POST
from django_otp import devices_for_user
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from . import security
from .models import ClinicSettings, SecurityEvent
from .roles import ROLE_LABELS, user_roles
from .staff import person

LOCKED_OUT_MESSAGE = (
    "Too many failed sign-ins. Signing in is paused for this account name or from this device for "
    "{minutes} minutes. Wait and try again, or ask the clinic admin to unlock it."
)


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=20,
        help_text="The 6-digit code your authenticator app shows, or one of your recovery codes.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
    )


class PasswordForm(forms.Form):
    password = forms.CharField(label="Your password", widget=forms.PasswordInput(attrs={"autofocus": True}))


def _next_url(request, default: str = "clinic:dashboard") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(default)


class StaffLoginView(auth_views.LoginView):
    """Django's login page; a user who needs a second factor goes on to it (SecondFactorMiddleware
    would send them anyway), with the page they asked for."""

    redirect_authenticated_user = True
    form_class = AuthenticationForm

    def get_success_url(self):
        target = super().get_success_url()
        if security.passed_second_factor(self.request):
            return target
        return f"{reverse('second_factor')}?{urlencode({'next': target})}"


def locked_out(request, credentials=None, *args, **kwargs):
    """django-axes' answer to a locked-out sign-in: the login page with a message that is the same
    whether the account exists or not (AXES_LOCKOUT_CALLABLE)."""
    from django.conf import settings

    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context = {
        "form": AuthenticationForm(request),
        "lockout_message": LOCKED_OUT_MESSAGE.format(minutes=minutes),
    }
    return render(request, "registration/login.html", context, status=429)


def second_factor(request):
    """The code step of the sign-in, or enrolment for a user who must have a second factor and has none."""
    user = request.user
    if not user.is_authenticated:
        return redirect("login")
    next_url = _next_url(request)
    if security.passed_second_factor(request):
        return redirect(next_url)
    if not security.has_second_factor(user):
        return redirect(f"{reverse('totp_enrol')}?{urlencode({'next': next_url})}")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if security.verify_second_factor(request, form.cleaned_data["code"]):
            return redirect(next_url)
        form.add_error(
            "code", "That code is not right, or it has expired. Enter the code your app shows now."
        )
    kinds = {device.__class__ for device in devices_for_user(user, confirmed=True)}
    return render(
        request,
        "registration/second_factor.html",
        {
            "form": form,
            "next": next_url,
            "has_app": TOTPDevice in kinds,
            "has_codes": TOTPDevice in kinds or StaticDevice in kinds,
            "has_passkey": WebAuthnCredential in kinds,
        },
    )


def _qr_data_uri(device) -> str:
    return segno.make(device.config_url, error="m").png_data_uri(scale=5, border=2)


def totp_enrol(request):
    """Add an authenticator app: scan the QR code (or type the key), confirm with a code. Nothing is
    saved until the code confirms it (security.pending_totp_device)."""
    device = security.pending_totp_device(request)
    form = CodeForm(request.POST or None)
    form.fields["code"].help_text = "The 6-digit code the app shows for Mesoclinic."
    if request.method == "POST" and form.is_valid():
        codes = security.confirm_totp(request, device, form.cleaned_data["code"])
        if codes is not None:
            return render(
                request,
                "registration/recovery_codes.html",
                {"codes": codes, "next": _next_url(request, "account_security"), "first_time": True},
            )
        form.add_error(
            "code", "That code is not right. Check the app's clock and enter the code it shows now."
        )
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return render(
        request,
        "registration/totp_enrol.html",
        {
            "form": form,
            "qr": _qr_data_uri(device),
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "next": _next_url(request, "account_security"),
        },
    )


def account_security(request):
    """The user's own page: second factors, recovery codes, active sessions."""
    user = request.user
    devices = list(devices_for_user(user, confirmed=True))
    sessions = list(security.active_sessions(user))
    totp = [d for d in devices if isinstance(d, TOTPDevice)]
    passkeys = [d for d in devices if isinstance(d, WebAuthnCredential)]
    return render(
        request,
        "registration/account_security.html",
        {
            "totp": totp,
            "passkeys": passkeys,
            "can_make_codes": bool(totp or passkeys),  # recovery_codes_new says why
            "recovery_left": sum(d.token_set.count() for d in devices if isinstance(d, StaticDevice)),
            "sessions": sessions,
            "current_key": request.session.session_key,
            "required": security.second_factor_required(user, ClinicSettings.for_request(request)),
            "events": user.security_events.select_related("by")[:10],
            "idle_minutes": ClinicSettings.for_request(request).session_idle_minutes,
        },
    )


@require_POST
def recovery_codes_new(request):
    # Recovery codes stand in for a lost app or key: alone they would be a second step of ten
    # printed codes, so they come only after one is set up.
    devices = devices_for_user(request.user, confirmed=True)
    if not any(isinstance(d, TOTPDevice | WebAuthnCredential) for d in devices):
        messages.error(
            request,
            "Set up an authenticator app or a security key first: recovery codes are for when you lose it.",
        )
        return redirect("account_security")
    codes = security.create_recovery_codes(request)
    return render(
        request, "registration/recovery_codes.html", {"codes": codes, "next": reverse("account_security")}
    )


@require_POST
def sign_out_elsewhere(request):
    ended = security.end_other_sessions(request)
    messages.success(
        request, f"Signed out everywhere else ({ended} other session{'s' if ended != 1 else ''} ended)."
    )
    return redirect("account_security")


def reauthenticate(request):
    """Confirm it is still you (password or a code) before an irreversible or bulk action."""
    next_url = _next_url(request)
    can_use_code = security.has_code_device(request.user)
    use_code = can_use_code and request.GET.get("with") == "code"
    form = (CodeForm if use_code else PasswordForm)(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if use_code:
            ok = security.verify_second_factor(request, form.cleaned_data["code"])
        else:
            ok = request.user.check_password(form.cleaned_data["password"])
            if ok:
                security.mark_recently_authenticated(request)
        if ok:
            return redirect(next_url)
        form.add_error(None, "That is not right. Try again.")
    return render(
        request,
        "registration/reauthenticate.html",
        {
            "form": form,
            "next": next_url,
            "use_code": use_code,
            "can_use_code": can_use_code,
        },
    )


# --- The clinic admin's page for staff sign-in ---------------------------------------------------


def staff_sign_in(request):
    users = list(get_user_model().objects.filter(is_active=True).order_by("username"))
    locked = security.locked_usernames()
    with_factor = _users_with_second_factor()
    rows = [
        {
            "user": u,
            "roles": ", ".join(ROLE_LABELS[r] for r in sorted(user_roles(u))) or "—",
            "locked": u.get_username() in locked,
            "second_factor": u.pk in with_factor,
        }
        for u in users
    ]
    events = SecurityEvent.objects.select_related("user", "by")[:30]
    return render(request, "registration/staff_sign_in.html", {"rows": rows, "events": events})


def _users_with_second_factor() -> set[int]:
    ids = set(TOTPDevice.objects.filter(confirmed=True).values_list("user_id", flat=True))
    return ids | set(WebAuthnCredential.objects.filter(confirmed=True).values_list("user_id", flat=True))


def _staff_member(pk: int):
    user = get_object_or_404(get_user_model(), pk=pk)
    if not user.is_active:
        raise Http404("No such member of staff.")
    return user


@require_POST
def staff_unlock(request, pk: int):
    user = _staff_member(pk)
    security.unlock_sign_in(user=user, by=request.user, request=request)
    messages.success(request, f"{person(user)} can sign in again.")
    return redirect("staff_sign_in")


@require_POST
def staff_reset_second_factor(request, pk: int):
    user = _staff_member(pk)
    security.reset_second_factor(user=user, by=request.user, request=request)
    messages.success(
        request,
        f"The second factor of {person(user)} was removed: they set up a new one at their next sign-in.",
    )
    return redirect("staff_sign_in")
