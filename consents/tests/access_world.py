"""Example URL arguments for the access table test (clinic/tests/test_access.py)."""

from clinic.roles import PRACTITIONER
from consents import selectors
from consents.tests.factories import signed_consent
from treatments.tests import factories


def url_kwargs(world):
    practitioner = world["users"][PRACTITIONER]
    patient = factories.patient()
    consent = signed_consent(patient, practitioner)
    by_consent = {"pk": consent.pk}
    return {
        "consents:template_detail": {"pk": selectors.current_template().pk},
        "consents:patient": {"patient_id": patient.pk},
        "consents:sign": {"patient_id": patient.pk},
        "consents:detail": by_consent,
        "consents:signature": {"pk": consent.pk, "who": "patient"},
        "consents:pdf": by_consent,
        "consents:email": by_consent,
        "consents:withdraw": by_consent,
        "consents:withdraw_photos": by_consent,
    }
