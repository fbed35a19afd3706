"""Clinical photo rules (docs/clinical-rules.md): `photos-need-consent`, `photos-private`; images
re-encoded without EXIF; non-images and oversize files refused."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from clinic.errors import Refusal
from clinic.models import AccessLogEntry
from consents import services as consent_services
from consents.tests.factories import signed_consent
from photos import selectors, services
from photos.models import ClinicalPhoto
from treatments.tests import factories

pytestmark = pytest.mark.django_db


def jpeg_with_gps(size=(800, 600)) -> SimpleUploadedFile:
    """A camera-like JPEG carrying a GPS position and a camera model in its EXIF."""
    image = Image.new("RGB", size, (200, 150, 130))
    exif = Image.Exif()
    exif[0x0110] = "Clinic Tablet Camera"  # Model
    exif[0x0112] = 6  # Orientation: rotate 90° to view
    gps = {1: "N", 2: (38.0, 42.0, 30.0), 3: "W", 4: (9.0, 8.0, 20.0)}
    exif[0x8825] = gps
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return SimpleUploadedFile("IMG_0001.jpg", out.getvalue(), content_type="image/jpeg")


@pytest.fixture
def record(practitioner):
    return factories.session_record(practitioner)


def _upload(record, practitioner, upload=None, **fields):
    return services.upload_photo(
        session_record=record,
        by=practitioner,
        area=fields.get("area", "face_front"),
        moment=fields.get("moment", "before"),
        upload=upload or jpeg_with_gps(),
    )


def test_the_fixture_really_carries_gps():
    with Image.open(jpeg_with_gps()) as image:
        assert image.getexif().get_ifd(0x8825)


def test_exif_and_location_are_stripped_and_the_photo_is_upright(record, practitioner):
    photo = _upload(record, practitioner)
    for field in (photo.image, photo.thumbnail):
        with field.open("rb") as handle, Image.open(handle) as stored:
            assert stored.format == "JPEG"
            assert not stored.getexif(), "no EXIF at all, so no GPS"
            assert "exif" not in stored.info
    # The orientation tag was applied to the pixels: 800x600 turned is 600x800.
    assert (photo.width, photo.height) == (600, 800)
    with photo.thumbnail.open("rb") as handle, Image.open(handle) as thumb:
        assert max(thumb.size) <= 320


def test_a_file_that_is_not_an_image_is_refused(record, practitioner):
    fake = SimpleUploadedFile("notes.jpg", b"%PDF-1.4 not a photo", content_type="image/jpeg")
    with pytest.raises(Refusal, match="not a photo the clinic can read"):
        _upload(record, practitioner, fake)
    assert not ClinicalPhoto.objects.exists()


def test_an_oversize_photo_is_refused_with_the_limit(record, practitioner, settings):
    settings.PHOTO_MAX_BYTES = 2000
    with pytest.raises(Refusal, match=r"above the limit of 0 MB|above the limit"):
        _upload(record, practitioner)


def test_no_photo_without_the_photo_consent(practitioner):
    consultation = factories.signed_consultation(practitioner, consent=False)
    signed_consent(consultation.patient, practitioner, photos=False)
    record = factories.session_record(practitioner, factories.formulation(practitioner, consultation))
    with pytest.raises(Refusal, match="not consented to clinical photos"):
        _upload(record, practitioner)


def test_withdrawn_photo_consent_hides_the_photos_until_clinic_admin_releases_them(
    record, practitioner, clinic_admin, client_as
):
    photo = _upload(record, practitioner)
    consent = record.patient.consents.get()
    consent_services.withdraw_photo_consent(consent=consent, by=practitioner, reason="No more photos.")
    assert ClinicalPhoto.objects.filter(pk=photo.pk).exists(), "kept for the legal record"
    assert selectors.photos_hidden(record.patient_id)
    with pytest.raises(Refusal, match="not consented"):
        _upload(record, practitioner)
    client = client_as(practitioner)
    assert client.get(reverse("photos:image", args=[photo.pk, "thumb"])).status_code == 404
    page = client.get(reverse("photos:timeline", args=[record.patient_id, "face_front"]))
    assert reverse("photos:image", args=[photo.pk, "thumb"]) not in page.text
    with pytest.raises(Refusal, match="Write why"):
        services.release_photos(patient=record.patient, by=clinic_admin, reason="  ")
    services.release_photos(patient=record.patient, by=clinic_admin, reason="Complaint about the result.")
    assert not selectors.photos_hidden(record.patient_id)
    assert client.get(reverse("photos:image", args=[photo.pk, "thumb"])).status_code == 200


def test_a_withdrawn_consent_hides_the_photos_too(record, practitioner):
    _upload(record, practitioner)
    consent_services.withdraw_consent(consent=record.patient.consents.get(), by=practitioner, reason="Stops.")
    assert selectors.photos_hidden(record.patient_id)


@pytest.mark.parametrize("role, status", [("practitioner", 200), ("clinic_admin", 200), ("front_desk", 403)])
def test_photos_are_served_by_role_and_every_read_is_logged(
    record, practitioner, request, client_as, role, status
):
    photo = _upload(record, practitioner)
    user = request.getfixturevalue(role)
    response = client_as(user).get(reverse("photos:image", args=[photo.pk, "full"]))
    assert response.status_code == status
    logged = AccessLogEntry.objects.filter(user=user, patient=record.patient, object_id=photo.pk)
    assert logged.exists() == (status == 200)
    if status == 200:
        assert response["Content-Type"] == "image/jpeg" and "no-store" in response["Cache-Control"]
        assert client_as(user).post(reverse("photos:session", args=[record.pk])).status_code in (
            200 if role == "practitioner" else 403,
        )


def test_compare_shows_before_the_first_session_and_after_the_latest(practitioner, client_as):
    formulation = factories.formulation(practitioner)
    first = factories.session_record(practitioner, formulation, performed_at=formulation.created_at)
    before = _upload(first, practitioner, moment="before")
    _upload(first, practitioner, moment="after")
    latest = factories.session_record(practitioner, formulation)
    _upload(latest, practitioner, moment="before")
    after = _upload(latest, practitioner, moment="after")
    assert selectors.compare(first.patient_id, "face_front") == (before, after)
    page = client_as(practitioner).get(reverse("photos:compare", args=[first.patient_id, "face_front"]))
    assert reverse("photos:image", args=[before.pk, "full"]) in page.text
    assert reverse("photos:image", args=[after.pk, "full"]) in page.text


def test_the_timeline_runs_a_bounded_number_of_queries(
    record, practitioner, client_as, django_assert_max_num_queries
):
    for _ in range(3):
        _upload(record, practitioner)
    client = client_as(practitioner)
    url = reverse("photos:timeline", args=[record.patient_id, "face_front"])
    client.get(url)
    with django_assert_max_num_queries(12) as captured:
        response = client.get(url)
    assert response.text.count("photo-thumb") == 3
    for _ in range(5):
        _upload(record, practitioner)
    with django_assert_max_num_queries(len(captured.captured_queries)):
        client.get(url)
