"""The one Celery app. Configuration lives in settings.py under the CELERY_ prefix."""

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

app = Celery("clinic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _freeze_startup_objects(**_kwargs) -> None:
    """As the web workers do (clinic/runtime.py): a long-lived worker keeps its start-up objects out of
    the garbage collector's full collections. Frozen in the main process before the pool forks, the
    children inherit it (and share those pages instead of copying them when a collection would have
    touched them)."""
    from clinic.runtime import freeze_startup_objects

    freeze_startup_objects()
