"""Figure 6: throughput of the patient page under gunicorn with wrk, beside a bare Django view.

gunicorn (2 sync workers, bench.settings, DEBUG off) on 127.0.0.1; wrk with 2 threads and 16
connections on two URLs: the long-history patient's page as a logged-in practitioner (session
cookie), and /bench-ok/ (a view returning "ok", through the same middleware). After a 2-second
warm-up of each, --rounds rounds (default 5) in which each URL gets --duration seconds (default 4),
the two taking turns and swapping who goes first each round, so that a burst of load on this shared
machine falls on both sides. The figure is the median of the rounds' ratios; each round is printed.
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
WORKERS = 2
CONNECTIONS = 16
THREADS = 2


def get(url: str, cookie: str = "") -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


def wrk(url: str, seconds: int, cookie: str) -> dict:
    command = [
        shutil.which("wrk") or "/usr/bin/wrk",
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        "--latency",
    ]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(command + [url], capture_output=True, text=True, timeout=seconds + 60).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
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
    from django.conf import settings

    from patients.models import Patient

    client = common.client_for("bench-prac-01")
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    patient = Patient.objects.get(chart_number="MC-000001")
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
        page = f"{base}/patients/{patient.pk}/"
        status, body = get(page, cookie)
        if status != 200 or patient.chart_number.encode() not in body:
            raise SystemExit(f"The patient page answered {status} under gunicorn")
        if get(f"{base}/bench-ok/")[1] != b"ok":
            raise SystemExit("/bench-ok/ did not answer ok")
        sides = (("patient page", page, cookie), ("bare view", f"{base}/bench-ok/", ""))
        for _name, url, with_cookie in sides:
            wrk(url, min(2, seconds), with_cookie)  # warm-up
        runs = {name: [] for name, _url, _cookie in sides}
        for number in range(rounds):
            for name, url, with_cookie in sides if number % 2 == 0 else reversed(sides):
                runs[name].append(wrk(url, seconds, with_cookie))
    finally:
        server.terminate()
        server.wait(timeout=20)
    round_ratios = [
        page_run["rps"] / bare_run["rps"]
        for page_run, bare_run in zip(runs["patient page"], runs["bare view"], strict=True)
    ]
    ratio = statistics.median(round_ratios)
    results = {
        name: {
            "rps": round(statistics.median(r["rps"] for r in side), 1),
            "non_2xx": sum(r["non_2xx"] for r in side),
            "p50_ms": statistics.median(r["p50_ms"] or 0 for r in side),
            "p99_ms": statistics.median(r["p99_ms"] or 0 for r in side),
            "rounds": [r["rps"] for r in side],
        }
        for name, side in runs.items()
    }
    print(
        f"Figure 6: throughput under gunicorn ({WORKERS} sync workers), wrk {THREADS} threads, "
        f"{CONNECTIONS} connections; {rounds} round(s) of {seconds} s per URL, taking turns; medians:"
    )
    for name, r in results.items():
        print(
            f"  {name:<14} {r['rps']:9.1f} req/s   latency p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, "
            f"non-2xx {r['non_2xx']}   rounds: {', '.join(f'{x:.0f}' for x in r['rounds'])}"
        )
    print(
        f"  ratio {ratio:.1%} (median of the rounds' ratios; target at least {TARGET_RATIO:.0%}); "
        f"per round {', '.join(f'{x:.1%}' for x in round_ratios)}"
    )
    common.emit(
        6,
        "Patient page throughput",
        results=results,
        ratio=round(ratio, 4),
        round_ratios=[round(x, 4) for x in round_ratios],
        target_ratio=TARGET_RATIO,
        seconds=seconds,
        rounds=rounds,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
