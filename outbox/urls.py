"""The Messages pages, included in the clinic app's URL namespace: `clinic:outbox_list` and so on."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.message_list, name="outbox_list"),
    path("test/", views.message_test, name="outbox_test"),
    path("templates/", views.email_templates, name="email_templates"),
    path("templates/<slug:kind>/html/", views.email_html, name="email_template_html"),
    path("<int:pk>/", views.message_detail, name="outbox_detail"),
    path("<int:pk>/body/", views.email_html, name="outbox_body"),
    path("<int:pk>/retry/", views.message_retry, name="outbox_retry"),
]
