"""Real processes writing one root at once: no lost update, no duplicate, one active track;
the lock is re-entrant, times out cleanly, and speaks the original tool's protocol."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conductor_nb.engine import Engine
from conductor_nb.errors import ConductorError, DuplicateName, LockTimeout

SPAWN = multiprocessing.get_context("spawn")
VERBS = ["ready", "activate", "pause", "resume", "complete", "fail", "cancel", "archive", "retry"]


def _worker(root: str, worker: int, operations: int) -> dict:
    """Mixed operations; returns what succeeded."""
    engine = Engine(root, lock_timeout=60)
    rng = random.Random(worker)
    created: list[str] = []
    decisions: list[tuple[str, str]] = []
    for i in range(operations):
        roll = rng.random()
        try:
            if roll < 0.3 or not created:
                created.append(engine.create(f"worker {worker} track {i}")["track_id"])
            elif roll < 0.7:
                ids = list(engine.registry().tracks)
                engine.transition(rng.choice(ids), rng.choice(VERBS), force=rng.random() < 0.3)
            elif roll < 0.8:
                engine.switch(rng.choice(list(engine.registry().tracks)))
            else:
                track_id = rng.choice(created)
                decisions.append((track_id, engine.decide(track_id, f"decision {i}")["id"]))
        except ConductorError:
            continue  # refused transitions are part of the mix
    return {"created": created, "decisions": decisions}


@pytest.mark.slow
def test_eight_processes_lose_nothing(root: Path) -> None:
    """8 processes x 100 mixed operations: every create and decision that returned is on
    disk exactly once, at most one track is active, and the tree validates."""
    Engine(root).create("seed track")
    with SPAWN.Pool(8) as pool:
        results = pool.starmap(_worker, [(str(root), w, 100) for w in range(8)])
    engine = Engine(root)
    registry = engine.registry()
    created = [tid for r in results for tid in r["created"]]
    assert len(created) == len(set(created))
    assert set(created) <= set(registry.tracks)
    assert len(registry.tracks) == len(created) + 1
    names = [e["name"] for e in registry.tracks.values()]
    assert len(names) == len(set(names))
    active = registry.ids(status="active")
    assert len(active) <= 1 and registry.active_track == (active[0] if active else None)
    metadata = registry.doc["metadata"]
    assert metadata["total_tracks"] == len(registry.tracks)
    assert metadata["active_count"] == len(active)
    assert metadata["completed_count"] == len(registry.ids(status="completed"))
    for track_id, entry in registry.tracks.items():
        track = json.loads(engine.tree.track_file(track_id, "track.json").read_text())
        assert track["status"] == entry["status"]
    for track_id, decision_id in (d for r in results for d in r["decisions"]):
        ids = [d["id"] for d in engine.decisions(track_id)]
        assert ids.count(decision_id) == 1
    for track_id in registry.tracks:
        ids = [d["id"] for d in engine.decisions(track_id)]
        assert len(ids) == len(set(ids))
    assert engine.validate() == []


def _create_same(root: str) -> str:
    try:
        return Engine(root, lock_timeout=60).create("The same name")["track_id"]
    except DuplicateName:
        return "duplicate"


def test_same_name_created_concurrently_once(root: Path) -> None:
    """Six processes creating one name: exactly one succeeds, the others get DuplicateName,
    and no orphan folder is left."""
    with SPAWN.Pool(6) as pool:
        outcomes = pool.map(_create_same, [str(root)] * 6)
    assert sum(o != "duplicate" for o in outcomes) == 1
    folders = [
        p.name for p in (root / "tracks").iterdir() if p.name.startswith("track-") and p.is_dir()
    ]
    assert folders == [o for o in outcomes if o != "duplicate"]


HOLDER = """
import sys, time
from conductor_nb.engine import Engine
engine = Engine(sys.argv[1])
with engine.tree.lock:
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_lock_is_reentrant_and_times_out_cleanly(root: Path) -> None:
    """Nested transactions in one process never wait on themselves; another process gets
    LockTimeout while the lock is held, and succeeds once it is released."""
    engine = Engine(root)
    with engine.tree.transaction(), engine.tree.transaction():
        engine.create("Nested create")
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root), "3"], stdout=subprocess.PIPE, text=True
    ) as holder:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with pytest.raises(LockTimeout, match="could not lock"):
            Engine(root, lock_timeout=0.3).create("Blocked create")
        assert time.monotonic() - started < 2.5
        holder.wait(30)
    Engine(root, lock_timeout=5).create("After release")


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _write_lock(root: Path, pid: int, age: float = 0.0) -> Path:
    lock = root / "tracks" / "track-registry.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(json.dumps({"pid": pid, "timestamp": "2026-11-25T05:20:41.897Z"}))
    if age:
        moment = time.time() - age
        os.utime(lock, (moment, moment))
    return lock


def test_original_tools_lock_is_honoured(root: Path) -> None:
    """A fresh lock of a live process makes us wait and time out; a dead pid's or one
    older than 30 s is stale and removed; while we write, the file holds our pid."""
    engine = Engine(root, lock_timeout=0.3)
    engine.create("First track")
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as sleeper:
        try:
            lock = _write_lock(root, sleeper.pid)
            with pytest.raises(LockTimeout, match=f"pid {sleeper.pid}"):
                engine.create("Blocked by a live holder")
            _write_lock(root, sleeper.pid, age=45)
            engine.create("Live but stale")
            assert not lock.exists()
        finally:
            sleeper.kill()
    _write_lock(root, _dead_pid())
    engine.create("Dead holder")
    with engine.tree.transaction():
        held = json.loads((root / "tracks" / "track-registry.lock").read_text())
        assert held["pid"] == os.getpid()
    assert not (root / "tracks" / "track-registry.lock").exists()


def test_fixture_stale_lock_is_removed(root: Path) -> None:
    """The leftover lock of the original tool's killed process does not block us."""
    fixture = Path(__file__).resolve().parents[2] / "shared/fixtures/seed-conductor/examples"
    source = fixture / "stale-track-registry.lock"
    if not source.exists():
        pytest.skip("fixture not available")
    target = root / "tracks" / "track-registry.lock"
    target.parent.mkdir(parents=True)
    target.write_bytes(source.read_bytes())  # fresh mtime, as after a checkout
    pid = json.loads(source.read_text())["pid"]
    if Path(f"/proc/{pid}").exists():
        pytest.skip(f"pid {pid} happens to be alive here")
    Engine(root, lock_timeout=1).create("Despite the leftover")
    assert not target.exists()
