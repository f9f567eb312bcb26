"""The widget tour in a real JupyterLab 4 and Notebook 7, driven by headless Chromium: the
board and the panel render as widgets (not as their text fallback), a click on a
transition button changes the track on disk, the view follows, and a change made by
another process shows by itself."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from conductor_nb.engine import Engine

from .labserver import open_notebook, run_all, running_lab

TOUR = Path(__file__).resolve().parents[2] / "notebooks" / "05-widgets-tour.ipynb"


@pytest.fixture(scope="module", params=["jupyterlab", "notebook"])
def lab(request, tmp_path_factory, chromium):
    """JupyterLab 4, then Notebook 7: the widgets must render in both. (``chromium``
    first: without a browser there is no point starting a server.)"""
    base = tmp_path_factory.mktemp(request.param)
    tour_root = base / "tour-root"
    with running_lab(base, {"CONDUCTOR_TOUR_ROOT": str(tour_root)}, app=request.param) as server:
        shutil.copy(TOUR, server.root / TOUR.name)
        server.tour_root = tour_root
        yield server


def track_status(tour_root: Path, name_part: str) -> str | None:
    for path in (tour_root / "tracks").glob(f"track-{name_part}-*/track.json"):
        return json.loads(path.read_text())["status"]
    return None


def test_tour_renders_widgets_and_a_click_reaches_the_disk(chromium, browser, lab, tmp_path):
    expect = chromium[0].expect
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        open_notebook(page, lab, TOUR.name)
        run_all(page)
        board = page.locator(".jp-OutputArea-output .conductor-board").first
        expect(board).to_be_visible(timeout=60_000)
        expect(board.locator(".conductor-board-summary")).to_contain_text("5 tracks")
        # the top line: what `next` proposes (the ready track), and why
        expect(board.locator(".conductor-next").first).to_contain_text(
            "Next: Docs migration (P2, ready"
        )
        panel = page.locator(".jp-OutputArea-output .conductor-panel").first
        expect(panel).to_be_visible(timeout=60_000)
        # Rendered as widgets: the HTML fallback is not what the page shows.
        expect(page.locator(".conductor-board-fallback")).to_have_count(0)
        expect(page.locator(".jp-OutputArea-output .conductor-track")).to_have_count(0)
        expect(panel.locator(".conductor-panel-header")).to_contain_text("OAuth login")

        row = board.locator(".conductor-board-row", has_text="Cache experiment")
        assert track_status(lab.tour_root, "cache-experiment") == "draft"
        row.get_by_role("button", name="ready", exact=True).click()
        deadline = time.monotonic() + 20
        while track_status(lab.tour_root, "cache-experiment") != "ready":  # the kernel wrote it
            assert time.monotonic() < deadline, "the click did not reach the disk"
            time.sleep(0.1)
        expect(row.get_by_role("button", name="activate", exact=True)).to_be_visible()
        expect(board.locator(".conductor-message")).to_contain_text("now ready")
        board.screenshot(path=tmp_path / f"board-{lab.app}.png")

        # Another process changes a track: the board shows it by itself (no click, no
        # re-run). How fast is measured by benchmarks/bench_board.py, not here.
        other = Engine(lab.tour_root)
        other.transition("Payment retry", "ready")
        payment = board.locator(".conductor-board-row", has_text="Payment retry")
        expect(payment.get_by_role("button", name="activate", exact=True)).to_be_visible(
            timeout=10_000
        )

        # The last panel has its checkpoints tab open: verify from the browser.
        last_panel = page.locator(".jp-OutputArea-output .conductor-panel").last
        last_panel.get_by_role("button", name="verify", exact=True).click()
        expect(last_panel.locator(".conductor-message")).to_contain_text("intact")
        page.screenshot(path=tmp_path / f"widgets-tour-{lab.app}.png", full_page=True)
    except Exception:
        page.screenshot(path=tmp_path / f"widgets-tour-{lab.app}-failed.png", full_page=True)
        raise
    finally:
        page.close()
