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
