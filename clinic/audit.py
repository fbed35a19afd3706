"""The one access log of clinical reads (docs/design.md, "Audit"): every page or export that shows a
patient's clinical data calls `log_clinical_read` once, with the patient and what was read."""

from django.conf import settings
from django.db import transaction

from . import audit_chain
from .models import AccessLogEntry

WHAT = frozenset(AccessLogEntry.What.values)


def client_address(request) -> str | None:
    """Where the request came from: REMOTE_ADDR, or the header a trusted proxy sets
    (AUDIT_CLIENT_IP_HEADER, e.g. HTTP_X_REAL_IP); never a header any client could send unchecked."""
    header = getattr(settings, "AUDIT_CLIENT_IP_HEADER", "")
    value = (request.META.get(header) if header else None) or request.META.get("REMOTE_ADDR") or ""
    value = value.split(",")[0].strip()
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_ipv46_address

    try:
        validate_ipv46_address(value)
    except ValidationError:
        return None
    return value


def log_clinical_read(request, *, patient, what: str, obj=None) -> None:
    """Record that request.user read `what` (an AccessLogEntry.What value: "consultation",
    "screening", "formulation", "session_record", "timeline", "patient_page", "export") of `patient`,
    `obj` being the record read (None for a whole page). The row is queued for the audit chain's
    sealer (clinic/audit_chain.py)."""
    log_read_by(
        request.user,
        patient=patient,
        what=what,
        obj=obj,
        ip_address=client_address(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )


def log_read_by(
    user, *, patient, what: str, obj=None, ip_address=None, user_agent: str = ""
) -> AccessLogEntry:
    """The write behind log_clinical_read, for a read without a request (the demo, a command)."""
    if what not in WHAT:
        raise ValueError(f"unknown clinical read {what!r}; one of {sorted(WHAT)}")
    # The entry and its place in the sealer's queue (post_save) commit together: on a page (no
    # transaction of its own) each would otherwise commit alone, and an entry whose queue row was
    # lost would read as slipped in. One commit instead of two, too. No savepoint: inside a caller's
    # transaction a failed log fails that transaction.
    with transaction.atomic(savepoint=False):
        return AccessLogEntry.objects.create(
            user=user,
            patient_id=getattr(patient, "pk", patient),
            what=what,
            object_id=getattr(obj, "pk", obj),
            ip_address=ip_address,
            user_agent=user_agent[:300],
        )


def access_log_page(*, patient_id: int | None, user_id: int | None, page: str | None):
    """The clinic admin's search of the access log: newest first, by patient and/or by user, 50 a
    page (each filter has its index; the page is a bounded number of queries)."""
    from django.core.paginator import Paginator

    entries = AccessLogEntry.objects.select_related("user", "patient").order_by("-at", "-id")
    if patient_id:
        entries = entries.filter(patient_id=patient_id)
    if user_id:
        entries = entries.filter(user_id=user_id)
    return Paginator(entries, 50).get_page(page)


def connect_signals() -> None:
    """Called from ClinicConfig.ready(): every audited row is queued for sealing as it is written."""
    from django.db.models.signals import post_save
    from simple_history.signals import post_create_historical_m2m_records

    def on_save(sender, instance, created, raw=False, **kwargs):
        if created and not raw:
            audit_chain.queue_for_seal(sender, instance.pk)

    def on_m2m(sender, created_rows, **kwargs):
        for row in created_rows:
            audit_chain.queue_for_seal(sender, row.pk)

    for model in audit_chain.audited_models().values():
        post_save.connect(on_save, sender=model, weak=False, dispatch_uid=f"audit-chain-{model._meta.label}")
    post_create_historical_m2m_records.connect(on_m2m, weak=False, dispatch_uid="audit-chain-m2m")
