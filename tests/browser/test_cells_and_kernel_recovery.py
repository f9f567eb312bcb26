"""In a real JupyterLab, driven by headless Chromium: a notebook works in a track, its
panel's Cells tab lists that notebook with its cells; then that notebook's kernel is
killed (SIGKILL) while it holds the track, and a second notebook shows the notice of
the dead kernel, whose "mark failed" button fails the track on disk."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from conductor_nb.engine import Engine

from .labserver import open_notebook, run_all, running_lab, write_notebook

FIRST = [
    '%track activate "Browser work"',
    "x = sum(range(10))",
    "y = x * 2",
    "%track show",
]
SECOND = ['print("second notebook")']


@pytest.fixture
def lab(tmp_path: Path, chromium):
    """JupyterLab on a root with 'Browser work' ready, and the two notebooks."""
    root = tmp_path / "tracks-root"
    engine = Engine(root)
    track_id = engine.create("Browser work")["track_id"]
    engine.transition(track_id, "ready")
    with running_lab(tmp_path / "lab", {"CONDUCTOR_ROOT": str(root)}) as server:
        write_notebook(server.root / "first.ipynb", FIRST)
        write_notebook(server.root / "second.ipynb", SECOND)
        server.engine, server.track_id = engine, track_id
        yield server


def wait_for(condition, what: str) -> None:
    """Until the kernel (another process) has written what the test waits for."""
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_cells_tab_then_the_notice_of_a_dead_kernel(chromium, browser, lab, tmp_path) -> None:
    expect = chromium[0].expect
    engine, track_id = lab.engine, lab.track_id
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        open_notebook(page, lab, "first.ipynb")
        run_all(page)
        panel = page.locator(".jp-OutputArea-output .conductor-panel").first
        expect(panel).to_be_visible(timeout=60_000)
        expect(panel.locator(".conductor-panel-header")).to_contain_text("Browser work")
        panel.get_by_role("tab", name="Cells").click()
        row = panel.locator("tr", has_text="first.ipynb")
        expect(row).to_be_visible(timeout=20_000)
        # notebook, cells, runs, time, raised, last run: all four cells ran once (the
        # panel refreshes by itself when the %track show cell's record lands).
        expect(row.locator("td").nth(1)).to_have_text("4", timeout=20_000)
        expect(row.locator("td").nth(2)).to_have_text("4")
        expect(row.locator("td").nth(4)).to_have_text("0")
        records = engine.cells(track_id)
        assert {r["notebook"] for r in records} == {str(lab.root / "first.ipynb")}
        assert len({r["cell_id"] for r in records}) == 4
        page.screenshot(path=tmp_path / "cells-tab.png", full_page=True)
    except Exception:
        page.screenshot(path=tmp_path / "cells-tab-failed.png", full_page=True)
        raise
    finally:
        page.close()

    lease = engine.lease_of(track_id)
    assert lease["kind"] == "kernel" and lease["notebook"] == str(lab.root / "first.ipynb")
    os.kill(lease["pid"], signal.SIGKILL)
    wait_for(lambda: engine.detect(), "the killed kernel's lease was not seen as stale")

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        open_notebook(page, lab, "second.ipynb")
        run_all(page)
        notice = page.locator(".jp-OutputArea-output .conductor-recovery").first
        expect(notice).to_be_visible(timeout=60_000)
        outputs = page.locator(".jp-OutputArea").first  # the line, the widget, the cell's own
        expect(outputs).to_contain_text(
            f"the kernel of {lab.root / 'first.ipynb'} died with 'Browser work' ({track_id})"
        )
        expect(outputs).to_contain_text("second notebook")
        notice.get_by_role("button", name="mark failed").click()
        wait_for(lambda: engine.entry(track_id)["status"] == "failed", "the click did not fail it")
        expect(notice.locator(".conductor-message")).to_contain_text("marked failed")
        expect(notice.get_by_role("button", name="resume here")).to_be_disabled()
        assert engine.lease_of(track_id) is None
        history = json.loads((engine.tree.track_dir(track_id) / "track.json").read_text())
        assert history["history"][-1]["reason"].startswith(
            f"its kernel died ({lab.root / 'first.ipynb'}, last seen "
        )
        page.screenshot(path=tmp_path / "kernel-notice.png", full_page=True)
    except Exception:
        page.screenshot(path=tmp_path / "kernel-notice-failed.png", full_page=True)
        raise
    finally:
        page.close()
