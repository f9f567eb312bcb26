"""Every transition of the seed's state machine: allowed ones succeed, stamp the track and
append one history event per step; refused ones name what is allowed and change nothing;
one active track at a time; switch is all or nothing; durations come from the history."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conductor_nb import lifecycle
from conductor_nb.engine import Engine
from conductor_nb.errors import (
    ActiveTrackExists,
    CorruptFile,
    InvalidInput,
    InvalidTransition,
)
from conductor_nb.store import files, wal
from conductor_nb.tracks import iso
from conductor_nb.trackstore import TrackStore
from conductor_nb.vocab import TrackStatus as S

ACTOR = "tester@lab"
REASON = "because the test says so"
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

# A way into each status, as verbs applied to a fresh draft.
PATHS = {
    S.DRAFT: [],
    S.READY: ["ready"],
    S.ACTIVE: ["ready", "activate"],
    S.PAUSED: ["ready", "activate", "pause"],
    S.COMPLETED: ["ready", "activate", "complete"],
    S.FAILED: ["ready", "activate", "fail"],
    S.CANCELLED: ["cancel"],
    S.ARCHIVED: ["ready", "activate", "complete", "archive"],
}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def tick(self, **delta: float) -> str:
        self.now += timedelta(**(delta or {"minutes": 1}))
        return iso(self.now)


def _engine(root: Path, clock: Clock) -> Engine:
    return Engine(root, clock=clock, actor=ACTOR)


def _track_in(engine: Engine, clock: Clock, status: S, name: str) -> str:
    track_id = engine.create(name)["track_id"]
    for verb in PATHS[status]:
        clock.tick()
        engine.transition(track_id, verb)
    assert engine.entry(track_id)["status"] == status
    return track_id


def _spec_steps(status: S, verb: str) -> list[tuple[S, S]] | None:
    """The steps the seed's tables give for ``verb`` from ``status`` (None: refused)."""
    action = lifecycle.ACTIONS[verb]
    if verb == "activate" and status is S.DRAFT:
        steps = [(S.DRAFT, S.READY), (S.READY, S.ACTIVE)]
    elif status in action.sources:
        steps = [(status, action.target)]
    else:
        return None
    for source, target in steps:  # every step is an edge of the transition table
        assert target in lifecycle.TRANSITIONS[source]
    return steps


def _spec_verbs(status: S) -> set[str]:
    verbs = {v for v, a in lifecycle.ACTIONS.items() if status in a.sources}
    return verbs | ({"activate"} if status is S.DRAFT else set())


def _disk(engine: Engine, *track_ids: str) -> list[bytes]:
    paths = [engine.tree.registry.path]
    paths += [engine.tree.track_file(t, "track.json") for t in track_ids]
    return [p.read_bytes() for p in paths]


def _on_disk(engine: Engine, track_id: str) -> dict:
    return json.loads(engine.tree.track_file(track_id, "track.json").read_text())


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("verb", list(lifecycle.ACTIONS))
def test_verb_succeeds_exactly_where_the_table_allows_it(root: Path, status: S, verb: str) -> None:
    """A verb from a status succeeds exactly when ACTIONS/TRANSITIONS allow it, with one
    history event per step and its timestamp; a refusal names the allowed verbs and leaves
    both files byte for byte as they were."""
    clock = Clock()
    engine = _engine(root, clock)
    track_id = _track_in(engine, clock, status, "Subject track")
    before = _disk(engine, track_id)
    old = _on_disk(engine, track_id)
    now = clock.tick()
    steps = _spec_steps(status, verb)
    if steps is None:
        with pytest.raises(InvalidTransition) as refused:
            engine.transition(track_id, verb, reason=REASON)
        err = refused.value
        assert (err.track_id, err.status, err.action) == (track_id, status, verb)
        assert set(err.allowed) == _spec_verbs(status)
        allowed_text = ", ".join(err.allowed) or "none (the track is archived)"
        assert f"it is {status.value}; allowed from {status.value}: {allowed_text}" in str(err)
        assert _disk(engine, track_id) == before
        return

    track = engine.transition(track_id, verb, reason=REASON)
    target = steps[-1][1]
    assert track == _on_disk(engine, track_id)
    assert track["status"] == target.value == engine.entry(track_id)["status"]
    assert engine.entry(track_id)["updated_at"] == track["updated_at"] == now
    expected_events = [
        {"from": a.value, "to": b.value, "at": now, "reason": REASON, "actor": ACTOR}
        for a, b in steps
    ]
    assert track["history"] == old["history"] + expected_events
    if target is S.ACTIVE:
        assert track["started_at"] == old.get("started_at", now)
        if status is S.PAUSED:
            assert track["resumed_at"] == now
            assert "paused_at" not in track and "pause_reason" not in track
    elif target is S.DRAFT:
        assert track["metrics"]["retry_count"] == 1
    else:
        assert track[lifecycle.STAMPS[target]] == now
    if target is S.PAUSED:
        assert track["pause_reason"] == REASON
    registry = engine.registry()
    assert registry.active_track == (track_id if target is S.ACTIVE else None)
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


def test_the_verbs_are_the_seeds() -> None:
    """Each verb leads to the seed's status from exactly the seed's statuses."""
    assert {
        verb: (action.target.value, sorted(s.value for s in action.sources))
        for verb, action in lifecycle.ACTIONS.items()
    } == {
        "ready": ("ready", ["draft"]),
        "activate": ("active", ["paused", "ready"]),  # and draft, through ready
        "pause": ("paused", ["active"]),
        "resume": ("active", ["paused"]),
        "complete": ("completed", ["active"]),
        "fail": ("failed", ["active", "paused"]),
        "cancel": ("cancelled", ["draft", "failed", "paused", "ready"]),
        "archive": ("archived", ["cancelled", "completed"]),
        "retry": ("draft", ["failed"]),
    }


def test_activate_on_a_draft_records_draft_ready_and_ready_active(root: Path) -> None:
    """A draft activated goes through ready: two history events stamped at the same moment."""
    clock = Clock()
    engine = _engine(root, clock)
    track_id = engine.create("Draft track")["track_id"]
    now = clock.tick()
    track = engine.transition(track_id, "activate")
    assert [(e["from"], e["to"], e["at"]) for e in track["history"]] == [
        (None, "draft", iso(START)),
        ("draft", "ready", now),
        ("ready", "active", now),
    ]
    assert track["ready_at"] == track["started_at"] == now


def test_timestamps_follow_the_lifecycle(root: Path) -> None:
    """started_at is set by the first activation only; pause sets paused_at and its
    reason, resume removes both and sets resumed_at; complete sets completed_at."""
    clock = Clock()
    engine = _engine(root, clock)
    track_id = _track_in(engine, clock, S.READY, "Stamped track")
    started = clock.tick()
    engine.transition(track_id, "activate")
    paused_at = clock.tick()
    paused = engine.transition(track_id, "pause", reason="waiting for review")
    assert (paused["paused_at"], paused["pause_reason"]) == (paused_at, "waiting for review")
    resumed_at = clock.tick()
    resumed = engine.transition(track_id, "resume")
    assert resumed["started_at"] == started and resumed["resumed_at"] == resumed_at
    assert "paused_at" not in resumed and "pause_reason" not in resumed
    clock.tick()
    engine.transition(track_id, "pause")
    assert "pause_reason" not in _on_disk(engine, track_id)  # no reason given: none recorded
    again = clock.tick()
    track = engine.transition(track_id, "activate")  # activate resumes a paused track too
    assert (track["started_at"], track["resumed_at"]) == (started, again)
    done = clock.tick()
    track = engine.transition(track_id, "complete")
    assert track["completed_at"] == done and track["outcomes"]["result"] == "success"


def test_fail_and_cancel_keep_their_reasons(root: Path) -> None:
    """fail stamps failed_at and failure_reason; cancel stamps cancelled_at and cancel_reason."""
    clock = Clock()
    engine = _engine(root, clock)
    failing = _track_in(engine, clock, S.ACTIVE, "Failing track")
    now = clock.tick()
    track = engine.transition(failing, "fail", reason="tests broke")
    assert (track["failed_at"], track["failure_reason"]) == (now, "tests broke")
    now = clock.tick()
    track = engine.transition(failing, "cancel", reason="dropped")
    assert (track["cancelled_at"], track["cancel_reason"]) == (now, "dropped")


def test_retry_goes_back_to_draft_and_counts(root: Path) -> None:
    """A failed track retried is a draft again, counts the retry and keeps its first start."""
    clock = Clock()
    engine = _engine(root, clock)
    track_id = _track_in(engine, clock, S.FAILED, "Retried track")
    started = _on_disk(engine, track_id)["started_at"]
    clock.tick()
    track = engine.transition(track_id, "retry")
    assert track["status"] == "draft" and track["metrics"]["retry_count"] == 1
    clock.tick()
    track = engine.transition(track_id, "activate")
    assert track["started_at"] == started


@pytest.mark.parametrize(
    ("status", "verb"), [(S.READY, "activate"), (S.DRAFT, "activate"), (S.PAUSED, "resume")]
)
def test_activating_while_another_is_active_is_refused(root: Path, status: S, verb: str) -> None:
    """Activating (or resuming) while another track is active raises ActiveTrackExists
    naming the active track and suggesting switch, and changes no file."""
    clock = Clock()
    engine = _engine(root, clock)
    second = _track_in(engine, clock, status, "Second track")
    first = _track_in(engine, clock, S.ACTIVE, "First active")
    before = _disk(engine, first, second)
    clock.tick()
    with pytest.raises(ActiveTrackExists) as refused:
        engine.transition(second, verb)
    assert (refused.value.active_id, refused.value.wanted_id) == (first, second)
    assert f"'First active' ({first}) is active" in str(refused.value)  # named as users do
    assert f"conductor switch --to {second}" in str(refused.value)
    assert _disk(engine, first, second) == before
    assert engine.entry(second)["status"] == status.value


def test_force_pauses_the_active_track(root: Path) -> None:
    """activate force=True pauses the active track (with a reason naming the newcomer)
    and activates the target; exactly one track is active."""
    clock = Clock()
    engine = _engine(root, clock)
    first = _track_in(engine, clock, S.ACTIVE, "First active")
    second = _track_in(engine, clock, S.READY, "Second ready")
    now = clock.tick()
    engine.transition(second, "activate", force=True)
    paused = _on_disk(engine, first)
    assert paused["status"] == "paused" and paused["paused_at"] == now
    assert second in paused["pause_reason"]
    assert paused["history"][-1]["from"] == "active" and paused["history"][-1]["to"] == "paused"
    assert [e["track_id"] for e in engine.list(status="active")] == [second]
    registry = engine.registry()
    assert registry.active_track == second
    assert registry.doc["metadata"]["active_count"] == 1
    assert engine.validate() == []


@pytest.mark.parametrize("status", [S.DRAFT, S.READY, S.PAUSED])
def test_switch_pauses_the_active_and_activates_the_target(root: Path, status: S) -> None:
    """switch pauses the active track (with the switch's reason) and activates the target
    from draft, ready or paused."""
    clock = Clock()
    engine = _engine(root, clock)
    target = _track_in(engine, clock, status, "Target track")
    source = _track_in(engine, clock, S.ACTIVE, "Source track")
    now = clock.tick()
    track = engine.switch(target, reason="urgent")
    # The reason explains the pause of the track suspended; the one activated says why.
    assert track["status"] == "active"
    assert [e.get("reason") for e in track["history"][-2:]][-1] == f"switched from {source}"
    assert all(e.get("reason") != "urgent" for e in track["history"])
    paused = _on_disk(engine, source)
    assert (paused["status"], paused["pause_reason"], paused["paused_at"]) == (
        "paused",
        "urgent",
        now,
    )
    assert engine.entry(source)["status"] == "paused"
    assert engine.registry().active_track == target
    assert engine.validate() == []


def test_switch_with_nothing_active_just_activates(root: Path) -> None:
    """switch with no active track activates the target and pauses nothing."""
    clock = Clock()
    engine = _engine(root, clock)
    other = _track_in(engine, clock, S.PAUSED, "Other track")
    target = _track_in(engine, clock, S.READY, "Target track")
    engine.switch(target)
    assert engine.entry(target)["status"] == "active"
    assert engine.entry(other)["status"] == "paused"


@pytest.mark.parametrize("status", [S.ACTIVE, S.COMPLETED, S.ARCHIVED, S.FAILED, S.CANCELLED])
def test_refused_switch_changes_nothing(root: Path, status: S) -> None:
    """A switch to a track that cannot become active leaves the active track active and
    every file as it was."""
    clock = Clock()
    engine = _engine(root, clock)
    target = _track_in(engine, clock, status, "Target track")
    if status is S.ACTIVE:
        source = target
    else:
        source = _track_in(engine, clock, S.ACTIVE, "Source track")
    before = _disk(engine, source, target)
    clock.tick()
    expected = InvalidInput if status is S.ACTIVE else InvalidTransition
    with pytest.raises(expected):
        engine.switch(target)
    assert _disk(engine, source, target) == before
    assert engine.entry(source)["status"] == "active"


# -- switch is all or nothing ---------------------------------------------------------------


def _switch_setup(root: Path) -> tuple[Engine, str, str]:
    """The same tree every time (fixed clock and actor): one active track, one ready."""
    clock = Clock()
    engine = _engine(root, clock)
    source = _track_in(engine, clock, S.ACTIVE, "Source track")
    target = _track_in(engine, clock, S.READY, "Target track")
    clock.tick(hours=1)
    return engine, source, target


def _snapshot(root: Path) -> dict[str, bytes]:
    """Every data file of the tree (not the lock file, the temp folder or checkpoints,
    whose stat cache records real mtimes)."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_dir() or "checkpoints" in path.parts or ".conductor-tmp" in path.parts:
            continue
        if path.name == ".conductor.lock":
            continue
        found[rel] = path.read_bytes()
    return found


def test_switch_commit_failing_at_any_write_is_all_or_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whichever file write of a switch's commit fails (a file replaced, or a record
    appended to the write-ahead log), after the next lock (which replays or drops what
    the commit left) a fresh engine sees both tracks exactly as before or both fully
    switched, never one of each, and validate() finds nothing."""
    engine, source, target = _switch_setup(tmp_path / "reference")
    before = _snapshot(engine.root)
    real_write, real_append = files.atomic_write, wal._append_to
    calls: list[str] = []

    def counting_write(path, content, **kwargs):
        calls.append(path.name)
        return real_write(path, content, **kwargs)

    def counting_append(fd, frame, **kwargs):
        calls.append(f"{wal.LOG_NAME} ({'sync' if kwargs['sync'] else 'no sync'})")
        return real_append(fd, frame, **kwargs)

    monkeypatch.setattr(files, "atomic_write", counting_write)
    monkeypatch.setattr(wal, "_append_to", counting_append)
    engine.switch(target)
    monkeypatch.setattr(files, "atomic_write", real_write)
    monkeypatch.setattr(wal, "_append_to", real_append)
    switched = _snapshot(engine.root)
    assert switched != before
    assert len(calls) >= 4  # the commit record or journal, registry, two track.json files

    outcomes = set()
    for n in range(1, len(calls) + 1):
        engine, source, target = _switch_setup(tmp_path / f"fail-at-{n}")
        root = engine.root
        assert _snapshot(root) == before
        count = {"n": 0}

        def failing(real, _n=n, _count=count):
            def call(*args, **kwargs):
                _count["n"] += 1
                if _count["n"] == _n:
                    raise OSError(28, "No space left on device")
                return real(*args, **kwargs)

            return call

        monkeypatch.setattr(files, "atomic_write", failing(real_write))
        monkeypatch.setattr(wal, "_append_to", failing(real_append))
        with pytest.raises(OSError, match="No space left"):
            engine.switch(target)
        monkeypatch.setattr(files, "atomic_write", real_write)
        monkeypatch.setattr(wal, "_append_to", real_append)

        fresh = Engine(root, actor=ACTOR)
        fresh.tree.registry.invalidate()
        with fresh.tree.transaction():
            pass  # the next lock finishes or drops what the failed commit left
        assert not (root / "tracks" / ".conductor-journal.json").exists()
        assert list((root / "tracks" / ".conductor-tmp").iterdir()) == []
        after = _snapshot(root)
        statuses = (fresh.entry(source)["status"], fresh.entry(target)["status"])
        if after == before:
            assert statuses == ("active", "ready"), n
            outcomes.add("before")
        else:
            assert after == switched, f"write {n} ({calls[n - 1]}) left a mixed tree"
            assert statuses == ("paused", "active"), n
            checkpoint = fresh.track(source)["last_checkpoint"]
            assert fresh.verify_checkpoint(source, checkpoint) == [], n
            outcomes.add("switched")
        assert fresh.validate() == [], n
    assert outcomes == {"before", "switched"}  # both sides of the commit point were hit


def test_switch_failing_while_preparing_changes_nothing(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure after the active track was paused in memory but before anything was
    written (TrackStore.save raising on its second call) leaves every file as it was."""
    engine, source, target = _switch_setup(root)
    before = _snapshot(root)
    real_save = TrackStore.save
    count = {"n": 0}

    def failing_save(self, txn, track, **kwargs):
        count["n"] += 1
        if count["n"] == 2:
            raise OSError(5, "I/O error")
        return real_save(self, txn, track, **kwargs)

    monkeypatch.setattr(TrackStore, "save", failing_save)
    with pytest.raises(OSError, match="I/O error"):
        engine.switch(target)
    monkeypatch.setattr(TrackStore, "save", real_save)
    assert count["n"] == 2
    assert _snapshot(root) == before
    # the engine that failed does not keep the half-made change in its cache
    assert (engine.entry(source)["status"], engine.entry(target)["status"]) == (
        "active",
        "ready",
    )
    assert engine.registry().active_track == source
    fresh = Engine(root)
    fresh.tree.registry.invalidate()
    assert (fresh.entry(source)["status"], fresh.entry(target)["status"]) == ("active", "ready")
    assert fresh.validate() == []


# -- metrics --------------------------------------------------------------------------------


def test_durations_exclude_pauses(root: Path) -> None:
    """Active 2 h, paused 1 h, active 1 h, then completed: active 3 h, total 4 h, one pause."""
    clock = Clock()
    engine = _engine(root, clock)
    track_id = engine.create("Timed track")["track_id"]
    engine.transition(track_id, "activate")
    clock.tick(hours=2)
    engine.transition(track_id, "pause")
    clock.tick(hours=1)
    paused = engine.track(track_id)["metrics"]
    assert paused["active_duration_ms"] == 2 * 3_600_000
    assert paused["total_duration_ms"] == 3 * 3_600_000
    engine.transition(track_id, "resume")
    clock.tick(hours=1)
    track = engine.transition(track_id, "complete")
    hour = 3_600_000
    assert track["metrics"]["active_duration_ms"] == 3 * hour
    assert track["metrics"]["total_duration_ms"] == 4 * hour
    assert track["metrics"]["pause_count"] == 1
    clock.tick(hours=5)  # a completed track's durations no longer grow
    metrics = engine.track(track_id)["metrics"]
    assert (metrics["active_duration_ms"], metrics["total_duration_ms"]) == (3 * hour, 4 * hour)
    assert metrics["pause_count"] == 1


def test_a_transition_reads_its_track_once_and_does_not_decode_what_it_wrote(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transaction reads a file from disk once (the write-ahead log's fingerprint of
    what a write replaces comes from that read), and a track.json this process wrote is
    rebuilt from what its write kept rather than decoded again; what a transition
    returns is still exactly the file as written."""
    track_id = engine.create("Read once", goal="g")["track_id"]
    engine.update(track_id, "checkpoint_frequency", "never")
    engine.transition(track_id, "activate")
    engine.transition(track_id, "pause")  # written twice here: its history is known
    path = engine.store.tree.track_file(track_id, "track.json")
    opened: list[int] = []
    fingerprinted: list[str] = []
    decoded: list[str] = []
    real_open, real_fingerprint, real_parse = os.open, wal._fingerprint, files.parse_json

    def counting_open(name, flags, *args, **kwargs):
        if os.fspath(name) == os.fspath(path):
            opened.append(flags)
        return real_open(name, flags, *args, **kwargs)

    def counting_fingerprint(name):
        fingerprinted.append(os.fspath(name))
        return real_fingerprint(name)

    def counting_parse(raw, name, **kwargs):
        decoded.append(os.fspath(name))
        return real_parse(raw, name, **kwargs)

    monkeypatch.setattr(os, "open", counting_open)
    monkeypatch.setattr(wal, "_fingerprint", counting_fingerprint)
    monkeypatch.setattr(files, "parse_json", counting_parse)
    done = engine.transition(track_id, "resume")
    assert opened == [os.O_RDONLY]
    assert os.fspath(path) not in fingerprinted + decoded
    assert done == json.loads(path.read_bytes())
    engine.store.tree.registry.invalidate()
    assert engine.track(track_id)["history"] == done["history"]


def test_a_folder_in_place_of_track_json_is_one_clear_error(engine: Engine) -> None:
    """Read outside a transaction or inside one, a track.json that is a folder is a
    CorruptFile naming it and what to run, and the transition changes nothing."""
    track_id = engine.create("Folder in place", goal="g")["track_id"]
    path = engine.store.tree.track_file(track_id, "track.json")
    path.unlink()
    path.mkdir()
    before = engine.tree.registry.path.read_bytes()
    for attempt in (lambda: engine.track(track_id), lambda: engine.transition(track_id, "ready")):
        with pytest.raises(CorruptFile, match="is a folder, not a file") as caught:
            attempt()
        assert str(path) in str(caught.value) and "conductor repair" in str(caught.value)
    assert engine.tree.registry.path.read_bytes() == before


@pytest.mark.parametrize("frequency", ["never", "hourly"])
def test_a_transition_reads_track_json_once_or_twice_and_returns_what_it_wrote(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, frequency: str
) -> None:
    """Each step of a transition looks at the track; they share one parse of it (the file
    as read, then as saved), and the track returned is the file as written."""
    track_id = engine.create("Parsed once", goal="g")["track_id"]
    engine.update(track_id, "checkpoint_frequency", frequency)
    engine.transition(track_id, "activate")
    parses: list[str] = []
    read_track = TrackStore.read_track  # every parse of a track.json goes through it

    def counting_read(store, read_id, txn=None):
        parses.append(read_id)
        return read_track(store, read_id, txn)

    monkeypatch.setattr(TrackStore, "read_track", counting_read)
    # A pause that checkpoints records it in track.json and reads that back; a resume
    # after one compares the track with it.
    extra = 0 if frequency == "never" else 1
    for verb, most in (("pause", 1 + 2 * extra), ("resume", 1 + extra)):
        parses.clear()
        done = engine.transition(track_id, verb)
        assert len(parses) <= most, (verb, parses)
        path = engine.store.tree.track_file(track_id, "track.json")
        assert done == json.loads(path.read_bytes())
