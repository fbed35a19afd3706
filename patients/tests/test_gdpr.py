"""GDPR (issue 16): the export of one patient's whole record (readable, FHIR R4, raw) and erasure on
request (rule `records-kept-after-erasure`)."""

import datetime
import json

import pytest
from django.urls import reverse
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle

from clinic import audit_chain
from clinic.models import AccessLogEntry, ClinicSettings
from outbox.models import OutboxEvent, OutboxMessage
from patients import gdpr
from patients.models import ErasureRequest, Patient
from treatments.models import Consultation, SessionRecord
from treatments.tests import factories

pytestmark = pytest.mark.django_db

SECRET_NOTE = "Responds badly to lidocaine; history of melasma"


@pytest.fixture
def treated(practitioner):
    formulation = factories.formulation(practitioner)
    line = formulation.lines.first()
    record = factories.session_record(
        practitioner,
        formulation,
        lots={
            **factories.lots_for(formulation),
            line.pk: factories.stock_lot(line.ingredient, number="LOT-2026-A17"),
        },
        notes=SECRET_NOTE,
    )
    return record


def test_the_admin_exports_a_readable_record_a_fhir_bundle_and_the_raw_records(
    client_as, clinic_admin, treated
):
    patient = treated.patient
    client = client_as(clinic_admin)
    page = client.get(reverse("patients:export", args=[patient.pk]))
    assert page.status_code == 200
    assert patient.family_name in page.text and "LOT-2026-A17" in page.text and SECRET_NOTE in page.text

    fhir = client.get(reverse("patients:export_fhir", args=[patient.pk]))
    assert fhir.status_code == 200 and "attachment" in fhir["Content-Disposition"]
    bundle = Bundle.model_validate(json.loads(fhir.content))
    kinds = [entry.resource.get_resource_type() for entry in bundle.entry]
    assert {"Patient", "Procedure", "MedicationAdministration", "Observation", "Consent"} <= set(kinds)
    administration = next(
        e.resource for e in bundle.entry if e.resource.get_resource_type() == "MedicationAdministration"
    )
    assert administration.extension[0].valueString == "LOT-2026-A17"
    pain = next(e.resource for e in bundle.entry if e.resource.get_resource_type() == "Observation")
    assert pain.valueInteger == 3

    raw = json.loads(client.get(reverse("patients:export_raw", args=[patient.pk])).content)
    assert raw["patient"][0]["fields"]["chart_number"] == patient.chart_number
    assert raw["session_lots"][0]["fields"]["lot_number"] == "LOT-2026-A17"
    assert (
        list(AccessLogEntry.objects.filter(patient=patient).values_list("what", flat=True)) == ["export"] * 3
    )


def test_the_fhir_bundle_holds_appointments(client_as, clinic_admin, practitioner, front_desk):
    from scheduling.models import Appointment, Room

    patient = factories.patient()
    start = timezone.now() + datetime.timedelta(days=3)
    Appointment.objects.create(
        patient=patient,
        practitioner=practitioner,
        room=Room.objects.create(name="Room A"),
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=1),
        created_by=front_desk,
    )
    response = client_as(clinic_admin).get(reverse("patients:export_fhir", args=[patient.pk]))
    bundle = Bundle.model_validate(json.loads(response.content))
    appointment = next(e.resource for e in bundle.entry if e.resource.get_resource_type() == "Appointment")
    assert appointment.status == "booked"


@pytest.mark.parametrize("role", ["front_desk", "practitioner"])
def test_only_the_clinic_admin_exports(client_as, request, role, treated):
    client = client_as(request.getfixturevalue(role))
    for name in ("patients:export", "patients:export_fhir", "patients:export_raw"):
        assert client.get(reverse(name, args=[treated.patient_id])).status_code == 403
    assert not AccessLogEntry.objects.filter(what="export").exists()


def _erase(client_as, front_desk, clinic_admin, patient, decision="approve", reason="Patient's right"):
    client = client_as(front_desk)
    response = client.post(reverse("patients:erasure_new", args=[patient.pk]), {"how_asked": "By e-mail"})
    erasure = ErasureRequest.objects.get(patient=patient)
    assert response.url == reverse("patients:erasure_detail", args=[erasure.pk])
    assert client.post(reverse("patients:erasure_decide", args=[erasure.pk]), {}).status_code == 403
    client = client_as(clinic_admin)
    client.post(
        reverse("patients:erasure_decide", args=[erasure.pk]), {"decision": decision, "reason": reason}
    )
    erasure.refresh_from_db()
    return erasure


def test_erasure_clears_contact_data_at_once_and_keeps_clinical_records(
    client_as, front_desk, clinic_admin, treated, django_capture_on_commit_callbacks
):
    patient = treated.patient
    email = patient.email
    OutboxMessage.objects.create(
        kind="aftercare",
        idempotency_key="k1",
        recipient=email,
        patient=patient,
        due_at=timezone.now(),
        message_id="<x@y>",
        body_text="Dear patient",
    )
    OutboxEvent.objects.create(
        message=OutboxMessage.objects.get(), action="sent", state="sent", detail=f"Accepted for {email}."
    )
    audit_chain.seal_pending()  # the history as the sealer left it before the request
    with django_capture_on_commit_callbacks(execute=True):
        erasure = _erase(client_as, front_desk, clinic_admin, patient)
    audit_chain.seal_pending()
    assert erasure.state == ErasureRequest.State.CONTACT_ERASED
    assert erasure.decided_by == clinic_admin
    patient.refresh_from_db()
    assert (patient.email, str(patient.phone), patient.email_consent, patient.is_archived) == (
        "",
        "",
        False,
        True,
    )
    assert not Patient.history.filter(id=patient.pk).exclude(email="").exists()
    message = OutboxMessage.objects.get()
    assert email not in OutboxEvent.objects.get().detail
    assert (message.recipient, message.body_text, message.state) == ("", "", "cancelled")
    assert SessionRecord.objects.get(pk=treated.pk).notes == SECRET_NOTE
    years = ClinicSettings.load().retention_years
    assert erasure.keep_clinical_until == timezone.localdate(treated.performed_at).replace(
        year=timezone.localdate(treated.performed_at).year + years
    )
    detail = client_as(front_desk).get(reverse("patients:erasure_detail", args=[erasure.pk]))
    assert "Contact details erased" in detail.text
    # The erasure is recorded in the audit chain, which still verifies.
    assert [p for p in audit_chain.verify().problems if "historical patient" in p.lower()] == []


def test_a_refusal_needs_a_reason(client_as, front_desk, clinic_admin, treated):
    erasure = _erase(client_as, front_desk, clinic_admin, treated.patient, decision="refuse", reason="")
    assert erasure.state == ErasureRequest.State.PENDING
    erasure = ErasureRequest.objects.get()
    client_as(clinic_admin).post(
        reverse("patients:erasure_decide", args=[erasure.pk]),
        {"decision": "refuse", "reason": "Unpaid invoice dispute"},
    )
    erasure.refresh_from_db()
    assert erasure.state == ErasureRequest.State.REFUSED
    assert Patient.objects.get(pk=treated.patient_id).email


def test_a_second_pending_request_is_refused_in_plain_words(client_as, front_desk, treated):
    client = client_as(front_desk)
    url = reverse("patients:erasure_new", args=[treated.patient_id])
    client.post(url, {"how_asked": "By phone"})
    response = client.post(url, {"how_asked": "Again"})
    assert response.status_code == 200
    assert "already has an erasure request waiting" in response.text


def test_after_the_retention_period_the_record_is_pseudonymised_and_the_chain_still_verifies(
    client_as, front_desk, clinic_admin, treated, django_capture_on_commit_callbacks
):
    patient = treated.patient
    name = patient.family_name
    with django_capture_on_commit_callbacks(execute=True):
        erasure = _erase(client_as, front_desk, clinic_admin, patient)
        # Sealed before the pseudonymisation rewrites them: the chain must still verify after.
        assert audit_chain.seal_pending() > 0
        assert gdpr.pseudonymise_expired(today=erasure.keep_clinical_until - datetime.timedelta(days=1)) == 0
        assert gdpr.pseudonymise_expired(today=erasure.keep_clinical_until) == 1
    audit_chain.seal_pending()
    erasure.refresh_from_db()
    assert erasure.state == ErasureRequest.State.DONE and "Pseudonymised" in erasure.outcome
    patient.refresh_from_db()
    assert patient.pseudonymised_at and patient.family_name == f"patient {patient.chart_number}"
    assert not Patient.history.filter(id=patient.pk, family_name=name).exists()
    assert SessionRecord.objects.get(pk=treated.pk).notes == ""
    assert not SessionRecord.history.filter(id=treated.pk, notes=SECRET_NOTE).exists()
    assert Consultation.objects.filter(patient=patient).exists()  # kept, without identity
    problems = audit_chain.verify().problems
    assert [p for p in problems if "was changed" in p or "deleted" in p] == []
    # Every page still opens for the pseudonymised patient.
    for role in (clinic_admin, front_desk):
        client = client_as(role)
        for url in (
            reverse("patients:list") + "?archived=1",
            reverse("patients:detail", args=[patient.pk]),
            reverse("scheduling:calendar"),
            reverse("clinic:outbox_list"),
        ):
            assert client.get(url).status_code == 200, url
    assert client_as(clinic_admin).get(reverse("treatments:timeline", args=[patient.pk])).status_code == 200


def test_the_management_command_pseudonymises_what_is_due(client_as, front_desk, clinic_admin, practitioner):
    from django.core.management import call_command

    patient = factories.patient()  # never treated: nothing to keep, pseudonymised at the decision
    erasure = _erase(client_as, front_desk, clinic_admin, patient)
    assert erasure.state == ErasureRequest.State.DONE
    call_command("pseudonymise_expired")


def test_an_erased_patient_cannot_be_restored(client_as, front_desk, clinic_admin, treated):
    patient = treated.patient
    _erase(client_as, front_desk, clinic_admin, patient)
    client = client_as(front_desk)
    page = client.get(reverse("patients:detail", args=[patient.pk])).text
    assert "Restore…" not in page and "Erasure request…" not in page
    response = client.post(reverse("patients:restore", args=[patient.pk]), follow=True)
    assert "asked to be erased" in response.text
    assert Patient.objects.get(pk=patient.pk).is_archived
