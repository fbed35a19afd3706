"""Figure 4: the series planner proposes six twice-weekly sessions in a full month.

The planner page (POST, action "propose", any practitioner, any room) as front desk, and the
planner service (`plan_and_propose`) on its own. The month: the first Monday at least three weeks
ahead, when the book is already mostly full.
    DATABASE_URL=postgres://… .venv/bin/python bench/fig4_planner.py [--requests 50]
"""

import datetime
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402

TARGET_MS = 200


def main(argv=None) -> int:
    args = common.parser(__doc__.splitlines()[0]).parse_args(argv)
    common.setup()
    from django.utils import timezone

    from patients.models import Patient
    from scheduling.planner import plan_and_propose

    client = common.client_for("bench-desk-1")
    today = timezone.localdate()
    first = today + datetime.timedelta(days=21)
    first += datetime.timedelta(days=(7 - first.weekday()) % 7)  # a Monday
    # An adult patient with no appointment that month.
    patient = (
        Patient.objects.active().filter(date_of_birth__year__lte=today.year - 30).order_by("-id").first()
    )
    options = {"count": 6, "cadence": (2, 7), "weekdays": (0, 3), "override_reason": "Bench: six sessions."}

    def service():
        return plan_and_propose(
            patient=patient, first_date=first, preferred_time=datetime.time(10), **options
        )

    proposal = service()
    placed = sum(1 for s in proposal.sessions if s.starts_at)
    print(
        f"  patient {patient.chart_number}, first date {first}: "
        f"{placed} of {len(proposal.sessions)} sessions placed"
    )
    for s in proposal.sessions:
        print(
            f"    {s.number}: {timezone.localtime(s.starts_at):%a %d %b %H:%M} {s.problem or ''}"
            if s.starts_at
            else f"    {s.number}: {s.problem}"
        )
    form = {
        "first_date": first.isoformat(),
        "preferred_time": "10:00",
        "practitioner": "",
        "room": "",
        "count": "6",
        "cadence": "2/7",
        "weekdays": ["0", "3"],
        "override_reason": options["override_reason"],
        "action": "propose",
    }
    url = f"/scheduling/plan/?patient={patient.pk}"

    def page_check(response):
        common.expect_ok(response)
        if b"Session" not in response.content and b"session" not in response.content:
            raise SystemExit("The planner page shows no proposal")

    rows = [
        common.measure(
            "planner page: propose (POST)", lambda: client.post(url, form), args.requests, page_check
        ),
        common.measure("planner service: plan_and_propose", service, args.requests),
    ]
    common.print_rows(4, "series planner, six sessions twice weekly", rows, TARGET_MS)
    common.emit(4, "Series planner", rows=rows, target_ms=TARGET_MS, placed=placed, first_date=first)
    return 0


if __name__ == "__main__":
    sys.exit(main())
