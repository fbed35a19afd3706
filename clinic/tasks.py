"""Celery tasks of the clinic app: thin, taking ids (or nothing), safe to run twice."""

import time

from celery import shared_task
from django.conf import settings

from . import outbox


@shared_task(ignore_result=True)
def dispatch_outbox() -> dict:
    """Send what is due in the outbox (beat runs this every minute; enqueue() kicks it after commit).

    Runs batches until the outbox has nothing due or about 45 s have passed, so one run never
    overlaps the next beat tick for long. Two runs at once are harmless: they claim disjoint rows.
    """
    deadline = time.monotonic() + 45
    total = outbox.DispatchResult()
    batch = int(settings.OUTBOX_BATCH_SIZE)
    while True:
        result = outbox.dispatch_due(batch_size=batch)
        for field in ("claimed", "sent", "retrying", "failed", "cancelled", "skipped"):
            setattr(total, field, getattr(total, field) + getattr(result, field))
        if result.claimed < batch or time.monotonic() > deadline:
            return vars(total)
