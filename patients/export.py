"""The export of one patient's whole record (GDPR Art. 15 and 20): what `patient_record` gathers is shown
as a printable page, as a FHIR R4 bundle (`fhir_bundle`) and as the raw records (`raw_records`).

FHIR: the resources used (Patient, Appointment, Consent, Procedure, MedicationAdministration,
Observation) are the same in R4 (4.0.1) and R4B (4.3.0); the tests validate the bundle with
fhir.resources' R4B models."""

import json

from django.apps import apps
from django.core.serializers import serialize
from django.db.models import Prefetch
from django.utils import timezone

from clinic.staff import person

from .models import Patient

PAIN_LOINC = {
    "system": "http://loinc.org",
    "code": "72514-3",
    "display": "Pain severity - 0-10 verbal numeric rating",
}
STATUS = {
    "booked": "booked",
    "confirmed": "booked",
    "arrived": "arrived",
    "completed": "fulfilled",
    "cancelled": "cancelled",
    "no_show": "noshow",
}


def _model(label):
    return apps.get_model(label)


def patient_record(patient: Patient) -> dict:
    """Everything the clinic holds on the patient, each kind in one query (or two with its lines)."""
    screening = (
        _model("patients.Screening")
        .objects.filter(patient=patient)
        .prefetch_related("answers", "allergen_groups")
    )
    consultations = (
        _model("treatments.Consultation")
        .objects.filter(patient=patient)
        .select_related("practitioner", "signed_by")
        .prefetch_related("answers", Prefetch("addenda__author"))
        .order_by("date", "id")
    )
    formulations = (
        _model("treatments.Formulation")
        .objects.filter(patient=patient)
        .select_related("created_by")
        .prefetch_related("lines__ingredient")
        .order_by("version")
    )
    sessions = (
        _model("treatments.SessionRecord")
        .objects.filter(patient=patient)
        .select_related("practitioner", "formulation")
        .prefetch_related("lots__line__ingredient")
        .order_by("performed_at", "id")
    )
    appointments = (
        _model("scheduling.Appointment")
        .objects.filter(patient=patient)
        .select_related("practitioner", "room")
        .order_by("starts_at", "id")
    )
    messages = _model("outbox.OutboxMessage").objects.filter(patient=patient).order_by("due_at", "id")
    # (every field: the raw export serializes whole rows)
    return {
        "patient": patient,
        "screening": screening.first(),
        "consultations": list(consultations),
        "formulations": list(formulations),
        "sessions": list(sessions),
        "appointments": list(appointments),
        "messages": list(messages),
        "exported_at": timezone.now(),
    }


def _when(value) -> str:
    return value.isoformat()


def _ref(kind: str, pk) -> dict:
    return {"reference": f"{kind}/{pk}"}


def fhir_bundle(record: dict) -> dict:
    """A FHIR R4 `collection` Bundle of the record."""
    patient = record["patient"]
    subject = _ref("Patient", patient.pk)
    resource = {
        "resourceType": "Patient",
        "id": str(patient.pk),
        "identifier": [{"system": "urn:mesoclinic:chart-number", "value": patient.chart_number}],
        "active": not patient.is_archived,
        "name": [{"use": "official", "family": patient.family_name, "given": [patient.given_name]}],
        "birthDate": patient.date_of_birth.isoformat(),
    }
    if patient.sex in ("female", "male"):
        resource["gender"] = patient.sex
    elif patient.sex:
        resource["gender"] = "other"
    telecom = []
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    if patient.phone:
        telecom.append({"system": "phone", "value": str(patient.phone)})
    if telecom:
        resource["telecom"] = telecom
    if patient.address_line or patient.city:
        address = {"line": [patient.address_line] if patient.address_line else []}
        address |= {k: v for k, v in (("city", patient.city), ("postalCode", patient.postal_code)) if v}
        if patient.country:
            address["country"] = patient.country
        resource["address"] = [address]
    entries = [resource]
    if patient.email_consent_changed_at or patient.email_consent:
        entries.append(
            {
                "resourceType": "Consent",
                "id": f"email-{patient.pk}",
                "status": "active" if patient.email_consent else "inactive",
                "scope": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                            "code": "patient-privacy",
                        }
                    ]
                },
                "category": [{"text": "E-mail reminders and aftercare"}],
                "patient": subject,
                **(
                    {"dateTime": _when(patient.email_consent_changed_at)}
                    if patient.email_consent_changed_at
                    else {}
                ),
                "policyRule": {"text": "Reminders and aftercare by e-mail"},
                "provision": {"type": "permit" if patient.email_consent else "deny"},
            }
        )
    for appointment in record["appointments"]:
        entries.append(
            {
                "resourceType": "Appointment",
                "id": str(appointment.pk),
                "status": STATUS.get(appointment.state, "booked"),
                "serviceType": [{"text": appointment.get_kind_display()}],
                "start": _when(appointment.starts_at),
                "end": _when(appointment.ends_at),
                "participant": [
                    {"actor": {**subject, "display": patient.full_name}, "status": "accepted"},
                    {
                        "actor": {"display": person(appointment.practitioner)},
                        "status": "accepted",
                    },
                ],
            }
        )
    for session in record["sessions"]:
        procedure_id = f"session-{session.pk}"
        procedure = {
            "resourceType": "Procedure",
            "id": procedure_id,
            "status": "completed" if session.is_done else "in-progress",
            "code": {"text": "Mesotherapy session"},
            "subject": subject,
            "performedDateTime": _when(session.performed_at),
            "performer": [{"actor": {"display": person(session.practitioner)}}],
        }
        if session.area_labels:
            procedure["bodySite"] = [{"text": label} for label in session.area_labels]
        if session.notes:
            procedure["note"] = [{"text": session.notes}]
        entries.append(procedure)
        for lot in session.lots.all():
            line = lot.line
            administration = {
                "resourceType": "MedicationAdministration",
                "id": f"session-{session.pk}-line-{line.pk}",
                "status": "completed" if session.is_done else "in-progress",
                "medicationCodeableConcept": {"text": line.ingredient.name},
                "subject": subject,
                "effectiveDateTime": _when(session.performed_at),
                "partOf": [_ref("Procedure", procedure_id)],
                "dosage": {"text": f"{line.amount.normalize():f} {line.unit}"},
            }
            if lot.lot_number:
                administration["extension"] = [
                    {"url": "urn:mesoclinic:lot-number", "valueString": lot.lot_number}
                ]
                administration["note"] = [{"text": f"Lot {lot.lot_number}"}]
            entries.append(administration)
        if session.pain_score is not None:
            entries.append(
                {
                    "resourceType": "Observation",
                    "id": f"pain-{session.pk}",
                    "status": "final",
                    "code": {"coding": [PAIN_LOINC], "text": "Pain score (0-10)"},
                    "subject": subject,
                    "effectiveDateTime": _when(session.performed_at),
                    "partOf": [_ref("Procedure", procedure_id)],
                    "valueInteger": session.pain_score,
                }
            )
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": _when(record["exported_at"]),
        "entry": [
            {"fullUrl": f"urn:mesoclinic:{entry['resourceType']}/{entry['id']}", "resource": entry}
            for entry in entries
        ],
    }


def raw_records(record: dict) -> dict:
    """Every row, as Django's serializer writes it, by model."""
    groups = {
        "patient": [record["patient"]],
        "screening": [record["screening"]] if record["screening"] else [],
        "screening_answers": list(record["screening"].answers.all()) if record["screening"] else [],
        "consultations": record["consultations"],
        "consultation_answers": [a for c in record["consultations"] for a in c.answers.all()],
        "addenda": [a for c in record["consultations"] for a in c.addenda.all()],
        "formulations": record["formulations"],
        "formulation_lines": [line for f in record["formulations"] for line in f.lines.all()],
        "session_records": record["sessions"],
        "session_lots": [lot for s in record["sessions"] for lot in s.lots.all()],
        "appointments": record["appointments"],
        "messages": record["messages"],
    }
    return {name: json.loads(serialize("json", rows)) for name, rows in groups.items()}
