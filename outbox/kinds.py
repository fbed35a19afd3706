"""Kinds of message: what each one says, built from the row just before it goes.

How to add one: docs/design.md, "The outbox" (a template trio rendered with
`clinic.emails.render_email`, a builder, `register_kind()` in the app's AppConfig.ready(), and
`outbox.services.enqueue()` in the service's transaction, keyed by what the message is about).
"""

import hashlib
from collections.abc import Callable
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage

from clinic.emails import render_email, sender_domain
from clinic.staff import person

from .models import OutboxMessage


class Kind(NamedTuple):
    label: str
    builder: Callable[[OutboxMessage], EmailMessage | None]
    sample: Callable[[], EmailMessage] | None  # made-up data, for the "E-mail templates" page


_KINDS: dict[str, Kind] = {}


def register_kind(kind: str, builder, *, label: str = "", sample=None) -> None:
    """Declare a kind of message and the function that builds its e-mail.

    `builder(message)` re-reads the domain objects the message is about and returns the e-mail to
    send (`to` defaults to message.recipient), or None when the message should no longer go (the row
    is then cancelled, never sent). It runs just before the send and to preview a pending message,
    so it must not change anything. Registering a kind again replaces it (reloads, tests).
    """
    _KINDS[kind] = Kind(label or kind.replace("_", " ").capitalize(), builder, sample)


def registered_kinds() -> dict[str, Kind]:
    """The kinds by name, in the order of their labels."""
    return dict(sorted(_KINDS.items(), key=lambda item: item[1].label))


def kind_label(kind: str) -> str:
    return _KINDS[kind].label if kind in _KINDS else kind.replace("_", " ").capitalize()


def message_id_for(key: str) -> str:
    """The stable Message-ID of the message with this idempotency key: the one send that can repeat
    (a crash between the server's acceptance and our mark) is recognisably the same message."""
    domain = settings.OUTBOX_MESSAGE_ID_DOMAIN or sender_domain()
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def build_email(message: OutboxMessage) -> EmailMessage | None:
    """The e-mail this row would send now (also used to preview a pending row)."""
    if message.kind not in _KINDS:  # a programming error (a kind queued but never registered)
        raise LookupError(f"No builder registered for kind {message.kind!r}.")
    email = _KINDS[message.kind].builder(message)
    if email is not None:
        email.to = email.to or [message.recipient]
        email.extra_headers["Message-ID"] = message.message_id
        email.extra_headers.setdefault("X-Mesoclinic-Kind", message.kind)
    return email


def html_part(email: EmailMessage) -> str:
    return next((c for c, mimetype in getattr(email, "alternatives", []) if mimetype == "text/html"), "")


# --- The outbox's own kind: a test message a clinic admin sends to check that mail gets through ----

TEST_MESSAGE = "test_message"


def build_test_message(message: OutboxMessage):
    """object_id: the member of staff who asked for it."""
    user = get_user_model().objects.filter(pk=message.object_id).first()
    return render_email(TEST_MESSAGE, {"requested_by": person(user) if user else "a member of staff"})


def register() -> None:
    sample = lambda: render_email(TEST_MESSAGE, {"requested_by": "the clinic admin"})  # noqa: E731
    register_kind(TEST_MESSAGE, build_test_message, label="Test message", sample=sample)
