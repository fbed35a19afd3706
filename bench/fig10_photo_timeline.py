"""Figure 10: the photo timeline of one area with 200 photos (thumbnails only), as a practitioner.

The photos belong to the long-history patient MC-000001 (a weekly session for three years): the
script gives them a signed consent allowing photos and 200 small photos of "face, front" across
their sessions, through the upload service (idempotent: it adds only what is missing). The page
lists thumbnails (each one served by its own request, not timed here); the timeline of an area with
a single photo is measured beside it to show that the queries do not grow with the photos.
    DATABASE_URL=… REDIS_URL=… .venv/bin/python bench/fig10_photo_timeline.py [--requests 50]
"""

import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402

TARGET_MS = 50
PHOTOS = 200


def _image(n: int):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (96, 128), (180 + n % 60, 140, 120)).save(out, format="JPEG")
    return SimpleUploadedFile(f"bench-{n}.jpg", out.getvalue(), content_type="image/jpeg")


def ensure_photos(patient, practitioner) -> None:
    import datetime

    from django.utils import timezone

    from consents.demo import sign_demo_consent
    from photos import selectors, services
    from photos.models import ClinicalPhoto

    if not selectors.photos_allowed(patient.pk):
        sign_demo_consent(patient, practitioner, timezone.now() - datetime.timedelta(days=30))
    sessions = list(patient.session_records.order_by("performed_at")[: PHOTOS // 2])
    have = ClinicalPhoto.objects.filter(patient=patient, area="face_front").count()
    for n in range(have, PHOTOS):
        record = sessions[(n // 2) % len(sessions)]
        moment = "before" if n % 2 == 0 else "after"
        services.upload_photo(
            session_record=record, by=practitioner, area="face_front", moment=moment, upload=_image(n)
        )
    if not ClinicalPhoto.objects.filter(patient=patient, area="neck").exists():
        services.upload_photo(
            session_record=sessions[0], by=practitioner, area="neck", moment="before", upload=_image(0)
        )


def main(argv=None) -> int:
    args = common.parser(__doc__.splitlines()[0]).parse_args(argv)
    common.setup()
    from patients.models import Patient

    practitioner = common.user("bench-prac-01")
    client = common.client_for("bench-prac-01")
    patient = Patient.objects.get(chart_number="MC-000001")
    ensure_photos(patient, practitioner)

    def thumbnails_only(response):
        common.expect_ok(response)
        if b"/thumb.jpg" not in response.content:
            raise SystemExit("The timeline must list the photos' thumbnails.")

    rows = [
        common.measure(
            f"timeline, {label}",
            lambda area=area: client.get(f"/photos/patients/{patient.pk}/{area}/"),
            args.requests,
            thumbnails_only,
        )
        for label, area in ((f"{PHOTOS} photos", "face_front"), ("1 photo", "neck"))
    ]
    common.print_rows(10, "photo timeline of an area", rows, TARGET_MS)
    common.emit(10, "Photo timeline", rows=rows, target_ms=TARGET_MS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
