"""The dispatcher against a real SMTP server (the `smtp_server` fixture in the root conftest)."""

from datetime import timedelta

import pytest
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.utils import timezone

from clinic.errors import Refusal
from clinic.tests.factories import UserFactory
from outbox import kinds
from outbox import services as outbox
from outbox.models import OutboxEvent, OutboxMessage
from outbox.services import send_test_message
from patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

VALID = {"yes"}


@pytest.fixture(autouse=True)
def note_kinds():
    """`note`: a plain message; `checked`: goes only while VALID holds "yes" (the builder re-reads)."""
    kinds.register_kind("note", lambda m: EmailMultiAlternatives(subject=f"Note {m.object_id}", body="Hi"))
    kinds.register_kind(
        "checked",
        lambda m: EmailMultiAlternatives(subject="Checked", body="Still valid") if "yes" in VALID else None,
    )
    VALID.clear()
    VALID.add("yes")


def queue(n=1, *, kind="note", due=None, recipient="ana@example.com", **extra):
    due = due or timezone.now() - timedelta(seconds=1)
    return [
        outbox.enqueue(kind=kind, key=f"{kind}:{i}", recipient=recipient, due_at=due, object_id=i, **extra)
        for i in range(n)
    ]


def test_due_message_arrives_with_recipient_subject_both_parts_and_message_id(smtp_server, clinic_admin):
    message = send_test_message(recipient="ana@example.com", user=clinic_admin)

    result = outbox.dispatch_due()

    assert (result.claimed, result.sent) == (1, 1)
    [received] = smtp_server.messages
    assert received["To"] == "ana@example.com"
    assert received["Subject"] == "Test message from Mesoclinic"
    assert received["Message-ID"] == message.message_id
    assert received["Reply-To"] == "hello@mesoclinic.test"
    text = received.get_body(("plain",)).get_content()
    html = received.get_body(("html",)).get_content()
    assert f"sent by {clinic_admin.get_full_name()} to check" in text
    assert "Rua das Flores 12" in text and "+351 210 000 000" in text
    assert "<strong>Mesoclinic</strong>" in html
    message.refresh_from_db()
    assert (message.state, message.attempts, message.subject) == ("sent", 1, "Test message from Mesoclinic")
    assert message.sent_at is not None
    assert "Rua das Flores 12" in message.body_text and "<strong>Mesoclinic</strong>" in message.body_html
    assert [e.action for e in message.events.all()] == ["created", "sent"]


def test_message_not_yet_due_waits(smtp_server):
    queue(1, due=timezone.now() + timedelta(minutes=5))
    assert outbox.dispatch_due().claimed == 0
    assert smtp_server.messages == []


def test_dispatch_run_twice_sends_each_message_once(smtp_server):
    queue(3)
    first = outbox.dispatch_due()
    second = outbox.dispatch_due()
    assert (first.sent, second.claimed) == (3, 0)
    assert sorted(m["Subject"] for m in smtp_server.messages) == ["Note 0", "Note 1", "Note 2"]


def test_one_smtp_connection_serves_the_whole_batch(smtp_server, monkeypatch):
    import smtplib

    opened = []
    real_init = smtplib.SMTP.__init__

    def counting_init(self, *args, **kwargs):
        opened.append(1)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(smtplib.SMTP, "__init__", counting_init)
    queue(4)
    assert outbox.dispatch_due().sent == 4
    assert len(opened) == 1


def test_temporary_failure_is_retried_with_back_off_then_sent(smtp_server, settings):
    settings.OUTBOX_RETRY_BASE_SECONDS = 60
    [message] = queue(1)
    smtp_server.fail_next(2)

    before = timezone.now()
    assert outbox.dispatch_due().retrying == 1
    message.refresh_from_db()
    assert (message.state, message.attempts) == ("pending", 1)
    assert message.last_error.startswith("SMTP 451 4.3.0 Temporary failure")
    assert before + timedelta(seconds=59) < message.due_at <= timezone.now() + timedelta(seconds=61)
    assert outbox.dispatch_due().claimed == 0  # backing off

    OutboxMessage.objects.filter(pk=message.pk).update(due_at=timezone.now())
    outbox.dispatch_due()
    message.refresh_from_db()
    assert (message.state, message.attempts) == ("pending", 2)
    assert message.due_at > timezone.now() + timedelta(seconds=110)  # 2 × base

    OutboxMessage.objects.filter(pk=message.pk).update(due_at=timezone.now())
    assert outbox.dispatch_due().sent == 1
    message.refresh_from_db()
    assert (message.state, message.attempts, message.last_error) == ("sent", 3, "")
    assert len(smtp_server.messages) == 1
    assert [e.action for e in message.events.all()] == [
        "created",
        "temporary_failure",
        "temporary_failure",
        "sent",
    ]


def test_message_fails_after_the_last_try(smtp_server, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    [message] = queue(1)
    smtp_server.fail_next(10)
    for _ in range(3):
        OutboxMessage.objects.filter(pk=message.pk, state="pending").update(due_at=timezone.now())
        outbox.dispatch_due()
    message.refresh_from_db()
    assert (message.state, message.attempts) == ("failed", 3)
    assert message.events.last().detail.startswith("Gave up after 3 attempts. SMTP 451")
    assert smtp_server.messages == []


def test_refused_recipient_fails_at_once(smtp_server):
    [message] = queue(1, recipient="nobody@example.com")
    smtp_server.refuse("nobody@example.com")
    assert outbox.dispatch_due().failed == 1
    message.refresh_from_db()
    assert (message.state, message.attempts) == ("failed", 1)
    assert message.last_error == "Recipient refused — nobody@example.com: 550 5.1.1 Mailbox unavailable"


def test_refused_recipient_does_not_hold_up_the_rest_of_the_batch(smtp_server):
    queue(1, recipient="nobody@example.com")
    outbox.enqueue(
        kind="note", key="note:ok", recipient="bea@example.com", due_at=timezone.now(), object_id=9
    )
    smtp_server.refuse("nobody@example.com")
    result = outbox.dispatch_due()
    assert (result.failed, result.sent) == (1, 1)
    assert [m["To"] for m in smtp_server.messages] == ["bea@example.com"]


def test_server_down_is_a_temporary_failure(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    [message] = queue(1)
    assert outbox.dispatch_due().retrying == 1
    message.refresh_from_db()
    assert (message.state, message.attempts) == ("pending", 1)
    assert message.last_error.startswith("ConnectionRefusedError")


def test_cancelled_message_is_never_sent(smtp_server):
    queue(2)
    outbox.cancel_pending(key_prefix="note:1", reason="Appointment cancelled.")
    assert outbox.dispatch_due().sent == 1
    assert [m["Subject"] for m in smtp_server.messages] == ["Note 0"]
    assert OutboxMessage.objects.get(idempotency_key="note:1").state == "cancelled"


def test_builder_returning_none_cancels_the_message(smtp_server):
    [message] = queue(1, kind="checked")
    VALID.clear()
    assert outbox.dispatch_due().cancelled == 1
    message.refresh_from_db()
    assert message.state == "cancelled"
    assert message.events.last().detail.startswith("No longer valid when it was due")
    assert smtp_server.messages == []


def test_expired_lease_is_swept_again(smtp_server):
    [message] = queue(1)
    # A run claimed the row and died: it stays `sending` with a lease that has run out.
    assert outbox.claim_next_due("a-run-that-dies").pk == message.pk
    assert outbox.dispatch_due().claimed == 0  # lease still running: nobody else takes it
    OutboxMessage.objects.filter(pk=message.pk).update(lease_until=timezone.now() - timedelta(seconds=1))

    assert outbox.dispatch_due().sent == 1
    message.refresh_from_db()
    assert message.state == "sent"
    assert [e.action for e in message.events.all()] == ["created", "reclaimed", "sent"]
    assert len(smtp_server.messages) == 1


def test_run_that_lost_its_lease_does_not_send(smtp_server):
    [message] = queue(1)
    stale = outbox.claim_next_due("stale-run")
    # The stale run stalls (its build took longer than the lease): the lease runs out ...
    OutboxMessage.objects.filter(pk=message.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    stale.lease_until = timezone.now() - timedelta(seconds=1)
    assert outbox.dispatch_due().sent == 1  # ... and a new run takes the row over and sends it
    smtp = get_connection()
    assert outbox._send(stale, "stale-run", smtp)[0] == "skipped"  # the old run wakes up
    smtp.close()
    assert len(smtp_server.messages) == 1


def test_sent_message_is_never_claimed_again(smtp_server):
    [message] = queue(1)
    outbox.dispatch_due()
    OutboxMessage.objects.filter(pk=message.pk).update(due_at=timezone.now() - timedelta(days=1))
    assert outbox.claim_next_due("another-run") is None


def test_patient_message_keeps_its_patient(smtp_server):
    patient = PatientFactory(email="pat@example.com")
    [message] = queue(1, recipient=patient.email, patient=patient)
    outbox.dispatch_due()
    assert patient.outbox_messages.get().pk == message.pk


def test_retry_now_puts_a_failed_message_back_and_keeps_its_history(smtp_server, clinic_admin):
    [message] = queue(1, recipient="nobody@example.com")
    smtp_server.refuse("nobody@example.com")
    outbox.dispatch_due()
    smtp_server._refused.clear()

    outbox.retry_now(message_id=message.pk, user=clinic_admin)
    assert outbox.dispatch_due().sent == 1
    message.refresh_from_db()
    assert message.state == "sent"
    assert [e.action for e in message.events.all()] == ["created", "failed", "retry", "sent"]
    assert message.events.get(action="retry").user == clinic_admin


def test_retry_now_refuses_a_message_that_has_not_failed(smtp_server):
    [message] = queue(1)
    with pytest.raises(Refusal, match="Only failed messages can be retried; this one is pending."):
        outbox.retry_now(message_id=message.pk)


def test_unreachable_server_is_tried_once_per_batch_not_once_per_message(settings, monkeypatch, caplog):
    import smtplib

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    opened = []
    real_init = smtplib.SMTP.__init__

    def counting_init(self, *args, **kwargs):
        opened.append(1)
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(smtplib.SMTP, "__init__", counting_init)
    queue(3)
    result = outbox.dispatch_due()
    # The first message waits its back-off; the rest are left as they were, for the next run.
    assert (result.claimed, result.retrying) == (1, 1)
    assert len(opened) == 1
    assert sorted(OutboxMessage.objects.values_list("state", "attempts")) == [
        ("pending", 0),
        ("pending", 0),
        ("pending", 1),
    ]
    assert len([r for r in caplog.records if r.name == "outbox.services"]) == 1


def test_a_row_another_run_holds_is_not_taken(smtp_server):
    """Another run claimed row 1 (its lease running) while row 0 was built: only row 0 goes."""

    def build(message):
        if message.object_id == 0:
            OutboxMessage.objects.filter(idempotency_key="thief:1").update(
                state="sending", claim_token="another-run", lease_until=timezone.now() + timedelta(minutes=5)
            )
        return EmailMultiAlternatives(subject=f"Thief {message.object_id}", body="Hi")

    kinds.register_kind("thief", build)
    queue(2, kind="thief")

    result = outbox.dispatch_due()

    assert (result.claimed, result.sent) == (1, 1)
    assert [m["Subject"] for m in smtp_server.messages] == ["Thief 0"]
    taken = OutboxMessage.objects.get(idempotency_key="thief:1")
    assert (taken.state, taken.claim_token, taken.attempts) == ("sending", "another-run", 0)


def test_lease_running_short_is_renewed_before_the_send(smtp_server, settings, monkeypatch):
    from django.core.mail.backends.smtp import EmailBackend

    settings.OUTBOX_LEASE_SECONDS = 300
    leases_at_send = []

    def build(message):
        message.lease_until = timezone.now() + timedelta(seconds=10)  # a build that took 290 s
        OutboxMessage.objects.filter(pk=message.pk).update(lease_until=message.lease_until)
        return EmailMultiAlternatives(subject="Slow", body="Hi")

    real_send = EmailBackend.send_messages

    def send_messages(backend, emails):
        leases_at_send.append(OutboxMessage.objects.get(idempotency_key="slow:0").lease_until)
        return real_send(backend, emails)

    monkeypatch.setattr(EmailBackend, "send_messages", send_messages)
    kinds.register_kind("slow", build)
    queue(1, kind="slow")
    before = timezone.now()

    assert outbox.dispatch_due().sent == 1
    assert leases_at_send[0] > before + timedelta(seconds=290)  # renewed before the e-mail went


def test_a_run_that_lost_the_row_while_building_does_not_send(smtp_server):
    def build(message):  # the build outlasted the lease, and another run took the row over
        message.lease_until = timezone.now() - timedelta(seconds=1)
        OutboxMessage.objects.filter(pk=message.pk).update(claim_token="another-run")
        return EmailMultiAlternatives(subject="Late", body="Hi")

    kinds.register_kind("late", build)
    queue(1, kind="late")
    assert outbox.dispatch_due().skipped == 1
    assert smtp_server.messages == []


def test_each_message_costs_the_same_few_statements(smtp_server, django_assert_num_queries):
    """Per message, one transaction (a savepoint here) holding the previous message's mark (UPDATE
    and its SENT event) and this one's claim (SELECT … FOR UPDATE, UPDATE); then the builder's
    reads (the sender, the clinic settings). Last, the last mark and a claim that finds nothing."""
    admin = UserFactory()
    with transaction.atomic():
        for _ in range(10):
            send_test_message(recipient="ana@example.com", user=admin)
    begin_commit, claim, build, mark = 2, 2, 2, 2
    with django_assert_num_queries(10 * (begin_commit + claim + build + mark) + 3):
        assert outbox.dispatch_due().sent == 10
    assert OutboxEvent.objects.filter(action="sent").count() == 10


def test_an_smtp_outage_logs_one_line_per_run_not_one_per_message(smtp_server, caplog):
    queue(5)
    smtp_server.fail_next(5)
    assert outbox.dispatch_due().retrying == 5
    [line] = [r for r in caplog.records if r.name == "outbox.services"]
    assert line.levelname == "WARNING"
    assert "5 of 5 message(s) not sent in this run (5 will be retried, 0 failed)" in line.getMessage()


def test_a_message_accepted_is_marked_before_the_next_is_claimed(smtp_server, monkeypatch):
    """The durable mark comes right after the server's acceptance: when the next row is claimed,
    every message the server has accepted is marked sent."""
    seen = []
    real_claim = outbox.claim_next_due

    def claim(token):
        seen.append((len(smtp_server.messages), OutboxMessage.objects.filter(state="sent").count()))
        return real_claim(token)

    monkeypatch.setattr(outbox, "claim_next_due", claim)
    queue(3)
    assert outbox.dispatch_due().sent == 3
    assert seen == [(0, 0), (1, 1), (2, 2), (3, 3)]


# --- Refusals and dropped connections ---------------------------------------------------------------


def test_a_message_refused_at_the_end_of_its_data_does_not_hold_up_the_next(smtp_server):
    """Message 0's data is refused: 0 fails, 1 and 2 go."""
    queue(3)
    smtp_server.fail_next(1, "554 5.6.0 Message rejected")
    result = outbox.dispatch_due()
    assert (result.failed, result.sent) == (1, 2)
    assert [m["Subject"] for m in smtp_server.messages] == ["Note 1", "Note 2"]
    states = dict(OutboxMessage.objects.values_list("object_id", "state"))
    assert states == {0: "failed", 1: "sent", 2: "sent"}
    assert OutboxMessage.objects.get(object_id=0).last_error == "SMTP 554 5.6.0 Message rejected"


def test_a_server_that_hangs_up_before_answering_the_data_is_tried_again_later(smtp_server):
    """Whether message 0 arrived is unknown: it is retried later (with the same Message-ID), and the
    rest of the batch goes over a new connection."""
    queue(3)
    smtp_server.drop_next(1)
    result = outbox.dispatch_due()
    assert (result.retrying, result.sent) == (1, 2)
    assert [m["Subject"] for m in smtp_server.messages] == ["Note 1", "Note 2"]
    dropped = OutboxMessage.objects.get(object_id=0)
    assert (dropped.state, dropped.attempts) == ("pending", 1)
    assert dropped.last_error.startswith("SMTPServerDisconnected")
    OutboxMessage.objects.filter(pk=dropped.pk).update(due_at=timezone.now())
    assert outbox.dispatch_due().sent == 1
    assert [m["Subject"] for m in smtp_server.messages] == ["Note 1", "Note 2", "Note 0"]


def test_the_last_message_of_a_batch_is_accepted_and_marked_before_the_run_ends(smtp_server):
    queue(2)
    assert outbox.dispatch_due(batch_size=2).sent == 2
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {"sent"}
    assert OutboxEvent.objects.filter(action="sent").count() == 2
    [last] = queue(1, kind="checked")
    smtp_server.fail_next(1, "451 4.3.0 Try later")
    assert outbox.dispatch_due().retrying == 1  # refused at the very end, once the loop is over
    last.refresh_from_db()
    assert (last.state, last.attempts, last.last_error) == ("pending", 1, "SMTP 451 4.3.0 Try later")


def test_smtp_refusals_are_told_apart_and_described():
    import smtplib

    refused = smtplib.SMTPRecipientsRefused({"ana@example.com": (550, b"5.1.1 No such user")})
    later = smtplib.SMTPRecipientsRefused({"ana@example.com": (450, b"4.2.0 Mailbox busy")})
    nobody = smtplib.SMTPRecipientsRefused({})  # what the dispatcher raises for no address
    assert outbox.is_permanent(refused) and not outbox.is_permanent(later) and outbox.is_permanent(nobody)
    assert outbox.describe(refused) == "Recipient refused — ana@example.com: 550 5.1.1 No such user"
    assert outbox.describe(nobody) == "The e-mail has no recipient address."
    assert outbox.is_permanent(smtplib.SMTPDataError(554, b"Rejected"))
    assert not outbox.is_permanent(smtplib.SMTPServerDisconnected("gone"))


def test_the_plain_text_part_is_plain_text(smtp_server):
    """Text parts render with autoescape off: an apostrophe is an apostrophe, not `&#x27;`."""
    admin = UserFactory(first_name="Rita", last_name="O'Neil")
    send_test_message(recipient="ana@example.com", user=admin)
    outbox.dispatch_due()
    [received] = smtp_server.messages
    assert "sent by Rita O'Neil to check" in received.get_body(("plain",)).get_content()


def test_a_kind_without_a_builder_is_a_programming_error_not_a_refusal(smtp_server):
    """Nothing staff can do about it: a plain LookupError (logged), and the row waits for a fix."""
    message = OutboxMessage.objects.create(
        kind="unregistered",
        idempotency_key="unregistered:1",
        recipient="ana@example.com",
        due_at=timezone.now(),
        message_id=kinds.message_id_for("unregistered:1"),
    )
    with pytest.raises(LookupError, match="No builder registered for kind 'unregistered'") as raised:
        kinds.build_email(message)
    assert not isinstance(raised.value, Refusal)
    assert outbox.dispatch_due().retrying == 1
    assert smtp_server.messages == []
