"""Photos and signatures in S3-compatible object storage (django-storages), against moto's S3 server
running on 127.0.0.1: the same protocol as production object storage, on this machine."""

import socket

import boto3
import pytest
from django.urls import reverse

from photos.tests.test_services import _upload, jpeg_with_gps

pytestmark = pytest.mark.django_db
BUCKET = "mesoclinic-test"
# The helper's port range on the shared machine.
PORTS = range(9600, 9700)


def _free_port() -> int:
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port for the S3 server")


@pytest.fixture
def s3_storage(settings):
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    credentials = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "eu-west-1"}
    client = boto3.client("s3", endpoint_url=endpoint, **credentials)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": endpoint,
                "access_key": "test",
                "secret_key": "test",
                "region_name": "eu-west-1",
                "location": "mesoclinic",
                "default_acl": None,
                "file_overwrite": False,
            },
        },
    }
    try:
        yield client
    finally:
        server.stop()


def test_a_photo_goes_to_the_bucket_without_exif_and_is_served_by_the_view(
    s3_storage, practitioner, client_as
):
    from treatments.tests import factories

    record = factories.session_record(practitioner)
    photo = _upload(record, practitioner, jpeg_with_gps())
    keys = {o["Key"] for o in s3_storage.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert f"mesoclinic/{photo.image.name}" in keys and f"mesoclinic/{photo.thumbnail.name}" in keys
    # The signatures of the patient's consent are in the bucket too.
    consent = record.patient.consents.get()
    assert f"mesoclinic/{consent.patient_signature.name}" in keys
    stored = s3_storage.get_object(Bucket=BUCKET, Key=f"mesoclinic/{photo.image.name}")["Body"].read()
    assert stored.startswith(b"\xff\xd8") and b"Exif" not in stored[:200]
    # The object is private: an anonymous request to the bucket is refused.
    import urllib.error
    import urllib.request

    url = f"{s3_storage.meta.endpoint_url}/{BUCKET}/mesoclinic/{photo.image.name}"
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(url, timeout=5)  # noqa: S310 - the local stand-in
    response = client_as(practitioner).get(reverse("photos:image", args=[photo.pk, "full"]))
    assert response.status_code == 200 and b"".join(response.streaming_content) == stored
