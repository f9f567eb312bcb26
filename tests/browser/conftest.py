"""What every real-browser test needs: Playwright and a Chromium to drive."""

from __future__ import annotations

import pytest

from .labserver import INSTALL_HINT, chromium_path


@pytest.fixture(scope="module")
def chromium():
    """Playwright and a Chromium executable, or a skip naming what is missing (which fails
    a run with CI set: see the top-level conftest.py)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = chromium_path()
    if executable is None:
        pytest.skip(INSTALL_HINT)
    return sync_api, executable


@pytest.fixture(scope="module")
def browser(chromium):
    """A headless Chromium for the tests of one module."""
    sync_api, executable = chromium
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True)
        yield browser
        browser.close()
