from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"

    def ready(self) -> None:
        from patients import page_cache

        from . import notifications
        from .models import Appointment, ProtocolBand, Room, SessionSeries

        notifications.register()
        # What the patient page's appointments section shows (its cache, clinic/fragments.py).
        page_cache.track(Appointment)
        page_cache.track(SessionSeries)
        page_cache.track_reference(Room)
        page_cache.track_reference(ProtocolBand)
