import logging

from django.conf import settings
from django.core.cache import cache
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connection, models, transaction
from django.utils import timezone

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
    require_second_factor = models.BooleanField(
        "require a second factor for all staff",
        default=False,
        help_text="Clinic admin always sign in with a second step; with this on, all staff do.",
    )
    consent_validity_months = models.PositiveSmallIntegerField(
        "treatment consent valid for (months)",
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text="A signed treatment consent older than this must be signed again before a session "
        "(clinical-rules.md, rule consent-before-session).",
    )
    retention_years = models.PositiveSmallIntegerField(
        "keep clinical records for (years)",
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=(
            "After a patient asks to be erased, their clinical records are kept this many years after "
            "the last treatment, then pseudonymised."
        ),
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


class SecurityEvent(models.Model):
    """A change to how a member of staff signs in, kept for the audit and told to them by e-mail
    (clinic/security.py, record_security_event). Never edited or deleted from the app."""

    class Kind(models.TextChoices):
        TOTP_ENROLLED = "totp_enrolled", "Authenticator app added"
        PASSKEY_ADDED = "passkey_added", "Security key or passkey added"
        RECOVERY_CODES_CREATED = "recovery_codes_created", "New recovery codes created"
        RECOVERY_CODE_USED = "recovery_code_used", "Signed in with a recovery code"
        SECOND_FACTOR_RESET = "second_factor_reset", "Second factor reset by the clinic admin"
        PASSWORD_CHANGED = "password_changed", "Password changed"
        EMAIL_CHANGED = "email_changed", "E-mail address changed"
        UNLOCKED = "unlocked", "Sign-in unlocked by the clinic admin"
        OTHER_SESSIONS_ENDED = "other_sessions_ended", "Signed out everywhere else"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="security_events"
    )
    kind = models.CharField(max_length=40, choices=Kind.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    # Where the notice went (the address at the time: an e-mail change is told to the old one).
    notified = models.EmailField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "-at"], name="security_event_user_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.user})"


class StaffSession(models.Model):
    """One signed-in session of a member of staff, written at login and removed at logout, so that
    their sessions can be listed and ended (the session store itself, the cache with Redis, cannot
    be searched by user)."""

    session_key = models.CharField(max_length=40, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_sessions"
    )
    started_at = models.DateTimeField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.user} since {self.started_at:%Y-%m-%d %H:%M}"


# ---------------------------------------------------------------- audit (docs/design.md, "Audit")


class AccessLogEntry(models.Model):
    """One read of a patient's clinical data: who, when, what (kind and object), whose, from where.
    Written by clinic.audit.log_clinical_read only, never changed; each row is sealed into the audit
    chain (AuditLink)."""

    class What(models.TextChoices):
        PATIENT_PAGE = "patient_page", "Patient page, clinical sections"
        SCREENING = "screening", "Screening"
        CONSULTATION = "consultation", "Consultation"
        FORMULATION = "formulation", "Formulation"
        SESSION_RECORD = "session_record", "Session record"
        TIMELINE = "timeline", "Clinical timeline"
        EXPORT = "export", "Export of the whole record"
        CONSENT = "consent", "Signed consent"
        PHOTOS = "photos", "Clinical photos of an area"
        PHOTO = "photo", "Clinical photo"

    at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    what = models.CharField(max_length=20, choices=What.choices)
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    ip_address = models.GenericIPAddressField("from address", null=True, blank=True)
    user_agent = models.CharField("browser", max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "access log entry"
        verbose_name_plural = "access log"
        indexes = [
            models.Index(fields=["patient", "-at", "-id"], name="access_log_patient"),
            models.Index(fields=["user", "-at", "-id"], name="access_log_user"),
            models.Index(fields=["-at", "-id"], name="access_log_time"),
        ]

    def __str__(self) -> str:
        return f"{self.user} read {self.get_what_display().lower()} at {self.at:%d/%m/%Y %H:%M}"


class AuditLink(models.Model):
    """One entry of the audit chain: a row of the access log, of a change history (the historical
    tables of django-simple-history) or of AuditRedaction, and a digest over that row's content and
    the previous link's digest. Editing or deleting a row, or a link, breaks the chain where it
    happened; `manage.py verify_audit` names the first place (clinic/audit_chain.py)."""

    seq = models.PositiveBigIntegerField(unique=True)
    table = models.CharField(max_length=100)
    row_id = models.PositiveBigIntegerField()
    digest = models.CharField(max_length=64)
    sealed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["seq"]
        constraints = [
            models.UniqueConstraint(
                fields=["table", "row_id"],
                name="audit_link_once_per_row",
                violation_error_message="This entry is already in the audit chain.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.seq}: {self.table} {self.row_id}"


class AuditHead(models.Model):
    """The chain's last link (one row): appending locks it, so two writers never fork the chain, and a
    removed tail shows as a head that points past the last link."""

    seq = models.PositiveBigIntegerField(default=0)
    digest = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(pk=1),
                name="audit_head_single_row",
                violation_error_message="The audit chain has one head.",
            )
        ]

    def __str__(self) -> str:
        return f"head {self.seq}"


class AuditPending(models.Model):
    """An audited row written but not sealed into the chain yet. Written in the transaction of the row
    itself (so a rollback takes both), and taken by the sealer, which runs every few seconds
    (clinic/audit_chain.py, `seal_pending`): no request waits for the chain's head lock."""

    table = models.CharField(max_length=100)
    row_id = models.PositiveBigIntegerField()

    def __str__(self) -> str:
        return f"{self.table} {self.row_id}, waiting to be sealed"


class AuditRedaction(models.Model):
    """A field of an audited row pseudonymised on purpose (an erasure): the digest of the value it
    had, so the chain still proves that nothing else in the row changed. Sealed into the chain too."""

    table = models.CharField(max_length=100)
    row_id = models.PositiveBigIntegerField()
    field = models.CharField(max_length=100)
    original_digest = models.CharField(max_length=64)
    reason = models.CharField(max_length=200)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["table", "row_id", "field"],
                name="audit_redaction_once_per_field",
                violation_error_message="This field was already pseudonymised.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.table} {self.row_id} {self.field}"
