"""Access rules for the clinic-wide pages (see clinic/access.py)."""

from .access import ALL_STAFF, PUBLIC, READ, WRITE, rule

ACCESS = {
    "login": PUBLIC,
    "logout": PUBLIC,
    "password_reset": PUBLIC,
    "password_reset_done": PUBLIC,
    "password_reset_confirm": PUBLIC,
    "password_reset_complete": PUBLIC,
    "password_change": ALL_STAFF,
    "password_change_done": ALL_STAFF,
    "clinic:dashboard": ALL_STAFF,
    "clinic:settings": rule(clinic_admin=WRITE),
    # Signing in (clinic/security_views.py); the views themselves need a signed-in user.
    "second_factor": ALL_STAFF,
    "totp_enrol": ALL_STAFF,
    "account_security": ALL_STAFF,
    "recovery_codes_new": ALL_STAFF,
    "sign_out_elsewhere": ALL_STAFF,
    "reauthenticate": ALL_STAFF,
    "staff_sign_in": rule(clinic_admin=WRITE),
    "staff_unlock": rule(clinic_admin=WRITE),
    "staff_reset_second_factor": rule(clinic_admin=WRITE),
    # django-otp-webauthn's API (a passkey is a second step, after the password, never instead).
    "otp_webauthn:credential-registration-begin": ALL_STAFF,
    "otp_webauthn:credential-registration-complete": ALL_STAFF,
    "otp_webauthn:credential-authentication-begin": ALL_STAFF,
    "otp_webauthn:credential-authentication-complete": ALL_STAFF,
    "otp_webauthn:js-i18n-catalog": PUBLIC,
    # Who read clinical data: the clinic admin only (never front desk, nor practitioners).
    "clinic:access_log": rule(clinic_admin=READ),
}
