from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model

        from . import page_cache
        from .models import AllergenGroup, Patient, Screening, ScreeningAnswer

        page_cache.track(Patient, "pk")
        page_cache.track(Screening)
        page_cache.track(ScreeningAnswer, "screening.patient_id")
        page_cache.track_reference(AllergenGroup)
        # Staff names appear in histories, plans and appointments; logging in only stamps last_login.
        page_cache.track_reference(get_user_model(), ignore_fields=("last_login",))
