"""Figure 1: patient search (the list page with ?q=) by a name fragment, by phone, by date of birth.

Front desk, in-process test Client, 50 timed requests per row by default.
    DATABASE_URL=postgres://… .venv/bin/python bench/fig1_search.py [--requests 50]
"""

import sys
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402

TARGET_MS = 50


def main(argv=None) -> int:
    args = common.parser(__doc__.splitlines()[0]).parse_args(argv)
    common.setup()
    from patients.models import Patient

    client = common.client_for("bench-desk-1")
    # A patient in the middle of the data set gives the words typed; the fragment keeps its accents.
    sample = Patient.objects.active().order_by("id")[Patient.objects.count() // 2]
    family = sample.family_name.split()[0]
    fragment = family[: max(4, len(family) - 2)]
    national = str(sample.phone.national_number)
    phone = f"{national[:3]} {national[3:6]} {national[6:]}"
    given = sample.given_name.split()[0][:3]
    # (label, query, must the sample be on the first page?) — a name fragment matches many patients,
    # 25 a page in name order, so the sample may be on a later page.
    queries = [
        (f"name fragment {fragment!r}", fragment, False),
        (f"two words {given + ' ' + fragment!r}", f"{given} {fragment}", False),
        (f"phone {phone!r}", phone, True),
        (f"date of birth {sample.date_of_birth:%d/%m/%Y}", f"{sample.date_of_birth:%d/%m/%Y}", True),
    ]
    rows = []
    for label, q, first_page in queries:
        url = "/patients/?" + urlencode({"q": q})

        def check(response, q=q, first_page=first_page):
            common.expect_ok(response)
            if first_page and sample.chart_number.encode() not in response.content:
                raise SystemExit(f"Search {q!r} did not find {sample.chart_number}")

        rows.append(common.measure(label, lambda url=url: client.get(url), args.requests, check))
    common.print_rows(1, "patient search (list page, ?q=)", rows, TARGET_MS)
    common.emit(1, "Patient search", rows=rows, target_ms=TARGET_MS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
