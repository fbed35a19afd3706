"""Celery tasks of the outbox: thin, safe to run twice or two at once (runs claim different rows)."""

import time

from celery import shared_task
from django.conf import settings

from . import services


@shared_task(ignore_result=True)
def dispatch_outbox() -> dict:
    """Send what is due, run after run, for at most about 45 s (not long past the next beat tick)."""
    deadline, total = time.monotonic() + 45, {}
    while True:
        result = vars(services.dispatch_due())
        total = {name: total.get(name, 0) + count for name, count in result.items()}
        if result["claimed"] < settings.OUTBOX_BATCH_SIZE or time.monotonic() > deadline:
            return total
