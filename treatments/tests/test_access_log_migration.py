"""The consultation read log's rows move into the one access log (treatments migration 0008), and the
migration that starts the audit chain seals them (clinic migration 0010)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [
    ("treatments", "0007_old_lot_numbers_to_stock"),
    ("clinic", "0009_audit_chain_and_access_log"),
    ("patients", "0005_erasure_requests"),
]
AFTER = [
    ("treatments", "0008_consultation_reads_into_the_access_log"),
    ("clinic", "0011_audit_entries_waiting_to_be_sealed"),  # 0010 seals; 0011 is the sealer's queue
    ("patients", "0006_name_keys_for_list_and_search"),
]


@pytest.mark.django_db(transaction=True)
def test_existing_consultation_reads_are_kept_in_the_access_log_and_sealed():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    user = old.get_model("auth", "User").objects.create(username="reader")
    patient = old.get_model("patients", "Patient").objects.create(
        chart_number="MC-900001", given_name="Ana", family_name="Lida", date_of_birth="1990-01-01"
    )
    consultation = old.get_model("treatments", "Consultation").objects.create(
        patient=patient, practitioner=user, date="2026-01-05"
    )
    log = old.get_model("treatments", "ConsultationAccessLog")
    log.objects.create(consultation=consultation, user=user)
    log.objects.create(consultation=consultation, user=user)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    entries = new.get_model("clinic", "AccessLogEntry").objects.all()
    assert (
        list(entries.values_list("what", "object_id", "patient_id", "user_id"))
        == [("consultation", consultation.pk, patient.pk, user.pk)] * 2
    )
    links = new.get_model("clinic", "AuditLink").objects.filter(table="clinic_accesslogentry")
    assert sorted(links.values_list("row_id", flat=True)) == sorted(entries.values_list("pk", flat=True))

    from clinic import audit_chain

    assert audit_chain.verify().problems == []
