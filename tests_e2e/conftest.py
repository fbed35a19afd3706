"""Browser journeys in real headless Chromium (Debian's package), driven by Playwright.

Never `playwright install`: the browser is /usr/bin/chromium. Without it only the journeys skip, and
the end of the run says how many and why; with REQUIRE_BROWSER=1 (CI) that fails the run instead.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
# One full-page screenshot per page of the browser crawl (test_every_page_in_chromium.py).
SCREENSHOTS = Path(
    os.environ.get("SCREENSHOT_DIR", Path(__file__).resolve().parents[1] / "var" / "screenshots")
)

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

HERE = Path(__file__).resolve().parent
NO_CHROMIUM = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
# CI sets REQUIRE_BROWSER=1: there a missing browser, or a run in which no journey ran, fails.
REQUIRE_BROWSER = os.environ.get("REQUIRE_BROWSER") == "1"
JOURNEYS = pytest.StashKey[set]()  # node ids of the journeys collected in this run
SCREENSHOTS_TAKEN = pytest.StashKey[bool]()


def is_journey(item) -> bool:
    return HERE in Path(item.path).resolve().parents


def pytest_collection_modifyitems(config, items):
    # pytest passes every item of the session here, not only this folder's: touch only the journeys.
    journeys = [item for item in items if is_journey(item)]
    config.stash[JOURNEYS] = {item.nodeid for item in journeys}
    if journeys and not CHROMIUM.exists() and REQUIRE_BROWSER:
        raise pytest.UsageError(f"REQUIRE_BROWSER=1 but {NO_CHROMIUM}: the browser journeys cannot run.")
    for item in journeys:
        item.add_marker(pytest.mark.e2e)
        if not CHROMIUM.exists():
            item.add_marker(pytest.mark.skip(reason=NO_CHROMIUM))


def journey_counts(terminalreporter) -> tuple[int, list]:
    """(journeys run, skip reports of journeys) from what the terminal reporter recorded."""
    nodeids = terminalreporter.config.stash.get(JOURNEYS, set())
    run = sum(
        1
        for outcome in ("passed", "failed", "xfailed", "xpassed")
        for report in terminalreporter.stats.get(outcome, [])
        if report.nodeid in nodeids and report.when == "call"
    )
    skipped = [report for report in terminalreporter.stats.get("skipped", []) if report.nodeid in nodeids]
    return run, skipped


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config):
    # Outermost wrapper: written after the short test summary, just above the final count line.
    yield
    run, skipped = journey_counts(terminalreporter)
    reasons = sorted({str(report.longrepr[2]).removeprefix("Skipped: ") for report in skipped})
    line = f"browser journeys: {run} run, {len(skipped)} skipped"
    if reasons:
        line += " — " + "; ".join(reasons)
    if config.stash.get(SCREENSHOTS_TAKEN, False):
        terminalreporter.write_line(f"browser crawl screenshots: {SCREENSHOTS}")
    terminalreporter.write_line(line)


def pytest_sessionfinish(session, exitstatus):
    if not REQUIRE_BROWSER or exitstatus != pytest.ExitCode.OK:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    run, skipped = journey_counts(reporter)
    if run == 0 or skipped:
        reporter.write_line("")
        reporter.write_line(f"REQUIRE_BROWSER=1 but {run} journeys ran and {len(skipped)} skipped.", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="en-GB", timezone_id="Europe/Lisbon")
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.console_errors = errors
    yield page
    context.close()


@pytest.fixture
def screenshots(request) -> Path:
    """The folder for full-page screenshots, which the end of the run names for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    request.config.stash[SCREENSHOTS_TAKEN] = True
    return SCREENSHOTS


@pytest.fixture
def login(page):
    """`login(user)`: log in through the real form, as a person would."""

    def do_login(user, password="mesoclinic"):
        page.goto("/accounts/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        pass_second_factor(page, user)
        return page

    return do_login


def totp_code(device) -> str:
    from django_otp.oath import totp

    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def enrolment_code(page) -> str:
    """The code an authenticator app shows for the key the set-up page gives to type in (nothing is
    saved until that code confirms it, so the page is the only place the key is)."""
    import base64

    from django_otp.oath import totp

    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    return f"{totp(base64.b32decode(secret + '=' * (-len(secret) % 8))):06d}"


def pass_second_factor(page, user) -> None:
    """The second step of signing in, as a person with an authenticator app does it: enrol when the
    page asks (clinic admin), else type the code the app shows."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if "/accounts/second-factor/app/" in page.url:
        page.get_by_label("Code").fill(enrolment_code(page))
        page.get_by_role("button", name="Confirm and continue").click()
        page.get_by_role("link", name="I have kept them, continue").click()
    elif "/accounts/second-factor/" in page.url:
        TOTPDevice.objects.filter(user=user).update(last_t=-1)  # a code twice within 30 s, in tests
        page.get_by_label("Code").fill(totp_code(TOTPDevice.objects.get(user=user, confirmed=True)))
        page.get_by_role("button", name="Continue").click()
    page.wait_for_url(lambda url: "/accounts/" not in url or "/accounts/security/" in url)
