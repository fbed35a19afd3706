"""Clinical photos of a session (before / after) and an area, and the clinic admin's releases of photos
hidden by a withdrawn photo consent (clinical-rules.md, rules `photos-need-consent`,
`photos-private`)."""

from django.conf import settings
from django.db import models

from patients.models import Patient
from treatments.models import SessionRecord


class PhotoArea(models.TextChoices):
    FACE_FRONT = "face_front", "Face, front"
    FACE_LEFT = "face_left", "Face, left side"
    FACE_RIGHT = "face_right", "Face, right side"
    NECK = "neck", "Neck"
    DECOLLETE = "decollete", "Décolleté"
    HANDS = "hands", "Hands"
    SCALP = "scalp", "Scalp"


class Moment(models.TextChoices):
    BEFORE = "before", "Before"
    AFTER = "after", "After"


class ClinicalPhoto(models.Model):
    """One photo, re-encoded without its metadata (EXIF, location), with its thumbnail. Served only by
    photos/views.py, which checks the role and logs the read."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="clinical_photos")
    session_record = models.ForeignKey(SessionRecord, on_delete=models.PROTECT, related_name="photos")
    # The session's time, copied so a timeline sorts and pages without a join.
    session_at = models.DateTimeField()
    area = models.CharField(max_length=20, choices=PhotoArea.choices)
    moment = models.CharField(max_length=10, choices=Moment.choices)
    image = models.FileField(upload_to="photos", max_length=300)
    thumbnail = models.FileField(upload_to="photos", max_length=300)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session_at", "moment", "id"]
        indexes = [
            models.Index(fields=["patient", "area", "session_at", "moment"], name="photo_patient_area_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(area__in=PhotoArea.values),
                name="photo_area_known",
                violation_error_message="Choose the area the photo shows.",
            ),
            models.CheckConstraint(
                condition=models.Q(moment__in=Moment.values),
                name="photo_moment_known",
                violation_error_message="Say whether the photo was taken before or after the session.",
            ),
        ]

    def __str__(self) -> str:
        moment = self.get_moment_display().lower()
        return f"{self.get_area_display()}, {moment} the session of {self.session_at:%d/%m/%Y}"


class PhotoRelease(models.Model):
    """The clinic admin shows again the photos a withdrawn photo consent hid, for a recorded reason (a
    complaint, a legal request). Covers the photos hidden at the time of the release."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="photo_releases")
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    released_at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField()

    class Meta:
        ordering = ["-released_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(reason=""),
                name="photo_release_has_reason",
                violation_error_message="A release of hidden photos needs its reason.",
            ),
        ]

    def __str__(self) -> str:
        return f"Photos released {self.released_at:%d/%m/%Y}"
