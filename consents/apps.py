from django.apps import AppConfig


class ConsentsConfig(AppConfig):
    name = "consents"
    verbose_name = "Treatment consent"

    def ready(self) -> None:
        from patients import page_cache

        from . import emails
        from .models import PatientConsent

        emails.register()
        # The patient page shows whether a valid consent is signed (consents/patient_section.py); the
        # cached page is keyed by the day, so a consent expiring is seen the next day too.
        page_cache.track(PatientConsent)
