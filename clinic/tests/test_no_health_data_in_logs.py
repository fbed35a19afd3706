"""No health data in application logs (issue 16, "Audit"): every log record written while staff
register, screen, consult, formulate, record and finish a session, e-mail the aftercare (to a server
that refuses some recipients), open the pages and export the record names ids, never clinical text,
patient names or addresses."""

import logging

import pytest
from django.urls import reverse

from outbox.services import dispatch_due
from patients import services as patient_services
from treatments import services
from treatments.tests import factories

pytestmark = pytest.mark.django_db

SECRETS = [
    "Zeferina",  # the patient's given name
    "Quaresma-Bettencourt",  # family name
    "zeferina.q@example.com",
    "tamoxifen 20 mg",  # medication
    "sulfite reaction in 2019",  # allergy note
    "wants to hide acne scarring",  # goals
    "post-inflammatory hyperpigmentation",  # assessment
    "fainted at the second pass",  # session note
    "LOT-SECRET-77",
]


@pytest.fixture
def every_log_record():
    """Every record any logger emits, at every level, with its formatted exception."""
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            text = record.getMessage()
            if record.exc_info:
                text += logging.Formatter().formatException(record.exc_info)
            records.append(f"{record.name}: {text}")

    handler = Keep(level=logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def test_clinical_flows_write_no_health_data_to_the_logs(
    every_log_record, client_as, practitioner, clinic_admin, smtp_server
):
    patient = factories.patient(given_name="Zeferina", family_name="Quaresma-Bettencourt")
    patient_services.update_patient(
        patient=patient, by=practitioner, email="zeferina.q@example.com", email_consent=True
    )
    patient_services.update_screening(
        patient=patient,
        by=practitioner,
        allergen_groups=[],
        allergy_notes="sulfite reaction in 2019",
        current_medications="tamoxifen 20 mg",
        fitzpatrick_type="III",
        answers={},
    )
    consultation = factories.signed_consultation(
        practitioner,
        patient,
        goals="wants to hide acne scarring",
        skin_assessment="post-inflammatory hyperpigmentation",
    )
    formulation = factories.formulation(practitioner, consultation)
    line = formulation.lines.first()
    record = factories.session_record(
        practitioner,
        formulation,
        notes="fainted at the second pass",
        lots={
            **factories.lots_for(formulation),
            line.pk: factories.stock_lot(line.ingredient, number="LOT-SECRET-77"),
        },
    )
    services.mark_session_done(session_record=record, by=practitioner)
    smtp_server.refuse("zeferina.q@example.com", "550 5.1.1 <zeferina.q@example.com> unknown")
    dispatch_due()
    for client, urls in (
        (
            client_as(practitioner),
            [
                reverse("patients:detail", args=[patient.pk]),
                reverse("patients:screening", args=[patient.pk]),
                reverse("treatments:timeline", args=[patient.pk]),
                reverse("treatments:consultation_detail", args=[consultation.pk]),
                reverse("treatments:formulation_detail", args=[formulation.pk]),
                reverse("treatments:session_detail", args=[record.pk]),
            ],
        ),
        (
            client_as(clinic_admin),
            [
                reverse("patients:export", args=[patient.pk]),
                reverse("patients:export_fhir", args=[patient.pk]),
                reverse("clinic:access_log") + f"?patient={patient.pk}",
                reverse("clinic:outbox_list"),
            ],
        ),
    ):
        for url in urls:
            assert client.get(url).status_code == 200, url
    assert every_log_record, "the flows above log something (the refused e-mail at least)"
    leaked = [
        (secret, line) for line in every_log_record for secret in SECRETS if secret.lower() in line.lower()
    ]
    assert leaked == []
