from patients.services import archive_patient
from patients.tests.factories import PatientFactory


def url_kwargs(world):
    patient = PatientFactory(given_name="Maria", family_name="Conceição")
    archived = PatientFactory(given_name="Rui", family_name="Arquivado")
    archive_patient(patient=archived, by=None)
    ids = {"pk": patient.pk}
    return {
        "patients:detail": ids,
        "patients:edit": ids,
        "patients:screening": ids,
        "patients:archive": ids,
        "patients:restore": {"pk": archived.pk},
    }
