from django.urls import path

from . import views

app_name = "photos"
urlpatterns = [
    path("patients/<int:patient_id>/", views.patient_photos, name="patient"),
    path("patients/<int:patient_id>/release/", views.release, name="release"),
    path("patients/<int:patient_id>/<str:area>/", views.timeline, name="timeline"),
    path("patients/<int:patient_id>/<str:area>/compare/", views.compare, name="compare"),
    path("sessions/<int:pk>/", views.session_photos, name="session"),
    path("<int:pk>/<str:size>.jpg", views.image, name="image"),
]
