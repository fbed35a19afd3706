"""The benchmark scripts in bench/ keep working (issue 6). Nothing here is timed: the data builder
runs at a tiny scale into a throwaway database, then every figure script runs once with two
requests, and the test checks what they print, not how fast."""

import json
import os
import subprocess
import sys
from pathlib import Path

import dj_database_url
import psycopg
import pytest

from bench import run_all

ROOT = Path(__file__).resolve().parents[2]
# Every figure bench/run_all.py finds (bench/figN_*.py), whoever added it.
FIGURES = [name.removesuffix(".py") for name in run_all.figures().values()]


@pytest.fixture
def throwaway_database():
    config = dj_database_url.parse(os.environ["DATABASE_URL"])
    name = f"{config['NAME']}_benchsmoke"[:63]
    admin = {
        "host": config["HOST"] or "127.0.0.1",
        "port": config["PORT"] or 5432,
        "user": config["USER"],
        "password": config["PASSWORD"] or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    auth = f"{config['USER']}:{config['PASSWORD']}@" if config["PASSWORD"] else f"{config['USER']}@"
    yield f"postgres://{auth}{admin['host']}:{admin['port']}/{name}"
    with psycopg.connect(**admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run(args, database_url):
    env = {**os.environ, "DATABASE_URL": database_url}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout


@pytest.mark.postgres
@pytest.mark.redis
def test_bench_builder_and_every_figure_script_run_and_print_their_figures(throwaway_database):
    out = _run(
        [
            "bench/build_data.py",
            *("--scale", "tiny", "--patients", "200", "--seed", "1"),
            *("--practitioners", "5", "--rooms", "4", "--outbox", "300"),
        ],
        throwaway_database,
    )
    assert "200 patients (COPY)" in out
    assert "staff (5 practitioners), 4 rooms" in out
    assert "300 outbox rows" in out
    assert "Done. Long-history patient: id 1 (MC-000001)" in out
    again = _run(["bench/build_data.py", "--scale", "tiny", "--patients", "200"], throwaway_database)
    assert "already there" in again  # idempotent

    for script in FIGURES:
        out = _run([f"bench/{script}.py", "--requests", "2"], throwaway_database)
        results = [json.loads(line[7:]) for line in out.splitlines() if line.startswith("RESULT ")]
        assert len(results) == 1, out
        result = results[0]
        assert out.startswith("Figure") or "Figure " in out
        if "rows" in result:
            assert result["rows"], out
            for row in result["rows"]:
                assert row["n"] == 2
                assert row["median_ms"] > 0 and row["p95_ms"] >= row["median_ms"]
                assert row["queries"] > 0
        elif result["figure"] == 5:
            assert result["not_sent"] == 0 and result["worker_rate"] > 0 and result["ceiling_rate"] > 0
        elif result["figure"] == 6:
            for page in ("patient page", "search page", "calendar week"):
                assert result["results"][page]["non_2xx"] == 0
                assert result["results"][page]["cpu_ms"] > 0
            assert result["results"]["bare view"]["rps"] > 0
            assert len(result["round_ratios"]) == result["rounds"] == 1
        # What bench/run_all.py's summary makes of it: a measured value, the target, a verdict.
        shown, target, outcome = run_all.verdict(result)
        assert shown and target and outcome in ("PASS", "MISS"), (shown, target, outcome)
    assert run_all.host_pace() > 0
    assert {1, 2, 3, 4, 5, 6} <= set(run_all.figures())


@pytest.mark.postgres
@pytest.mark.redis
def test_run_all_runs_a_figure_on_two_data_sets_and_prints_the_growth(throwaway_database):
    _run(["bench/build_data.py", "--scale", "tiny", "--patients", "120"], throwaway_database)
    out = _run(
        [
            "bench/run_all.py",
            *("--requests", "2", "--only", "1", "--no-save"),
            *("--database", f"small={throwaway_database}", "--database", f"again={throwaway_database}"),
        ],
        throwaway_database,
    )
    assert out.count("Figure 1: patient list and search") == 2
    assert "growth" in out and "no query (the navigation link), p95 ms" in out
    assert "growth limit 1.3x from small to again" in out
