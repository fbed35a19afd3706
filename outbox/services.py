"""Writes of the outbox: queue, cancel, retry, and the dispatcher that sends what is due.

`enqueue()` runs inside the transaction of the change that causes the message, so the row commits
or rolls back with it. `dispatch_due()` (Celery beat every minute, and one kick after each
transaction that queued something due) claims one row at a time, just before it is built (the
builder re-reads what the message is about) and sent over the run's one SMTP connection, and marks
it sent in a committed transaction of its own right after the server accepted it. So:
- one row per idempotency key (a unique constraint); a row marked sent is never sent again;
- a run that dies leaves at most the one row it was sending claimed, taken again after its lease
  and re-sent under the same Message-ID; the rest stays pending for the next run;
- broker faults never stop a run between acceptance and mark: workers do not cancel running
  tasks on a lost broker connection (settings.py, CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_…).
"""

import logging
import smtplib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from clinic.errors import Refusal

from .kinds import TEST_MESSAGE, build_email, html_part, message_id_for, registered_kinds
from .models import OutboxEvent, OutboxMessage

logger = logging.getLogger(__name__)
State, Action = OutboxMessage.State, OutboxEvent.Action
DISPATCH_TASK = "outbox.tasks.dispatch_outbox"
# One attempt to reach the broker, bounded: a broker that is down never holds up a page.
KICK_TRANSPORT_OPTIONS = {"max_retries": 0, "socket_connect_timeout": 0.1, "socket_timeout": 0.1}


def _event(message: OutboxMessage, action: str, detail: str = "", user=None) -> None:
    OutboxEvent.objects.create(
        message=message,
        action=action,
        state=message.state,
        attempt=message.attempts,
        detail=detail[:2000],
        user=user,
    )


def _require_transaction() -> None:
    if connection.get_autocommit():
        raise Refusal(
            "enqueue() must run inside the transaction of the change that causes the message "
            "(wrap the caller in transaction.atomic)."
        )


def enqueue(
    *, kind: str, key: str, recipient: str, due_at: datetime, patient=None, object_id=None
) -> OutboxMessage:
    """Put a message in the outbox once per `key`, in the caller's transaction. The same key again
    updates a pending row (recipient, due time); a cancelled row comes back as pending; a row being
    sent, sent or failed is returned unchanged."""
    _require_transaction()
    if kind not in registered_kinds():
        raise Refusal(f"Unknown message kind {kind!r}: register it with register_kind().")
    if not recipient:
        raise Refusal("The message has no recipient address.")
    # Two transactions enqueueing one key wait for each other (PostgreSQL; SQLite serialises them).
    message = OutboxMessage.objects.select_for_update().filter(idempotency_key=key).first()
    if message is not None:
        return _update_existing(message, recipient=recipient, due_at=due_at)
    try:
        with transaction.atomic():  # a savepoint: losing the race below keeps the caller's work
            message = OutboxMessage.objects.create(
                kind=kind,
                idempotency_key=key,
                recipient=recipient,
                patient=patient,
                object_id=object_id,
                due_at=due_at,
                message_id=message_id_for(key),
            )
            _event(message, Action.CREATED, f"Due {_fmt(due_at)} to {recipient}.")
    except IntegrityError:  # another transaction inserted the key first: update that row
        message = OutboxMessage.objects.select_for_update().get(idempotency_key=key)
        return _update_existing(message, recipient=recipient, due_at=due_at)
    _kick_after_commit(due_at)
    return message


def _update_existing(message: OutboxMessage, *, recipient: str, due_at: datetime) -> OutboxMessage:
    if message.state not in (State.PENDING, State.CANCELLED):
        return message
    changes = [f"due {_fmt(message.due_at)} → {_fmt(due_at)}"] if message.due_at != due_at else []
    if message.recipient != recipient:
        changes.append(f"recipient {message.recipient} → {recipient}")
    revived = message.state == State.CANCELLED
    if changes or revived:
        message.due_at, message.recipient, message.state, message.last_error = (
            due_at,
            recipient,
            State.PENDING,
            "",
        )
        message.save(update_fields=["due_at", "recipient", "state", "last_error", "updated_at"])
        detail = "; ".join(changes) or f"Due {_fmt(due_at)}."
        _event(
            message,
            Action.CREATED if revived else Action.UPDATED,
            ("Queued again: " if revived else "") + detail,
        )
        _kick_after_commit(due_at)
    return message


def cancel_pending(*, key_prefix: str, reason: str) -> int:
    """Cancel the pending rows whose key starts with `key_prefix` (e.g. "reminder:42:") in the
    caller's transaction; returns how many. Rows being sent, sent or failed are left alone."""
    _require_transaction()
    rows = OutboxMessage.objects.select_for_update().filter(
        idempotency_key__startswith=key_prefix, state=State.PENDING
    )
    for message in (rows := list(rows)):
        message.state, message.last_error = State.CANCELLED, reason
        message.save(update_fields=["state", "last_error", "updated_at"])
        _event(message, Action.CANCELLED, reason)
    return len(rows)


@transaction.atomic
def retry_now(*, message_id: int, user=None) -> OutboxMessage:
    """Staff try a failed message again: pending, due now, with a full set of tries again."""
    message = OutboxMessage.objects.select_for_update().get(pk=message_id)
    if message.state != State.FAILED:
        raise Refusal(
            f"Only failed messages can be retried; this one is {message.get_state_display().lower()}."
        )
    previous, message.state, message.due_at, message.attempts = (
        message.attempts,
        State.PENDING,
        timezone.now(),
        0,
    )
    message.lease_until, message.claim_token = None, ""
    message.save(update_fields=["state", "due_at", "attempts", "lease_until", "claim_token", "updated_at"])
    _event(message, Action.RETRY, f"Retry requested after {previous} attempt(s).", user=user)
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
    from clinic.celery import app

    try:
        with app.connection_for_write(transport_options=KICK_TRANSPORT_OPTIONS) as broker:
            app.send_task(DISPATCH_TASK, connection=broker, retry=False)
    except Exception as exc:  # the rows are committed; beat sends them within a minute
        logger.warning("Could not ask a worker to send now (%s); beat will send within a minute.", exc)


def _fmt(value: datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z")


# --- The dispatcher ------------------------------------------------------------------------------


@dataclass
class DispatchResult:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0
    skipped: int = 0


def dispatch_due(*, batch_size: int | None = None) -> DispatchResult:
    """Send up to `batch_size` due messages over one SMTP connection; log what failed in one line."""
    token, result, problems, smtp = uuid.uuid4().hex, DispatchResult(), [], get_connection()
    try:
        while result.claimed < (batch_size or settings.OUTBOX_BATCH_SIZE):
            if (message := claim_next_due(token)) is None:
                break
            result.claimed += 1
            outcome, problem, reachable = _send(message, token, smtp)
            setattr(result, outcome, getattr(result, outcome) + 1)
            problems += [problem] if problem else []
            if not reachable:
                break  # not once per message: the rest waits for the next run
    finally:
        _close(smtp)
    if problems:
        logger.warning(
            "Outbox: %d of %d message(s) not sent in this run (%d will be retried, %d failed). First: %s",
            *(len(problems), result.claimed, result.retrying, result.failed, problems[0]),
        )
    return result


def claim_next_due(token: str) -> OutboxMessage | None:
    """Claim the next due row for run `token`: pending, or left `sending` by a run that died once its
    lease has run out. skip_locked lets concurrent runs take different rows (PostgreSQL)."""
    now = timezone.now()
    with transaction.atomic():
        # `due_at <= now` holds for sending rows too; said for both it bounds the index scan.
        due = OutboxMessage.objects.filter(
            Q(state=State.PENDING) | Q(state=State.SENDING, lease_until__lt=now), due_at__lte=now
        ).order_by("due_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        if (message := due.first()) is None:
            return None
        interrupted, message.state, message.claim_token = message.state == State.SENDING, State.SENDING, token
        message.lease_until = now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
        message.save(update_fields=["state", "claim_token", "lease_until", "updated_at"])
        if interrupted:
            _event(
                message,
                Action.RECLAIMED,
                "The previous attempt to send it was interrupted; sending it again.",
            )
    return message


def _send(message: OutboxMessage, token: str, smtp) -> tuple[str, str, bool]:
    """Build, send and mark one claimed row: (outcome, problem to log, whether the server answered)."""
    try:
        email = build_email(message)
    except Exception as exc:  # a bug in a builder: keep the row, retry later, show the error
        logger.exception("Building outbox message %s failed.", message.id)
        return *_record_failure(message, token, exc, permanent=False), True
    if not _still_ours(message, token):
        return "skipped", "", True  # another run took it after our lease ran out
    if email is None:
        return _cancel_invalid(message, token), "", True
    try:
        smtp.open()  # a no-op while open: one connection for the run
    except (smtplib.SMTPException, OSError) as exc:  # no connection, no greeting
        return *_record_failure(message, token, exc, permanent=False), False
    try:
        if not smtp.send_messages([email]):
            raise smtplib.SMTPRecipientsRefused({})  # Django's backend sends nothing without one
    except (smtplib.SMTPException, OSError) as exc:  # TimeoutError and ConnectionError are OSErrors
        _close(smtp)  # it may be unusable; the next message opens a new one
        return *_record_failure(message, token, exc, permanent=is_permanent(exc)), True
    message.state, message.sent_at, message.attempts = State.SENT, timezone.now(), message.attempts + 1
    message.lease_until, message.last_error, message.recipient = None, "", email.to[0]
    message.subject, message.body_text, message.body_html = email.subject[:255], email.body, html_part(email)
    with transaction.atomic():  # by id alone: the message has gone, so the row says so
        message.save()
        _event(message, Action.SENT, f"Accepted by the mail server for {', '.join(email.to)}.")
    return "sent", "", True


def _still_ours(message: OutboxMessage, token: str) -> bool:
    """No other run takes a row before its lease runs out: with half of it ahead the row is ours
    without asking; past that, check in the database and renew it."""
    now, lease = timezone.now(), timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    if message.lease_until - now > lease / 2:
        return True
    message.lease_until = now + lease
    held = OutboxMessage.objects.filter(pk=message.pk, state=State.SENDING, claim_token=token)
    return held.update(lease_until=message.lease_until, updated_at=now) == 1


def _cancel_invalid(message: OutboxMessage, token: str) -> str:
    """The builder says the message should no longer go: cancel the row (if we still hold it)."""
    with transaction.atomic():
        if OutboxMessage.objects.filter(id=message.id, state=State.SENDING, claim_token=token).update(
            state=State.CANCELLED,
            last_error="No longer valid when it was due.",
            lease_until=None,
            updated_at=timezone.now(),
        ):
            message.state = State.CANCELLED
            _event(
                message,
                Action.CANCELLED,
                "No longer valid when it was due (cancelled, moved or consent withdrawn).",
            )
    return "cancelled"


def _record_failure(
    message: OutboxMessage, token: str, exc: BaseException, *, permanent: bool
) -> tuple[str, str]:
    error, attempts, now = describe(exc), message.attempts + 1, timezone.now()
    if permanent or attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        state, action, outcome, due_at = State.FAILED, Action.FAILED, "failed", message.due_at
        detail = error if permanent else f"Gave up after {attempts} attempts. {error}"
    else:
        state, action, outcome = State.PENDING, Action.TEMPORARY_FAILURE, "retrying"
        due_at = now + backoff_delay(attempts)
        detail = f"{error} Next try {_fmt(due_at)}."
    with transaction.atomic():
        if OutboxMessage.objects.filter(id=message.id, state=State.SENDING, claim_token=token).update(
            state=state,
            attempts=attempts,
            due_at=due_at,
            last_error=error[:2000],
            lease_until=None,
            updated_at=now,
        ):
            message.state, message.attempts = state, attempts
            _event(message, action, detail)
    # The log names the message, never the server's answer: that can quote the address (a name), and
    # logs hold no patient data; the answer is on the message's page and in its events.
    return outcome, f"message {message.id} ({message.kind}), {outcome}; the reason is on its Messages page"


def _close(smtp) -> None:
    try:
        smtp.close()
    except Exception:
        logger.warning("Closing the SMTP connection failed.", exc_info=True)


def is_permanent(exc: BaseException) -> bool:
    """A 5xx answer will not change on retry; 4xx answers, dropped connections and timeouts may."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):  # none at all (no address) is permanent too
        return all(500 <= code < 600 for code, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600


def describe(exc: BaseException) -> str:
    """The failure in words for staff (and the log)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        parts = [f"{addr}: {code} {_text(msg)}" for addr, (code, msg) in exc.recipients.items()]
        return "Recipient refused — " + "; ".join(parts) if parts else "The e-mail has no recipient address."
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"SMTP {exc.smtp_code} {_text(exc.smtp_error)}"
    return f"{type(exc).__name__}: {exc}"


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def backoff_delay(attempts: int) -> timedelta:
    """Wait before try `attempts + 1`: base, 2×base, 4×base, … (1, 2, 4, 8, 16 minutes by default)."""
    return timedelta(seconds=settings.OUTBOX_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0))
