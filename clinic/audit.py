"""The one way a view records a read of clinical content (photos, signed consents): who, which
patient, what, and the object read. Kept in clinic.AccessLog."""

from .models import AccessLog


def log_clinical_read(request, *, patient, what: str, obj=None) -> None:
    """Record that request.user read `what` of `patient` (`obj`: the row read, if one)."""
    AccessLog.objects.create(
        user=request.user,
        patient=patient,
        what=what[:100],
        object_type=obj._meta.label if obj is not None else "",
        object_id=obj.pk if obj is not None else None,
        path=request.path[:300],
    )
