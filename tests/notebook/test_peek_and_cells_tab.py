"""In process: the panel's Cells tab (which notebooks and cells did the work), and
``%track peek``: another track's panel, read-only, that changes nothing on disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from disk_snapshot import snapshot

from conductor_nb.engine import Engine
from conductor_nb.notebook.panel import TrackPanel
from conductor_nb.notebook.peek import ReadOnlyPanel
from conductor_nb.provenance import CELLS_FILE, append_cell


def test_the_cells_tab_shows_time_per_notebook_escaped(engine: Engine) -> None:
    track_id = engine.create("Panel cells")["track_id"]
    path = engine.tree.track_file(track_id, CELLS_FILE)
    base = {"sha256": "0" * 16, "raised": False, "started_at": "2026-03-01T09:00:00.000Z"}
    append_cell(path, {**base, "notebook": "<b>eda</b>.ipynb", "cell_id": "x", "duration_ms": 1500})
    append_cell(path, {**base, "notebook": "<b>eda</b>.ipynb", "cell_id": "x", "duration_ms": 500})
    append_cell(path, {**base, "notebook": None, "cell_id": None, "duration_ms": 250})
    panel = TrackPanel(engine, track_id, live=False)
    table = panel.cells_table.value
    assert "&lt;b&gt;eda&lt;/b&gt;.ipynb" in table and "<b>eda" not in table
    assert "2.0 s" in table and "0.2 s" in table and "(console)" in table
    assert "Cells (2)" in panel.tabs.titles  # one cell of the notebook, one in a console
    append_cell(path, {**base, "notebook": "other.ipynb", "cell_id": "y", "duration_ms": 10})
    panel.refresh()
    assert "other.ipynb" in panel.cells_table.value and "Cells (3)" in panel.tabs.titles
    panel.close()


def test_cells_run_in_the_shell_show_in_track_cells(ip, track, magics) -> None:
    track('create --name "Shell cells"')
    track("activate Shell")
    assert ip.run_cell("shell_value = 6 * 7").success
    assert not ip.run_cell("raise KeyError('k')").success
    frame = ip.run_cell("%track cells").result
    assert list(frame.columns[:3]) == ["track_id", "started_at", "notebook"]
    assert frame["raised"].tolist()[-2:] == [False, True]
    assert frame["error"].tolist()[-1] == "KeyError"
    assert (
        str(ip.run_line_magic("track", "cells --off")) == "cells of this notebook are not recorded"
    )
    ip.run_cell("not_recorded = 1")
    assert str(ip.run_line_magic("track", "cells --on")) == "cells of this notebook are recorded"
    assert len(track("cells")) == len(frame) + 1  # the `%track cells` cell itself


@pytest.fixture
def two_tracks(magics, root: Path) -> tuple[Engine, str, str]:
    engine = magics.engine()
    active = engine.create("Active work")["track_id"]
    engine.transition(active, "activate")
    other = engine.create("Other work", goal="Look, do not touch")["track_id"]
    engine.decide(other, "Keep it small")
    engine.add_step(other, "First step")
    engine.create_checkpoint(other, reason="a mark")
    engine.decide(other, "A later decision")
    return engine, active, other


def test_peek_is_a_read_only_panel_that_changes_nothing(
    track, two_tracks: tuple[Engine, str, str], root: Path
) -> None:
    engine, active, other = two_tracks
    before = snapshot(root)
    panel = track('peek "Other work" --diff 1')
    try:
        assert isinstance(panel, ReadOnlyPanel) and panel.track_id == other
        assert "read-only" in panel.header.value and "Look, do not touch" in panel.header.value
        assert "A later decision" in panel.decisions_table.value
        assert "diff checkpoint-001 &rarr; current" in panel.checkpoint_result.value
        assert "A later decision" in panel.checkpoint_result.value
        assert all(control.disabled for control in panel.changing_controls())
        assert all(button.layout.display == "none" for button in panel.buttons)
        # whatever is clicked, nothing changes
        assert not panel.tick(panel.step_rows[0].step_id, True)
        panel.decision_summary.value = "Sneaky"
        assert not panel.decide()
        assert not panel.create_checkpoint()
        assert not panel.transition("pause")
        panel.ask_restore()
        assert "read-only" in panel.message.value
        assert panel.diff()  # reading is allowed
        panel.refresh(everything=True)
        assert all(control.disabled for control in panel.changing_controls())
    finally:
        panel.close()
    assert snapshot(root) == before
    assert engine.get_active()["track_id"] == active
