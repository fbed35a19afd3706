"""Figure 2: the patient page and the clinical timeline of a patient with a long history.

A practitioner (who sees the screening and the clinical sections). The long-history patient is
MC-000001 (a weekly session for three years); a patient with one session is measured beside it to
show that the number of queries does not grow with the history. The patient page is measured twice:
as served (its content cached until the patient's records change, clinic/fragments.py; with
REDIS_URL set, as in production) and "uncached", its cached content retired before every request,
as after any change to the patient: both must meet the target.
    DATABASE_URL=postgres://… .venv/bin/python bench/fig2_patient.py [--requests 50]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402

TARGET_MS = 50


def main(argv=None) -> int:
    args = common.parser(__doc__.splitlines()[0]).parse_args(argv)
    common.setup()
    from django.db.models import Count

    from clinic import fragments
    from patients import page_cache
    from patients.models import Patient

    client = common.client_for("bench-prac-01")
    long = Patient.objects.get(chart_number="MC-000001")
    short = (
        Patient.objects.annotate(n=Count("session_records")).filter(n=1).order_by("id").first()
        or Patient.objects.exclude(pk=long.pk).order_by("id").first()
    )
    sessions = long.session_records.count()
    rows = []
    for who, patient in ((f"long history ({sessions} sessions)", long), ("short history", short)):
        for page, url in (
            ("patient page", f"/patients/{patient.pk}/"),
            ("clinical timeline", f"/treatments/patients/{patient.pk}/"),
        ):
            rows.append(
                common.measure(
                    f"{page}, {who}", lambda url=url: client.get(url), args.requests, common.expect_ok
                )
            )
            if page == "patient page" and fragments.enabled():

                def uncached(url=url, pk=patient.pk):
                    fragments.renew([page_cache.scope(pk)])
                    return client.get(url)

                label = f"{page} uncached, {who}"
                rows.append(common.measure(label, uncached, args.requests, common.expect_ok))
    common.print_rows(2, "patient page and clinical timeline", rows, TARGET_MS)
    common.emit(2, "Patient page and timeline", rows=rows, target_ms=TARGET_MS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
