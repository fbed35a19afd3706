"""Figure 6: throughput of the patient page, the search page and the calendar week under gunicorn
with wrk, beside a bare Django view, and the worker CPU each request costs.

gunicorn (2 sync workers, bench.settings, DEBUG off) on 127.0.0.1; wrk with 2 threads and 16
connections on four URLs: the long-history patient's page as a logged-in practitioner (session
cookie), the search page for a rare name fragment and the busiest practitioner's calendar week next
week (both as the same practitioner; issue 19), and /bench-ok/ (a view returning "ok", through the
same middleware). After a 2-second warm-up of each, --rounds rounds (default 5) in which each URL
gets --duration seconds (default 4), the URLs taking turns and reversing their order each round, so
that a burst of load on this shared machine falls on every side. Each page's figure is the median of
the rounds' ratios to the bare view; each round is printed. "CPU/request" is the user + system CPU
time of the gunicorn workers (from /proc) during a URL's runs divided by the requests wrk completed.
    DATABASE_URL=postgres://… .venv/bin/python bench/fig6_throughput.py [--rounds 5] [--duration 4]
"""

import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402

TARGET_RATIO = 0.12
# Issue 19: at least these shares of the bare view's requests per second, and at most this worker
# CPU per request (ms).
TARGETS = {"patient page": 0.12, "search page": 0.08, "calendar week": 0.05}
CPU_TARGETS_MS = {"search page": 6.0, "calendar week": 10.0}
TICK = os.sysconf("SC_CLK_TCK")
WORKERS = 2
CONNECTIONS = 16
THREADS = 2


def get(url: str, cookie: str = "") -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


def worker_cpu_seconds(master: int) -> float:
    """User + system CPU seconds used so far by the gunicorn master's worker processes."""
    total = 0.0
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    for pid in children:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
    return total


def wrk(url: str, seconds: int, cookie: str, master: int | None = None) -> dict:
    command = [
        shutil.which("wrk") or "/usr/bin/wrk",
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        # wrk's default 2-second timeout drops every request of a page that slow under 16
        # connections (the calendar at 1,000,000 patients before issue 19): count them instead.
        "--timeout",
        "10s",
        "--latency",
    ]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    cpu_before = worker_cpu_seconds(master) if master else 0.0
    output = subprocess.run(command + [url], capture_output=True, text=True, timeout=seconds + 60).stdout
    cpu = worker_cpu_seconds(master) - cpu_before if master else 0.0
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    if not rate:
        raise SystemExit(f"wrk completed no request on {url}:\n{output}")
    done = int(re.search(r"(\d+) requests in", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", output)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)

    def ms(match):
        if not match:
            return None
        value, unit = float(match.group(1)), match.group(2)
        return round(value / 1000 if unit == "us" else value * 1000 if unit == "s" else value, 2)

    return {
        "rps": rate,
        "requests": done,
        "cpu_s": cpu,
        "non_2xx": int(errors.group(1)) if errors else 0,
        "p50_ms": ms(p50),
        "p99_ms": ms(p99),
    }


def main(argv=None) -> int:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument(
        "--duration", type=int, help="seconds of wrk per URL and round (default 4; 1 with --requests < 50)"
    )
    p.add_argument(
        "--rounds", type=int, help="rounds, each URL once per round (default 5; 1 with --requests < 50)"
    )
    args = p.parse_args(argv)
    seconds = args.duration or (4 if args.requests >= 50 else 1)
    rounds = args.rounds or (5 if args.requests >= 50 else 1)
    common.setup()
    import datetime
    from urllib.parse import urlencode

    from django.conf import settings
    from django.utils import timezone

    from patients.models import Patient

    client = common.client_for("bench-prac-01")
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    patient = Patient.objects.get(chart_number="MC-000001")
    # The search: figure 1's rare name fragment (common.sample_patient).
    fragment = common.rare_fragment(common.sample_patient())
    busy = common.user("bench-prac-01")
    day = timezone.localdate() + datetime.timedelta(days=7)
    day += datetime.timedelta(days=1 - day.weekday())  # the Tuesday of next week, as figure 3
    port = common.free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings"}
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    server = subprocess.Popen(
        [
            gunicorn,
            "clinic.wsgi:application",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(WORKERS),
            "--log-level",
            "warning",
        ],
        cwd=common.ROOT,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _ = get(f"{base}/bench-ok/")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.2)
        pages = {
            "patient page": (f"{base}/patients/{patient.pk}/", patient.chart_number),
            "search page": (f"{base}/patients/?{urlencode({'q': fragment})}", "patient"),
            "calendar week": (
                f"{base}/scheduling/calendar/?date={day.isoformat()}&view=week&by=practitioner&who={busy.pk}",
                "calendar",
            ),
        }
        for name, (url, expected) in pages.items():
            status, body = get(url, cookie)
            if status != 200 or expected.encode() not in body:
                raise SystemExit(f"The {name} answered {status} under gunicorn")
        if get(f"{base}/bench-ok/")[1] != b"ok":
            raise SystemExit("/bench-ok/ did not answer ok")
        sides = [(name, url, cookie) for name, (url, _expected) in pages.items()]
        sides.append(("bare view", f"{base}/bench-ok/", ""))

        def drain() -> None:
            # Requests wrk left queued in gunicorn (a slow page under 16 connections) would run
            # into the next URL's time: one request to the bare view waits behind them.
            get(f"{base}/bench-ok/")

        for _name, url, with_cookie in sides:
            wrk(url, min(2, seconds), with_cookie)  # warm-up
            drain()
        runs = {name: [] for name, _url, _cookie in sides}
        for number in range(rounds):
            for name, url, with_cookie in sides if number % 2 == 0 else reversed(sides):
                runs[name].append(wrk(url, seconds, with_cookie, server.pid))
                drain()
    finally:
        server.terminate()
        server.wait(timeout=20)
    ratios = {
        name: [
            page_run["rps"] / bare_run["rps"]
            for page_run, bare_run in zip(runs[name], runs["bare view"], strict=True)
        ]
        for name in pages
    }
    round_ratios = ratios["patient page"]
    ratio = statistics.median(round_ratios)
    results = {
        name: {
            "rps": round(statistics.median(r["rps"] for r in side), 1),
            "non_2xx": sum(r["non_2xx"] for r in side),
            "p50_ms": statistics.median(r["p50_ms"] or 0 for r in side),
            "p99_ms": statistics.median(r["p99_ms"] or 0 for r in side),
            "cpu_ms": round(
                1000 * sum(r["cpu_s"] for r in side) / max(1, sum(r["requests"] for r in side)), 2
            ),
            "rounds": [r["rps"] for r in side],
        }
        for name, side in runs.items()
    }
    for name in pages:
        results[name]["ratio"] = round(statistics.median(ratios[name]), 4)
    print(
        f"Figure 6: throughput under gunicorn ({WORKERS} sync workers), wrk {THREADS} threads, "
        f"{CONNECTIONS} connections; {rounds} round(s) of {seconds} s per URL, taking turns; medians:"
    )
    for name, r in results.items():
        share = f"{r['ratio']:6.1%} of bare" if "ratio" in r else " " * 14
        print(
            f"  {name:<14} {r['rps']:9.1f} req/s {share}  CPU/request {r['cpu_ms']:6.2f} ms   "
            f"latency p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, non-2xx {r['non_2xx']}   "
            f"rounds: {', '.join(f'{x:.0f}' for x in r['rounds'])}"
        )
    print(
        "  targets: "
        + ", ".join(f"{name} at least {target:.0%} of the bare view" for name, target in TARGETS.items())
        + "; CPU/request "
        + ", ".join(f"{name} at most {ms:g} ms" for name, ms in CPU_TARGETS_MS.items())
    )
    common.emit(
        6,
        "Throughput (gunicorn)",
        results=results,
        ratio=round(ratio, 4),
        round_ratios=[round(x, 4) for x in round_ratios],
        target_ratio=TARGET_RATIO,
        targets=TARGETS,
        cpu_targets_ms=CPU_TARGETS_MS,
        seconds=seconds,
        rounds=rounds,
    )
    return 0


def headline(result: dict) -> dict[str, float]:
    """The numbers bench/run_all.py compares across data sets and runs."""
    numbers = {}
    for name, r in result["results"].items():
        if "ratio" in r:
            numbers[f"{name}, share of the bare view"] = r["ratio"]
        numbers[f"{name}, worker CPU ms/request"] = r["cpu_ms"]
    return numbers


def verdict(result: dict) -> tuple[str, str, str]:
    """(measured, target, PASS/MISS) for bench/run_all.py's summary."""
    r = result["results"]
    shares = {
        name: r[name].get("ratio", result["ratio"] if name == "patient page" else 0) for name in TARGETS
    }
    shown = ", ".join(
        f"{name} {shares[name]:.1%} ({r[name]['cpu_ms']:.1f} ms CPU)" for name in TARGETS if name in r
    )
    target = (
        ", ".join(f"{t:.0%}" for t in TARGETS.values())
        + " of bare; CPU "
        + "/".join(f"{ms:g}" for ms in CPU_TARGETS_MS.values())
        + " ms"
    )
    passed = all(shares[name] >= t for name, t in TARGETS.items() if name in r) and all(
        r[name]["cpu_ms"] <= ms for name, ms in CPU_TARGETS_MS.items() if name in r
    )
    return shown, target, "PASS" if passed else "MISS"


if __name__ == "__main__":
    sys.exit(main())
