"""The audit trail is tamper-evident (issue 16, "Audit"): each access-log and change-history row is
chained; an edit, a deletion, a removed link or a row slipped in are reported by verify_audit."""

import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.test import RequestFactory

from clinic import audit_chain
from clinic.audit import log_clinical_read
from clinic.models import AccessLogEntry, AuditHead, AuditLink
from patients.models import Patient
from treatments.tests import factories

pytestmark = pytest.mark.django_db


def _read(user, patient, what="timeline"):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.7", HTTP_USER_AGENT="Firefox")
    request.user = user
    log_clinical_read(request, patient=patient, what=what)


@pytest.fixture
def trail(practitioner):
    """Clinical writes and reads, then the sealer's run (beat, every few seconds)."""
    record = factories.session_record(practitioner)
    _read(practitioner, record.patient)
    _read(practitioner, record.patient, "session_record")
    audit_chain.seal_pending()
    return record


def verify_output() -> tuple[bool, str]:
    from io import StringIO

    out = StringIO()
    try:
        call_command("verify_audit", stdout=out)
    except CommandError:
        return False, out.getvalue()
    return True, out.getvalue()


def test_an_untouched_trail_verifies(trail):
    ok, out = verify_output()
    assert ok, out
    assert "intact" in out
    assert (
        AuditLink.objects.filter(table=AccessLogEntry._meta.db_table).count()
        == AccessLogEntry.objects.count()
        == 2
    )
    history = Patient.history.model._meta.db_table
    assert AuditLink.objects.filter(table=history).exists()


def _raw(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_a_row_edited_in_the_database_is_named(trail):
    entry = AccessLogEntry.objects.order_by("id").first()
    _raw(f"UPDATE {AccessLogEntry._meta.db_table} SET user_agent = %s WHERE id = %s", ["forged", entry.pk])
    ok, out = verify_output()
    assert not ok
    assert f"access log entry {entry.pk} was changed in the database" in out


def test_a_change_history_row_edited_in_the_database_is_named(trail):
    model = Patient.history.model
    row = model.objects.order_by("history_id").first()
    _raw(f"UPDATE {model._meta.db_table} SET given_name = %s WHERE history_id = %s", ["Mallory", row.pk])
    ok, out = verify_output()
    assert not ok
    assert f"change-history entry {row.pk} of the patient records was changed" in out


def test_a_deleted_row_is_named(trail):
    entry = AccessLogEntry.objects.order_by("id").last()
    _raw(f"DELETE FROM {AccessLogEntry._meta.db_table} WHERE id = %s", [entry.pk])
    ok, out = verify_output()
    assert not ok
    assert f"access log entry {entry.pk} was deleted from the database" in out


def test_a_row_and_its_link_deleted_together_break_the_chain(trail):
    entry = AccessLogEntry.objects.order_by("id").first()
    link = AuditLink.objects.get(table=AccessLogEntry._meta.db_table, row_id=entry.pk)
    _raw(f"DELETE FROM {AccessLogEntry._meta.db_table} WHERE id = %s", [entry.pk])
    _raw(f"DELETE FROM {AuditLink._meta.db_table} WHERE id = %s", [link.pk])
    ok, out = verify_output()
    assert not ok
    assert f"Chain link {link.seq} is missing" in out


def test_the_last_entry_removed_with_its_link_is_seen_at_the_head(trail):
    entry = AccessLogEntry.objects.order_by("id").last()
    link = AuditLink.objects.get(table=AccessLogEntry._meta.db_table, row_id=entry.pk)
    _raw(f"DELETE FROM {AccessLogEntry._meta.db_table} WHERE id = %s", [entry.pk])
    _raw(f"DELETE FROM {AuditLink._meta.db_table} WHERE id = %s", [link.pk])
    ok, out = verify_output()
    assert not ok
    assert f"ends at link {link.seq - 1} but its head says {link.seq}" in out


def test_a_row_slipped_in_without_the_application_is_named(trail, practitioner):
    entry = AccessLogEntry.objects.order_by("id").first()
    _raw(
        f"INSERT INTO {AccessLogEntry._meta.db_table} (at, user_id, patient_id, what, user_agent) "
        "VALUES (%s, %s, %s, %s, %s)",
        [entry.at, practitioner.pk, entry.patient_id, "timeline", ""],
    )
    slipped = AccessLogEntry.objects.order_by("id").last()
    ok, out = verify_output()
    assert not ok
    assert f"Access log entry {slipped.pk} is not in the chain" in out


def test_a_rolled_back_read_leaves_no_link(practitioner):
    from django.db import transaction

    patient = factories.patient()
    with transaction.atomic():
        sid = transaction.savepoint()
        _read(practitioner, patient)
        transaction.savepoint_rollback(sid)
        _read(practitioner, patient, "screening")
    audit_chain.seal_pending()
    assert list(AccessLogEntry.objects.values_list("what", flat=True)) == ["screening"]
    sealed = AuditLink.objects.filter(table=AccessLogEntry._meta.db_table).values_list("row_id", flat=True)
    assert list(sealed) == list(AccessLogEntry.objects.values_list("pk", flat=True))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain():
    """Eight threads, each its own PostgreSQL connection, log reads, write history and run the sealer at
    once: every row gets exactly one link, the sequence has no gap or repeat, and the chain verifies."""
    from clinic.tests.factories import UserFactory

    user = UserFactory(username="racer", role="practitioner")
    patient = factories.patient()
    barrier = threading.Barrier(8)
    errors = []

    def work(n):
        try:
            barrier.wait()
            for i in range(15):
                _read(user, patient)
                if i % 5 == 0:
                    Patient.objects.get(pk=patient.pk).save()  # one change-history row
                if i % 3 == 0:
                    audit_chain.seal_pending()  # sealers racing each other and the writers
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert AccessLogEntry.objects.count() == 120
    audit_chain.seal_pending()  # what the last sealers left
    assert AuditLink.objects.filter(table=AccessLogEntry._meta.db_table).count() == 120
    seqs = list(AuditLink.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert AuditHead.objects.get().seq == len(seqs)
    report = audit_chain.verify()
    assert report.problems == []


def test_a_read_waits_for_the_sealer_without_taking_the_head_lock(practitioner, django_assert_num_queries):
    """A page that logs a read writes the entry and its place in the sealer's queue, nothing more: the
    chain's head is neither read nor locked in the request. The sealer then links it, and until then
    verify_audit counts it as waiting, not as a row slipped in."""
    from clinic.models import AuditPending

    patient = factories.patient()
    audit_chain.seal_pending()
    with django_assert_num_queries(2):
        _read(practitioner, patient)
    entry = AccessLogEntry.objects.get()
    assert not AuditLink.objects.filter(table=AccessLogEntry._meta.db_table, row_id=entry.pk).exists()
    report = audit_chain.verify()
    assert report.problems == [] and report.waiting == 1
    assert audit_chain.seal_pending() == 1
    assert AuditLink.objects.filter(table=AccessLogEntry._meta.db_table, row_id=entry.pk).exists()
    assert not AuditPending.objects.exists()
    assert audit_chain.verify().waiting == 0


@pytest.mark.django_db(transaction=True)
def test_a_read_and_its_place_in_the_queue_are_written_together(practitioner, monkeypatch):
    """A page has no transaction of its own: if queueing the entry fails, the entry is not kept
    either (else verify_audit would report it as slipped in without the application)."""

    def lost(model, pk):
        raise ConnectionError("the database went away")

    patient = factories.patient()
    monkeypatch.setattr(audit_chain, "queue_for_seal", lost)
    with pytest.raises(ConnectionError):
        _read(practitioner, patient)
    assert not AccessLogEntry.objects.exists()


def test_verify_audit_seals_what_is_waiting_and_then_checks_it(practitioner):
    patient = factories.patient()
    audit_chain.seal_pending()
    _read(practitioner, patient)
    ok, out = verify_output()
    assert ok, out
    assert "Sealed 1 entries that were waiting" in out
    assert AuditLink.objects.filter(table=AccessLogEntry._meta.db_table).count() == 1
    assert "Sealed" not in verify_output()[1]  # nothing left waiting


def test_the_beat_schedule_runs_the_sealer_every_few_seconds(settings):
    from clinic import tasks

    entry = settings.CELERY_BEAT_SCHEDULE["audit-seal"]
    assert entry["task"] == tasks.seal_audit_trail.name
    assert entry["schedule"] <= 60


def test_the_sealer_task_links_waiting_rows(practitioner):
    from clinic import tasks

    patient = factories.patient()
    audit_chain.seal_pending()
    _read(practitioner, patient)
    assert tasks.seal_audit_trail() == 1
    assert audit_chain.verify().problems == []
