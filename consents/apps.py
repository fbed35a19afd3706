from django.apps import AppConfig


class ConsentsConfig(AppConfig):
    name = "consents"
    verbose_name = "Treatment consent"

    def ready(self) -> None:
        from . import emails

        emails.register()
