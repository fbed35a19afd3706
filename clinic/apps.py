from django.apps import AppConfig


class ClinicConfig(AppConfig):
    name = "clinic"
    verbose_name = "Clinic"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from . import audit, security
        from .models import ClinicSettings

        security.connect_signals()
        security.register()
        audit.connect_signals()

        for signal in (post_save, post_delete):
            signal.connect(
                lambda **kwargs: ClinicSettings.forget_cached(),
                sender=ClinicSettings,
                weak=False,
                dispatch_uid=f"clinic-settings-cache-{signal is post_save}",
            )
