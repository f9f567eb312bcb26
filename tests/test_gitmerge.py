"""The merge rules of each document, on the documents themselves (the git tests in
test_git_sharing.py run them as git's drivers)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conductor_nb.gitmerge.merging import merge_notes, merge_registry, merge_track
from conductor_nb.store import files


def entry(track_id: str, status: str = "draft", at: str = "2026-01-01T00:00:00.000Z", **more):
    return {"track_id": track_id, "name": track_id, "status": status, "updated_at": at, **more}


def registry(*entries: dict, active: str | None = None) -> dict:
    return {
        "version": "1.0",
        "active_track": active,
        "tracks": {e["track_id"]: e for e in entries},
        "metadata": {
            "total_tracks": len(entries),
            "active_count": 0,
            "completed_count": 0,
            "last_updated": "2026-01-01T00:00:00.000Z",
        },
    }


def test_registry_entries_added_deleted_and_changed_on_either_side() -> None:
    base = registry(entry("track-a-1"), entry("track-b-2"), entry("track-c-3"))
    ours = registry(
        entry("track-a-1", "completed", "2026-01-03T00:00:00.000Z"),  # changed here
        entry("track-c-3"),  # b deleted here, unchanged there: deleted
        entry("track-d-4"),  # added here
    )
    theirs = registry(
        entry("track-a-1", "active", "2026-01-02T00:00:00.000Z", priority="P0"),
        entry("track-b-2"),
        # c deleted there but unchanged here: deleted
        entry("track-e-5", "completed", "2026-01-04T00:00:00.000Z"),  # added there
    )
    merged, conflicts = merge_registry(base, ours, theirs)
    assert conflicts == []
    assert list(merged["tracks"]) == ["track-a-1", "track-d-4", "track-e-5"]
    a = merged["tracks"]["track-a-1"]
    # a field both changed: the newer entry's; a field one side changed: that side's
    assert a["status"] == "completed" and a["priority"] == "P0"
    assert a["updated_at"] == "2026-01-03T00:00:00.000Z"
    assert merged["metadata"] == {
        "total_tracks": 3,
        "active_count": 0,
        "completed_count": 2,
        "last_updated": "2026-01-01T00:00:00.000Z",
    }
    assert merged["active_track"] is None


def test_an_entry_changed_on_one_side_and_deleted_on_the_other_is_kept() -> None:
    base = registry(entry("track-a-1"))
    ours = registry(entry("track-a-1", "ready", "2026-01-02T00:00:00.000Z"))
    merged, _ = merge_registry(base, ours, registry())
    assert merged["tracks"]["track-a-1"]["status"] == "ready"


def test_the_one_active_entry_is_the_active_track() -> None:
    base = registry(entry("track-a-1"), entry("track-b-2"))
    ours = registry(entry("track-a-1"), entry("track-b-2", "active"), active="track-b-2")
    merged, conflicts = merge_registry(base, ours, base)
    assert conflicts == [] and merged["active_track"] == "track-b-2"
    assert merged["metadata"]["active_count"] == 1
    assert list(merged) == list(base)  # the keys keep their place


def test_track_fields_merge_and_lists_are_unions() -> None:
    history0 = [{"from": None, "to": "draft", "at": "2026-01-01T00:00:00.000Z"}]
    base = {
        "track_id": "track-a-1",
        "status": "draft",
        "context": {"goal": "g", "success_criteria": []},
        "history": history0,
        "updated_at": "2026-01-01T00:00:00.000Z",
        "steps": [],
    }
    ready = {"from": "draft", "to": "ready", "at": "2026-01-02T00:00:00.000Z"}
    ours = {
        **base,
        "status": "ready",
        "ready_at": "2026-01-02T00:00:00.000Z",
        "history": [*history0, ready],
        "updated_at": "2026-01-02T00:00:00.000Z",
        "steps": [{"step_id": "step-1", "name": "mine", "status": "pending", "order": 0}],
    }
    theirs = {
        **base,
        "context": {"goal": "g", "success_criteria": ["fast"]},
        "updated_at": "2026-01-03T00:00:00.000Z",
        "steps": [{"step_id": "step-1", "name": "yours", "status": "completed", "order": 0}],
    }
    merged, merge = merge_track(base, ours, theirs)
    assert merge.conflicts == []
    assert merged["status"] == "ready" and merged["ready_at"] == "2026-01-02T00:00:00.000Z"
    assert merged["context"] == {"goal": "g", "success_criteria": ["fast"]}
    assert merged["history"] == [*history0, ready]
    assert merged["updated_at"] == "2026-01-03T00:00:00.000Z"
    # both added step-1: one keeps it, the other is step-2; progress is recomputed
    assert [(s["step_id"], s["order"]) for s in merged["steps"]] == [("step-1", 0), ("step-2", 1)]
    assert merged["progress"]["total_steps"] == 2 and merged["progress"]["completed_steps"] == 1
    assert merge_track(base, theirs, ours)[0]["steps"] == merged["steps"]  # either direction


def test_the_same_field_changed_differently_is_a_conflict() -> None:
    base = {"context": {"goal": "g", "prerequisites": []}, "priority": "P2"}
    ours = {"context": {"goal": "mine", "prerequisites": []}, "priority": "P1"}
    theirs = {"context": {"goal": "yours", "prerequisites": []}, "priority": "P1"}
    merged, merge = merge_track(base, ours, theirs)
    assert [str(c) for c in merge.conflicts] == ["context.goal: ours 'mine', theirs 'yours'"]
    assert merged["context"]["goal"] == "mine" and merged["priority"] == "P1"


def test_notes_both_sides_added_are_kept_in_time_order() -> None:
    one = {"id": "decision-1", "timestamp": "2026-01-01T00:00:00.000Z", "summary": "a"}
    ours = [one, {"id": "decision-2", "timestamp": "2026-01-03T00:00:00.000Z", "summary": "b"}]
    theirs = [one, {"id": "decision-2", "timestamp": "2026-01-02T00:00:00.000Z", "summary": "c"}]
    merged, merge = merge_notes([one], ours, theirs)
    assert merge.conflicts == []
    assert [(d["id"], d["summary"]) for d in merged] == [
        ("decision-1", "a"),
        ("decision-2", "c"),
        ("decision-3", "b"),
    ]
    assert merge_notes([one], theirs, ours)[0] == merged


def _driver(kind: str, tmp_path: Path, base: str, ours: str, theirs: str):
    paths = []
    for name, text in (("base", base), ("ours", ours), ("theirs", theirs)):
        path = tmp_path / name
        path.write_text(text)
        paths.append(str(path))
    done = subprocess.run(
        [sys.executable, "-m", "conductor_nb.gitmerge", kind, *paths, "x/track.json"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done, Path(paths[1]).read_text()


def test_the_driver_writes_the_tools_formatting_or_conflict_markers(tmp_path: Path) -> None:
    base = {"name": "n", "context": {"goal": "g"}}
    ours = {"name": "mine", "context": {"goal": "g"}}
    theirs = {"name": "n", "context": {"goal": "theirs"}}
    done, text = _driver("track", tmp_path, *(files.dumps(d) for d in (base, ours, theirs)))
    assert done.returncode == 0
    assert text == files.dumps({"name": "mine", "context": {"goal": "theirs"}})

    ours["context"]["goal"] = "ours"
    done, text = _driver("track", tmp_path, *(files.dumps(d) for d in (base, ours, theirs)))
    assert done.returncode == 1
    assert "conflict in x/track.json: context.goal" in done.stderr
    assert '<<<<<<< ours\n    "goal": "ours"\n=======\n    "goal": "theirs"\n>>>>>>> theirs' in text


def test_the_driver_falls_back_to_a_line_merge_on_text_that_is_not_json(tmp_path: Path) -> None:
    done, text = _driver("notes", tmp_path, "[\n]\n", "[\n<<<<<<< x\n]\n", "[\n  1\n]\n")
    assert done.returncode == 1
    assert "merging x/track.json line by line" in done.stderr
    assert "<<<<<<< ours\n<<<<<<< x\n=======\n  1\n>>>>>>> theirs" in text  # git merge-file's


def test_the_driver_names_its_usage(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "conductor_nb.gitmerge", "tracks"], capture_output=True, text=True
    )
    assert done.returncode == 2 and done.stderr.startswith("usage: ")
