from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.urls import include, path

from . import security_views, views

clinic_patterns = (
    [
        path("", views.dashboard, name="dashboard"),
        path("settings/", views.settings_edit, name="settings"),
        path("access-log/", views.access_log, name="access_log"),
        path("messages/", include("outbox.urls")),
    ],
    "clinic",
)

# The Django admin signs in through the clinic's sign-in (password, lockout, second factor).
admin.site.login = lambda request, extra_context=None: redirect_to_login(request.GET.get("next", "/admin/"))

urlpatterns = [
    path("", include(clinic_patterns)),
    path("accounts/login/", security_views.StaffLoginView.as_view(), name="login"),
    path("accounts/second-factor/", security_views.second_factor, name="second_factor"),
    path("accounts/second-factor/app/", security_views.totp_enrol, name="totp_enrol"),
    path("accounts/security/", security_views.account_security, name="account_security"),
    path("accounts/security/recovery-codes/", security_views.recovery_codes_new, name="recovery_codes_new"),
    path(
        "accounts/security/sign-out-elsewhere/", security_views.sign_out_elsewhere, name="sign_out_elsewhere"
    ),
    path("accounts/confirm/", security_views.reauthenticate, name="reauthenticate"),
    path("accounts/staff/", security_views.staff_sign_in, name="staff_sign_in"),
    path("accounts/staff/<int:pk>/unlock/", security_views.staff_unlock, name="staff_unlock"),
    path(
        "accounts/staff/<int:pk>/reset-second-factor/",
        security_views.staff_reset_second_factor,
        name="staff_reset_second_factor",
    ),
    path("accounts/webauthn/", include("django_otp_webauthn.urls", namespace="otp_webauthn")),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("accounts/password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password/reset/done/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("patients/", include("patients.urls")),
    path("treatments/", include("treatments.urls")),
    path("scheduling/", include("scheduling.urls")),
    path("consent/", include("consents.urls")),
    path("photos/", include("photos.urls")),
    path("admin/", admin.site.urls),
]

admin.site.site_header = "Mesoclinic administration"
admin.site.site_title = "Mesoclinic admin"
