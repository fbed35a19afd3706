"""Writes of the outbox: queue, cancel, retry, and the dispatcher that sends what is due. Why each
step is as it is (leases, one commit per message, the kick): docs/design.md, "The outbox"."""

import logging
import smtplib
import uuid
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import NamedTuple

from django.conf import settings
from django.core.mail import get_connection
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from clinic.celery import app
from clinic.errors import Refusal

from .kinds import TEST_MESSAGE, build_email, html_part, message_id_for, registered_kinds
from .models import OutboxEvent, OutboxMessage

logger = logging.getLogger(__name__)
State, Action = OutboxMessage.State, OutboxEvent.Action
# One attempt to reach the broker, bounded: a broker that is down never holds up a page.
KICK_TRANSPORT_OPTIONS = {"max_retries": 0, "socket_connect_timeout": 0.1, "socket_timeout": 0.1}


def _change(message: OutboxMessage, action: str, detail: str, *, user=None, held_by="", **fields) -> None:
    """Change the row and record it as an event; with `held_by`, only while that run holds the row."""
    rows = OutboxMessage.objects.filter(pk=message.pk)
    if held_by:
        rows = rows.filter(state=State.SENDING, claim_token=held_by)
    if fields and not rows.update(**fields, updated_at=timezone.now()):
        return
    for name, value in fields.items():
        setattr(message, name, value)
    message.events.create(
        action=action, state=message.state, attempt=message.attempts, detail=detail, user=user
    )


def enqueue(
    *, kind: str, key: str, recipient: str, due_at: datetime, patient=None, object_id=None
) -> OutboxMessage:
    """Put a message in the outbox once per `key`, in the caller's transaction. The same key again
    updates a pending row (recipient, due time); a cancelled row comes back as pending; a row being
    sent, sent or failed is returned unchanged."""
    if connection.get_autocommit():  # programming errors, never shown to staff
        raise transaction.TransactionManagementError(
            "enqueue() must run inside the transaction of the change that causes the message."
        )
    if kind not in registered_kinds():
        raise LookupError(f"Unknown message kind {kind!r}: register it with register_kind().")
    if not recipient:
        raise Refusal("The message has no recipient address.")
    # A second transaction with the same key waits for the first (the row lock, or PostgreSQL's unique
    # index; SQLite serialises them). The insert runs in a savepoint: the loser updates the winner's row.
    new = {"kind": kind, "recipient": recipient, "patient": patient, "object_id": object_id}
    message, created = OutboxMessage.objects.select_for_update().get_or_create(
        idempotency_key=key, defaults=new | {"due_at": due_at, "message_id": message_id_for(key)}
    )
    if created:
        _change(message, Action.CREATED, f"Due {_fmt(due_at)} to {recipient}.")
        _kick_after_commit(due_at)
        return message
    changes = [f"due {_fmt(message.due_at)} → {_fmt(due_at)}"] if message.due_at != due_at else []
    changes += [f"recipient {message.recipient} → {recipient}"] if message.recipient != recipient else []
    detail = "; ".join(changes) or f"Due {_fmt(due_at)}."
    if message.state == State.CANCELLED:
        action, detail = Action.CREATED, f"Queued again: {detail}"
    elif message.state == State.PENDING and changes:
        action = Action.UPDATED
    else:
        return message
    _change(message, action, detail, due_at=due_at, recipient=recipient, state=State.PENDING, last_error="")
    _kick_after_commit(due_at)
    return message


def cancel_pending(*, key_prefix: str, reason: str) -> int:
    """Cancel the pending rows whose key starts with `key_prefix` (e.g. "reminder:42:") in the
    caller's transaction; returns how many. Rows being sent, sent or failed are left alone."""
    rows = OutboxMessage.objects.select_for_update().filter(
        idempotency_key__startswith=key_prefix, state=State.PENDING
    )
    for message in (rows := list(rows)):
        _change(message, Action.CANCELLED, reason, state=State.CANCELLED, last_error=reason)
    return len(rows)


@transaction.atomic
def retry_now(*, message_id: int, user=None) -> OutboxMessage:
    """Staff try a failed message again: pending, due now, with a full set of tries again."""
    message = OutboxMessage.objects.select_for_update().get(pk=message_id)
    if message.state != State.FAILED:
        raise Refusal(
            f"Only failed messages can be retried; this one is {message.get_state_display().lower()}."
        )
    detail = f"Retry requested after {message.attempts} attempt(s)."
    _change(message, Action.RETRY, detail, user=user, state=State.PENDING, due_at=timezone.now(), attempts=0)
    _kick_after_commit(message.due_at)
    return message


@transaction.atomic
def send_test_message(*, recipient: str, user) -> OutboxMessage:
    """Queue a test e-mail to `recipient`, due now; it goes through the outbox like any message."""
    key = f"{TEST_MESSAGE}:{uuid.uuid4().hex}"
    return enqueue(kind=TEST_MESSAGE, key=key, recipient=recipient, due_at=timezone.now(), object_id=user.pk)


def _kick_after_commit(due_at: datetime) -> None:
    """Ask a worker to dispatch once the transaction commits, if the message is due now: one kick
    per transaction however many messages it queues (one run sends them all)."""
    if not settings.OUTBOX_KICK_ON_COMMIT or due_at > timezone.now():
        return
    # The callbacks this transaction runs on commit (a rolled-back savepoint's are dropped from it).
    if not any(func is _kick for _, func, _ in connection.run_on_commit):
        transaction.on_commit(_kick)


def _kick() -> None:
    try:
        with app.connection_for_write(transport_options=KICK_TRANSPORT_OPTIONS) as broker:
            app.send_task("outbox.tasks.dispatch_outbox", connection=broker, retry=False)
    except Exception as exc:  # the rows are committed; beat sends them within a minute
        logger.warning("Could not ask a worker to send now (%s); beat will send within a minute.", exc)


def _fmt(value: datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z")


class Outcome(NamedTuple):
    what: str  # what dispatch_due() counts: sent, retrying, failed, cancelled or skipped
    changes: dict  # to the claimed row (none: skipped, another run holds it)
    event: tuple = ()  # (action, detail)
    reachable: bool = True  # False: the SMTP server did not answer, and the run stops


def dispatch_due(*, batch_size: int | None = None) -> SimpleNamespace:
    """Send up to `batch_size` due messages over one SMTP connection, claimed one at a time, and count
    the outcomes. Each is written in the transaction that claims the next row: one commit per
    message, and every message the server accepted is marked sent before the next is claimed."""
    token, smtp = uuid.uuid4().hex, get_connection()
    result = SimpleNamespace(claimed=0, sent=0, retrying=0, failed=0, cancelled=0, skipped=0)
    message = outcome = problem = None
    try:
        while True:
            with transaction.atomic():
                if outcome and outcome.changes:  # of `message`, the row claimed last
                    # Sent is marked by id alone (the message has gone, so the row says so); any
                    # other outcome only while this run still holds the row.
                    held_by = "" if outcome.changes["state"] == State.SENT else token
                    _change(message, *outcome.event, held_by=held_by, lease_until=None, **outcome.changes)
                if outcome and not outcome.reachable:
                    break  # not once per message: the rest waits for the next run
                if result.claimed >= (batch_size or settings.OUTBOX_BATCH_SIZE):
                    break
                if (message := claim_next_due(token)) is None:
                    break
            result.claimed += 1
            outcome = _send(message, token, smtp)
            setattr(result, outcome.what, getattr(result, outcome.what) + 1)
            if outcome.what in ("retrying", "failed") and problem is None:
                # The log names the message, never the server's answer: that can quote the address
                # (a name), and logs hold no patient data; the answer is on the message's page.
                problem = f"message {message.id} ({message.kind}), {outcome.what}; the reason is on its page"
    finally:
        smtp.close()
    if problem:  # one line per run, however many messages failed
        logger.warning(
            "Outbox: %d of %d message(s) not sent in this run (%d will be retried, %d failed). First: %s",
            *(result.retrying + result.failed, result.claimed, result.retrying, result.failed, problem),
        )
    return result


def claim_next_due(token: str) -> OutboxMessage | None:
    """In the caller's transaction, claim the next due row for run `token`: pending, or `sending` by
    a run that died, once its lease ran out. Concurrent runs skip each other's rows (PostgreSQL)."""
    now = timezone.now()
    # `due_at <= now` holds for sending rows too; said for both it bounds the index scan.
    due = OutboxMessage.objects.filter(
        Q(state=State.PENDING) | Q(state=State.SENDING, lease_until__lt=now), due_at__lte=now
    )
    if (message := due.order_by("due_at", "id").select_for_update(skip_locked=True).first()) is None:
        return None
    lease_until = now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    if message.state == State.SENDING:
        detail = "The previous attempt to send it was interrupted; sending it again."
        _change(message, Action.RECLAIMED, detail, claim_token=token, lease_until=lease_until)
    else:
        message.state, message.claim_token, message.lease_until = State.SENDING, token, lease_until
        message.save(update_fields=["state", "claim_token", "lease_until", "updated_at"])
    return message


def _send(message: OutboxMessage, token: str, smtp) -> Outcome:
    """Build and send one claimed row."""
    try:
        email = build_email(message)
    except Exception as exc:  # a bug in a builder: keep the row, retry later, show the error
        logger.exception("Building outbox message %s failed.", message.id)
        return _failure(message, exc, permanent=False)
    # No other run takes the row before its lease runs out: with half of it ahead the row is ours
    # without asking; past that, check in the database and renew it.
    now, lease = timezone.now(), timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    if message.lease_until - now <= lease / 2:
        message.lease_until = now + lease
        held = OutboxMessage.objects.filter(pk=message.pk, state=State.SENDING, claim_token=token)
        if not held.update(lease_until=message.lease_until, updated_at=now):
            return Outcome("skipped", {})  # another run took it after our lease ran out
    if email is None:
        detail = "No longer valid when it was due (cancelled, moved or consent withdrawn)."
        changes = {"state": State.CANCELLED, "last_error": "No longer valid when it was due."}
        return Outcome("cancelled", changes, (Action.CANCELLED, detail))
    try:
        smtp.open()  # a no-op while open: one connection for the run
    except (smtplib.SMTPException, OSError) as exc:  # no connection, no greeting
        return _failure(message, exc, permanent=False)._replace(reachable=False)
    try:
        if not smtp.send_messages([email]):
            raise smtplib.SMTPRecipientsRefused({})  # Django's backend sends nothing without one
    except (smtplib.SMTPException, OSError) as exc:  # TimeoutError and ConnectionError are OSErrors
        smtp.close()  # it may be unusable; the next message opens a new one
        return _failure(message, exc, permanent=is_permanent(exc))
    changes = {"state": State.SENT, "sent_at": timezone.now(), "attempts": message.attempts + 1}
    changes |= {"last_error": "", "recipient": email.to[0], "subject": email.subject[:255]}
    changes |= {"body_text": email.body, "body_html": html_part(email)}
    return Outcome("sent", changes, (Action.SENT, f"Accepted by the mail server for {', '.join(email.to)}."))


def _failure(message: OutboxMessage, exc: BaseException, *, permanent: bool) -> Outcome:
    error, attempts = describe(exc), message.attempts + 1
    changes = {"attempts": attempts, "last_error": error}
    if permanent or attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        detail = error if permanent else f"Gave up after {attempts} attempts. {error}"
        return Outcome("failed", changes | {"state": State.FAILED}, (Action.FAILED, detail))
    # Back-off before the next try: base, 2×base, 4×base, … (1, 2, 4, 8, 16 minutes by default).
    due_at = timezone.now() + timedelta(seconds=settings.OUTBOX_RETRY_BASE_SECONDS * 2 ** (attempts - 1))
    changes |= {"state": State.PENDING, "due_at": due_at}
    return Outcome("retrying", changes, (Action.TEMPORARY_FAILURE, f"{error} Next try {_fmt(due_at)}."))


def is_permanent(exc: BaseException) -> bool:
    """A 5xx answer will not change on retry; 4xx answers, dropped connections and timeouts may."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):  # none at all (no address) is permanent too
        return all(500 <= code < 600 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600


def describe(exc: BaseException) -> str:
    """The failure in words for staff (and the log)."""
    text = lambda value: value.decode(errors="replace") if isinstance(value, bytes) else str(value)  # noqa: E731
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        parts = [f"{addr}: {code} {text(msg)}" for addr, (code, msg) in exc.recipients.items()]
        return "Recipient refused — " + "; ".join(parts) if parts else "The e-mail has no recipient address."
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"SMTP {exc.smtp_code} {text(exc.smtp_error)}"
    return f"{type(exc).__name__}: {exc}"
