from django.utils import timezone

from outbox.kinds import message_id_for
from outbox.models import OutboxMessage


def url_kwargs(world):
    message = OutboxMessage.objects.create(
        kind="test_message",
        idempotency_key="test_message:access-world",
        recipient="world@example.com",
        due_at=timezone.now(),
        state=OutboxMessage.State.FAILED,
        attempts=1,
        last_error="SMTP 550 Mailbox unavailable",
        message_id=message_id_for("test_message:access-world"),
    )
    return {
        "password_reset_confirm": {"uidb64": "MQ", "token": "bad-token"},
        "clinic:outbox_detail": {"pk": message.pk},
        "clinic:outbox_body": {"pk": message.pk},
        "clinic:outbox_retry": {"pk": message.pk},
        "clinic:email_template_html": {"kind": "reminder"},
    }
