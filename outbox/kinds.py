"""Kinds of message: what each one says, built from the row just before it goes.

Adding a kind:
1. templates `emails/<kind>_subject.txt`, `emails/<kind>.txt`, `emails/<kind>.html` (extend
   `emails/_base.html`, include `emails/_footer.txt`), rendered with `clinic.emails.render_email`;
2. a builder `build_<kind>(message)` that loads `message.object_id` afresh and returns None when the
   message should no longer go (cancelled or past appointment, consent withdrawn);
3. `register_kind("<kind>", build_<kind>, label="…", sample=sample_<kind>)` in the app's
   AppConfig.ready() (the sample renders the templates from made-up data for "E-mail templates");
4. `outbox.services.enqueue(kind=…, key=…, …)` inside the service's transaction, with keys that name
   what they are about so `cancel_pending(key_prefix=…)` finds them: `reminder:<appointment>:<lead>`,
   `series:<series>`, `change:<appointment>:<version>`, `aftercare:<session record>`.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage

from clinic.emails import render_email
from clinic.errors import Refusal

from .models import OutboxMessage

Builder = Callable[[OutboxMessage], EmailMessage | None]


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
    send (`to` defaults to message.recipient), or None when the message should no longer go (the row
    is then cancelled, never sent). It runs just before the send and to preview a pending message,
    so it must not change anything. Registering a kind again replaces it (reloads, tests).
    """
    _KINDS[kind] = Kind(kind, label or kind.replace("_", " ").capitalize(), builder, sample)


def registered_kinds() -> dict[str, Kind]:
    return dict(_KINDS)


def kind_label(kind: str) -> str:
    found = _KINDS.get(kind)
    return found.label if found else kind.replace("_", " ").capitalize()


def message_id_for(key: str) -> str:
    """The stable Message-ID of the message with this idempotency key: the one send that can repeat
    (a crash between the server's acceptance and our mark) is recognisably the same message."""
    domain = getattr(settings, "OUTBOX_MESSAGE_ID_DOMAIN", "") or _from_domain()
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def _from_domain() -> str:
    address = settings.DEFAULT_FROM_EMAIL.rsplit("<", 1)[-1].rstrip(">").strip()
    return address.rsplit("@", 1)[-1] if "@" in address else "mesoclinic.invalid"


def build_email(message: OutboxMessage) -> EmailMessage | None:
    """The e-mail this row would send now (also used to preview a pending row)."""
    kind = _KINDS.get(message.kind)
    if kind is None:
        raise Refusal(f"No builder registered for kind {message.kind!r}.")
    email = kind.builder(message)
    if email is None:
        return None
    if not email.to:
        email.to = [message.recipient]
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
    requested_by = (user.get_full_name() or user.get_username()) if user else "a member of staff"
    return render_email(TEST_MESSAGE, {"requested_by": requested_by})


def sample_test_message():
    return render_email(TEST_MESSAGE, {"requested_by": "the clinic admin"})


def register() -> None:
    register_kind(TEST_MESSAGE, build_test_message, label="Test message", sample=sample_test_message)
