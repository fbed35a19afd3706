"""Run the seven figures and print a summary table with the targets and PASS / MISS.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mesoclinic_bench \\
        .venv/bin/python bench/run_all.py [--requests 50] [--only 1,3]

Each figure runs in its own process (bench/figN_*.py, under bench.settings: DEBUG off) and prints its
own table; this script reads each one's RESULT line. Build the data first (bench/build_data.py).

Figures 1-4 are absolute times, and this shared VM's pace has changed about 2x from one day to the
next: the summary prints the time of a fixed pure-Python workload before and after the figures
("host pace"), so that runs on different days can be compared.
"""

import argparse
import datetime
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIGURES = {
    1: "fig1_search.py",
    2: "fig2_patient.py",
    3: "fig3_calendar.py",
    4: "fig4_planner.py",
    5: "fig5_dispatch.py",
    6: "fig6_throughput.py",
    7: "fig7_calendar_feed.py",
    8: "fig8_session_map.py",
    9: "fig9_recall.py",
    10: "fig10_photo_timeline.py",
}


def host_pace() -> float:
    """Milliseconds for a fixed pure-Python workload (one million loop steps of integer arithmetic,
    a dict and a string), the median of five: lower is a faster host."""
    times = []
    for _ in range(5):
        started = time.perf_counter()
        seen, total = {}, 0
        for i in range(1_000_000):
            total += i * i % 7
            seen[i & 1023] = str(i)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def run(number: int, requests: int) -> dict | None:
    command = [sys.executable, str(HERE / FIGURES[number]), "--requests", str(requests)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    result = None
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT ") :])
        else:
            print(line)
    if done.returncode != 0 or result is None:
        print(done.stderr[-3000:], file=sys.stderr)
        print(f"Figure {number} failed (exit {done.returncode})")
    print(flush=True)
    return result


def verdict(result: dict) -> tuple[str, str, str]:
    """(figure, target, PASS/MISS)."""
    n = result["figure"]
    if n in (1, 2, 3, 8, 9, 10):
        worst = max(result["rows"], key=lambda r: r["p95_ms"])
        queries = sorted({r["queries"] for r in result["rows"]})
        shown = (
            f"worst p95 {worst['p95_ms']:.1f} ms ({worst['label']}); queries {'/'.join(map(str, queries))}"
        )
        return (
            shown,
            f"p95 < {result['target_ms']} ms",
            "PASS" if worst["p95_ms"] < result["target_ms"] else "MISS",
        )
    if n == 4:
        page = result["rows"][0]
        service = result["rows"][1]
        shown = (
            f"page p95 {page['p95_ms']:.1f} ms, service p95 {service['p95_ms']:.1f} ms; "
            f"{page['queries']} queries"
        )
        return (
            shown,
            f"p95 < {result['target_ms']} ms",
            "PASS" if page["p95_ms"] < result["target_ms"] else "MISS",
        )
    if n == 5:
        shown = (
            f"medians {result['worker_rate']:.0f} vs {result['ceiling_rate']:.0f} msg/s = "
            f"{result['ratio']:.1%} (rounds {', '.join(f'{r:.0%}' for r in result.get('round_ratios', []))})"
        )
        return (
            shown,
            f">= {result['target_ratio']:.0%} of ceiling",
            "PASS" if result["ratio"] >= result["target_ratio"] else "MISS",
        )
    if n == 7:
        shown = (
            f"feed p95 {result['feed_p95_ms']:.1f} ms, queries {'/'.join(map(str, result['feed_queries']))}; "
            f"drag round trip p95 {result['move_p95_ms']:.1f} ms"
        )
        met = (
            result["feed_p95_ms"] < result["feed_target_ms"]
            and result["move_p95_ms"] < result["move_target_ms"]
            and len(result["feed_queries"]) == 1
        )
        return (
            shown,
            f"p95 < {result['feed_target_ms']} / {result['move_target_ms']} ms",
            "PASS" if met else "MISS",
        )
    r = result["results"]
    shown = (
        f"medians {r['patient page']['rps']:.0f} vs {r['bare view']['rps']:.0f} req/s = "
        f"{result['ratio']:.1%} (rounds {', '.join(f'{x:.0%}' for x in result.get('round_ratios', []))})"
    )
    return (
        shown,
        f">= {result['target_ratio']:.0%} of bare view",
        "PASS" if result["ratio"] >= result["target_ratio"] else "MISS",
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Run all benchmark figures.")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--only", help="comma-separated figure numbers, e.g. 1,3")
    args = parser.parse_args(argv)
    numbers = [int(n) for n in args.only.split(",")] if args.only else list(FIGURES)
    started = datetime.datetime.now(datetime.UTC)
    pace_before = host_pace()
    results = {n: run(n, args.requests) for n in numbers}
    pace_after = host_pace()
    print(
        f"Summary ({started:%Y-%m-%d %H:%M} UTC, {args.requests} requests per row; host pace "
        f"{pace_before:.0f} ms before, {pace_after:.0f} ms after: a fixed Python workload, lower is faster)"
    )
    print(f"  {'#':<2} {'figure':<28} {'measured':<78} {'target':<22} result")
    failed = 0
    for n in numbers:
        result = results[n]
        if result is None:
            print(f"  {n:<2} {FIGURES[n]:<28} {'(failed to run)':<78} {'':<22} ERROR")
            failed += 1
            continue
        shown, target, outcome = verdict(result)
        print(f"  {n:<2} {result['title']:<28} {shown:<78} {target:<22} {outcome}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
