"""Browser tests: Playwright driving Debian's Chromium against the live test server.

Chromium comes from the system (apt-get install chromium), never from a
Playwright download; axe-core comes from npm (node_modules). Screenshots go to
tests/e2e/screenshots/ (gitignored).
"""

import json
import os
import shutil
from pathlib import Path

import pytest

from bench.ops_phone import CHROMIUM, CHROMIUM_ARGS
from tests.services import in_ci

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "tests" / "e2e" / "screenshots"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# Playwright's sync API runs an event loop in this thread; the ORM calls the
# tests make between browser steps are ordinary blocking calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if Path(item.fspath).is_relative_to(here):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        if in_ci():
            pytest.fail(f"Chromium not found at {CHROMIUM}; CI installs it with apt-get install chromium")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _watch_csp(page) -> list[str]:
    """Collect every Content-Security-Policy violation the page reports (console or DOM event).

    Chromium logs a refused inline script or style, eval, or foreign origin to the console;
    the init script also records `securitypolicyviolation` events, which fire for blocked
    style attributes and report-only cases the console may phrase differently.
    """
    violations: list[str] = []

    def on_console(message):
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            violations.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    page.add_init_script(
        """document.addEventListener("securitypolicyviolation", (e) => {
            console.error(`Content Security Policy violation: ${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
        });"""
    )
    return violations


def _assert_no_csp_violations(violations: list[str]) -> None:
    if violations:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(dict.fromkeys(violations)))


# The two sizes every page must fit: a phone and a laptop.
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 800}


def open_sized_page(browser, live_server, viewport):
    """A page at `viewport` (narrow ones emulate a phone), failing its test on any CSP violation.

    A generator for fixtures parametrized by viewport: `yield from open_sized_page(browser, live_server, size)`.
    """
    context = browser.new_context(base_url=live_server.url, viewport=viewport, is_mobile=viewport["width"] < 700)
    page = context.new_page()
    page.set_default_timeout(15_000)
    violations = _watch_csp(page)
    yield page
    context.close()
    _assert_no_csp_violations(violations)


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    violations = _watch_csp(page)
    yield page
    context.close()
    _assert_no_csp_violations(violations)


@pytest.fixture
def phone_page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    violations = _watch_csp(page)
    yield page
    context.close()
    _assert_no_csp_violations(violations)


def wait_until(page, expression: str, timeout: float = 10.0) -> None:
    """Wait until the JavaScript `expression` is true in the page.

    Instead of page.wait_for_function, whose in-page polling compiles the expression with
    eval, which the Content-Security-Policy (no 'unsafe-eval') rightly refuses; page.evaluate
    goes through the DevTools protocol, outside the page's policy.
    """
    import time

    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for: {expression}")
        page.wait_for_timeout(100)


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page) -> list[dict]:
    """Run axe-core (WCAG 2.1 A and AA rules) in the page and return its violations."""
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `npm ci` (make install does)")
    # Evaluated through the DevTools protocol, not added as an inline <script>: the page's
    # Content-Security-Policy (script-src 'self') would rightly refuse an inline one.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async () => await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"""
    )
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]


def assert_accessible(page, label: str) -> None:
    violations = axe_violations(page)
    assert not violations, f"{label}: " + json.dumps(violations, ensure_ascii=False, indent=1)


@pytest.fixture(autouse=True)
def _committed_data(transactional_db):
    """The live server reads through its own connection, so test data must be committed."""
