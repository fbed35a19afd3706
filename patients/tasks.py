"""Celery tasks of the patients app: thin."""

from celery import shared_task

from . import gdpr


@shared_task(ignore_result=True)
def pseudonymise_expired() -> int:
    """Pseudonymise erased patients whose retention period has ended (rule `records-kept-after-erasure`)."""
    return gdpr.pseudonymise_expired()
