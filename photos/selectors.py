"""Reads of clinical photos (clinical-rules.md, rule `photos-need-consent`): whether the patient's
photos may be taken and shown, and the bounded lists the pages show (thumbnails only)."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count
from django.utils import timezone

from consents.models import PatientConsent
from consents.selectors import latest_consent, valid_consent

from .models import ClinicalPhoto, Moment, PhotoArea, PhotoRelease

LIST_FIELDS = ("id", "patient_id", "session_record_id", "session_at", "area", "moment", "width", "height")
TIMELINE_LIMIT = 200


def photos_allowed(patient_id: int) -> bool:
    """A new photo needs today's valid consent, with clinical photos agreed and not withdrawn."""
    consent = valid_consent(patient_id, timezone.localdate())
    return consent is not None and consent.photos_allowed


@dataclass(frozen=True)
class PhotoState:
    hidden: bool
    hidden_since: datetime | None = None
    release: PhotoRelease | None = None


def _hidden_since(consent: PatientConsent | None) -> datetime | None:
    """When the patient's latest consent stopped allowing photos: its withdrawal, the withdrawal of its
    photo consent, or its signing when it declined photos."""
    if consent is None or consent.photos_allowed:
        return None
    moments = [m for m in (consent.withdrawn_at, consent.photos_withdrawn_at) if m]
    return min(moments) if moments else consent.signed_at


def photo_state(patient_id: int) -> PhotoState:
    """Whether the patient's photos are hidden (kept, but shown to no one) and the release that shows them
    again, if clinic admin made one after they were hidden. Two queries at most."""
    since = _hidden_since(latest_consent(patient_id))
    if since is None:
        return PhotoState(hidden=False)
    release = (
        PhotoRelease.objects.filter(patient_id=patient_id, released_at__gte=since)
        .select_related("released_by")
        .order_by("-released_at")
        .first()
    )
    return PhotoState(hidden=release is None, hidden_since=since, release=release)


def photos_hidden(patient_id: int) -> bool:
    return photo_state(patient_id).hidden


def area_counts(patient_id: int) -> list[tuple[str, str, int]]:
    """(area, label, number of photos) for every area, in the order of the choices."""
    counts = dict(
        ClinicalPhoto.objects.filter(patient_id=patient_id)
        .values_list("area")
        .annotate(n=Count("id"))
        .values_list("area", "n")
    )
    return [(value, label, counts.get(value, 0)) for value, label in PhotoArea.choices]


def area_timeline(patient_id: int, area: str, *, limit: int = TIMELINE_LIMIT) -> list[ClinicalPhoto]:
    """One area across the course, oldest first: one query, list fields only (the page shows thumbnails)."""
    return list(
        ClinicalPhoto.objects.filter(patient_id=patient_id, area=area)
        .only(*LIST_FIELDS)
        .order_by("session_at", "moment", "id")[:limit]
    )


def compare(patient_id: int, area: str) -> tuple[ClinicalPhoto | None, ClinicalPhoto | None]:
    """The area before the first session photographed and after the latest one."""
    photos = ClinicalPhoto.objects.filter(patient_id=patient_id, area=area).only(*LIST_FIELDS)
    before = photos.filter(moment=Moment.BEFORE).order_by("session_at", "id").first()
    after = photos.filter(moment=Moment.AFTER).order_by("-session_at", "-id").first()
    return before, after


def session_photos(session_record_id: int) -> list[ClinicalPhoto]:
    return list(
        ClinicalPhoto.objects.filter(session_record_id=session_record_id)
        .only(*LIST_FIELDS)
        .order_by("area", "moment", "id")
    )
