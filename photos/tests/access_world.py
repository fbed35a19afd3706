"""Example URL arguments for the access table test (clinic/tests/test_access.py)."""

from clinic.roles import PRACTITIONER
from photos.demo import demo_image
from photos.services import upload_photo
from treatments.tests import factories


def url_kwargs(world):
    practitioner = world["users"][PRACTITIONER]
    record = factories.session_record(practitioner)
    photo = upload_photo(
        session_record=record, by=practitioner, area="face_front", moment="before", upload=demo_image("x")
    )
    by_patient = {"patient_id": record.patient_id}
    return {
        "photos:patient": by_patient,
        "photos:release": by_patient,
        "photos:timeline": {**by_patient, "area": "face_front"},
        "photos:compare": {**by_patient, "area": "face_front"},
        "photos:session": {"pk": record.pk},
        "photos:image": {"pk": photo.pk, "size": "thumb"},
    }
