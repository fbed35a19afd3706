"""Celery tasks of the outbox: thin, taking nothing, safe to run twice (or two at once)."""

import time

from celery import shared_task
from django.conf import settings

from . import services


@shared_task(ignore_result=True)
def dispatch_outbox() -> dict:
    """Send what is due (beat runs this every minute; a transaction that queued something due kicks
    it after commit). Runs batches until nothing is due or about 45 s have passed, so one run never
    overlaps the next beat tick for long."""
    deadline = time.monotonic() + 45
    total = services.DispatchResult()
    batch = int(settings.OUTBOX_BATCH_SIZE)
    while True:
        result = services.dispatch_due(batch_size=batch)
        total.add(result)
        if result.claimed < batch or time.monotonic() > deadline:
            return vars(total)
