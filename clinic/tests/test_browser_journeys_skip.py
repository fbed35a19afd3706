"""Without Chromium only the browser journeys skip, and the run says so; CI refuses to skip them.

pytest hands `pytest_collection_modifyitems` every item of the session, whichever conftest defines
it: a skip rule there once silenced the whole suite on a machine without Chromium ("765 skipped",
exit 0). These run pytest in a subprocess on one ordinary test file and one journey file.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SELECTION = ["clinic/tests/test_widgets.py", "tests_e2e/test_login.py"]


def run_pytest(*args, **env):
    full_env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "REQUIRE_BROWSER", "PYTEST_ADDOPTS"}
    }
    full_env["CHROMIUM_PATH"] = "/nonexistent/chromium"
    full_env.update(env)
    # Its own folder for the SQLite test database: sharing ours, the inner run's teardown would
    # delete the database file the outer run is still using.
    with tempfile.TemporaryDirectory(prefix="mesoclinic-inner-run-") as var_dir:
        full_env["MESOCLINIC_VAR_DIR"] = var_dir
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", *SELECTION, *args],
            cwd=ROOT,
            env=full_env,
            capture_output=True,
            text=True,
        )


def test_without_chromium_ordinary_tests_run_and_only_the_journeys_skip():
    done = run_pytest()
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "PASSED clinic/tests/test_widgets.py::" in out
    assert "SKIPPED" not in "\n".join(line for line in out.splitlines() if "test_widgets.py" in line)
    assert "SKIPPED [2] tests_e2e/test_login.py" in out
    *_, summary, counts = out.rstrip().splitlines()
    assert summary.startswith("browser journeys: 0 run, 2 skipped — no Chromium at /nonexistent/chromium"), (
        out
    )
    assert "passed" in counts, out


def test_when_the_browser_is_required_a_missing_chromium_fails_the_run():
    done = run_pytest(REQUIRE_BROWSER="1")
    out = done.stdout + done.stderr
    assert done.returncode != 0, out
    assert "REQUIRE_BROWSER=1" in out and "/nonexistent/chromium" in out


def test_when_the_browser_is_required_a_run_in_which_no_journey_ran_fails():
    # A browser is there (any executable will do: no journey launches it), but every journey is deselected.
    done = run_pytest("-k", "widget", CHROMIUM_PATH=sys.executable, REQUIRE_BROWSER="1")
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "REQUIRE_BROWSER=1 but 0 journeys ran" in out
