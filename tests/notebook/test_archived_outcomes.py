"""Whether an archived track succeeded is one rule (``analytics.outcomes``): ``%track
stats`` (its summary), ``%track analytics`` (its panel) and the analytics frames agree,
on tracks where the registry's ``completed_at`` alone would mislead."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conductor_nb import analytics
from conductor_nb.analytics.outcomes import outcome_before_archiving

AS_OF = datetime(2030, 1, 1, tzinfo=UTC)
FIGURES = ("completed", "failed", "cancelled", "closed")
RATES = ("success_rate", "ci_low", "ci_high")


def _registry(root: Path) -> dict:
    return json.loads((root / "tracks" / "track-registry.json").read_text())


def _track_json(root: Path, name: str) -> Path:
    entries = _registry(root)["tracks"]
    track_id = next(tid for tid, entry in entries.items() if entry["name"] == name)
    return root / "tracks" / track_id / "track.json"


def _edit(path: Path, **changes) -> None:
    doc = json.loads(path.read_text())
    doc.update(changes)
    path.write_text(json.dumps(doc))


def _history(track, root: Path) -> dict[str, str | None]:
    """Archived tracks of every kind, and what each ended as before archiving."""
    track('create --name "Done"')
    track('activate "Done"')
    track("complete")
    track('archive "Done"')
    # failed, then cancelled; a completed_at (left by another tool) reaches the registry
    # entry with the archive: completed_at alone would call it a success
    track('create --name "Stale stamp"')
    track('activate "Stale stamp"')
    track("fail")
    track('cancel "Stale stamp"')
    _edit(_track_json(root, "Stale stamp"), completed_at="2026-01-02T10:00:00.000Z")
    track('archive "Stale stamp"')
    # retried after a failure, then completed: the history's last closed status
    track('create --name "Retried"')
    track('activate "Retried"')
    track("fail")
    track('retry "Retried"')
    track('activate "Retried"')
    track("complete")
    track('archive "Retried"')
    # a history that records no closed status: track.json's outcomes.result tells
    track('create --name "Result only"')
    track('cancel "Result only"')
    track('archive "Result only"')
    path = _track_json(root, "Result only")
    history = json.loads(path.read_text())["history"]
    closed = [e for e in history if e["to"] != "cancelled"]
    _edit(path, history=closed, outcomes={"result": "failed"})
    # nothing tells: no closed status, no outcomes, no completed_at or cancelled_at
    track('create --name "Unknown"')
    track('cancel "Unknown"')
    track('archive "Unknown"')
    path = _track_json(root, "Unknown")
    history = json.loads(path.read_text())["history"]
    closed = [e for e in history if e["to"] != "cancelled"]
    _edit(path, history=closed, cancelled_at=None, outcomes=None)
    # track.json unreadable: the registry entry's timestamps tell
    track('create --name "Unreadable"')
    track('activate "Unreadable"')
    track("complete")
    track('archive "Unreadable"')
    _track_json(root, "Unreadable").write_text("{not json")
    # and closed tracks that are not archived
    track('create --name "Failed"')
    track('activate "Failed"')
    track("fail")
    track('create --name "Open"')
    return {
        "Done": "completed",
        "Stale stamp": "cancelled",
        "Retried": "completed",
        "Result only": "failed",
        "Unknown": None,
        "Unreadable": "completed",
        "Failed": "failed",
        "Open": None,
    }


def test_stats_panel_and_frames_agree_on_archived_tracks(track, root: Path) -> None:
    expected = _history(track, root)
    frame = analytics.load(root, now=AS_OF).tracks().set_index("name")
    outcomes = frame["outcome"].astype(object).where(frame["outcome"].notna(), None)
    assert outcomes.to_dict() == expected

    entries = _registry(root)["tracks"].values()
    stale = next(e for e in entries if e["name"] == "Stale stamp")
    assert stale["completed_at"]  # what the registry alone would count as a success
    for entry in (e for e in entries if e["status"] == "archived"):
        path = root / "tracks" / entry["track_id"] / "track.json"
        try:
            doc = json.loads(path.read_text())
        except ValueError:
            doc = None
        assert outcome_before_archiving(doc, entry) == expected[entry["name"]], entry["name"]

    stats = track("stats").data
    panel = track(f"analytics --as-of {AS_OF:%Y-%m-%dT%H:%MZ}").summary
    frames = analytics.summary(root, now=AS_OF)
    # 3 completed, 2 failed (one archived), 1 cancelled; "Unknown" is in none
    assert [stats[k] for k in FIGURES] == [3, 2, 1, 6]
    assert [panel[k] for k in FIGURES] == [frames[k] for k in FIGURES] == [3, 2, 1, 6]
    for key in RATES:
        assert stats[key] == pytest.approx(frames[key], abs=1e-4) == panel[key], key
    assert "success 50% of 6 closed" in repr(track("stats"))
