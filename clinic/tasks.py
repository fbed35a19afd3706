"""Celery tasks of the clinic app: thin, safe to run twice or two at once."""

from celery import shared_task

from . import audit_chain


@shared_task(ignore_result=True)
def seal_audit_trail() -> int:
    """Seal the audit rows written since the last run into the chain (clinic/audit_chain.py)."""
    return audit_chain.seal_pending()
