"""Run every benchmark figure on one or more data sets and print a summary: each figure's numbers
at each size, the growth from the first size to the last, the previous run's numbers, the targets
and PASS / MISS.

    .venv/bin/python bench/run_all.py --database 100k=postgres://postgres@127.0.0.1:5432/mesoclinic_bench \\
        --database 1m=postgres://postgres@127.0.0.1:5432/mesoclinic_bench_1m [--requests 50] [--only 1,3]

Without --database, the one database of DATABASE_URL. Build each data set first
(bench/build_data.py, with --patients 1000000 for the 1M one).

The figures are found, not listed: every `bench/figN_<name>.py` is one (N its number). A figure
script's contract (bench/RESULTS.md, "Adding a figure"):
- it runs on its own under bench.settings, takes `--requests N`, prints its table and, last, one line
  `RESULT {json}` with at least "figure" (N) and "title";
- rows of timings go in "rows" (dicts with "label", "median_ms", "p95_ms", "queries", as
  bench/common.py's `measure` returns them) with "target_ms": the summary then judges the worst p95;
- or the module defines `verdict(result) -> (measured, target, "PASS" | "MISS")`, and may define
  `headline(result) -> {name: number}` (the numbers compared across sizes and runs; default: each
  row's p95, or "ratio") and `GROWTH_LIMIT` (the largest growth from the first size to the last
  that still passes, e.g. 1.3).

Each figure runs in its own process per data set, one after the other. The summary and each run's
numbers are written to bench/last_run.json; the next run prints them as "previous". The summary also
prints the host's pace before and after (a fixed pure-Python workload: lower is faster), because
absolute times on this shared VM change from day to day.
"""

import argparse
import datetime
import importlib
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))
LAST_RUN = HERE / "last_run.json"
FIGURE_FILE = re.compile(r"^fig(\d+)_\w+\.py$")


def figures() -> dict[int, str]:
    """{number: script name} of every bench/figN_*.py, by number."""
    found = {}
    for path in HERE.iterdir():
        if match := FIGURE_FILE.match(path.name):
            found[int(match.group(1))] = path.name
    return dict(sorted(found.items()))


def figure_module(number: int):
    """The figure's module (for its optional verdict, headline, GROWTH_LIMIT), or None."""
    name = figures().get(number)
    if name is None:
        return None
    # bench/common.py points DJANGO_SETTINGS_MODULE at bench.settings when imported: keep that out of
    # this process (the test suite imports run_all, and its later subprocesses inherit os.environ).
    saved = os.environ.get("DJANGO_SETTINGS_MODULE")
    try:
        return importlib.import_module(f"bench.{name.removesuffix('.py')}")
    except Exception:  # a figure that cannot be imported here is still run and judged by default
        return None
    finally:
        if saved is None:
            os.environ.pop("DJANGO_SETTINGS_MODULE", None)
        else:
            os.environ["DJANGO_SETTINGS_MODULE"] = saved


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


def run(number: int, requests: int, database_url: str | None = None) -> dict | None:
    command = [sys.executable, str(HERE / figures()[number]), "--requests", str(requests)]
    env = dict(os.environ)
    if database_url:
        env["DATABASE_URL"] = database_url
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, env=env)
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


def _rows_verdict(result: dict) -> tuple[str, str, str]:
    worst = max(result["rows"], key=lambda r: r["p95_ms"])
    queries = sorted({r["queries"] for r in result["rows"]})
    shown = f"worst p95 {worst['p95_ms']:.1f} ms ({worst['label']}); queries {'/'.join(map(str, queries))}"
    return (
        shown,
        f"p95 < {result['target_ms']} ms",
        "PASS" if worst["p95_ms"] < result["target_ms"] else "MISS",
    )


def _planner_verdict(result: dict) -> tuple[str, str, str]:
    page, service = result["rows"][0], result["rows"][1]
    shown = (
        f"page p95 {page['p95_ms']:.1f} ms, service p95 {service['p95_ms']:.1f} ms; {page['queries']} queries"
    )
    return (
        shown,
        f"p95 < {result['target_ms']} ms",
        "PASS" if page["p95_ms"] < result["target_ms"] else "MISS",
    )


def _ratio_verdict(result: dict) -> tuple[str, str, str]:
    shown = (
        f"medians {result['worker_rate']:.0f} vs {result['ceiling_rate']:.0f} msg/s = "
        f"{result['ratio']:.1%} (rounds {', '.join(f'{r:.0%}' for r in result.get('round_ratios', []))})"
    )
    return (
        shown,
        f">= {result['target_ratio']:.0%} of ceiling",
        "PASS" if result["ratio"] >= result["target_ratio"] else "MISS",
    )


# Figures 4 and 5 are judged here (their scripts predate the per-module contract).
_BUILT_IN = {4: _planner_verdict, 5: _ratio_verdict}


def verdict(result: dict) -> tuple[str, str, str]:
    """(measured, target, PASS/MISS) for one figure's RESULT."""
    module = figure_module(result["figure"])
    if module is not None and hasattr(module, "verdict"):
        return module.verdict(result)
    if result["figure"] in _BUILT_IN:
        return _BUILT_IN[result["figure"]](result)
    if "rows" in result and "target_ms" in result:
        return _rows_verdict(result)
    if "ratio" in result and "target_ratio" in result:
        passed = result["ratio"] >= result["target_ratio"]
        return f"{result['ratio']:.1%}", f">= {result['target_ratio']:.0%}", "PASS" if passed else "MISS"
    return "(no verdict)", "", "PASS"


def headline(result: dict) -> dict[str, float]:
    """The numbers of a figure compared across sizes and runs."""
    module = figure_module(result["figure"])
    if module is not None and hasattr(module, "headline"):
        return module.headline(result)
    if "rows" in result:
        return {f"{row['label']}, p95 ms": row["p95_ms"] for row in result["rows"]}
    if "ratio" in result:
        return {"ratio": result["ratio"]}
    return {}


def _previous() -> dict:
    try:
        return json.loads(LAST_RUN.read_text())
    except (OSError, ValueError):
        return {}


def _number(value: float | None, name: str) -> str:
    """A share or ratio as a percentage, anything else (ms, counts) as a number."""
    if value is None:
        return "—"
    return f"{value:.1%}" if name == "ratio" or "share" in name else f"{value:.1f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Run every benchmark figure on each data set.")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--only", help="comma-separated figure numbers, e.g. 1,3")
    parser.add_argument(
        "--database",
        action="append",
        metavar="LABEL=URL",
        help="a data set to run on (repeat: e.g. 100k=postgres://… 1m=postgres://…); default DATABASE_URL",
    )
    parser.add_argument("--no-save", action="store_true", help="do not write bench/last_run.json")
    args = parser.parse_args(argv)
    sizes = [tuple(item.split("=", 1)) for item in args.database or []] or [("data", None)]
    available = figures()
    numbers = [int(n) for n in args.only.split(",")] if args.only else list(available)
    started = datetime.datetime.now(datetime.UTC)
    pace_before = host_pace()
    results = {(n, label): run(n, args.requests, url) for n in numbers for label, url in sizes}
    pace_after = host_pace()
    previous = _previous()

    print(
        f"Summary ({started:%Y-%m-%d %H:%M} UTC, {args.requests} requests per row; host pace "
        f"{pace_before:.0f} ms before, {pace_after:.0f} ms after: a fixed Python workload, lower is faster)"
    )
    if previous:
        print(f"  previous: the run of {previous.get('started', '?')} (bench/last_run.json)")
    labels = [label for label, _url in sizes]
    failed = 0
    saved = {"started": f"{started:%Y-%m-%d %H:%M} UTC", "pace_ms": [pace_before, pace_after], "figures": {}}
    for n in numbers:
        module = figure_module(n)
        growth_limit = getattr(module, "GROWTH_LIMIT", None)
        print(f"\n  Figure {n} ({available.get(n, '?')})")
        figure_numbers = {}
        for label in labels:
            result = results[(n, label)]
            if result is None:
                print(f"    {label:<6} (failed to run)  ERROR")
                failed += 1
                continue
            shown, target, outcome = verdict(result)
            print(f"    {label:<6} {shown}   target {target}   {outcome}")
            figure_numbers[label] = headline(result)
        saved["figures"][str(n)] = figure_numbers
        names = list(dict.fromkeys(name for values in figure_numbers.values() for name in values))
        if not names:
            continue
        before = previous.get("figures", {}).get(str(n), {})
        header = "".join(f"{label:>10}" for label in labels)
        print(f"    {'':<58}{header}{'growth':>8}   previous ({', '.join(labels)})")
        for name in names:
            values = [figure_numbers.get(label, {}).get(name) for label in labels]
            growth = ""
            if len(values) > 1 and values[0] and values[-1] is not None:
                ratio = values[-1] / values[0]
                growth = f"{ratio:.2f}x"
                if growth_limit and ratio > growth_limit:
                    growth += "!"
            old = ", ".join(_number(before.get(label, {}).get(name), name) for label in labels)
            shown_values = "".join(f"{_number(v, name):>10}" for v in values)
            print(f"    {name[:58]:<58}{shown_values}{growth:>8}   {old}")
        if growth_limit:
            print(f"    growth limit {growth_limit}x from {labels[0]} to {labels[-1]} ('!' marks a miss)")
    if not args.no_save:
        LAST_RUN.write_text(json.dumps(saved, indent=1) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
