"""One row per e-mail the clinic owes someone, and what happened to it. The tables keep the names
they had in the clinic app (`db_table`): the move to this app changed no data."""

from django.conf import settings
from django.db import models

from . import kinds


class OutboxMessage(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    kind = models.CharField(max_length=60)
    idempotency_key = models.CharField(
        max_length=200, unique=True, help_text="One message per key, e.g. reminder:<appointment>:<lead>."
    )
    recipient = models.EmailField(max_length=254)
    # PROTECT: a patient with messages on record is archived, not deleted.
    patient = models.ForeignKey(
        "patients.Patient", models.PROTECT, null=True, blank=True, related_name="outbox_messages"
    )
    object_id = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="The appointment or session record the kind refers to."
    )
    due_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # A claimed row belongs to one dispatcher run until lease_until; claim_token says which run.
    lease_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True, editable=False)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=200, editable=False)
    # Snapshot of what was sent, for the staff Messages page.
    subject = models.CharField(max_length=255, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "clinic_outboxmessage"
        ordering = ["-due_at", "-id"]
        indexes = [
            # The dispatcher's claim: due rows in due order, among the few pending or sending ones
            # (without it PostgreSQL walked a 1,000,000-row outbox every minute when nothing was due).
            models.Index(
                fields=["due_at", "id"],
                condition=models.Q(state__in=["pending", "sending"]),
                name="outbox_due_idx",
            ),
            # The Messages page: by state (and the failed count), newest first, by kind.
            models.Index(fields=["state", "due_at"], name="outbox_claim_idx"),
            models.Index(fields=["-due_at", "-id"], name="outbox_list_idx"),
            models.Index(fields=["kind", "-due_at"], name="outbox_kind_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=["pending", "sending", "sent", "failed", "cancelled"]),
                name="outbox_state_valid",
                violation_error_message="A message is waiting, being sent, sent, failed or cancelled.",
            ),
            models.CheckConstraint(
                condition=~models.Q(state="sent") | models.Q(sent_at__isnull=False),
                name="outbox_sent_has_sent_at",
                violation_error_message="A sent message needs the time it was sent.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient} ({self.get_state_display()})"

    @property
    def kind_label(self) -> str:
        return kinds.kind_label(self.kind)


class OutboxEvent(models.Model):
    class Action(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        RECLAIMED = "reclaimed", "Sending again after an interruption"
        SENT = "sent", "Sent"
        TEMPORARY_FAILURE = "temporary_failure", "Temporary failure, will retry"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        RETRY = "retry", "Retry requested"

    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    state = models.CharField(max_length=10, choices=OutboxMessage.State.choices)
    attempt = models.PositiveSmallIntegerField(default=0)
    detail = models.TextField(blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        db_table = "clinic_outboxevent"
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["message", "at"], name="outbox_event_msg_idx")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} at {self.at:%Y-%m-%d %H:%M}"
