from django.urls import path

from . import views

app_name = "patients"
urlpatterns = [
    path("", views.patient_list, name="list"),
    path("new/", views.patient_create, name="create"),
    path("<int:pk>/", views.patient_detail, name="detail"),
    path("<int:pk>/edit/", views.patient_edit, name="edit"),
    path("<int:pk>/screening/", views.screening_edit, name="screening"),
    path("<int:pk>/archive/", views.patient_archive, name="archive"),
    path("<int:pk>/restore/", views.patient_restore, name="restore"),
    path("<int:pk>/export/", views.export_page, name="export"),
    path("<int:pk>/export/fhir.json", views.export_fhir, name="export_fhir"),
    path("<int:pk>/export/records.json", views.export_raw, name="export_raw"),
    path("<int:pk>/erasure/", views.erasure_new, name="erasure_new"),
    path("erasure-requests/", views.erasure_list, name="erasure_list"),
    path("erasure-requests/<int:pk>/", views.erasure_detail, name="erasure_detail"),
    path("erasure-requests/<int:pk>/decide/", views.erasure_decide, name="erasure_decide"),
]
