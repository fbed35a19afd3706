from django.urls import path

from . import views

app_name = "treatments"
urlpatterns = [
    path("ingredients/", views.ingredient_list, name="ingredients"),
    path("patients/<int:patient_id>/", views.timeline, name="timeline"),
    path(
        "patients/<int:patient_id>/consultations/new/", views.consultation_create, name="consultation_create"
    ),
    path("consultations/<int:pk>/", views.consultation_detail, name="consultation_detail"),
    path("consultations/<int:pk>/edit/", views.consultation_edit, name="consultation_edit"),
    path("consultations/<int:pk>/sign/", views.consultation_sign, name="consultation_sign"),
    path("consultations/<int:pk>/addenda/", views.addendum_add, name="addendum_add"),
    path(
        "consultations/<int:consultation_id>/formulations/new/",
        views.formulation_create,
        name="formulation_create",
    ),
    path("formulations/<int:pk>/", views.formulation_detail, name="formulation_detail"),
    path("formulations/<int:pk>/revise/", views.formulation_revise, name="formulation_revise"),
    path("formulations/<int:pk>/diff/<int:other_pk>/", views.formulation_diff, name="formulation_diff"),
    path("formulations/<int:formulation_id>/sessions/new/", views.session_create, name="session_create"),
    path(
        "appointments/<int:appointment_id>/session/",
        views.appointment_session,
        name="appointment_session",
    ),
    path("sessions/<int:pk>/", views.session_detail, name="session_detail"),
    path("sessions/<int:pk>/edit/", views.session_edit, name="session_edit"),
    path("sessions/<int:pk>/done/", views.session_done, name="session_done"),
    path("sessions/<int:pk>/map/", views.session_map, name="session_map"),
    path("sessions/<int:pk>/corrections/", views.session_correction_add, name="session_correction_add"),
    path("stock/", views.stock_list, name="stock"),
    path("stock/receive/", views.stock_receive, name="stock_receive"),
    path("stock/recall/", views.recall_search, name="recall"),
    path("stock/recall/export.csv", views.recall_export, name="recall_export"),
    path("stock/lots/<int:pk>/recall/", views.lot_recall, name="lot_recall"),
]
