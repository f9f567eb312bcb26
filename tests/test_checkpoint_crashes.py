"""Checkpoints survive real crashes: a child process that checkpoints or restores in a
loop is killed with SIGKILL right after one of its file-system changes, and after
recovery every checkpoint it reported is intact, every manifest on disk verifies, and a
restore is all or nothing.

One root is prepared per test and reused by every round (a round: start a child, let it
work until its Nth change, SIGKILL it, recover, check; see killpoints.py). N is drawn
from the run's seed over the changes of a few operations, counted on the prepared
track, so kills land before, inside and between operations whatever the machine's load.
``CONDUCTOR_CRASH_ROUNDS`` raises the number of rounds; ``CONDUCTOR_TEST_SEED`` (printed
in the header and in every failure) replays a run.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from killpoints import count_changes, kill_at

from conductor_nb.checkpoint_format import CHECKPOINT_RE, LIFECYCLE_KEYS, UNSNAPSHOTTED, read_blob
from conductor_nb.engine import Engine
from conductor_nb.store.files import TMP_SUFFIX
from conductor_nb.store.locking import INTEROP_NAME
from conductor_nb.store.registry import REGISTRY_NAME
from conductor_nb.store.tree import _registry_crc

pytestmark = pytest.mark.slow

ROUNDS = max(50, int(os.environ.get("CONDUCTOR_CRASH_ROUNDS", "50")))

# The child: prints "ready", then works until killed. A line is appended to the log (and
# fsynced) only after the operation returned, so a logged checkpoint was reported created.
CHILD = r"""
import os, sys
import fcntl  # the lock needs only fcntl (no package): loaded before "ready" all the same
import killpoints
from conductor_nb.engine import Engine

root, track_id, mode, log_path, seed, stop_at, *targets = sys.argv[1:]
engine = Engine(root)
log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
write, fsync = os.write, os.fsync  # the log's own writes are not kill points

def record(text):
    write(log, (text + "\n").encode())
    fsync(log)

artifacts = engine.tree.track_file(track_id, "context", "artifacts")
killpoints.install(int(stop_at))  # the user's edits below use open(): not kill points
print("ready", flush=True)
n = 0
while True:
    n += 1
    if mode == "checkpoint":
        # the user edits two artifacts in place; the checkpoint then stores new blobs
        with open(artifacts / f"churn-{n % 3}.bin", "wb") as out:
            out.write(os.urandom(48_000))
        with open(artifacts / "churn.json", "w") as out:
            out.write('{"seed": %s, "n": %d, "rows": [%s]}' % (
                seed, n, ",".join(str(n * k) for k in range(20_000))))
        manifest = engine.create_checkpoint(track_id, reason=f"child {seed} #{n}")
        record(manifest["checkpoint_id"])
    else:
        target = targets[n % 2]
        engine.restore_checkpoint(track_id, target)
        record(target)
"""


# -- helpers ------------------------------------------------------------------------------


def _mixed_artifacts(engine: Engine, track_id: str, size: int, rng: random.Random, tag: str):
    """About ``size`` bytes of JSON, text and random binary artifacts of various sizes."""
    done = i = 0
    while done < size:
        length = rng.choice([3_000, 20_000, 60_000, 150_000, 300_000])
        kind = i % 3
        if kind == 0:
            data, ext = rng.randbytes(length), "bin"
        elif kind == 1:
            rows = [{"i": k, "tag": tag, "value": rng.random()} for k in range(length // 45)]
            data, ext = json.dumps(rows).encode(), "json"
        else:
            lines = (
                f"{tag} note {k}: {rng.randint(0, 10**6)} pending\n" for k in range(length // 30)
            )
            data, ext = "".join(lines).encode(), "txt"
        engine.add_artifact(track_id, f"{tag}/part-{i % 4}/file-{i}.{ext}", data=data)
        done += len(data)
        i += 1


def _prepared(root: Path, size: int, rng: random.Random) -> tuple[Engine, str, Path]:
    engine = Engine(root)
    track_id = engine.create("Crash subject")["track_id"]
    engine.transition(track_id, "activate")
    _mixed_artifacts(engine, track_id, size, rng, "first")
    engine.decide(track_id, "first layout")
    return engine, track_id, engine.tree.track_dir(track_id)


def _manifest_ids(track_dir: Path) -> list[str]:
    folder = track_dir / "checkpoints"
    names = [n[:-5] for n in os.listdir(folder) if CHECKPOINT_RE.fullmatch(n[:-5])]
    return sorted(names, key=lambda n: int(n.split("-")[1]))


def _track_state(track_dir: Path) -> dict[str, str]:
    """sha256 of every snapshotted file of the track (what a restore replaces)."""
    found = {}
    for path in track_dir.rglob("*"):
        relative = path.relative_to(track_dir).as_posix()
        skipped = relative.split("/")[0] == "checkpoints" or relative in UNSNAPSHOTTED
        if path.is_file() and not skipped:
            found[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _work(track_json: bytes) -> dict[str, Any]:
    """track.json without the lifecycle fields, which a restore keeps current."""
    track = json.loads(track_json)
    return {k: v for k, v in track.items() if k not in (*LIFECYCLE_KEYS, "updated_at")}


class Rounds:
    """Start the child, kill it after its Nth file-system change (N drawn from the seed
    up to ``span``), note what the kill interrupted."""

    def __init__(self, root: Path, track_id: str, mode: str, span: int, seed: int) -> None:
        self.root, self.track_id, self.mode, self.span, self.seed = root, track_id, mode, span, seed
        self.rng = random.Random(seed)
        self.caught: Counter[str] = Counter()
        self.logs = root.parent / "logs"
        self.logs.mkdir(exist_ok=True)

    def where(self, number: int) -> str:
        return f"round {number} (CONDUCTOR_TEST_SEED={self.seed})"

    def run(self, number: int, *targets: str) -> list[str]:
        log = self.logs / f"round-{number:03d}.log"
        stop_at = self.rng.randint(1, self.span)
        args = [self.root, self.track_id, self.mode, log, self.seed + number, stop_at, *targets]
        kill = kill_at([sys.executable, "-c", CHILD, *map(str, args)])
        assert kill.killed_at_its_point and kill.lines[0] == "ready", (
            f"{self.where(number)}, change {stop_at}: {kill.describe()}"
        )
        self._note_phase()
        text = log.read_text() if log.exists() else ""
        return [entry for entry in text.split("\n")[:-1] if entry]  # whole lines only

    def _note_phase(self) -> None:
        tracks = self.root / "tracks"
        tmp = tracks / ".conductor-tmp"
        lock = tracks / INTEROP_NAME
        held = lock.exists()
        self.caught["inside a transaction" if held else "between operations"] += 1
        if held and lock.stat().st_size == 0:
            self.caught["empty lock file left"] += 1  # killed while creating it
        journal = tracks / ".conductor-journal.json"
        if journal.exists():  # killed mid-commit: before the registry (drop) or after (finish)
            expected = json.loads(journal.read_bytes())["registry_crc"]
            if expected is None or _registry_crc(tracks / REGISTRY_NAME) == expected:
                self.caught["journal left, to roll forward"] += 1
            else:
                self.caught["journal left, to drop"] += 1
        if Engine(self.root).tree.wal.unapplied():  # past the log's commit point, unmarked
            self.caught["log record left, to replay"] += 1
        if tmp.is_dir() and os.listdir(tmp):
            self.caught["temp files left"] += 1

    def check_kills_landed(self) -> None:
        summary = f"CONDUCTOR_TEST_SEED={self.seed}, {ROUNDS} rounds, {self.span} changes: "
        print(summary, self.caught)
        # Kills landed inside transactions, in their temp files and in their commits.
        assert self.caught["inside a transaction"] >= ROUNDS // 2, (summary, self.caught)
        assert self.caught["temp files left"] > 0, (summary, self.caught)
        finished = ("journal left, to roll forward", "log record left, to replay")
        assert sum(self.caught[what] for what in finished) > 0, (summary, self.caught)


def _recover_and_check_store(root: Path, track_id: str) -> Engine:
    """A fresh engine, a transaction that recovers, and a clean store afterwards."""
    engine = Engine(root)
    with engine.tree.transaction():
        pass
    tracks = root / "tracks"
    assert not (tracks / ".conductor-journal.json").exists()
    assert os.listdir(tracks / ".conductor-tmp") == []
    assert not [p for p in root.rglob(f"*{TMP_SUFFIX}") if p.is_file()]
    assert engine.validate() == []
    assert engine.entry(track_id)["status"] == "active"
    return engine


def _check_manifests(engine: Engine, track_id: str, verified: dict[str, str]) -> list[str]:
    """Every manifest on disk verifies (only the journaled commit makes one appear):
    new ones are verified in full, ones verified before must be unchanged. The track's
    last_checkpoint and snapshot counter committed with the newest manifest."""
    track_dir = engine.tree.track_dir(track_id)
    present = _manifest_ids(track_dir)
    for checkpoint_id in present:
        manifest = engine.checkpoint(track_id, checkpoint_id)
        if checkpoint_id in verified:
            assert manifest["checksum"] == verified[checkpoint_id], checkpoint_id
            continue
        assert engine.verify_checkpoint(track_id, checkpoint_id) == [], checkpoint_id
        verified[checkpoint_id] = manifest["checksum"]
    track = json.loads((track_dir / "track.json").read_bytes())
    assert track["last_checkpoint"] == present[-1]
    assert track["metrics"]["snapshots_created"] == len(present)
    return present


def _kill_span(operation) -> int:
    """Where kill points are drawn from: the changes of four operations in a row (so most
    children report work done, and the kills still fall all along an operation). Four
    measured, not one times four: some commits also checkpoint the write-ahead log."""
    return count_changes(lambda: [operation() for _ in range(4)])


# -- the tests ------------------------------------------------------------------------


def test_killed_checkpoint_never_damages_a_checkpoint(tmp_path: Path, run_seed: int) -> None:
    """SIGKILL during create_checkpoint, at least 50 times: every checkpoint the child
    logged as created verifies, every manifest present verifies, the store is clean."""
    root = tmp_path / "root"
    rng = random.Random(run_seed)
    engine, track_id, track_dir = _prepared(root, 3_000_000, rng)
    engine.create_checkpoint(track_id, reason="baseline")
    churn = track_dir / "context" / "artifacts"

    def as_the_child_does() -> None:  # edited artifacts: the checkpoint stores new blobs
        (churn / "churn-0.bin").write_bytes(rng.randbytes(48_000))
        (churn / "churn.json").write_text(json.dumps({"rows": list(range(20_000))}))
        engine.create_checkpoint(track_id, reason="calibration")

    span = _kill_span(as_the_child_does)
    rounds = Rounds(root, track_id, "checkpoint", span, run_seed)
    verified: dict[str, str] = {}
    logged: set[str] = set()
    for number in range(ROUNDS):
        new = rounds.run(number)
        engine = _recover_and_check_store(root, track_id)
        present = _check_manifests(engine, track_id, verified)
        logged.update(new)
        missing = logged - set(present)
        assert not missing, f"{rounds.where(number)}: reported but gone: {missing}"
    rounds.check_kills_landed()
    # the children did get work done
    assert len(logged) >= ROUNDS // 2, (f"CONDUCTOR_TEST_SEED={run_seed}", len(logged))
    for checkpoint_id in _manifest_ids(engine.tree.track_dir(track_id)):
        assert engine.verify_checkpoint(track_id, checkpoint_id) == [], checkpoint_id


def test_killed_restore_is_all_or_nothing(tmp_path: Path, run_seed: int) -> None:
    """SIGKILL during restore_checkpoint (alternating between two checkpoints whose every
    artifact differs), at least 50 times: the track's files are always exactly those of
    one of the two, the registry agrees, every checkpoint (safety ones included) verifies."""
    root = tmp_path / "root"
    rng = random.Random(run_seed)
    engine, track_id, track_dir = _prepared(root, 2_000_000, rng)
    first = engine.create_checkpoint(track_id, reason="first layout")["checkpoint_id"]
    artifacts = track_dir / "context" / "artifacts"
    for path in sorted(p for p in artifacts.rglob("*") if p.is_file()):
        path.write_bytes(path.read_bytes() + b"\n(second layout)")
    os.unlink(min(p for p in artifacts.rglob("*.bin")))  # only in the first
    _mixed_artifacts(engine, track_id, 200_000, rng, "second")  # only in the second
    engine.decide(track_id, "second layout")
    second = engine.create_checkpoint(track_id, reason="second layout")["checkpoint_id"]

    layouts = {}
    for checkpoint_id in (first, second):
        manifest = engine.checkpoint(track_id, checkpoint_id)
        entries = {e["path"]: e for e in manifest["files"]}
        blob = engine.checkpointing.blob_path(track_id, entries["track.json"]["sha256"])
        layouts[checkpoint_id] = {
            "files": {p: e["sha256"] for p, e in entries.items() if p != "track.json"},
            "artifacts": {e["path"]: e["sha256"] for e in manifest["artifacts_snapshot"]},
            "work": _work(read_blob(blob, entries["track.json"]["size"])),
        }
    one, two = (layout["artifacts"] for layout in layouts.values())
    shared = set(one) & set(two)
    assert shared and set(one) - shared and set(two) - shared
    assert all(one[p] != two[p] for p in shared)  # a mix of the two would show

    span = _kill_span(lambda: engine.restore_checkpoint(track_id, first))
    rounds = Rounds(root, track_id, "restore", span, run_seed)
    verified: dict[str, str] = {}
    seen: Counter[str] = Counter()
    for number in range(ROUNDS):
        rounds.run(number, first, second)
        engine = _recover_and_check_store(root, track_id)
        state = _track_state(track_dir)
        artifacts_now = {p: s for p, s in state.items() if p.startswith("context/artifacts/")}
        matches = [cid for cid, layout in layouts.items() if layout["artifacts"] == artifacts_now]
        assert len(matches) == 1, f"{rounds.where(number)}: a mix of both checkpoints"
        layout = layouts[matches[0]]
        assert {p: s for p, s in state.items() if p != "track.json"} == layout["files"]
        assert _work((track_dir / "track.json").read_bytes()) == layout["work"]
        seen[matches[0]] += 1
        _check_manifests(engine, track_id, verified)
    rounds.check_kills_landed()
    print("restored layouts seen after the kills:", dict(seen))
    assert len(seen) == 2  # kills left the track in both layouts, not always in one
    for checkpoint_id in _manifest_ids(track_dir):
        assert engine.verify_checkpoint(track_id, checkpoint_id) == [], checkpoint_id
