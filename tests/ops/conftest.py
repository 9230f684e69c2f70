"""The console's tests: the browser of tests/browser.py for the walk-through."""

from __future__ import annotations

from tests import browser

pytest_runtest_makereport = browser.pytest_runtest_makereport
chromium, page, screenshots = browser.chromium, browser.page, browser.screenshots
