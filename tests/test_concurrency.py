"""Real processes writing one root at once: no lost update, no duplicate, one active track;
the lock is re-entrant, times out cleanly, and speaks the original tool's protocol.

Every process here is a real one (``multiprocessing`` with the ``spawn`` context, or
``subprocess``): the lock under test is a cross-process one, so threads would prove
nothing. No assertion depends on timing; the waits are generous so a loaded machine
only makes the tests slower, never red.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import random
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from conductor_nb import lifecycle
from conductor_nb.engine import Engine
from conductor_nb.errors import (
    ActiveTrackExists,
    DuplicateName,
    InvalidInput,
    InvalidTransition,
    LockTimeout,
)
from conductor_nb.store.files import TMP_SUFFIX

SPAWN = multiprocessing.get_context("spawn")
VERBS = list(lifecycle.ACTIONS)
WORKERS = 8
OPERATIONS = 100
# Refusals a mixed workload meets legitimately; anything else (CorruptFile, LockTimeout,
# TrackNotFound, DuplicateName...) is a bug and fails the worker, hence the test.
REFUSED = (InvalidTransition, ActiveTrackExists, InvalidInput)
PATIENCE = 240  # seconds to wait for a pool: a deadlock fails the test instead of hanging it
FIXTURE_EXAMPLES = Path(__file__).resolve().parent / "fixtures" / "seed-conductor" / "examples"


def _tracks_dir(root: Path) -> Path:
    return root / "tracks"


def _interop(root: Path) -> Path:
    return _tracks_dir(root) / "track-registry.lock"


def _leftovers(root: Path) -> list[str]:
    """Temp files, a journal, a lock file or a moved-aside stale lock left behind."""
    tracks = _tracks_dir(root)
    tmp = tracks / ".conductor-tmp"
    found = [f"tmp/{p.name}" for p in tmp.iterdir()] if tmp.is_dir() else []
    found += [str(p) for p in root.rglob(f"*{TMP_SUFFIX}") if p.is_file()]
    found += [p.name for p in tracks.glob("track-registry.lock*")]
    if (tracks / ".conductor-journal.json").exists():
        found.append(".conductor-journal.json")
    return found


# -- 8 processes x 100 mixed operations -------------------------------------------------


def _worker(root: str, worker: int, operations: int) -> dict:
    """Mixed operations on one shared root; returns only what succeeded.

    Every transition and switch carries a reason no other operation uses, so the event
    it appended can be found in the track's history afterwards (a lost update drops it).
    """
    engine = Engine(root, lock_timeout=120, actor=f"worker-{worker}")
    rng = random.Random(1000 + worker)
    done: dict[str, list] = {
        "created": [],
        "moved": [],
        "switched": [],
        "decided": [],
        "steps": [],
    }
    mine: list[str] = []
    for i in range(operations):
        roll = rng.random()
        tag = f"w{worker}-op{i}"
        try:
            if roll < 0.25 or not mine:
                name = f"worker {worker} track {i}"
                track = engine.create(name)
                mine.append(track["track_id"])
                done["created"].append([track["track_id"], name])
            elif roll < 0.6:
                track_id = rng.choice(list(engine.registry().tracks))
                verb = rng.choice(VERBS)
                engine.transition(track_id, verb, reason=tag, force=rng.random() < 0.4)
                done["moved"].append([track_id, tag, lifecycle.ACTIONS[verb].target.value])
            elif roll < 0.7:
                track_id = rng.choice(list(engine.registry().tracks))
                # the reason goes on the pause of the track suspended: the activation is
                # found by its event's time
                track = engine.switch(track_id, reason=tag)
                done["switched"].append([track_id, track["history"][-1]["at"]])
            elif roll < 0.9:
                track_id = rng.choice(mine)
                decision = engine.decide(track_id, f"decision {tag}")
                done["decided"].append([track_id, decision["id"], decision["summary"]])
            else:
                track_id = rng.choice(mine)
                step = engine.add_step(track_id, f"step {tag}")
                done["steps"].append([track_id, step["step_id"], step["name"]])
        except REFUSED:
            continue
    return done


@pytest.mark.slow
def test_eight_processes_lose_nothing(root: Path) -> None:
    """8 processes x 100 mixed operations on one root: every create, transition, decision
    and step that returned is on disk exactly once, names are unique, at most one track
    is active, the counts are right, and the tree validates."""
    Engine(root).create("seed track")
    with SPAWN.Pool(WORKERS) as pool:
        pending = pool.starmap_async(_worker, [(str(root), w, OPERATIONS) for w in range(WORKERS)])
        results = pending.get(timeout=PATIENCE)
    engine = Engine(root)
    registry = engine.registry()
    tracks = registry.tracks

    # every create that returned is there, once, under the name it was given
    created = [pair for r in results for pair in r["created"]]
    created_ids = [track_id for track_id, _ in created]
    assert len(created_ids) == len(set(created_ids))
    assert len(tracks) == len(created) + 1  # + the seed track: nothing else appeared
    for track_id, name in created:
        assert track_id in tracks, track_id
        assert tracks[track_id]["name"] == name
    names = [entry["name"] for entry in tracks.values()]
    assert len(names) == len(set(names))

    # every track.json parses and agrees with its registry entry
    documents = {}
    for track_id, entry in tracks.items():
        document = json.loads(engine.tree.track_file(track_id, "track.json").read_bytes())
        assert document["track_id"] == track_id
        assert document["name"] == entry["name"]
        assert document["status"] == entry["status"], track_id
        documents[track_id] = document

    # one active track at most, named by active_track; counts equal the entries
    active = [tid for tid, entry in tracks.items() if entry["status"] == "active"]
    assert len(active) <= 1
    assert registry.doc["active_track"] == (active[0] if active else None)
    metadata = registry.doc["metadata"]
    assert metadata["total_tracks"] == len(tracks)
    assert metadata["active_count"] == len(active)
    completed = [tid for tid, entry in tracks.items() if entry["status"] == "completed"]
    assert metadata["completed_count"] == len(completed)

    # no transition was lost: its event is in the history, and each history is a chain
    moved = [m for r in results for m in r["moved"]]
    for track_id, reason, target in moved:
        events = [e for e in documents[track_id]["history"] if e.get("reason") == reason]
        assert events and events[-1]["to"] == target, (track_id, reason, target)
    for track_id, at in (s for r in results for s in r["switched"]):
        events = documents[track_id]["history"]
        assert any(e["at"] == at and e["to"] == "active" for e in events), (track_id, at)
    for track_id, document in documents.items():
        history = document["history"]
        assert history[0]["to"] == "draft"
        for before, after in itertools.pairwise(history):
            assert after["from"] == before["to"], (track_id, before, after)
        assert history[-1]["to"] == document["status"]

    # every decision and step that returned is there exactly once
    for track_id, decision_id, summary in (d for r in results for d in r["decided"]):
        matching = [d for d in engine.decisions(track_id) if d["id"] == decision_id]
        assert len(matching) == 1 and matching[0]["summary"] == summary, decision_id
    for track_id, step_id, name in (s for r in results for s in r["steps"]):
        matching = [s for s in documents[track_id]["steps"] if s["step_id"] == step_id]
        assert len(matching) == 1 and matching[0]["name"] == name, step_id
    for track_id, document in documents.items():
        decision_ids = [d["id"] for d in engine.decisions(track_id)]
        assert len(decision_ids) == len(set(decision_ids)), track_id
        step_ids = [s["step_id"] for s in document["steps"]]
        assert len(step_ids) == len(set(step_ids)), track_id

    # the workload really mixed: without contention this test would prove little
    assert moved and any(r["decided"] for r in results) and any(r["steps"] for r in results)
    assert engine.validate() == []
    assert _leftovers(root) == []


def _create_same(root: str, barrier, results) -> None:
    engine = Engine(root, lock_timeout=120)
    barrier.wait(timeout=PATIENCE)  # every process is started and imported: now race
    try:
        results.put(("created", engine.create("The same name")["track_id"]))
    except DuplicateName as err:
        results.put(("duplicate", err.existing_id))
    except BaseException as err:
        results.put(("error", repr(err)))


def test_same_name_created_concurrently_once(root: Path) -> None:
    """Eight processes released at once create one name: exactly one succeeds, every
    other one gets DuplicateName naming the winner, and no orphan folder is left."""
    count = 8
    barrier = SPAWN.Barrier(count)
    results = SPAWN.Queue()
    processes = [
        SPAWN.Process(target=_create_same, args=(str(root), barrier, results)) for _ in range(count)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=PATIENCE) for _ in range(count)]
    for process in processes:
        process.join(PATIENCE)
        assert process.exitcode == 0
    assert [o for o in outcomes if o[0] == "error"] == []
    winners = [track_id for kind, track_id in outcomes if kind == "created"]
    assert len(winners) == 1
    assert [track_id for kind, track_id in outcomes if kind == "duplicate"] == winners * 7
    engine = Engine(root)
    assert list(engine.registry().tracks) == winners
    folders = [p.name for p in _tracks_dir(root).iterdir() if p.name.startswith("track-")]
    folders.remove("track-registry.json")
    assert folders == winners  # no loser left a folder behind
    assert engine.validate() == []
    assert _leftovers(root) == []


# -- the lock -----------------------------------------------------------------------------


def test_lock_is_reentrant_within_a_process(root: Path) -> None:
    """Nested locks and transactions in one process never wait on themselves (a short
    timeout turns a self-deadlock into a failure), and activate --force, which pauses
    the active track inside the activation's own transaction, works."""
    engine = Engine(root, lock_timeout=1)
    with engine.tree.lock, engine.tree.lock:  # a fresh root: the first write is nested
        assert engine.tree.lock.depth == 2
        first = engine.create("First track")["track_id"]
    leftover = root / "tracks" / ".conductor-tmp" / f"track.json.999999.0{TMP_SUFFIX}"
    leftover.write_text("{")  # a killed writer's temp file
    with engine.tree.lock:  # the first transaction under the lock still recovers
        engine.decide(first, "recovered first")
        assert not leftover.exists()
    with engine.tree.transaction(), engine.tree.transaction():
        second = engine.create("Second track")["track_id"]
        engine.transition(first, "activate")
    assert engine.tree.lock.depth == 0
    assert engine.get_active()["track_id"] == first

    engine.transition(second, "ready")
    with pytest.raises(ActiveTrackExists):
        engine.transition(second, "activate")
    assert engine.transition(second, "activate", force=True)["status"] == "active"
    assert engine.track(first)["status"] == "paused"
    assert engine.registry().active_track == second
    assert engine.validate() == []
    assert _leftovers(root) == []


HOLDER = """
import sys
from conductor_nb.engine import Engine
engine = Engine(sys.argv[1])
with engine.tree.lock:
    print("held", flush=True)
    sys.stdin.read()  # hold until the parent closes our stdin
"""


def test_second_process_times_out_while_the_lock_is_held(root: Path) -> None:
    """While another process holds the lock, a writer with lock_timeout=0.3 gets
    LockTimeout and changes nothing; once the holder lets go, the same write succeeds."""
    engine = Engine(root)
    engine.create("Before the holder")
    before = engine.tree.registry.path.read_bytes()
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        try:
            assert holder.stdout.readline().strip() == "held"
            held = json.loads(_interop(root).read_text())
            assert held["pid"] == holder.pid
            blocked = Engine(root, lock_timeout=0.3)
            with pytest.raises(LockTimeout, match="could not lock"):
                blocked.create("Blocked create")
            with pytest.raises(LockTimeout):
                blocked.transition("Before the holder", "ready")
            assert engine.tree.registry.path.read_bytes() == before
            assert json.loads(_interop(root).read_text())["pid"] == holder.pid
        finally:
            holder.stdin.close()
            assert holder.wait(PATIENCE) == 0
    after = Engine(root, lock_timeout=0.3)
    after.create("After release")
    assert after.transition("Before the holder", "ready")["status"] == "ready"
    assert sorted(e["name"] for e in after.list()) == ["After release", "Before the holder"]
    assert after.validate() == []
    assert _leftovers(root) == []


# -- the original tool's lock file --------------------------------------------------------


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _write_lock(root: Path, pid: int, age: float = 0.0) -> bytes:
    """The original tool's lock file, as it writes it; ``age`` seconds old."""
    lock = _interop(root)
    lock.parent.mkdir(parents=True, exist_ok=True)
    content = json.dumps({"pid": pid, "timestamp": "2026-11-25T05:20:41.897Z"}).encode()
    lock.write_bytes(content)
    if age:
        moment = time.time() - age
        os.utime(lock, (moment, moment))
    return content


@pytest.fixture
def sleeper():
    """A live process that is not conductor (the original tool, waiting)."""
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]) as process:
        try:
            yield process.pid
        finally:
            process.kill()


def test_fresh_lock_of_a_live_process_blocks(root: Path, sleeper: int) -> None:
    """A fresh lock file of a live pid makes our writer wait: with a short timeout it gets
    LockTimeout naming that pid, writes nothing and leaves the file alone."""
    engine = Engine(root, lock_timeout=0.3)
    engine.create("First track")
    before = engine.tree.registry.path.read_bytes()
    content = _write_lock(root, sleeper)
    with pytest.raises(LockTimeout, match=f"pid {sleeper}"):
        engine.create("Blocked by a live holder")
    with pytest.raises(LockTimeout):
        engine.transition("First track", "ready")
    assert _interop(root).read_bytes() == content  # another tool's lock is never taken over
    assert engine.tree.registry.path.read_bytes() == before
    assert [e["name"] for e in engine.list()] == ["First track"]


def test_writer_waits_for_the_original_tool_to_let_go(root: Path, sleeper: int) -> None:
    """With a long enough timeout the writer waits for the live holder's lock to go away,
    then writes: it neither fails nor ignores the lock."""
    engine = Engine(root, lock_timeout=120)
    engine.create("First track")
    _write_lock(root, sleeper)
    released = threading.Event()

    def release() -> None:
        time.sleep(0.5)
        released.set()
        _interop(root).unlink()

    thread = threading.Thread(target=release)
    thread.start()
    try:
        engine.create("After the holder")
        assert released.is_set()  # the write could only happen after the release
    finally:
        thread.join()
    assert sorted(e["name"] for e in engine.list()) == ["After the holder", "First track"]
    assert _leftovers(root) == []


def test_lock_of_a_dead_process_is_stale(root: Path) -> None:
    """A fresh lock file whose pid is dead is removed, and the write succeeds."""
    engine = Engine(root, lock_timeout=0.3)
    engine.create("First track")
    _write_lock(root, _dead_pid())
    engine.create("Dead holder")
    assert sorted(e["name"] for e in engine.list()) == ["Dead holder", "First track"]
    assert _leftovers(root) == []


def test_old_lock_of_a_live_process_is_stale(root: Path, sleeper: int) -> None:
    """A live pid's lock file older than 30 s is stale (the original tool's rule)."""
    engine = Engine(root, lock_timeout=0.3)
    engine.create("First track")
    _write_lock(root, sleeper, age=45)
    engine.create("Live but stale")
    assert sorted(e["name"] for e in engine.list()) == ["First track", "Live but stale"]
    assert _leftovers(root) == []


def test_our_lock_file_holds_our_pid_while_we_write(root: Path) -> None:
    """Inside a transaction the original tool's lock file exists with our pid (so the
    original tool waits for us); it is gone when the transaction ends."""
    engine = Engine(root, lock_timeout=0.3)
    assert not _interop(root).exists()
    with engine.tree.transaction():
        held = json.loads(_interop(root).read_bytes())
        assert held["pid"] == os.getpid()
        assert isinstance(held["timestamp"], str) and held["timestamp"]
        engine.create("Inside")  # nested: still ours, still there
        assert json.loads(_interop(root).read_bytes())["pid"] == os.getpid()
    assert not _interop(root).exists()
    with engine.tree.lock:
        assert json.loads(_interop(root).read_bytes())["pid"] == os.getpid()
    assert not _interop(root).exists()
    engine.transition("Inside", "ready")
    assert not _interop(root).exists()
    assert _leftovers(root) == []


def test_our_lock_file_is_fresh_whenever_it_is_taken(root: Path) -> None:
    """The original tool deletes a lock file whose mtime is more than 30 s old: ours is
    fresh each time it is taken, with this take's timestamp, though the file it is made
    from (the OS lock's, linked into place) was last written long ago."""
    engine = Engine(root, lock_timeout=0.3)
    engine.create("First track")
    holder = _tracks_dir(root) / ".conductor.lock"
    long_ago = time.time() - 3600
    os.utime(holder, (long_ago, long_ago))
    with engine.tree.lock:
        lock = _interop(root)
        assert time.time() - lock.stat().st_mtime < 20
        held = json.loads(lock.read_bytes())
        stamp = datetime.fromisoformat(held["timestamp"].replace("Z", "+00:00"))
        assert abs(time.time() - stamp.timestamp()) < 20
        assert lock.read_bytes() == json.dumps(held, separators=(",", ":")).encode()
    assert not _interop(root).exists() and holder.exists()


def test_a_lock_file_put_in_place_of_ours_is_left_alone(root: Path, sleeper: int) -> None:
    """If the original tool took our lock file for stale and made its own while we held
    the lock, our release leaves its file alone (it is not ours to delete)."""
    engine = Engine(root, lock_timeout=0.3)
    engine.create("First track")
    with engine.tree.lock:
        _interop(root).unlink()
        theirs = _write_lock(root, sleeper)
    assert _interop(root).read_bytes() == theirs


def test_without_hard_links_the_lock_file_is_created(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a file system without hard links the lock file is created exclusively and
    written, as the original tool does, and removed on release."""
    engine = Engine(root, lock_timeout=0.3)
    engine.create("First track")

    def no_links(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    with engine.tree.lock:
        assert json.loads(_interop(root).read_bytes())["pid"] == os.getpid()
        assert _interop(root).stat().st_nlink == 1
    engine.transition("First track", "ready")
    assert not _interop(root).exists()
    assert engine.entry("First track")["status"] == "ready"
    assert _leftovers(root) == []


def test_a_killed_holder_does_not_block_the_next_writer(root: Path) -> None:
    """A writer killed (SIGKILL) while it holds the lock leaves its lock file behind; the
    next writer finds its pid dead and goes on at once."""
    engine = Engine(root)
    engine.create("Before the kill")
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    ) as holder:
        assert holder.stdout.readline().strip() == b"held"
        holder.kill()
        holder.wait(PATIENCE)
    assert json.loads(_interop(root).read_bytes())["pid"] == holder.pid
    after = Engine(root, lock_timeout=1)
    after.create("After the kill")
    assert sorted(e["name"] for e in after.list()) == ["After the kill", "Before the kill"]
    assert _leftovers(root) == []


def test_fixture_stale_lock_is_removed(root: Path) -> None:
    """The leftover lock of the original tool's killed process does not block us."""
    source = FIXTURE_EXAMPLES / "stale-track-registry.lock"
    original = source.read_bytes()
    lock = json.loads(original)
    # The recorded pid may belong to some live process on this machine: put in one that
    # is surely dead, keeping the file byte for byte as the original tool writes it.
    assert json.dumps(lock, separators=(",", ":")).encode() == original
    lock["pid"] = _dead_pid()
    target = _interop(root)
    target.parent.mkdir(parents=True)
    target.write_bytes(json.dumps(lock, separators=(",", ":")).encode())  # fresh mtime
    Engine(root, lock_timeout=1).create("Despite the leftover")
    assert not target.exists()
