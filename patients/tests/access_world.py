from patients.gdpr import request_erasure
from patients.services import archive_patient
from patients.tests.factories import PatientFactory


def url_kwargs(world):
    patient = PatientFactory(given_name="Maria", family_name="Conceição")
    archived = PatientFactory(given_name="Rui", family_name="Arquivado")
    archive_patient(patient=archived, by=None)
    ids = {"pk": patient.pk}
    erasure = request_erasure(patient=archived, by=world["users"]["front_desk"], how_asked="By e-mail")
    return {
        "patients:detail": ids,
        "patients:edit": ids,
        "patients:screening": ids,
        "patients:archive": ids,
        "patients:restore": {"pk": archived.pk},
        "patients:export": ids,
        "patients:export_fhir": ids,
        "patients:export_raw": ids,
        "patients:erasure_new": ids,
        "patients:erasure_detail": {"pk": erasure.pk},
        "patients:erasure_decide": {"pk": erasure.pk},
    }
