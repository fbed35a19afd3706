"""Shared by the figure scripts: Django setup under bench.settings, timing, printing.

Every figure script prints a human table and, last, one line `RESULT {json}` that bench/run_all.py
reads. Timings are wall-clock (time.perf_counter) around in-process requests made with Django's test
Client, in a process started as a web worker is (clinic/wsgi.py: start-up objects frozen out of the
garbage collector's reach); SQL queries are counted on separate requests (CaptureQueriesContext) so
that capturing does not slow the timed ones.
"""

import argparse
import json
import os
import socket
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

WARMUP = 3
QUERY_SAMPLES = 3


def setup() -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        sys.exit(
            "The benchmarks run on the production path, PostgreSQL and Redis: set DATABASE_URL and "
            "REDIS_URL (see bench/RESULTS.md, How to run)."
        )
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if not manifest.exists():  # DEBUG off serves hashed static names: collect them once
        from django.core.management import call_command

        call_command("collectstatic", interactive=False, verbosity=0)
    # As a web worker starts (clinic/wsgi.py): the requests below are timed in this process.
    from clinic.runtime import freeze_startup_objects

    freeze_startup_objects()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for the SMTP sink, gunicorn)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--requests", type=int, default=50, help="timed requests per row (default 50)")
    return p


def user(username: str):
    from django.contrib.auth import get_user_model

    found = get_user_model().objects.filter(username=username).first()
    if found is None:
        sys.exit(f"No user {username!r}: build the data first (bench/build_data.py).")
    return found


def client_for(username: str):
    from django.test import Client

    client = Client()
    client.force_login(user(username))
    return client


def sample_patient():
    """The patient whose name, phone and date of birth figures 1 and 6 type: the first active one
    from MC-050000 on (the middle of the 100,000-patient data set, and the same patient in the
    1,000,000 one: `build_data.py` gives patient n the same name at any size with the same seed), or
    from the middle of a smaller data set. A fixed chart number, not "the middle patient": figures
    7–10 add patients each run, and the middle moved with them, from a rare name in one run to one
    with 4,500 matches in the next."""
    from patients.models import Patient
    from patients.selectors import chart_number_for

    built = Patient.objects.filter(chart_number__startswith="MC-").count()
    start = chart_number_for(min(50_000, max(1, built // 2)))
    patients = Patient.objects.active().filter(chart_number__startswith="MC-", chart_number__gte=start)
    return patients.order_by("chart_number").first()


def rare_fragment(patient) -> str:
    """What figures 1 and 6 type as a rare name: the first letters of the patient's first family
    name (all but the last two, at least four), accents kept."""
    family = patient.family_name.split()[0]
    return family[: max(4, len(family) - 2)]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def measure(label: str, call, requests: int, check=None) -> dict:
    """Time `call()` `requests` times (after a warm-up) and count its queries on separate calls.

    `call()` returns a response (or any result); `check(result)` raises if the result is wrong.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(WARMUP):
        result = call()
        if check:
            check(result)
    counts = []
    for _ in range(QUERY_SAMPLES):
        with CaptureQueriesContext(connection) as ctx:
            call()
        counts.append(len(ctx.captured_queries))
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return {
        "label": label,
        "n": requests,
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(percentile(times, 95), 2),
        "queries": max(counts),
        "queries_min": min(counts),
    }


def expect_ok(response) -> None:
    status = getattr(response, "status_code", None)
    if status != 200:
        raise SystemExit(f"Expected 200, got {status}")


def print_rows(figure: int, title: str, rows: list[dict], target_ms: float | None = None) -> None:
    print(f"Figure {figure}: {title}")
    print(f"  {'what':<52} {'n':>4} {'median ms':>10} {'p95 ms':>9} {'queries':>8}")
    for row in rows:
        q = (
            str(row["queries"])
            if row["queries"] == row["queries_min"]
            else f"{row['queries_min']}-{row['queries']}"
        )
        print(f"  {row['label']:<52} {row['n']:>4} {row['median_ms']:>10.1f} {row['p95_ms']:>9.1f} {q:>8}")
    if target_ms is not None:
        print(f"  target: p95 under {target_ms:g} ms")


def emit(figure: int, title: str, **data) -> None:
    print("RESULT " + json.dumps({"figure": figure, "title": title, **data}, default=str), flush=True)
