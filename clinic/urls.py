from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

clinic_patterns = (
    [
        path("", views.dashboard, name="dashboard"),
        path("settings/", views.settings_edit, name="settings"),
        path("access-log/", views.access_log, name="access_log"),
        path("messages/", include("outbox.urls")),
    ],
    "clinic",
)

urlpatterns = [
    path("", include(clinic_patterns)),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
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
    path("admin/", admin.site.urls),
]

admin.site.site_header = "Mesoclinic administration"
admin.site.site_title = "Mesoclinic admin"
