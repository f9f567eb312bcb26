"""Notebook memory outside the kernel: the cell records' storage (append, torn lines,
rotation), checkpoints leaving them alone, the analytics frames, `conductor cells`, and
`conductor peek`, which changes nothing on disk."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_process import conductor_in
from disk_snapshot import snapshot

from conductor_nb import analytics
from conductor_nb.engine import Engine
from conductor_nb.provenance import (
    CELLS_FILE,
    ROTATED_FILE,
    append_cell,
    notebook_summary,
    read_cells,
)


def cell(n: int, notebook: str | None = "a.ipynb", **extra) -> dict:
    return {
        "started_at": f"2026-03-01T09:00:{n:02d}.000Z",
        "duration_ms": 1000.0 * n,
        "execution_count": n,
        "sha256": f"{n:016x}",
        "raised": False,
        "notebook": notebook,
        "cell_id": f"cell-{n % 3}" if notebook else None,
        **extra,
    }


@pytest.fixture
def active(engine: Engine) -> str:
    track_id = engine.create("Cells at work")["track_id"]
    engine.transition(track_id, "activate")
    return track_id


def test_records_append_and_a_torn_line_is_skipped(engine: Engine, active: str) -> None:
    path = engine.tree.track_file(active, CELLS_FILE)
    append_cell(path, cell(1))
    with path.open("ab") as torn:
        torn.write(b'{"started_at": "2026-')  # a crash in the middle of a line
    append_cell(path, cell(2))
    assert [r["execution_count"] for r in read_cells(path.parent)] == [1, 2]
    assert [r["execution_count"] for r in engine.cells(active)] == [1, 2]


def test_a_missing_track_folder_is_an_error_and_is_not_created(engine: Engine, active: str) -> None:
    folder = engine.tree.track_dir(active)
    path = folder / CELLS_FILE
    for child in folder.iterdir():
        child.unlink() if child.is_file() else None
    os.rename(folder, folder.with_name("elsewhere"))
    with pytest.raises(FileNotFoundError):
        append_cell(path, cell(1))
    assert not folder.exists()


def test_the_file_rotates_and_storage_stays_bounded(engine: Engine, active: str) -> None:
    path = engine.tree.track_file(active, CELLS_FILE)
    rotated = path.with_name(ROTATED_FILE)
    limit = 1000
    for n in range(60):
        append_cell(path, cell(n), max_bytes=limit)
        assert path.stat().st_size < limit + 300  # a file only passes the limit by a line
    assert rotated.exists() and rotated.stat().st_size >= limit
    kept = [r["execution_count"] for r in read_cells(path.parent)]
    assert kept == list(range(60 - len(kept), 60))  # the most recent, oldest first
    assert 2 * limit // 300 < len(kept) < 60  # older ones dropped, at most two files kept


def test_checkpoints_leave_the_records_alone(engine: Engine, active: str) -> None:
    path = engine.tree.track_file(active, CELLS_FILE)
    append_cell(path, cell(1))
    manifest = engine.create_checkpoint(active)
    assert CELLS_FILE not in {entry["path"] for entry in manifest["files"]}
    append_cell(path, cell(2))
    diff = engine.diff_checkpoints(active, "last")
    assert CELLS_FILE not in diff["added"] + diff["changed"]
    engine.restore_checkpoint(active, manifest["checkpoint_id"])
    assert [r["execution_count"] for r in read_cells(path.parent)] == [1, 2]  # history kept


def test_notebook_summary_and_the_analytics_frames(root: Path, engine: Engine, active: str) -> None:
    path = engine.tree.track_file(active, CELLS_FILE)
    for n in (1, 2, 3, 4):
        append_cell(path, cell(n))
    append_cell(path, cell(5, notebook=None, raised=True, error="KeyError"))
    summary = notebook_summary(read_cells(path.parent))
    assert [(s["notebook"], s["cells"], s["runs"], s["seconds"], s["raised"]) for s in summary] == [
        ("a.ipynb", 3, 4, 10.0, 0),
        ("(console)", 1, 1, 5.0, 1),
    ]
    frame = analytics.cells(root)
    assert list(frame["execution_count"]) == [1, 2, 3, 4, 5]
    assert set(frame["track"]) == {"Cells at work"}
    assert str(frame["started_at"].dtype) == "datetime64[us, UTC]"
    per = analytics.notebook_time(root)
    assert per.loc[(active, "a.ipynb"), ["cells", "runs", "seconds"]].tolist() == [3, 4, 10.0]
    assert per.loc[(active, "(console)"), "raised"] == 1
    assert analytics.load(root).notebook_time().equals(per)


def test_conductor_cells_lists_them(
    tmp_path: Path, root: Path, engine: Engine, active: str
) -> None:
    append_cell(engine.tree.track_file(active, CELLS_FILE), cell(7))
    done = conductor_in(tmp_path, "cells", "Cells at work", env_root=root)
    assert done.returncode == 0, done.stderr
    assert f"{7:016x}" in done.stdout and "a.ipynb" in done.stdout
    assert done.stdout.rstrip().endswith(f"1 cells recorded for {active}")
    as_json = conductor_in(tmp_path, "cells", "--json", env_root=root)
    assert [r["execution_count"] for r in json.loads(as_json.stdout)] == [7]
    refused = conductor_in(tmp_path, "cells", "--off", env_root=root)
    assert refused.returncode == 2 and "%track cells --off" in refused.stderr


@pytest.fixture
def peeked(engine: Engine, active: str) -> str:
    """A paused track with decisions and a checkpoint, changed since it."""
    other = engine.create("Payment bugfix", goal="Stop double charges")["track_id"]
    engine.decide(other, "Use idempotency keys", rationale="retries happen")
    engine.create_checkpoint(other, reason="before the fix")
    engine.decide(other, "Log every retry")
    engine.add_step(other, "Write the test")
    return other


def test_conductor_peek_shows_another_track_and_changes_nothing(
    tmp_path: Path, root: Path, peeked: str, active: str
) -> None:
    before = snapshot(root)
    done = conductor_in(tmp_path, "peek", "Payment bugfix", "--diff", "1", env_root=root)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"peeking at {peeked} (read-only)" in out
    assert "Payment bugfix" in out and "Stop double charges" in out
    assert "Use idempotency keys" in out and "Log every retry" in out
    assert "checkpoint-001" in out and "before the fix" in out
    assert "checkpoint-001 -> current" in out and "decision" in out
    as_json = json.loads(
        conductor_in(tmp_path, "peek", peeked, "--diff", "last", "--json", env_root=root).stdout
    )
    assert as_json["track"]["track_id"] == peeked
    assert [d["summary"] for d in as_json["diff"]["decisions_added"]] == ["Log every retry"]
    assert snapshot(root) == before
    assert Engine(root).get_active()["track_id"] == active  # no switch


def test_peek_needs_a_track_and_a_real_checkpoint(tmp_path: Path, root: Path, peeked: str) -> None:
    assert conductor_in(tmp_path, "peek", env_root=root).returncode == 2
    missing = conductor_in(tmp_path, "peek", "Payment", "--diff", "9", env_root=root)
    assert missing.returncode == 1 and "has no checkpoint checkpoint-009" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_peeking_at_the_original_tools_tracks_changes_nothing(
    tmp_path: Path, seed_root: Path
) -> None:
    before = snapshot(seed_root)
    track_ids = [entry["track_id"] for entry in Engine(seed_root).list()]
    assert len(track_ids) > 3
    for track_id in track_ids:
        done = conductor_in(tmp_path, "peek", track_id, "--json", env_root=seed_root)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["track"]["track_id"] == track_id
    assert snapshot(seed_root) == before
