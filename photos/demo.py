"""Demo clinical photos in every state: shown, hidden by a withdrawn photo consent, hidden by a
withdrawn consent and released by clinic admin. The images are drawn, never of a person."""

import datetime
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

from consents.demo import sign_demo_consent
from consents.services import withdraw_consent, withdraw_photo_consent
from scheduling.demo import last_open_hour
from treatments.demo import _session

from . import services
from .models import Moment, PhotoArea

COLOURS = [(214, 170, 150), (205, 160, 140), (196, 150, 132), (188, 142, 126)]


def demo_image(label: str, shade: int = 0, size=(640, 480)) -> SimpleUploadedFile:
    """A drawn stand-in for a photo: a skin-toned oval with a label."""
    image = Image.new("RGB", size, (236, 232, 226))
    draw = ImageDraw.Draw(image)
    draw.ellipse([size[0] * 0.25, size[1] * 0.1, size[0] * 0.75, size[1] * 0.9], fill=COLOURS[shade % 4])
    draw.text((20, 20), label, fill=(40, 40, 40))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return SimpleUploadedFile(f"{label}.jpg", out.getvalue(), content_type="image/jpeg")


def build_states(*, patients: dict, clinical: dict, practitioner, admin, now: datetime.datetime) -> dict:
    made = {"shown": []}
    done, open_ = clinical["session_done"], clinical["session_open"]
    for record, moment, area, shade in (
        (done, Moment.BEFORE, PhotoArea.FACE_FRONT, 0),
        (done, Moment.AFTER, PhotoArea.FACE_FRONT, 1),
        (done, Moment.BEFORE, PhotoArea.NECK, 0),
        (open_, Moment.BEFORE, PhotoArea.FACE_FRONT, 2),
        (open_, Moment.AFTER, PhotoArea.FACE_FRONT, 3),
    ):
        made["shown"].append(
            services.upload_photo(
                session_record=record,
                by=practitioner,
                area=area,
                moment=moment,
                upload=demo_image(f"{area} {moment}", shade),
            )
        )
    # Hidden: the patient withdrew consent to photos after one was taken.
    template_patient = patients["template"]
    consent = sign_demo_consent(template_patient, practitioner, now - datetime.timedelta(days=20))
    record = _session(
        clinical["formulation_template"], practitioner, last_open_hour(now - datetime.timedelta(days=10))
    )
    made["hidden"] = services.upload_photo(
        session_record=record,
        by=practitioner,
        area=PhotoArea.HANDS,
        moment=Moment.BEFORE,
        upload=demo_image("hands"),
    )
    withdraw_photo_consent(consent=consent, by=practitioner, reason="Does not want photos kept any more.")
    # Released: the patient withdrew the whole consent; clinic admin released the photos for a complaint.
    script_patient = patients["script"]
    consent = sign_demo_consent(script_patient, practitioner, now - datetime.timedelta(days=25))
    record = _session(
        clinical["formulation_script"], practitioner, last_open_hour(now - datetime.timedelta(days=12))
    )
    made["released"] = services.upload_photo(
        session_record=record,
        by=practitioner,
        area=PhotoArea.FACE_LEFT,
        moment=Moment.AFTER,
        upload=demo_image("face left"),
    )
    withdraw_consent(consent=consent, by=practitioner, reason="Moving abroad; <b>stops</b> the course.")
    made["release"] = services.release_photos(
        patient=script_patient, by=admin, reason="The patient's complaint about the result needs the photos."
    )
    return made
