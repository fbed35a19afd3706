from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "outbox"
    verbose_name = "Messages to patients"

    def ready(self) -> None:
        from . import kinds

        kinds.register()
