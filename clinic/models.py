import logging

from django.conf import settings
from django.core.cache import cache
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connection, models, transaction

from clinic.validators import validate_lead_hours

logger = logging.getLogger(__name__)


CACHE_KEY = "clinic-settings"
# Bounds how long another process without a shared cache (no Redis) may show an old value.
CACHE_SECONDS = 60


class ClinicSettings(models.Model):
    """The clinic's own settings: one row, edited by clinic admin."""

    name = models.CharField(max_length=120, default="Mesoclinic")
    address = models.TextField(default="Rua das Flores 12\n1200-195 Lisboa\nPortugal")
    phone = models.CharField(max_length=40, default="+351 210 000 000")
    email = models.EmailField(default="hello@mesoclinic.test")
    website = models.URLField(blank=True, default="")
    reminder_lead_hours = models.CharField(
        max_length=40,
        default="48,24",
        validators=[validate_lead_hours],
        help_text="Hours before an appointment at which reminders go, e.g. 48,24.",
    )
    default_appointment_minutes = models.PositiveSmallIntegerField(
        default=60, validators=[MinValueValidator(15), MaxValueValidator(240)]
    )
    session_idle_minutes = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(24 * 60)],
        help_text="Staff are logged out after this many minutes without activity.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "clinic settings"
        verbose_name_plural = "clinic settings"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(pk=1),
                name="clinic_settings_single_row",
                violation_error_message="The clinic has one set of settings.",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def lead_hours(self) -> list[int]:
        return sorted((int(p) for p in self.reminder_lead_hours.split(",") if p.strip()), reverse=True)

    @classmethod
    def load(cls) -> "ClinicSettings":
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj

    @classmethod
    def for_request(cls, request) -> "ClinicSettings":
        """The settings row, read at most once per request, from the cache (every page needs it for
        the idle timeout and the layout; a save retires the cached copy, see clinic/apps.py)."""
        cached = getattr(request, "_clinic_settings", None)
        if cached is None:
            try:
                cached = cache.get_or_set(CACHE_KEY, cls.load, CACHE_SECONDS)
            except Exception:  # the cache is never needed for a page to work
                cached = cls.load()
            request._clinic_settings = cached
        return cached

    @staticmethod
    def forget_cached() -> None:
        """Called when the row is saved: now, and again once the change has committed."""
        _forget()
        transaction.on_commit(_forget)


def _forget() -> None:
    try:
        cache.delete(CACHE_KEY)
    except Exception:  # the save stands; the cached copy expires within CACHE_SECONDS
        logger.error("Could not retire the cached clinic settings.", exc_info=True)


class Counter(models.Model):
    """Named counters that never hand out the same number twice (chart numbers)."""

    name = models.CharField(max_length=40, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"

    @classmethod
    def next_value(cls, name: str) -> int:
        """Atomically increment and return the counter (one UPDATE ... RETURNING on both databases)."""
        table = connection.ops.quote_name(cls._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET value = value + 1 WHERE name = %s RETURNING value", [name])
            row = cursor.fetchone()
        if row is None:
            cls.objects.get_or_create(name=name)
            return cls.next_value(name)
        return row[0]


class OutboxMessage(models.Model):
    """One e-mail the clinic owes someone: written in the transaction that causes it, sent by the
    dispatcher (clinic/outbox.py), never twice (DESIGN.md, "E-mail goes through an outbox")."""

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
        "patients.Patient",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="outbox_messages",
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
        ordering = ["-due_at", "-id"]
        indexes = [
            # The dispatcher's claim: due rows in due order, among the few pending or sending ones.
            # (With only the indexes below, PostgreSQL walked the list index through every row of a
            # 1,000,000-row outbox when nothing was due: 2.5–3.5 s each minute.)
            models.Index(
                fields=["due_at", "id"],
                condition=models.Q(state__in=["pending", "sending"]),
                name="outbox_due_idx",
            ),
            # The Messages page filtered by state, the failed count.
            models.Index(fields=["state", "due_at"], name="outbox_claim_idx"),
            # The Messages page: newest first, filtered by kind or state.
            models.Index(fields=["-due_at", "-id"], name="outbox_list_idx"),
            models.Index(fields=["kind", "-due_at"], name="outbox_kind_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=["pending", "sending", "sent", "failed", "cancelled"]),
                name="outbox_state_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(state="sent") | models.Q(sent_at__isnull=False),
                name="outbox_sent_has_sent_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient} ({self.get_state_display()})"


class OutboxEvent(models.Model):
    """What happened to an outbox message: created, rescheduled, each attempt, cancel, retry."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        RESCHEDULED = "rescheduled", "Rescheduled"
        RECLAIMED = "reclaimed", "Claimed again after lease expired"
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
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["message", "at"], name="outbox_event_msg_idx")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} at {self.at:%Y-%m-%d %H:%M}"
