from django.urls import path

from . import views

app_name = "consents"
urlpatterns = [
    path("wording/", views.template_list, name="templates"),
    path("wording/new/", views.template_new, name="template_new"),
    path("wording/<int:pk>/", views.template_detail, name="template_detail"),
    path("patients/<int:patient_id>/", views.patient_consents, name="patient"),
    path("patients/<int:patient_id>/sign/", views.sign, name="sign"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/signature/<str:who>.png", views.signature, name="signature"),
    path("<int:pk>/copy.pdf", views.pdf, name="pdf"),
    path("<int:pk>/email/", views.email_copy, name="email"),
    path("<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("<int:pk>/withdraw-photos/", views.withdraw_photos, name="withdraw_photos"),
]
