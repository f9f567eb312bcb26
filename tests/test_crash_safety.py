"""A writer killed with SIGKILL at least 100 times, each time right after one of its
file-system changes: every file always parses, every operation that returned before the
kill is on disk, no temp file is left.

One root is reused by every round. A round starts a child process that loops over mixed
operations (create, transitions, switch, decide, steps, checkpoint settings) and logs a
line, fsynced, after each operation returned; the child freezes after its Nth change
(N drawn from the run's seed, see killpoints.py) and the parent SIGKILLs it there, checks
the raw files before anything recovers them, then opens an engine (the next lock
finishes or drops the killed writer's commit) and checks the tree and the log.

A kill can land after an operation committed but before its log line was written, so
only properties later operations never undo are checked: a logged track exists under
its name, a logged transition's event is in the track's history, a logged decision and
step are present. ``CONDUCTOR_CRASH_ROUNDS`` raises the number of rounds;
``CONDUCTOR_TEST_SEED`` (printed in the header and in every failure) replays a run.
"""

from __future__ import annotations

import json
import os
import random
import sys
from collections import Counter
from pathlib import Path

import pytest
from killpoints import kill_at

from conductor_nb.engine import Engine
from conductor_nb.store.files import TMP_SUFFIX

pytestmark = pytest.mark.slow

ROUNDS = max(100, int(os.environ.get("CONDUCTOR_CRASH_ROUNDS", "100")))
# Kill points are drawn from the first LAST_CHANGE changes: an operation makes 20 to 60
# of them, so a child gets up to a dozen operations done.
LAST_CHANGE = 250

# Works until killed. A line is logged (and fsynced) only after an operation returned.
# Only the refusals a random workload meets legitimately are caught: any other error
# (a corrupt file, a lock timeout...) ends the child early, which fails the round.
CHILD = r"""
import os, random, sys
import zstandard  # imported before "ready": kills land in the work, not in imports
import killpoints
from conductor_nb import lifecycle
from conductor_nb.engine import Engine
from conductor_nb.errors import ActiveTrackExists, InvalidInput, InvalidTransition

root, log_path, seed, stop_at = sys.argv[1:]
engine = Engine(root, lock_timeout=60)
rng = random.Random(seed)
log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
VERBS = list(lifecycle.ACTIONS)
write, fsync = os.write, os.fsync  # the log's own writes are not kill points

def record(*fields):
    write(log, ("\t".join(fields) + "\n").encode())
    fsync(log)

killpoints.install(int(stop_at))
print("ready", flush=True)
n = 0
while True:
    n += 1
    tag = f"r{seed}-op{n}"  # unique: finds this operation's traces on disk
    ids = list(engine.registry().tracks)
    roll = rng.random()
    try:
        if roll < 0.2 or len(ids) < 3:
            name = f"track {tag}"
            record("created", engine.create(name)["track_id"], name)
        elif roll < 0.45:
            track_id, verb = rng.choice(ids), rng.choice(VERBS)
            engine.transition(track_id, verb, reason=tag, force=rng.random() < 0.5)
            record("moved", track_id, tag, lifecycle.ACTIONS[verb].target.value)
        elif roll < 0.55:
            track_id = rng.choice(ids)
            # the reason explains the pause of the track suspended: found by its time
            record("switched", track_id, engine.switch(track_id, reason=tag)["history"][-1]["at"])
        elif roll < 0.7:
            track_id = rng.choice(ids)
            record("decided", track_id, engine.decide(track_id, f"decision {tag}")["id"], tag)
        elif roll < 0.8:
            track_id = rng.choice(ids)
            record("step", track_id, engine.add_step(track_id, f"step {tag}")["step_id"], tag)
        elif roll < 0.95:
            track_id = rng.choice(ids)
            steps = engine.track(track_id)["steps"]
            if steps:
                verb = rng.choice(list(engine.STEP_VERBS))
                engine.step(track_id, rng.choice(steps)["step_id"], verb, note=tag)
        else:
            frequency = rng.choice(["per-step", "per-milestone", "never"])
            engine.update(rng.choice(ids), "checkpoint_frequency", frequency)
    except (InvalidTransition, ActiveTrackExists, InvalidInput):
        pass
"""


def _raw_state(root: Path, child_pid: int) -> list[str]:
    """Check the files as the kill left them, before any recovery; return what was
    caught in the middle (for the summary)."""
    for path in root.rglob("*.json"):
        json.loads(path.read_bytes())  # every file: whole old or whole new, never a mix
    tracks = root / "tracks"
    caught = []
    lock = tracks / "track-registry.lock"
    if lock.exists():
        raw = lock.read_bytes()
        if raw:  # the original tool must be able to read whatever we left
            assert json.loads(raw)["pid"] == child_pid
        caught.append("lock file")
    if (tracks / ".conductor-journal.json").exists() or Engine(root).tree.wal.unapplied():
        caught.append("commit")  # the journal's, or the log's record without its mark
    tmp = tracks / ".conductor-tmp"
    if tmp.is_dir() and any(tmp.iterdir()):
        caught.append("temp files")
    return caught


def _leftovers(root: Path) -> list[str]:
    tracks = root / "tracks"
    tmp = tracks / ".conductor-tmp"
    found = [f"tmp/{p.name}" for p in tmp.iterdir()] if tmp.is_dir() else []
    found += [str(p) for p in root.rglob(f"*{TMP_SUFFIX}") if p.is_file()]
    found += [p.name for p in tracks.glob("track-registry.lock*")]
    if (tracks / ".conductor-journal.json").exists():
        found.append(".conductor-journal.json")
    return found


def _check_logged(engine: Engine, lines: list[list[str]]) -> None:
    """Every operation the log says returned is on disk."""
    registry = engine.registry()
    documents: dict[str, dict] = {}

    def document(track_id: str) -> dict:
        if track_id not in documents:
            path = engine.tree.track_file(track_id, "track.json")
            documents[track_id] = json.loads(path.read_bytes())
        return documents[track_id]

    for kind, track_id, *rest in lines:
        assert track_id in registry.tracks, (kind, track_id, rest)
        if kind == "created":
            assert registry.tracks[track_id]["name"] == rest[0] == document(track_id)["name"]
        elif kind == "moved":
            reason, target = rest
            events = [e for e in document(track_id)["history"] if e.get("reason") == reason]
            assert events and events[-1]["to"] == target, (track_id, reason, target)
        elif kind == "switched":
            [at] = rest
            events = document(track_id)["history"]
            assert any(e["at"] == at and e["to"] == "active" for e in events), (track_id, at)
        elif kind == "decided":
            decision_id, tag = rest
            found = [d for d in engine.decisions(track_id) if d["id"] == decision_id]
            assert len(found) == 1 and found[0]["summary"] == f"decision {tag}", rest
        elif kind == "step":
            step_id, tag = rest
            found = [s for s in document(track_id)["steps"] if s["step_id"] == step_id]
            assert len(found) == 1 and found[0]["name"] == f"step {tag}", rest
        else:
            raise AssertionError(f"unknown log line {kind!r}")


def _check_tree(engine: Engine) -> None:
    assert engine.validate() == []
    registry = engine.registry()
    active = registry.ids(status="active")
    assert len(active) <= 1
    assert registry.active_track == (active[0] if active else None)
    for track_id in registry.tracks:
        ids = [d["id"] for d in engine.decisions(track_id)]
        assert len(ids) == len(set(ids)), track_id


def test_sigkilled_writer_never_corrupts_or_loses(
    root: Path, tmp_path: Path, run_seed: int
) -> None:
    """100+ rounds: start a writer, SIGKILL it right after its Nth file-system change,
    check the raw files, recover, check the tree and every logged operation."""
    log_path = tmp_path / "log.tsv"
    Engine(root).create("first track")
    rng = random.Random(run_seed)
    print(f"CONDUCTOR_TEST_SEED={run_seed}")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    caught: Counter[str] = Counter()
    checked = 0
    for round_number in range(ROUNDS):
        stop_at = rng.randint(1, LAST_CHANGE)
        where = f"round {round_number}, change {stop_at} (CONDUCTOR_TEST_SEED={run_seed})"
        child_seed = f"{run_seed}-{round_number}"
        kill = kill_at(
            [sys.executable, "-c", CHILD, str(root), str(log_path), child_seed, str(stop_at)],
            env=env,
        )
        # the child was killed at its kill point, not ended by an error of its own
        assert kill.killed_at_its_point and kill.lines[0] == "ready", (where, kill.describe())
        caught.update(_raw_state(root, kill.pid))

        engine = Engine(root, lock_timeout=60)
        with engine.tree.transaction():
            pass  # the next writer finishes or drops what the killed one left
        assert _leftovers(root) == [], where
        _check_tree(engine)
        lines = [line.split("\t") for line in log_path.read_text().splitlines()]
        _check_logged(engine, lines[checked:])  # this round's operations, as it ended
        checked = len(lines)

    engine = Engine(root)
    _check_tree(engine)
    lines = [line.split("\t") for line in log_path.read_text().splitlines()]
    _check_logged(engine, lines)  # and nothing logged earlier was lost since
    kinds = Counter(line[0] for line in lines)
    summary = (
        f"{ROUNDS} kills (CONDUCTOR_TEST_SEED={run_seed}), {dict(kinds)} logged, "
        f"caught mid-write: {dict(caught)}"
    )
    print(summary)
    # the writers got work of every kind done, and kills landed in every phase of a write:
    # lock taken, temp files written, commit point passed and not yet finished
    assert {"created", "moved", "decided", "step"} <= set(kinds), summary
    assert set(kinds) <= {"created", "moved", "switched", "decided", "step"}, summary
    assert caught["lock file"] > ROUNDS // 2, summary
    assert caught["temp files"] > 0 and caught["commit"] > 0, summary
