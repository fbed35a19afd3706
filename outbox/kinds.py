"""Kinds of message: what each one says, built from the row just before it goes (docs/design.md)."""

import hashlib
from collections.abc import Callable
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage

from clinic.emails import render_email, sender_domain
from clinic.staff import person

TEST_MESSAGE = "test_message"


class Kind(NamedTuple):
    label: str
    builder: Callable  # (message) -> the EmailMessage to send, or None when it should no longer go
    sample: Callable | None  # () -> an EmailMessage from made-up data, for the "E-mail templates" page


_KINDS: dict[str, Kind] = {}


def register_kind(kind: str, builder, *, label: str = "", sample=None) -> None:
    """`builder(message)` re-reads what the message is about; returning None cancels the row. It also
    renders previews, so it must change nothing. Registering a kind again replaces it (tests)."""
    _KINDS[kind] = Kind(label or kind.replace("_", " ").capitalize(), builder, sample)


def registered_kinds() -> dict[str, Kind]:
    """The kinds by name, in the order of their labels."""
    return dict(sorted(_KINDS.items(), key=lambda item: item[1].label))


def kind_label(kind: str) -> str:
    return _KINDS[kind].label if kind in _KINDS else kind.replace("_", " ").capitalize()


def message_id_for(key: str) -> str:
    """Stable per idempotency key: the one send that can repeat is recognisably the same message."""
    domain = settings.OUTBOX_MESSAGE_ID_DOMAIN or sender_domain()
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def build_email(message) -> EmailMessage | None:
    """The e-mail this row would send now (also the preview of a pending row)."""
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


def build_test_message(message):
    """The outbox's own kind, to check that mail gets through; object_id: the staff member who asked."""
    user = get_user_model().objects.filter(pk=message.object_id).first()
    return render_email(TEST_MESSAGE, {"requested_by": person(user) if user else "a member of staff"})


def register() -> None:
    sample = lambda: render_email(TEST_MESSAGE, {"requested_by": "the clinic admin"})  # noqa: E731
    register_kind(TEST_MESSAGE, build_test_message, label="Test message", sample=sample)
