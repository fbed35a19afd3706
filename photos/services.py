"""Writes to clinical photos (clinical-rules.md, rules `photos-need-consent`, `photos-private`)."""

import io
import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from PIL import Image, ImageOps, UnidentifiedImageError

from clinic.errors import Refusal
from patients.models import Patient
from treatments.models import SessionRecord

from . import selectors
from .models import ClinicalPhoto, Moment, PhotoArea, PhotoRelease

# Pillow refuses images above this many pixels (a decompression bomb) before decoding them.
MAX_PIXELS = 60_000_000


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB"


def clean_image(upload) -> tuple[bytes, bytes, int, int]:
    """Read the upload with Pillow and re-encode it: a JPEG of the pixels only (no EXIF, no location, no
    other metadata), turned upright by its orientation tag, and its thumbnail. Refuses what is not an
    image, or is larger than the clinic's limit."""
    if upload.size > settings.PHOTO_MAX_BYTES:
        raise Refusal(
            f"This photo is {_megabytes(upload.size)}, above the limit of "
            f"{_megabytes(settings.PHOTO_MAX_BYTES)}: take it again at a lower resolution, "
            "or send a smaller copy.",
            "image",
        )
    upload.seek(0)
    data = upload.read()
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.width * probe.height > MAX_PIXELS:
                raise Refusal("This photo has too many pixels: take it at a lower resolution.", "image")
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            upright = ImageOps.exif_transpose(image)
            pixels = upright.convert("RGB")
    except Refusal:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise Refusal(
            "This file is not a photo the clinic can read: choose a JPEG, PNG or WebP photo.",
            "image",
        ) from None
    # A new image made from the pixels alone carries none of the original's metadata.
    clean = Image.new("RGB", pixels.size)
    clean.paste(pixels)
    clean.thumbnail((settings.PHOTO_MAX_SIDE, settings.PHOTO_MAX_SIDE))
    full = io.BytesIO()
    clean.save(full, format="JPEG", quality=88, optimize=True)
    thumb = clean.copy()
    thumb.thumbnail((settings.PHOTO_THUMBNAIL_SIDE, settings.PHOTO_THUMBNAIL_SIDE))
    small = io.BytesIO()
    thumb.save(small, format="JPEG", quality=80, optimize=True)
    return full.getvalue(), small.getvalue(), clean.width, clean.height


@transaction.atomic
def upload_photo(*, session_record: SessionRecord, by, area: str, moment: str, upload) -> ClinicalPhoto:
    """Attach a photo to a session, before or after, of one area (rule `photos-need-consent`: the
    patient's latest consent allows clinical photos)."""
    if area not in PhotoArea.values:
        raise Refusal("Choose the area the photo shows.", "area")
    if moment not in Moment.values:
        raise Refusal("Say whether the photo is before or after the session.", "moment")
    if not selectors.photos_allowed(session_record.patient_id):
        raise Refusal(
            "The patient has not consented to clinical photos (or withdrew that consent): no photo can be "
            "taken. Ask the patient, and sign a new consent if they agree.",
        )
    full, thumb, width, height = clean_image(upload)
    photo = ClinicalPhoto(
        patient_id=session_record.patient_id,
        session_record=session_record,
        session_at=session_record.performed_at,
        area=area,
        moment=moment,
        width=width,
        height=height,
        uploaded_by=by,
    )
    # Under the patient's folder (upload_to adds "photos/"): a plain string, so that the migrations
    # need no function of this app.
    stem = f"{photo.patient_id}/{uuid.uuid4().hex}"
    photo.image.save(f"{stem}.jpg", ContentFile(full), save=False)
    photo.thumbnail.save(f"{stem}-thumb.jpg", ContentFile(thumb), save=False)
    photo.save()
    return photo


@transaction.atomic
def release_photos(*, patient: Patient, by, reason: str) -> PhotoRelease:
    """Clinic admin shows again the photos that a withdrawn photo consent hid, for a recorded reason."""
    reason = (reason or "").strip()
    if not reason:
        raise Refusal("Write why the hidden photos are released (a complaint, a legal request…).", "reason")
    if not selectors.photos_hidden(patient.pk):
        raise Refusal("This patient's photos are not hidden: there is nothing to release.")
    return PhotoRelease.objects.create(patient=patient, released_by=by, reason=reason)
