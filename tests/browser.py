"""A real browser for the tests of the node's pages: Debian's Chromium driven by Playwright,
headless. A conftest imports these fixtures (and the report hook, so that `page` knows whether
its test failed and keeps a screenshot of the page as it was)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers.process import require_binary

# Without the background-networking switches Chromium dials out at start, which a closed
# network refuses; the rest keep a headless run quiet and repeatable.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)  # read by `page` to keep a failure's screenshot
    return report


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium (never a browser Playwright downloads), headless.

    Module-scoped: Playwright's synchronous API runs an event loop on this thread for as long as
    it is open, and any later test calling asyncio.run() (the MLLP listener's) would fail on it.
    """
    executable = require_binary("chromium", "/usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    # While that loop runs, Django takes every database call for one made from async code; the
    # test's own calls between its steps are synchronous all the same. Only for these tests.
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, headless=True,
                                                 args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where screenshots go: SCREENSHOT_DIR (kept as CI's artifacts), else the test's tmp_path."""
    folder = Path(os.environ.get("SCREENSHOT_DIR") or os.environ.get("PRIORS_SCREENSHOT_DIR")
                  or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(chromium: Any, screenshots: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 860})
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    try:
        yield opened
    finally:
        report = getattr(request.node, "report_call", None)
        if report is None or report.failed:
            opened.screenshot(path=str(screenshots / f"failed-{request.node.name}.png"), full_page=True)
        context.close()


def shooter(folder: Path, prefix: str) -> Callable[[Any, str], Path]:
    """A function saving the page as `<prefix>-<name>.png` in `folder`, whole, once its
    transitions have finished (progress bars as the page shows them when they settle)."""
    def take(on: Any, name: str) -> Path:
        path = folder / f"{prefix}-{name}.png"
        on.screenshot(path=str(path), full_page=True, animations="disabled")
        return path
    return take


def go(page: Any, selector: str) -> None:
    """Click a link or button and wait for the page it leads to."""
    with page.expect_navigation(wait_until="load", timeout=60_000):
        page.click(selector)
