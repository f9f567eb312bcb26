"""Every transition of the seed's state machine: allowed ones succeed and stamp the track,
refused ones name what is allowed and change nothing; one active track; switch is all or
nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from conductor_nb import lifecycle
from conductor_nb.engine import Engine
from conductor_nb.errors import ActiveTrackExists, InvalidInput, InvalidTransition
from conductor_nb.vocab import TrackStatus as S

# A way into each status, as verbs applied to a fresh draft.
PATHS = {
    S.DRAFT: [],
    S.READY: ["ready"],
    S.ACTIVE: ["activate"],
    S.PAUSED: ["activate", "pause"],
    S.COMPLETED: ["activate", "complete"],
    S.FAILED: ["activate", "fail"],
    S.CANCELLED: ["cancel"],
    S.ARCHIVED: ["activate", "complete", "archive"],
}
STAMP_OF = {
    "ready": "ready_at",
    "pause": "paused_at",
    "complete": "completed_at",
    "fail": "failed_at",
    "cancel": "cancelled_at",
    "archive": "archived_at",
    "activate": "started_at",
}


def _track_in(engine: Engine, status: S, name: str) -> str:
    track_id = engine.create(name)["track_id"]
    for verb in PATHS[status]:
        engine.transition(track_id, verb)
    assert engine.entry(track_id)["status"] == status
    return track_id


def _expected(status: S, verb: str) -> S | None:
    """What the seed's table says ``verb`` does from ``status`` (None: refused)."""
    if verb == "activate" and status is S.DRAFT:
        return S.ACTIVE  # through ready, in one step
    action = lifecycle.ACTIONS[verb]
    return action.target if status in action.sources else None


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("verb", list(lifecycle.ACTIONS))
def test_every_verb_from_every_status(root: Path, status: S, verb: str) -> None:
    """A verb succeeds exactly where the table allows it; a refusal names the allowed verbs
    and leaves both files byte for byte as they were."""
    engine = Engine(root)
    track_id = _track_in(engine, status, "Subject track")
    registry = engine.tree.registry.path
    track_file = engine.tree.track_file(track_id, "track.json")
    before = registry.read_bytes(), track_file.read_bytes()
    expected = _expected(status, verb)
    if expected is None:
        with pytest.raises(InvalidTransition) as refused:
            engine.transition(track_id, verb)
        assert f"it is {status.value}" in str(refused.value)
        for allowed in lifecycle.VERBS_FROM[status]:
            assert allowed in str(refused.value)
        assert (registry.read_bytes(), track_file.read_bytes()) == before
        return
    track = engine.transition(track_id, verb)
    assert track["status"] == expected == engine.entry(track_id)["status"]
    last = track["history"][-1]
    assert (last["to"], last["actor"]) == (expected.value, engine.actor)
    assert set(last) == {"from", "to", "at", "reason", "actor"}
    if verb in STAMP_OF:
        assert STAMP_OF[verb] in track
    assert engine.validate() == []


def test_the_table_is_the_seeds() -> None:
    """The transition table is exactly the seed's."""
    assert {
        s.value: sorted(t.value for t in targets) for s, targets in lifecycle.TRANSITIONS.items()
    } == {
        "draft": ["cancelled", "ready"],
        "ready": ["active", "cancelled"],
        "active": ["completed", "failed", "paused"],
        "paused": ["active", "cancelled", "failed"],
        "completed": ["archived"],
        "failed": ["cancelled", "draft"],
        "cancelled": ["archived"],
        "archived": [],
    }


def test_activate_on_draft_records_both_steps(root: Path) -> None:
    """A draft activated goes through ready: two history events, one change on disk."""
    engine = Engine(root)
    track_id = engine.create("Draft track")["track_id"]
    track = engine.transition(track_id, "activate")
    assert [(e["from"], e["to"]) for e in track["history"]] == [
        (None, "draft"),
        ("draft", "ready"),
        ("ready", "active"),
    ]


def test_pause_and_resume_stamp_and_clear(root: Path) -> None:
    """pause stamps paused_at and its reason; resume clears them and stamps resumed_at."""
    engine = Engine(root)
    track_id = _track_in(engine, S.ACTIVE, "Pausing track")
    paused = engine.transition(track_id, "pause", reason="waiting for review")
    assert paused["pause_reason"] == "waiting for review" and "paused_at" in paused
    resumed = engine.transition(track_id, "resume")
    assert "paused_at" not in resumed and "pause_reason" not in resumed
    assert "resumed_at" in resumed and resumed["started_at"] == paused["started_at"]


def test_retry_counts_and_returns_to_draft(root: Path) -> None:
    """A failed track retried goes back to draft and counts the retry."""
    engine = Engine(root)
    track_id = _track_in(engine, S.FAILED, "Retried track")
    track = engine.transition(track_id, "retry")
    assert track["status"] == "draft" and track["metrics"]["retry_count"] == 1


def test_single_active_track(root: Path) -> None:
    """A second activation is refused naming the active track and suggesting switch;
    --force pauses the other; at most one track is ever active."""
    engine = Engine(root)
    first = _track_in(engine, S.ACTIVE, "First active")
    second = _track_in(engine, S.READY, "Second ready")
    with pytest.raises(ActiveTrackExists) as refused:
        engine.transition(second, "activate")
    assert first in str(refused.value) and f"switch --to {second}" in str(refused.value)
    paused = _track_in(engine, S.READY, "Another ready")
    with pytest.raises(ActiveTrackExists):  # resuming is activating too
        engine.transition(paused, "activate")
    engine.transition(second, "activate", force=True)
    assert engine.entry(first)["status"] == "paused"
    assert [e["track_id"] for e in engine.list(status="active")] == [second]
    assert engine.registry().active_track == second


def test_switch_pauses_the_active_and_activates_the_target(root: Path) -> None:
    """switch --to pauses the active track and activates the target."""
    engine = Engine(root)
    second = _track_in(engine, S.PAUSED, "Second track")
    first = _track_in(engine, S.ACTIVE, "First track")
    engine.switch(second, reason="urgent")
    assert engine.entry(first)["status"] == "paused"
    assert engine.entry(second)["status"] == "active"
    assert engine.track(first)["pause_reason"] == "urgent"
    with pytest.raises(InvalidInput, match="already active"):
        engine.switch(second)


def test_switch_is_all_or_nothing(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure in the middle of a switch's commit leaves both tracks as they were (after
    the journal is replayed or dropped on the next access) or both switched."""
    from conductor_nb.store import files

    engine = Engine(root)
    first = _track_in(engine, S.ACTIVE, "Source track")
    second = _track_in(engine, S.READY, "Target track")
    real_write = files.atomic_write
    seen = {"registry": False}

    def failing_write(path, content, **kwargs):
        # fail on the first track file after the registry (the commit point) was replaced
        if path.name == "track-registry.json":
            seen["registry"] = True
        elif seen["registry"] and path.name == "track.json":
            raise OSError(28, "No space left on device")
        return real_write(path, content, **kwargs)

    monkeypatch.setattr(files, "atomic_write", failing_write)
    with pytest.raises(OSError, match="No space left"):
        engine.switch(second)
    monkeypatch.setattr(files, "atomic_write", real_write)
    assert (root / "tracks" / ".conductor-journal.json").exists()  # a half-done commit
    fresh = Engine(root)
    with fresh.tree.transaction():
        pass  # the next lock finishes or drops what the failed commit left
    statuses = (fresh.entry(first)["status"], fresh.entry(second)["status"])
    assert statuses == ("paused", "active")  # past the commit point: it rolls forward
    assert fresh.validate() == []
    assert fresh.track(first)["status"] == "paused"


def test_switch_failing_before_the_commit_point_changes_nothing(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the commit fails before the registry is replaced, nothing changed."""
    from conductor_nb.store import files

    engine = Engine(root)
    first = _track_in(engine, S.ACTIVE, "Source track")
    second = _track_in(engine, S.READY, "Target track")
    before = {p: p.read_bytes() for p in root.rglob("*.json") if "checkpoints" not in p.parts}
    real_write = files.atomic_write

    def failing_write(path, content, **kwargs):
        if path.name == "track-registry.json":
            raise OSError(5, "I/O error")
        return real_write(path, content, **kwargs)

    monkeypatch.setattr(files, "atomic_write", failing_write)
    with pytest.raises(OSError, match="I/O error"):
        engine.switch(second)
    monkeypatch.setattr(files, "atomic_write", real_write)
    fresh = Engine(root)
    with fresh.tree.transaction():
        pass
    after = {p: p.read_bytes() for p in root.rglob("*.json") if "checkpoints" not in p.parts}
    assert {p: after.get(p) for p in before} == before
    assert (fresh.entry(first)["status"], fresh.entry(second)["status"]) == ("active", "ready")
