"""Clinic resources (rooms, hours, leave, closures), protocol bands, session series and appointments.

All times are stored in UTC and scheduled in the clinic's local time zone (settings.TIME_ZONE).
A rule cited as rule `name` is in docs/clinical-rules.md.
"""

import datetime

from django.conf import settings
from django.contrib.postgres.fields import RangeBoundary, RangeOperators
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from .db import PostgresExclusionConstraint, TsTzRange


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class Room(models.Model):
    name = models.CharField(max_length=60, unique=True)
    active = models.BooleanField(default=True, help_text="Inactive rooms are not offered for new bookings.")
    for_treatments = models.BooleanField(
        "treatment room",
        default=True,
        help_text="The planner places treatment sessions only in treatment rooms.",
    )
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OpeningHours(models.Model):
    """When the clinic is open on a weekday. A weekday without a row is closed."""

    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices, unique=True)
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["weekday"]
        verbose_name_plural = "opening hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(closes__gt=models.F("opens")),
                name="opening_hours_closes_after_opens",
                violation_error_message="Closing time must be after opening time.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class WorkingHours(models.Model):
    """One block of a practitioner's weekly working time (several blocks a day are allowed)."""

    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="working_hours"
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    starts = models.TimeField()
    ends = models.TimeField()

    class Meta:
        ordering = ["practitioner", "weekday", "starts"]
        verbose_name_plural = "working hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(ends__gt=models.F("starts")),
                name="working_hours_ends_after_starts",
                violation_error_message="The end of working hours must be after their start.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.practitioner} {self.get_weekday_display()} {self.starts:%H:%M}–{self.ends:%H:%M}"


class Leave(models.Model):
    """A practitioner away for whole days, first and last day included."""

    practitioner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="leave")
    first_day = models.DateField()
    last_day = models.DateField()
    reason = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["first_day"]
        verbose_name_plural = "leave"
        constraints = [
            models.CheckConstraint(
                condition=Q(last_day__gte=models.F("first_day")),
                name="leave_last_after_first",
                violation_error_message="The last day of leave cannot be before the first.",
            )
        ]
        indexes = [models.Index(fields=["last_day", "first_day"], name="leave_window")]

    def __str__(self) -> str:
        return f"{self.practitioner} away {self.first_day}–{self.last_day}"


class Closure(models.Model):
    """A day the whole clinic is closed: a public holiday or a one-off day."""

    class Kind(models.TextChoices):
        PUBLIC_HOLIDAY = "public_holiday", "Public holiday"
        ONE_OFF = "one_off", "One-off closure"

    date = models.DateField(unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PUBLIC_HOLIDAY)
    reason = models.CharField(max_length=120)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date}: {self.reason}"


class ProtocolBand(models.Model):
    """A row of the leaflet's age-banded schedule (rule `age-banded-schedule`, docs/clinical-rules.md),
    as data the clinic admin can edit.

    Ages are whole years on the first session's date (rule `age-on-first-session`); the band is
    [min_age, max_age) or, with max_inclusive, [min_age, max_age] (rule `band-edges`). A cadence is
    `sessions_per_period` sessions every `period_days` days: 1 every 21, 1 every 14, or 2 every 7
    (twice weekly, rule `twice-weekly-spacing`).
    """

    label = models.CharField(max_length=80)
    min_age = models.PositiveSmallIntegerField(validators=[MinValueValidator(18)])
    max_age = models.PositiveSmallIntegerField(validators=[MaxValueValidator(120)])
    max_inclusive = models.BooleanField(
        default=False, help_text="Whether the maximum age itself is in the band."
    )
    sessions_per_period = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    period_days = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    min_sessions = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    max_sessions = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    history = HistoricalRecords()

    class Meta:
        ordering = ["min_age"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_age__gte=models.F("min_age")),
                name="band_max_age_after_min",
                violation_error_message="The maximum age cannot be below the minimum age.",
            ),
            models.CheckConstraint(
                condition=Q(max_sessions__gte=models.F("min_sessions")),
                name="band_max_sessions_after_min",
                violation_error_message="The maximum number of sessions cannot be below the minimum.",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    def clean(self):
        if self.min_age is not None and self.max_age is not None and self.max_age < self.min_age:
            raise ValidationError({"max_age": "The maximum age cannot be below the minimum age."})
        if (
            self.min_sessions is not None
            and self.max_sessions is not None
            and self.max_sessions < self.min_sessions
        ):
            raise ValidationError(
                {"max_sessions": "The maximum number of sessions cannot be below the minimum."}
            )
        if self.min_age is not None and self.max_age is not None:
            overlapping = [band for band in ProtocolBand.objects.exclude(pk=self.pk) if band.overlaps(self)]
            if overlapping:
                raise ValidationError(
                    f"This band overlaps {overlapping[0].label} ({overlapping[0].ages_display})."
                )

    def contains(self, age: int) -> bool:
        return self.min_age <= age and (age <= self.max_age if self.max_inclusive else age < self.max_age)

    def overlaps(self, other: "ProtocolBand") -> bool:
        top = self.max_age + (1 if self.max_inclusive else 0)
        other_top = other.max_age + (1 if other.max_inclusive else 0)
        return self.min_age < other_top and other.min_age < top

    @property
    def ages_display(self) -> str:
        top = self.max_age if self.max_inclusive else self.max_age - 1
        return f"ages {self.min_age} to {top}"

    @property
    def is_twice_weekly(self) -> bool:
        return self.sessions_per_period == 2 and self.period_days == 7

    @property
    def cadence_display(self) -> str:
        return cadence_label(self.sessions_per_period, self.period_days)

    @property
    def course_display(self) -> str:
        if self.min_sessions == self.max_sessions:
            return f"{self.max_sessions} sessions"
        return f"{self.min_sessions}–{self.max_sessions} sessions"


def cadence_label(sessions_per_period: int, period_days: int) -> str:
    if sessions_per_period == 2 and period_days == 7:
        return "two sessions per week"
    if sessions_per_period == 1 and period_days % 7 == 0:
        weeks = period_days // 7
        spelled = {2: "two", 3: "three", 4: "four"}.get(weeks, str(weeks))
        return "one session every week" if weeks == 1 else f"one session every {spelled} weeks"
    if sessions_per_period == 1:
        return f"one session every {period_days} days"
    return f"{sessions_per_period} sessions every {period_days} days"


class Cadence(models.TextChoices):
    """The cadences the planner knows (rules `twice-weekly-spacing`, `move-within-tolerance`). Stored on the
    series as per-period and period days."""

    EVERY_3_WEEKS = "1/21", "One session every three weeks"
    EVERY_2_WEEKS = "1/14", "One session every two weeks"
    WEEKLY = "1/7", "One session every week"
    TWICE_WEEKLY = "2/7", "Two sessions per week"


class SessionSeries(models.Model):
    """A planned course of treatment sessions for one patient (rules `band-proposes-practitioner-decides`,
    `age-banded-schedule`).

    Either follows a protocol band, or carries the practitioner's override and the reason for it
    (rules `no-band-no-default`, `course-count-range`): no band for the age, or a count/cadence
    outside the band.
    """

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="session_series")
    band = models.ForeignKey(ProtocolBand, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    override_reason = models.TextField(blank=True)
    concurrent_reason = models.TextField(
        "reason for running alongside another course",
        blank=True,
        help_text="From the practitioner's signed consultation plan.",
    )
    count = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(30)])
    sessions_per_period = models.PositiveSmallIntegerField(default=1)
    period_days = models.PositiveSmallIntegerField()
    weekdays = models.CharField(
        max_length=20,
        blank=True,
        help_text="Twice-weekly series: the weekdays chosen, e.g. 0,3 (Monday, Thursday).",
    )
    age_at_start = models.PositiveSmallIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "session series"

    def __str__(self) -> str:
        return f"{self.count} sessions, {self.cadence_display} ({self.patient})"

    @property
    def cadence_display(self) -> str:
        return cadence_label(self.sessions_per_period, self.period_days)

    @property
    def weekday_list(self) -> list[int]:
        return [int(d) for d in self.weekdays.split(",") if d.strip()]

    @property
    def weekdays_display(self) -> str:
        return " and ".join(Weekday(d).label for d in self.weekday_list)


class AppointmentState(models.TextChoices):
    BOOKED = "booked", "Booked"
    CONFIRMED = "confirmed", "Confirmed"
    ARRIVED = "arrived", "Arrived"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"


# The states that hold a practitioner, a room and a patient. A cancelled or missed appointment frees them.
ACTIVE_STATES = (
    AppointmentState.BOOKED,
    AppointmentState.CONFIRMED,
    AppointmentState.ARRIVED,
    AppointmentState.COMPLETED,
)
UPCOMING_STATES = (AppointmentState.BOOKED, AppointmentState.CONFIRMED)


class AppointmentKind(models.TextChoices):
    CONSULTATION = "consultation", "Consultation"
    TREATMENT = "treatment", "Treatment session"
    REVIEW = "review", "Review"


def _no_overlap(field: str, name: str) -> PostgresExclusionConstraint:
    return PostgresExclusionConstraint(
        name=name,
        expressions=[
            (field, RangeOperators.EQUAL),
            (TsTzRange("starts_at", "ends_at", RangeBoundary()), RangeOperators.OVERLAPS),
        ],
        condition=Q(state__in=[s.value for s in ACTIVE_STATES]),
        violation_error_message="This time is already taken.",
    )


class Appointment(models.Model):
    # No single-column indexes on patient, practitioner and room: the (…, starts_at) indexes below
    # lead with them. With both, PostgreSQL combined the window index with a whole practitioner's
    # ~50,000 rows for a calendar week (2.1 ms) instead of one range of the composite (figure 3).
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="appointments", db_index=False
    )
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointments", db_index=False
    )
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="appointments", db_index=False)
    kind = models.CharField(max_length=20, choices=AppointmentKind.choices, default=AppointmentKind.TREATMENT)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    state = models.CharField(max_length=20, choices=AppointmentState.choices, default=AppointmentState.BOOKED)
    series = models.ForeignKey(
        SessionSeries, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments"
    )
    sequence = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Session number within the series."
    )
    notes = models.TextField(
        "booking notes",
        blank=True,
        help_text="Administrative notes seen by all staff. No clinical information.",
    )
    cancel_reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["starts_at", "ends_at"], name="appointment_window"),
            models.Index(fields=["practitioner", "starts_at"], name="appointment_practitioner"),
            models.Index(fields=["room", "starts_at"], name="appointment_room"),
            models.Index(fields=["patient", "starts_at"], name="appointment_patient"),
            # The active appointments of a window with who is in them, read from the index alone
            # (PostgreSQL: an index-only scan, no cancelled rows to skip): the planner's month of a
            # full clinic, ~5,200 rows, 7.5 -> 2.7 ms (figure 4).
            models.Index(
                fields=["starts_at", "ends_at"],
                include=["practitioner", "room", "patient"],
                condition=Q(state__in=[s.value for s in ACTIVE_STATES]),
                name="appointment_active_window",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")),
                name="appointment_ends_after_starts",
                violation_error_message="An appointment must end after it starts.",
            ),
            models.UniqueConstraint(
                fields=["series", "sequence"],
                condition=Q(series__isnull=False),
                name="appointment_unique_series_sequence",
                violation_error_message="This series already has a session with that number.",
            ),
            # PostgreSQL only (scheduling/db.py; added by PostgresOnlyAddConstraint in the migration):
            # the database itself refuses a second active booking of the same practitioner, room or
            # patient at overlapping times — the one guarantee that survives concurrent requests.
            _no_overlap("practitioner", "appointment_no_practitioner_overlap"),
            _no_overlap("room", "appointment_no_room_overlap"),
            _no_overlap("patient", "appointment_no_patient_overlap"),
        ]

    def __str__(self) -> str:
        local = self.local_start
        return f"{self.get_kind_display()} {local:%Y-%m-%d %H:%M} {self.patient}"

    @property
    def local_start(self) -> datetime.datetime:
        from django.utils import timezone

        return timezone.localtime(self.starts_at)

    @property
    def local_end(self) -> datetime.datetime:
        from django.utils import timezone

        return timezone.localtime(self.ends_at)

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def is_upcoming(self) -> bool:
        return self.state in UPCOMING_STATES

    @property
    def duration_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


class AppointmentStateChange(models.Model):
    """Who moved an appointment from one state to another, and when."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="state_changes")
    from_state = models.CharField(max_length=20, choices=AppointmentState.choices, blank=True)
    to_state = models.CharField(max_length=20, choices=AppointmentState.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.appointment_id}: {self.from_state or '—'} → {self.to_state}"
