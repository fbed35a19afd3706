"""Figure 3: the calendar week view of a busy practitioner, and of all rooms.

Front desk. Next week (fully booked). "All rooms": the day view with every room as a column, and
the week view of each room in turn.
    DATABASE_URL=postgres://… .venv/bin/python bench/fig3_calendar.py [--requests 50]
"""

import datetime
import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402

TARGET_MS = 50


def main(argv=None) -> int:
    args = common.parser(__doc__.splitlines()[0]).parse_args(argv)
    common.setup()
    from django.utils import timezone

    from scheduling.models import Appointment, Room

    client = common.client_for("bench-desk-1")
    busy = common.user("bench-prac-01")
    day = timezone.localdate() + datetime.timedelta(days=7)
    day -= datetime.timedelta(days=day.weekday())  # Monday of next week
    day += datetime.timedelta(days=1)  # a Tuesday (never a holiday-only week start)
    start = datetime.datetime.combine(
        day - datetime.timedelta(days=1), datetime.time.min, tzinfo=datetime.UTC
    )
    week = Appointment.objects.filter(starts_at__gte=start, starts_at__lt=start + datetime.timedelta(days=7))
    print(
        f"  week of {day - datetime.timedelta(days=1)}: {week.count():,} appointments, "
        f"{week.filter(practitioner=busy).count()} of them {busy.username}'s"
    )
    rooms = itertools.cycle(list(Room.objects.filter(active=True).values_list("pk", flat=True)))
    base = f"/scheduling/calendar/?date={day.isoformat()}"
    rows = [
        common.measure(
            f"week, practitioner {busy.username}",
            lambda: client.get(f"{base}&view=week&by=practitioner&who={busy.pk}"),
            args.requests,
            common.expect_ok,
        ),
        common.measure(
            "day, all rooms as columns",
            lambda: client.get(f"{base}&view=day&by=room"),
            args.requests,
            common.expect_ok,
        ),
        common.measure(
            "week, each room in turn",
            lambda: client.get(f"{base}&view=week&by=room&who={next(rooms)}"),
            args.requests,
            common.expect_ok,
        ),
    ]
    common.print_rows(3, "calendar", rows, TARGET_MS)
    common.emit(3, "Calendar", rows=rows, target_ms=TARGET_MS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
