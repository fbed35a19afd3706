"""The e-mail outbox (DESIGN.md, "E-mail goes through an outbox"; Q9, Q10).

Writers call `enqueue()` inside the transaction of the change that causes the message, so the row
commits (or rolls back) with that change. The dispatcher (`dispatch_due()`, run every minute by
Celery beat) claims due rows, asks the kind's builder for the e-mail just before sending (the
builder re-reads the appointment or session and returns None when the message is no longer
right), sends over one SMTP connection per batch and marks each row sent right after its send.

Guarantees:
- one row per idempotency key (a unique constraint), so a repeated enqueue never duplicates;
- a row marked sent is never sent again, and never goes back to pending;
- a claimed row carries a lease: if its worker dies, the row is claimed again after the lease;
  before each send the claimer checks it still holds the row (claim token) with at least half its
  lease ahead, renewing the lease when less is left;
- each sent message is marked sent, with its SENT event and what was sent, in a committed
  transaction of its own once the server has accepted it and before the next message's data goes
  (`clinic.smtp_split`), so a crash repeats at most the one in flight (on PostgreSQL that one
  statement also checks the claim on the next row: one round trip per message);
- every message carries a Message-ID derived from its key, so the one send that can repeat (a
  crash between the SMTP server's accept and our database write) is recognisably the same message.

Adding a kind (phase 2: reminders, series confirmations, change notices, aftercare):
1. templates `emails/<kind>_subject.txt`, `emails/<kind>.txt`, `emails/<kind>.html` (extend
   `emails/_base.html`, include `emails/_footer.txt`), rendered with `clinic.emails.render_email`;
2. a builder `build_<kind>(message)` that loads `message.object_id` afresh and returns None when the
   message should no longer go (cancelled or past appointment, consent withdrawn);
3. `register_kind("<kind>", build_<kind>, label="…", sample=sample_<kind>)` in the app's
   AppConfig.ready() (the sample renders the templates from made-up data for "E-mail templates");
4. `enqueue(kind=…, key=…, …)` inside the service's transaction, with keys that name what they are
   about so `cancel_pending(key_prefix=…)` finds them: `reminder:<appointment id>:<lead hours>`,
   `series:<series id>`, `change:<appointment id>:<version>`, `aftercare:<session record id>`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import select
import smtplib
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from psycopg import postgres, pq

from . import smtp_split
from .models import OutboxEvent, OutboxMessage

logger = logging.getLogger(__name__)

State = OutboxMessage.State
Action = OutboxEvent.Action

Builder = Callable[[OutboxMessage], EmailMessage | None]


class OutboxError(Exception):
    """A refusal with a message a person can read."""


# --- Settings (each overridable in settings.py / the environment) ---------------------------------


def lease_seconds() -> int:
    """How long a claimed row stays with its claimer before another run may take it."""
    return int(getattr(settings, "OUTBOX_LEASE_SECONDS", 300))


def max_attempts() -> int:
    return int(getattr(settings, "OUTBOX_MAX_ATTEMPTS", 6))


def retry_base_seconds() -> int:
    return int(getattr(settings, "OUTBOX_RETRY_BASE_SECONDS", 60))


def batch_size_default() -> int:
    return int(getattr(settings, "OUTBOX_BATCH_SIZE", 50))


# --- Kinds ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    builder: Builder
    # Renders the kind's templates with made-up data, for the staff "E-mail templates" page.
    sample: Callable[[], EmailMessage] | None = None


_KINDS: dict[str, Kind] = {}


def register_kind(
    kind: str, builder: Builder, *, label: str = "", sample: Callable[[], EmailMessage] | None = None
) -> None:
    """Declare a kind of message and the function that builds its e-mail.

    `builder(message)` re-reads the domain objects the message is about and returns the e-mail to
    send (an EmailMessage or EmailMultiAlternatives; `to` defaults to message.recipient), or None
    when the message should no longer go (the row is then cancelled, never sent). It is called
    just before the send and to preview a pending message, so it must not change anything.
    Registering the same kind again replaces the builder (module reloads, tests). `sample()`, if
    given, renders the kind's e-mail from made-up data (no database writes) for staff to read.
    """
    _KINDS[kind] = Kind(
        name=kind, label=label or kind.replace("_", " ").capitalize(), builder=builder, sample=sample
    )


def registered_kinds() -> dict[str, Kind]:
    return dict(_KINDS)


def kind_label(kind: str) -> str:
    found = _KINDS.get(kind)
    return found.label if found else kind.replace("_", " ").capitalize()


def message_id_for(key: str) -> str:
    """The stable Message-ID of the message with this idempotency key."""
    domain = getattr(settings, "OUTBOX_MESSAGE_ID_DOMAIN", "") or _from_domain()
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def _from_domain() -> str:
    address = settings.DEFAULT_FROM_EMAIL.rsplit("<", 1)[-1].rstrip(">").strip()
    return address.rsplit("@", 1)[-1] if "@" in address else "mesoclinic.invalid"


# --- Writes: enqueue, cancel, reschedule ----------------------------------------------------------


def _event(message: OutboxMessage, action: str, detail: str = "", user=None) -> OutboxEvent:
    return OutboxEvent.objects.create(
        message=message,
        action=action,
        state=message.state,
        attempt=message.attempts,
        detail=detail[:2000],
        user=user,
    )


def _require_transaction() -> None:
    if connection.get_autocommit():
        raise OutboxError(
            "enqueue() must run inside the transaction of the change that causes the message "
            "(wrap the caller in transaction.atomic)."
        )


def enqueue(
    *,
    kind: str,
    key: str,
    recipient: str,
    due_at: datetime,
    patient=None,
    object_id: int | None = None,
) -> OutboxMessage:
    """Put a message in the outbox, once per `key`, in the caller's transaction.

    The same key again updates the pending row (recipient, due time) instead of adding one; a
    cancelled row comes back as pending (e.g. consent given again); a row that is sending, sent or
    failed is returned unchanged — a sent message is never sent again, a failed one waits for
    staff to retry it.
    """
    _require_transaction()
    if kind not in _KINDS:
        raise OutboxError(f"Unknown message kind {kind!r}: register it with register_kind().")
    if not recipient:
        raise OutboxError("The message has no recipient address.")
    # select_for_update: two transactions enqueueing the same key wait for each other (PostgreSQL);
    # SQLite's IMMEDIATE transactions are serialised already.
    message = OutboxMessage.objects.select_for_update().filter(idempotency_key=key).first()
    if message is None:
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
        except IntegrityError:
            # Another transaction inserted the same key first (the unique constraint decided):
            # that row is the message; update it like any existing one.
            message = OutboxMessage.objects.select_for_update().get(idempotency_key=key)
            return _update_existing(message, recipient=recipient, due_at=due_at)
        _kick_after_commit(due_at)
        return message
    return _update_existing(message, recipient=recipient, due_at=due_at)


def _update_existing(message: OutboxMessage, *, recipient: str, due_at: datetime) -> OutboxMessage:
    if message.state in (State.PENDING, State.CANCELLED):
        changes = []
        if message.due_at != due_at:
            changes.append(f"due {_fmt(message.due_at)} → {_fmt(due_at)}")
        if message.recipient != recipient:
            changes.append(f"recipient {message.recipient} → {recipient}")
        revived = message.state == State.CANCELLED
        if changes or revived:
            message.due_at = due_at
            message.recipient = recipient
            message.state = State.PENDING
            message.last_error = ""
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
    """Cancel every pending row whose key starts with `key_prefix` (e.g. "reminder:42:"), in the
    caller's transaction; returns how many. Rows being sent, sent or failed are left alone.
    Used when an appointment is cancelled or consent withdrawn (Q10)."""
    _require_transaction()
    rows = list(
        OutboxMessage.objects.select_for_update().filter(
            idempotency_key__startswith=key_prefix, state=State.PENDING
        )
    )
    for message in rows:
        message.state = State.CANCELLED
        message.last_error = reason
        message.save(update_fields=["state", "last_error", "updated_at"])
        _event(message, Action.CANCELLED, reason)
    return len(rows)


def reschedule_pending(*, key: str, due_at: datetime) -> OutboxMessage | None:
    """Move a pending row to a new due time (a moved appointment's reminder follows it, Q10).
    Returns the row, or None when there is no pending row with that key."""
    _require_transaction()
    message = (
        OutboxMessage.objects.select_for_update().filter(idempotency_key=key, state=State.PENDING).first()
    )
    if message is None:
        return None
    if message.due_at != due_at:
        detail = f"Due {_fmt(message.due_at)} → {_fmt(due_at)}."
        message.due_at = due_at
        message.save(update_fields=["due_at", "updated_at"])
        _event(message, Action.RESCHEDULED, detail)
        _kick_after_commit(due_at)
    return message


@transaction.atomic
def retry_now(*, message_id: int, user=None) -> OutboxMessage:
    """Staff asked to try a failed message again: back to pending, due now. Attempts so far stay
    in the history; the attempt counter starts again so the message gets its full set of tries."""
    message = OutboxMessage.objects.select_for_update().get(pk=message_id)
    if message.state != State.FAILED:
        raise OutboxError(
            f"Only failed messages can be retried; this one is {message.get_state_display().lower()}."
        )
    previous = message.attempts
    message.state = State.PENDING
    message.due_at = timezone.now()
    message.attempts = 0
    message.lease_until = None
    message.claim_token = ""
    message.save(update_fields=["state", "due_at", "attempts", "lease_until", "claim_token", "updated_at"])
    _event(message, Action.RETRY, f"Retry requested after {previous} attempt(s).", user=user)
    _kick_after_commit(message.due_at)
    return message


def _kick_after_commit(due_at: datetime) -> None:
    """Ask a worker to dispatch right after commit when the message is due now; beat would pick it
    up within the minute anyway, so a broker hiccup here is only logged."""
    if not getattr(settings, "OUTBOX_KICK_ON_COMMIT", True) or due_at > timezone.now():
        return

    def kick():
        try:
            from .tasks import dispatch_outbox

            dispatch_outbox.delay()
        except Exception:  # the row is committed; beat sends it within a minute
            logger.warning(
                "Could not kick the outbox dispatcher; beat will pick the message up.", exc_info=True
            )

    transaction.on_commit(kick)


def _fmt(value: datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M %Z")


# --- The dispatcher -------------------------------------------------------------------------------


def claim_due(batch_size: int | None = None, *, now: datetime | None = None) -> tuple[str, list[int]]:
    """Claim up to `batch_size` due rows for this run; returns (claim token, ids).

    Due: pending with due_at <= now, or sending with an expired lease (its worker died). On
    PostgreSQL `select_for_update(skip_locked=True)` lets concurrent runs take disjoint rows; on
    SQLite the IMMEDIATE transaction serialises runs. Claimed rows become `sending` with a lease.
    """
    token, rows = _claim(batch_size, now=now)
    return token, [row.id for row in rows]


def _claim(batch_size: int | None = None, *, now: datetime | None = None) -> tuple[str, list[OutboxMessage]]:
    """`claim_due()`, returning the claimed rows themselves (as they are after the claim).

    The dispatcher sends from these rows without reading them again: while our claim token is on a
    row (state sending), nothing but our run writes it — enqueue, cancel, reschedule and retry
    touch only pending, cancelled or failed rows, and another run takes it over only once our lease
    has run out, which the claim check before each send catches. The builders re-read the domain
    objects (appointment, session, patient) they need anyway.
    """
    now = now or timezone.now()
    token = uuid.uuid4().hex
    lease_until = now + timedelta(seconds=lease_seconds())
    with transaction.atomic():
        # `due_at <= now` holds for sending rows too (they were claimed when due, and only pending
        # rows are rescheduled); said for both, it bounds the scan of the `outbox_due_idx` index.
        due = OutboxMessage.objects.filter(
            Q(state=State.PENDING) | Q(state=State.SENDING, lease_until__lt=now), due_at__lte=now
        ).order_by("due_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        rows = list(due[: batch_size or batch_size_default()])
        if not rows:
            return token, []
        OutboxMessage.objects.filter(id__in=[row.id for row in rows]).update(
            state=State.SENDING, lease_until=lease_until, claim_token=token, updated_at=now
        )
        OutboxEvent.objects.bulk_create(
            OutboxEvent(
                message_id=row.id,
                action=Action.RECLAIMED,
                state=State.SENDING,
                attempt=row.attempts,
                detail="The previous sender did not finish within its lease; claimed again.",
            )
            for row in rows
            if row.state == State.SENDING
        )
    for row in rows:
        row.state, row.lease_until, row.claim_token, row.updated_at = State.SENDING, lease_until, token, now
    return token, rows


def is_permanent(exc: BaseException) -> bool:
    """A 5xx answer (recipient refused, message rejected) will not change on retry; 4xx answers,
    dropped connections and timeouts may."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):  # none at all (no address) is permanent too
        return all(500 <= code < 600 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 500 <= exc.smtp_code < 600
    return False


def _describe(exc: BaseException) -> str:
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
    return timedelta(seconds=retry_base_seconds() * 2 ** max(attempts - 1, 0))


def build_email(message: OutboxMessage) -> EmailMessage | None:
    """The e-mail this row would send now (also used to preview a pending row)."""
    kind = _KINDS.get(message.kind)
    if kind is None:
        raise OutboxError(f"No builder registered for kind {message.kind!r}.")
    email = kind.builder(message)
    if email is None:
        return None
    if not email.to:
        email.to = [message.recipient]
    email.extra_headers["Message-ID"] = message.message_id
    email.extra_headers.setdefault("X-Mesoclinic-Kind", message.kind)
    return email


@dataclass
class DispatchResult:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0
    skipped: int = 0


def dispatch_due(*, batch_size: int | None = None) -> DispatchResult:
    """Claim one batch of due messages and send them over one SMTP connection.

    Each row is marked sent in its own small transaction right after the server accepted it (and
    before the next message's data goes), so a crash loses at most the one message in flight (which
    then goes again with the same Message-ID).
    """
    # The marking connection first: if it cannot be had, nothing is claimed (and left for a lease).
    marker = _Marker() if _marks_in_background() else None
    token, rows = _claim(batch_size)
    if not rows:
        return DispatchResult()
    batch = _Batch(token, rows, marker=marker)
    try:
        for position in range(len(rows)):
            try:
                batch.send(position)
            except _ServerUnreachable as unreachable:
                # No point waiting for the same connect timeout once per message: the rest of the
                # batch backs off too, and the next run tries again.
                for rest in rows[position + 1 :]:
                    batch.count(_record_failure(rest, token, unreachable.error, permanent=False))
                break
    finally:
        batch.close()
    return batch.result


class _ServerUnreachable(Exception):
    """The mail server could not be reached at all (connect or greeting failed)."""

    def __init__(self, error: BaseException):
        super().__init__(str(error))
        self.error = error


class _Batch:
    """One run's claimed rows, sent in order over one SMTP connection; `result` counts them.

    Before each send the run checks, in the database, that it still holds the row (state sending,
    its claim token, at least half a lease ahead — renewing the lease when less is left). After a
    successful send, the check for the *next* row rides in the same statement that marks this one
    sent (PostgreSQL, `_mark_sent`), so the usual message costs one round trip and one commit. It is
    the same check at the same moment — after the previous row is done, before this one is sent —
    only without a round trip of its own.

    On PostgreSQL, outside any transaction (a worker's run, not a test's), that statement is sent on
    a second connection and PostgreSQL runs it while the run goes on (`_Marker`, figure 5): the
    durable commit no longer waits in line with the rest.

    With Django's SMTP backend each e-mail goes in steps (`clinic.smtp_split.Delivery`), and the
    run uses the server's waits: it builds the next e-mail while the server takes in this one's
    data, and it opens the next one's envelope (MAIL FROM, RCPT TO: nothing delivered yet) while
    this one's mark commits. The next e-mail's data still goes only once that commit is done and
    the check it carries says the row is still ours; at worst an e-mail built for a row another
    run took over is dropped unsent (RSET). Other backends get each e-mail through `send()`.
    """

    def __init__(self, token: str, rows: list[OutboxMessage], smtp=None, marker: _Marker | None = None):
        self.token = token
        self.rows = rows
        self.smtp = smtp if smtp is not None else get_connection()
        self.result = DispatchResult(claimed=len(rows))
        self._split = smtp_split.supports(self.smtp)
        self._checked_id: int | None = None  # the row whose claim the last statement confirmed
        self._marker = marker  # None: each mark is made inline, on this thread's Django connection
        # (row, e-mail, Delivery, next row's id): its data has gone, the server has not answered yet
        self._in_flight: tuple | None = None

    def count(self, outcome: str) -> None:
        setattr(self.result, outcome, getattr(self.result, outcome) + 1)

    def send(self, position: int) -> None:
        """Send the row at `position` (the previous row's e-mail is accepted and marked first)."""
        message = self.rows[position]
        next_id = self.rows[position + 1].id if position + 1 < len(self.rows) else None
        # Something to build it beside: the server's answer to the previous e-mail, or its mark.
        built = _build(message) if self._in_flight is not None or self._marker is not None else None
        self._settle()  # the previous e-mail: the server's answer, then its mark
        held = None  # not asked yet
        if built is None:
            held = self._confirm(message)
            if not held:
                return self.count("skipped")
            built = _build(message)
        email, build_error = built
        delivery = None
        if self._split and email is not None and build_error is None:
            self._open(message)
            try:
                delivery = smtp_split.Delivery(self.smtp, email)
                delivery.envelope()  # while the previous row's mark commits
            except (smtplib.SMTPException, OSError) as exc:
                if held or self._confirm(message):
                    return self._failed(message, exc)
                self._close_smtp()
                return self.count("skipped")
        if not (held or self._confirm(message)):
            if delivery is not None:
                try:
                    delivery.abort()
                except (smtplib.SMTPException, OSError):
                    self._close_smtp()
            return self.count("skipped")  # another run took it after our lease ran out
        if build_error is not None:  # a bug in a builder: keep the row, retry later, show the error
            logger.error("Building outbox message %s failed.", message.id, exc_info=build_error)
            return self.count(_record_failure(message, self.token, build_error, permanent=False))
        if email is None:
            return self.count(_cancel_invalid(message, self.token))
        try:
            if delivery is not None:
                delivery.send_data()
            else:
                self._open(message)
                email.connection = self.smtp
                email.send(fail_silently=False)
        except (smtplib.SMTPException, OSError) as exc:  # TimeoutError and ConnectionError are OSErrors
            return self._failed(message, exc)
        if delivery is not None:
            self._in_flight = (message, email, delivery, next_id)
        else:
            self._mark(message, email, next_id)
        return None

    def _settle(self) -> None:
        """The e-mail whose data went last: wait for the server's answer, then mark it."""
        if self._in_flight is None:
            return
        message, email, delivery, next_id = self._in_flight
        self._in_flight = None
        try:
            delivery.finish()
        except (smtplib.SMTPException, OSError) as exc:
            return self._failed(message, exc)
        self._mark(message, email, next_id)
        return None

    def _failed(self, message: OutboxMessage, exc: BaseException) -> None:
        """The server refused `message` or the connection failed: record it (to retry, or failed for
        good on a 5xx), and close the connection, which may be unusable; the next message opens one."""
        self._close_smtp()
        self.count(_record_failure(message, self.token, exc, permanent=is_permanent(exc)))

    def _mark(self, message: OutboxMessage, email: EmailMessage, next_id: int | None) -> None:
        if self._marker is not None:
            self._marker.start(message, email, token=self.token, next_id=next_id)
        elif _mark_sent(message, email, token=self.token, next_id=next_id):
            self._checked_id = next_id
        self.count("sent")

    def _confirm(self, message: OutboxMessage) -> bool:
        """Once the previous row's mark has committed: whether this run still holds `message`."""
        self._wait_for_mark()
        held = self._checked_id == message.id or _holds(message.id, self.token)
        self._checked_id = None
        return held

    def _open(self, message: OutboxMessage) -> None:
        """Open the SMTP connection if it is not (it then stays open for the rest of the batch)."""
        if getattr(self.smtp, "connection", True) is None:
            try:
                self.smtp.open()
            except (smtplib.SMTPException, OSError) as exc:
                self.count(_record_failure(message, self.token, exc, permanent=False))
                raise _ServerUnreachable(exc) from exc

    def _close_smtp(self) -> None:
        with contextlib.suppress(Exception):
            self.smtp.close()

    def _wait_for_mark(self) -> None:
        """Until the previous row's mark has committed (re-raising its error: nothing more is sent)."""
        if self._marker is not None and self._marker.pending and self._marker.wait():
            self._checked_id = self._marker.next_id

    def close(self) -> None:
        try:
            try:
                self._settle()
            finally:
                self._wait_for_mark()
        finally:
            try:
                self.smtp.close()
            except Exception:
                logger.warning("Closing the SMTP connection failed.", exc_info=True)


def _build(message: OutboxMessage) -> tuple[EmailMessage | None, Exception | None]:
    """(the e-mail or None if it should no longer go, None) or (None, the builder's error)."""
    try:
        return build_email(message), None
    except Exception as exc:  # a bug in a builder: recorded on the row by the caller
        return None, exc


def _marks_in_background() -> bool:
    return (
        settings.OUTBOX_MARK_IN_BACKGROUND
        and connection.vendor == "postgresql"
        # Inside a transaction (a test's) the rows are not visible to a second connection.
        and not connection.in_atomic_block
    )


class _Marker:
    """Marks one row at a time on this thread's marking connection, without waiting for it.

    `start()` sends the mark statement (`_MARK_SENT_AND_CHECK_NEXT_SQL`, prepared once per
    connection) through libpq's asynchronous interface and returns at once: PostgreSQL runs and
    commits it while this thread goes on (it sends the next e-mail's envelope, or builds the next
    e-mail with a backend that sends whole; `_Batch`). `wait()` reads its answer — whether the
    next row is still ours — or raises its error. No second thread: an earlier version marked on a
    thread of its own, and the two threads' contention for the GIL slowed every build (figure 5).

    Each thread that dispatches has its own marking connection, as it has its own Django one. It
    outlives the batch (a new one costs ~5 ms, about 2 % of figure 5): a batch starts by opening a
    new one if it is missing, broken or not idle, so a database restart costs one failed batch at
    most, and any error while marking closes it.
    """

    _local = threading.local()  # conn: a psycopg Connection in autocommit; pid: the process's
    _forked_away: list = []  # a parent's connections, kept referenced so that they are never finalised
    _timeout = 60.0  # seconds to wait for a mark before giving the connection up

    def __init__(self):
        local = _Marker._local
        if getattr(local, "pid", None) != os.getpid():  # forked since: never touch the parent's
            if getattr(local, "conn", None) is not None:
                _Marker._forked_away.append(local.conn)
            local.conn, local.pid = None, os.getpid()
        if not _usable(local.conn):
            _Marker.stop()
            local.conn = self._connect()
        self._pgconn = local.conn.pgconn
        self.pending = False
        self.next_id: int | None = None

    @classmethod
    def connection(cls):
        """This thread's marking connection, if it has one."""
        return getattr(cls._local, "conn", None)

    @staticmethod
    def _connect():
        params = connection.get_connection_params()
        params.pop("context", None)  # values go as text (`_as_text`), not through Django's adapters
        params.pop("cursor_factory", None)
        conn = psycopg.connect(**params, autocommit=True)
        result = conn.pgconn.prepare(b"outbox_mark_sent", _MARK_SQL_POSITIONAL, _MARK_PARAM_OIDS)
        if result.status != pq.ExecStatus.COMMAND_OK:
            conn.close()
            raise DatabaseError(f"Could not prepare the outbox mark: {_text(result.error_message)}")
        return conn

    def start(self, message: OutboxMessage, email: EmailMessage, *, token: str, next_id: int | None) -> None:
        assert not self.pending, "one mark at a time: wait for the previous one first"
        params = _mark_params(message, email, token=token, next_id=next_id)
        values = [_as_text(params[name]) for name in _MARK_PARAM_NAMES]
        try:
            self._pgconn.send_query_prepared(b"outbox_mark_sent", values)
        except Exception:
            _Marker.stop()
            raise
        self.pending, self.next_id = True, next_id

    def wait(self) -> bool:
        """The mark's result (whether the next row is still ours); its error if it failed."""
        self.pending = False
        pgconn = self._pgconn
        try:
            while True:
                pgconn.consume_input()
                if not pgconn.is_busy():
                    break
                if not select.select([pgconn.socket], [], [], self._timeout)[0]:
                    raise DatabaseError(f"The outbox mark got no answer within {self._timeout:.0f} s.")
            results = []
            while (result := pgconn.get_result()) is not None:
                results.append(result)
            error = next((r for r in results if r.status != pq.ExecStatus.TUPLES_OK), None)
            if error is not None or len(results) != 1:
                message = _text(error.error_message) if error is not None else "unexpected answer"
                raise DatabaseError(f"Marking an outbox message sent failed: {message}")
            return results[0].get_value(0, 0) == b"t"
        except Exception:
            _Marker.stop()
            raise

    @classmethod
    def stop(cls) -> None:
        """Close this thread's marking connection (tests; a thread or process ending; after an error)."""
        conn, cls._local.conn = getattr(cls._local, "conn", None), None
        if conn is not None and getattr(cls._local, "pid", None) == os.getpid():
            with contextlib.suppress(Exception):
                conn.close()


def _usable(conn) -> bool:
    """Whether the marking connection answers and is idle (one round trip, once per batch)."""
    if conn is None or conn.closed or conn.pgconn.transaction_status != pq.TransactionStatus.IDLE:
        return False
    try:
        conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def _as_text(value) -> bytes | None:
    """A mark parameter in PostgreSQL's text format (the statement declares each one's type)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat().encode()
    return str(value).encode()


def _cancel_invalid(message: OutboxMessage, token: str) -> str:
    """The builder says the message should no longer go: cancel the row (if we still hold it)."""
    with transaction.atomic():
        updated = OutboxMessage.objects.filter(id=message.id, state=State.SENDING, claim_token=token).update(
            state=State.CANCELLED,
            last_error="No longer valid when it was due.",
            lease_until=None,
            updated_at=timezone.now(),
        )
        if updated:
            message.state = State.CANCELLED
            _event(
                message,
                Action.CANCELLED,
                "No longer valid when it was due (cancelled, moved or consent withdrawn).",
            )
    return "cancelled"


# The dispatcher's per-message statements, written as SQL once: the ORM spends longer compiling
# such small statements (~0.3 ms each) than the database spends running them, and they run once
# per message sent (figure 5). Plain SQL that PostgreSQL and SQLite both read; `%(name)s`
# parameters; timestamps go through `connection.ops.adapt_datetimefield_value`.
_MESSAGES = OutboxMessage._meta.db_table
_EVENTS = OutboxEvent._meta.db_table

_HOLDS_SQL = f"""
    SELECT 1 FROM "{_MESSAGES}"
     WHERE id = %(id)s AND state = '{State.SENDING}' AND claim_token = %(token)s AND lease_until > %(half)s
"""
_RENEW_SQL = f"""
    UPDATE "{_MESSAGES}" SET lease_until = %(lease_until)s, updated_at = %(now)s
     WHERE id = %(id)s AND state = '{State.SENDING}' AND claim_token = %(token)s
"""
# Marked sent by id alone, as before: the message has gone, so the row says so even in the unlikely
# case that another run took it over meanwhile (that run's check then finds it sent).
_MARK_SENT_SQL = f"""
    UPDATE "{_MESSAGES}"
       SET state = '{State.SENT}', sent_at = %(now)s, attempts = %(attempts)s, lease_until = NULL,
           last_error = '', recipient = %(recipient)s, subject = %(subject)s,
           body_text = %(body_text)s, body_html = %(body_html)s, updated_at = %(now)s
     WHERE id = %(id)s
"""
_SENT_EVENT_SQL = f"""
    INSERT INTO "{_EVENTS}" (message_id, at, action, state, attempt, detail, user_id)
    VALUES (%(id)s, %(now)s, '{Action.SENT}', '{State.SENT}', %(attempts)s, %(detail)s, NULL)
"""
# PostgreSQL: both steps above in one statement (data-modifying CTEs) run in autocommit — one round
# trip and one durable commit per message — which also answers whether we still hold the next row
# with half a lease ahead (the `_HOLDS_SQL` check, made at the moment `_holds` would make it). When
# it does not, the next send checks for itself and renews the lease if the row is still ours; that
# renewal is rare (a batch running past half a lease), so it stays out of the hot statement.
_MARK_SENT_AND_CHECK_NEXT_SQL = f"""
    WITH sent AS (
        {_MARK_SENT_SQL.strip()}
        RETURNING id
    ), event AS (
        INSERT INTO "{_EVENTS}" (message_id, at, action, state, attempt, detail, user_id)
        SELECT id, %(now)s, '{Action.SENT}', '{State.SENT}', %(attempts)s, %(detail)s, NULL FROM sent
    )
    SELECT COALESCE((
        SELECT state = '{State.SENDING}' AND claim_token = %(token)s AND lease_until > %(half)s
          FROM "{_MESSAGES}" WHERE id = %(next_id)s
    ), FALSE)
"""
# The check reads the next row by its primary key alone: with the conditions in its WHERE clause
# instead, the planner walked the (state, due_at) index over every row being sent (~0.1 ms).

# The same statement for `_Marker`, which prepares it once per connection and sends it through
# libpq: positional parameters, each with its type.
_MARK_PARAM_TYPES = {
    "id": "int8",
    "now": "timestamptz",
    "attempts": "int2",
    "recipient": "text",
    "subject": "text",
    "body_text": "text",
    "body_html": "text",
    "detail": "text",
    "next_id": "int8",
    "token": "text",
    "half": "timestamptz",
}
_MARK_PARAM_NAMES = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", _MARK_SENT_AND_CHECK_NEXT_SQL)))
_MARK_SQL_POSITIONAL = re.sub(
    r"%\((\w+)\)s",
    lambda m: f"${_MARK_PARAM_NAMES.index(m[1]) + 1}",
    _MARK_SENT_AND_CHECK_NEXT_SQL,
).encode()
_MARK_PARAM_OIDS = [postgres.types[_MARK_PARAM_TYPES[name]].oid for name in _MARK_PARAM_NAMES]


def _lease_times(now: datetime) -> dict:
    """now, a renewed lease's end, and the "half a lease ahead" mark, as query parameters."""
    adapt = connection.ops.adapt_datetimefield_value
    return {
        "now": adapt(now),
        "lease_until": adapt(now + timedelta(seconds=lease_seconds())),
        "half": adapt(now + timedelta(seconds=lease_seconds() / 2)),
    }


def _holds(message_id: int, token: str) -> bool:
    """Whether this run still holds the row with at least half a lease ahead (one SELECT); if less
    is left but the row is still ours, renew the lease. False: another run took it."""
    params = {"id": message_id, "token": token, **_lease_times(timezone.now())}
    with connection.cursor() as cursor:
        cursor.execute(_HOLDS_SQL, params)
        if cursor.fetchone():
            return True
        cursor.execute(_RENEW_SQL, params)
        return cursor.rowcount == 1


def _mark_sent(message: OutboxMessage, email: EmailMessage, *, token: str, next_id: int | None) -> bool:
    """Record that the mail server accepted `message` — state, what was sent, and its SENT event —
    in one committed transaction of its own, before anything else is sent.

    Returns whether this run still holds row `next_id` with half a lease ahead, checked in the same
    statement on PostgreSQL; False elsewhere (SQLite) or when not sure, and the next send checks
    for itself (`_holds`, which also renews a lease running short).
    """
    params = _mark_params(message, email, token=token, next_id=next_id)
    if _one_statement_marks():
        with connection.cursor() as cursor:
            cursor.execute(_MARK_SENT_AND_CHECK_NEXT_SQL, params)
            return bool(cursor.fetchone()[0])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_MARK_SENT_SQL, params)
        cursor.execute(_SENT_EVENT_SQL, params)
    return False


def _mark_params(message: OutboxMessage, email: EmailMessage, *, token: str, next_id: int | None) -> dict:
    """Set `message` as sent (in memory) and return the mark statement's parameters."""
    html = ""
    for content, mimetype in getattr(email, "alternatives", []) or []:
        if mimetype == "text/html":
            html = content
    message.state = State.SENT
    message.sent_at = message.updated_at = timezone.now()
    message.attempts += 1  # the row is ours (claimed, checked just before the send)
    message.lease_until = None
    message.last_error = ""
    message.recipient = email.to[0]
    message.subject = email.subject[:255]
    message.body_text = email.body
    message.body_html = html
    return {
        "id": message.id,
        "attempts": message.attempts,
        "recipient": message.recipient,
        "subject": message.subject,
        "body_text": message.body_text,
        "body_html": message.body_html,
        "detail": f"Accepted by the mail server for {', '.join(email.to)}.",
        "next_id": next_id,
        "token": token,
        **_lease_times(message.sent_at),
    }


def _one_statement_marks() -> bool:
    """PostgreSQL runs data-modifying CTEs; SQLite does not, so it takes the two-statement path."""
    return connection.vendor == "postgresql"


def _record_failure(message: OutboxMessage, token: str, exc: BaseException, *, permanent: bool) -> str:
    error = _describe(exc)
    attempts = message.attempts + 1
    now = timezone.now()
    if permanent or attempts >= max_attempts():
        state, action, outcome = State.FAILED, Action.FAILED, "failed"
        due_at = message.due_at
        detail = error if permanent else f"Gave up after {attempts} attempts. {error}"
    else:
        state, action, outcome = State.PENDING, Action.TEMPORARY_FAILURE, "retrying"
        due_at = now + backoff_delay(attempts)
        detail = f"{error} Next try {_fmt(due_at)}."
    with transaction.atomic():
        updated = OutboxMessage.objects.filter(id=message.id, state=State.SENDING, claim_token=token).update(
            state=state,
            attempts=attempts,
            due_at=due_at,
            last_error=error[:2000],
            lease_until=None,
            updated_at=now,
        )
        if updated:
            message.state, message.attempts = state, attempts
            _event(message, action, detail)
    logger.warning("Outbox message %s (%s): %s", message.id, message.kind, detail)
    return outcome
