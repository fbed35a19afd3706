"""The clinic app's own message kinds. Other apps register theirs in their AppConfig.ready()."""

import uuid

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from . import outbox
from .emails import render_email
from .models import OutboxMessage

TEST_MESSAGE = "test_message"


def build_test_message(message: OutboxMessage):
    """A test e-mail a clinic admin sends to check that mail reaches people (object_id: the sender)."""
    user = get_user_model().objects.filter(pk=message.object_id).first()
    requested_by = (user.get_full_name() or user.get_username()) if user else "a member of staff"
    return render_email(TEST_MESSAGE, {"requested_by": requested_by})


@transaction.atomic
def send_test_message(*, recipient: str, user) -> OutboxMessage:
    """Queue a test e-mail to `recipient`, due now; it goes through the outbox like any message."""
    return outbox.enqueue(
        kind=TEST_MESSAGE,
        key=f"{TEST_MESSAGE}:{uuid.uuid4().hex}",
        recipient=recipient,
        due_at=timezone.now(),
        object_id=user.pk,
    )


def sample_test_message():
    return render_email(TEST_MESSAGE, {"requested_by": "the clinic admin"})


def register() -> None:
    outbox.register_kind(TEST_MESSAGE, build_test_message, label="Test message", sample=sample_test_message)
