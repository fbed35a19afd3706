from django.urls import path

from . import email_views, views

app_name = "scheduling"
urlpatterns = [
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/board/", views.calendar_board, name="calendar_board"),
    path("calendar/feed/", views.calendar_feed, name="calendar_feed"),
    path("calendar/move/", views.calendar_move, name="calendar_move"),
    path("day-list/", views.day_list, name="day_list"),
    path("plan/", views.plan_series, name="plan"),
    path("series/<int:pk>/", views.series_detail, name="series_detail"),
    path("appointments/new/", views.appointment_new, name="appointment_new"),
    path("appointments/<int:pk>/", views.appointment_detail, name="appointment_detail"),
    path("appointments/<int:pk>/state/", views.appointment_state, name="appointment_state"),
    path("appointments/<int:pk>/reschedule/", views.appointment_reschedule, name="appointment_reschedule"),
    path("appointments/<int:pk>/cancel/", views.appointment_cancel, name="appointment_cancel"),
    path("protocol/", views.protocol, name="protocol"),
    # Links in patients' e-mails (public, signed).
    path("email/confirm/<str:token>/", email_views.confirm, name="email_confirm"),
    path("email/cancel/<str:token>/", email_views.cancel, name="email_cancel"),
    path("email/unsubscribe/<str:token>/", email_views.unsubscribe, name="email_unsubscribe"),
]
