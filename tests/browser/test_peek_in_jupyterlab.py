"""In a real JupyterLab, driven by headless Chromium: ``%track peek`` shows another
track's panel read-only (the note, no transition buttons, its checkpoints) while the
active track stays active, and nothing of the peeked track changes on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from conductor_nb.engine import Engine

from .labserver import open_notebook, run_all, running_lab, write_notebook

CELLS = ['%track peek "Peeked work"']


@pytest.fixture
def lab(tmp_path: Path, chromium):
    """JupyterLab on a root where 'Working now' is active and 'Peeked work' is paused
    with a checkpoint, and a notebook that peeks at the paused one."""
    root = tmp_path / "tracks-root"
    engine = Engine(root)
    peeked = engine.create("Peeked work", goal="read it, change nothing")["track_id"]
    engine.transition(peeked, "activate")
    engine.decide(peeked, "a decision to read")
    engine.transition(peeked, "pause", reason="peek at it later")
    working = engine.create("Working now")["track_id"]
    engine.transition(working, "activate")
    with running_lab(tmp_path / "lab", {"CONDUCTOR_ROOT": str(root)}) as server:
        write_notebook(server.root / "peek.ipynb", CELLS)
        server.engine, server.peeked, server.working = engine, peeked, working
        yield server


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_peek_shows_a_read_only_panel_and_changes_nothing(chromium, browser, lab) -> None:
    expect = chromium[0].expect
    folder = lab.engine.tree.track_dir(lab.peeked)
    before = _files(folder)
    entry_before = lab.engine.entry(lab.peeked)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        open_notebook(page, lab, "peek.ipynb")
        run_all(page)
        panel = page.locator(".jp-OutputArea-output .conductor-peek").first
        expect(panel).to_be_visible(timeout=60_000)
        expect(panel).to_contain_text("peek: read-only")
        expect(panel).to_contain_text("Peeked work")
        for verb in ("resume", "complete", "cancel"):
            expect(panel.get_by_role("button", name=verb, exact=True)).to_have_count(0)
        panel.get_by_role("tab", name="Checkpoints").click()
        expect(panel).to_contain_text("checkpoint-001", timeout=20_000)
    finally:
        page.close()
    assert _files(folder) == before
    assert lab.engine.entry(lab.peeked) == entry_before
    assert lab.engine.get_active()["track_id"] == lab.working
