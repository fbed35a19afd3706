"""Demo consents: signed through the service with a drawn-looking signature, then dated back to when
the demo's first session needs them (the service stamps the real time)."""

import base64
import datetime
import io
import zlib

from PIL import Image, ImageDraw

from . import selectors, services
from .models import PatientConsent


def drawn_signature(name: str = "signature", width: int = 300, height: int = 100) -> str:
    """A PNG data URL like signature_pad's: a transparent canvas with a stroke that varies by name."""
    seed = zlib.crc32(name.encode())
    points = [(10 + i * 28, 30 + (seed >> (i * 3)) % 50) for i in range(11)]
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    ImageDraw.Draw(image).line(points, fill=(11, 42, 91, 255), width=3, joint="curve")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def sign_demo_consent(
    patient, practitioner, signed_at: datetime.datetime, *, photos: bool = True
) -> PatientConsent:
    template = selectors.current_template()
    consent = services.sign_consent(
        patient=patient,
        template=template,
        by=practitioner,
        patient_name=patient.full_name,
        statements_ticked=len(template.statement_list),
        patient_signature=drawn_signature(patient.full_name),
        practitioner_signature=drawn_signature(practitioner.get_username()),
        photos_clinical=photos,
        photos_marketing=False,
        photos_research=photos,
        device="Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) demo tablet",
    )
    PatientConsent.objects.filter(pk=consent.pk).update(signed_at=signed_at)
    consent.signed_at = signed_at
    return consent


def build_states(*, patients: dict, practitioner, admin, now: datetime.datetime) -> dict:
    """Consents in the states the crawl needs beyond the ones the clinical and photo demos sign (valid,
    withdrawn): one expired (signed 13 months ago) and one declining photos; the other named patients
    have none (missing). Then a second wording, so the signed ones are of a replaced version."""
    made = {
        "expired": sign_demo_consent(patients["cjk"], practitioner, now - datetime.timedelta(days=400)),
        "no_photos": sign_demo_consent(
            patients["arabic"], practitioner, now - datetime.timedelta(days=20), photos=False
        ),
    }
    made["valid"] = selectors.latest_consent(patients["folded"].pk)
    made["withdrawn"] = selectors.latest_consent(patients["script"].pk)
    assert made["valid"] is not None and made["withdrawn"] is not None and made["withdrawn"].is_withdrawn
    made["wording_v2"] = services.publish_consent_template(
        by=admin,
        title=made["valid"].template.title,
        text=made["valid"].template.text
        + "\n\nYour photos are kept in the clinic's records and never e-mailed.",
        statements=made["valid"].template.statements,
    )
    return made
