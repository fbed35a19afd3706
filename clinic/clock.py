"""The clinic's wall clock: its time zone (settings.TIME_ZONE) and aware datetimes for its local days
and times. A slot at 10:00 is 10:00 on the wall clock whatever the UTC offset that day (summer time),
and a day runs from its local midnight: every app asks here, so they agree on both."""

import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone


def clinic_tz() -> ZoneInfo:
    """ZoneInfo(settings.TIME_ZONE), as Django keeps it once per process (and forgets when the
    setting changes): a calendar week asks ~500 times."""
    return timezone.get_default_timezone()


def local_datetime(day: datetime.date, at: datetime.time = datetime.time.min) -> datetime.datetime:
    """The aware datetime for a wall-clock time on a day in the clinic's zone (its midnight by default)."""
    return datetime.datetime.combine(day, at, tzinfo=clinic_tz())


def to_local(moment: datetime.datetime) -> datetime.datetime:
    return moment.astimezone(clinic_tz())
