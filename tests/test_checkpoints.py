"""Checkpoints restore a whole track byte for byte, store each content once, catch any
damage, and refuse manifests or blobs that try to escape or explode."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conductor_nb.engine import Engine
from conductor_nb.errors import CorruptFile, InvalidInput

# File names: unicode letters included, no separators, no dot-only names.
_name = st.text(
    alphabet=st.characters(
        categories=("L", "N"), include_characters="-_ .", exclude_characters="/\\\x00"
    ),
    min_size=1,
    max_size=12,
).filter(lambda n: n.strip(". ") == n and n not in {".", ".."})
_content = st.one_of(
    st.binary(max_size=4096),
    st.text(max_size=2000).map(str.encode),
    st.dictionaries(st.text(max_size=8), st.integers(), max_size=20).map(
        lambda d: json.dumps(d).encode()
    ),
    st.just(b""),
)
_tree = st.dictionaries(
    st.lists(_name, min_size=1, max_size=3).map("/".join), _content, min_size=1, max_size=12
).filter(
    # a name cannot be both a file and a folder
    lambda tree: not any(other.startswith(path + "/") for path in tree for other in tree)
)


def _snapshot(track_dir: Path) -> dict[str, bytes]:
    return {
        p.relative_to(track_dir).as_posix(): p.read_bytes()
        for p in sorted(track_dir.rglob("*"))
        if p.is_file() and "checkpoints" not in p.relative_to(track_dir).parts
    }


def _new_track(root: Path) -> tuple[Engine, str, Path]:
    engine = Engine(root)
    track_id = engine.create("Snapshot subject")["track_id"]
    engine.transition(track_id, "activate")
    return engine, track_id, engine.tree.track_dir(track_id)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(first=_tree, second=_tree)
def test_random_trees_restore_byte_for_byte(tmp_path_factory, first, second) -> None:
    """Artifacts of any shape (binary, text, JSON, empty, nested, unicode names) come back
    exactly; files added after the checkpoint are removed by the restore."""
    engine, track_id, track_dir = _new_track(tmp_path_factory.mktemp("r") / "root")
    for name, data in first.items():
        engine.add_artifact(track_id, name, data=data)
    engine.decide(track_id, "before")
    before = _snapshot(track_dir)
    engine.create_checkpoint(track_id, reason="round trip")
    for name, data in first.items():
        engine.add_artifact(track_id, name, data=data + b"!")
    for name, data in second.items():
        engine.add_artifact(track_id, f"later/{name}", data=data)
    engine.decide(track_id, "after")
    engine.restore_checkpoint(track_id, "last")
    after = _snapshot(track_dir)
    assert _work(after) == _work(before)
    assert {k: v for k, v in after.items() if k != "track.json"} == {
        k: v for k, v in before.items() if k != "track.json"
    }
    assert engine.validate() == []


def _work(files: dict[str, bytes]) -> dict:
    """track.json without its lifecycle fields (which a restore keeps current)."""
    from conductor_nb.checkpoint_format import LIFECYCLE_KEYS

    track = json.loads(files["track.json"])
    return {k: v for k, v in track.items() if k not in (*LIFECYCLE_KEYS, "updated_at")}


def test_unchanged_content_is_stored_once(root: Path) -> None:
    """Two checkpoints of the same artifacts share their blobs: only changed files add one."""
    engine, track_id, track_dir = _new_track(root)
    for i in range(5):
        engine.add_artifact(track_id, f"big-{i}.txt", data=(f"line {i}\n" * 5000).encode())
    engine.create_checkpoint(track_id)
    blobs = track_dir / "checkpoints" / "blobs"
    count = len(list(blobs.glob("*/*.zst")))
    assert count == 5 + 2  # five artifacts, track.json, and "[]" (decisions and assumptions)
    engine.create_checkpoint(track_id)  # track.json changed (last_checkpoint): one new blob
    assert len(list(blobs.glob("*/*.zst"))) == count + 1
    engine.add_artifact(track_id, "big-0.txt", data=b"changed")
    engine.create_checkpoint(track_id)  # + the changed artifact + track.json
    assert len(list(blobs.glob("*/*.zst"))) == count + 3
    manifest = engine.checkpoint(track_id, "1")
    assert manifest["metadata"]["compression_ratio"] > 0.9  # repetitive text compresses well
    assert manifest["checksum"].startswith("sha256:")


def test_a_cache_is_written_only_when_it_changes(root: Path, monkeypatch) -> None:
    """Files all too new to trust their stat (a new track's) leave no stat cache to
    write; older ones are cached; a damaged cache is rewritten."""
    from conductor_nb import checkpoints

    engine, track_id, track_dir = _new_track(root)
    cache = track_dir / "checkpoints" / "stat-cache.json"
    engine.create_checkpoint(track_id)
    assert not cache.exists()
    assert (track_dir / "checkpoints" / "blobs" / "index.json").is_file()
    monkeypatch.setattr(checkpoints, "RACY_SECONDS", -1.0)  # every file old enough
    engine.create_checkpoint(track_id)
    cached = json.loads(cache.read_bytes())
    assert "context/decisions.json" in cached
    monkeypatch.setattr(checkpoints, "RACY_SECONDS", 1e9)  # none: the cache empties
    cache.write_text("{not json")
    engine.create_checkpoint(track_id)
    assert json.loads(cache.read_bytes()) == {}


def test_every_flipped_byte_of_blob_or_manifest_is_caught(root: Path) -> None:
    """A single flipped byte anywhere in any blob or in the manifest fails verify, names
    the damaged file, and makes restore refuse."""
    engine, track_id, track_dir = _new_track(root)
    engine.add_artifact(track_id, "notes.md", data=b"# notes\n" * 50)
    engine.add_artifact(track_id, "tiny", data=b"x")
    engine.create_checkpoint(track_id)
    manifest_path = track_dir / "checkpoints" / "checkpoint-001.json"
    manifest = json.loads(manifest_path.read_text())
    by_sha: dict[str, list[str]] = {}  # one blob may hold several files ("[]")
    for entry in manifest["files"]:
        by_sha.setdefault(entry["sha256"], []).append(entry["path"])
    for blob in sorted((track_dir / "checkpoints" / "blobs").glob("*/*.zst")):
        original = blob.read_bytes()
        for i in range(len(original)):
            damaged = bytearray(original)
            damaged[i] ^= 0x01
            blob.write_bytes(bytes(damaged))
            damage = engine.verify_checkpoint(track_id, "1")
            assert sorted(d["path"] for d in damage) == sorted(by_sha[blob.name[:-4]]), i
        blob.write_bytes(original)
    assert engine.verify_checkpoint(track_id, "1") == []
    text = manifest_path.read_bytes()
    for i in range(0, len(text), 7):
        damaged = bytearray(text)
        damaged[i] ^= 0x01
        manifest_path.write_bytes(bytes(damaged))
        assert engine.verify_checkpoint(track_id, "1"), i
    manifest_path.write_bytes(text)
    blob = next((track_dir / "checkpoints" / "blobs").glob("*/*.zst"))
    blob.write_bytes(blob.read_bytes()[:-1])
    before = _snapshot(track_dir)
    with pytest.raises(CorruptFile, match="conductor checkpoint verify"):
        engine.restore_checkpoint(track_id, "1")
    assert _snapshot(track_dir) == before


def _forge(engine: Engine, track_id: str, mutate) -> None:
    """Rewrite checkpoint-001's manifest through ``mutate`` and re-seal its checksum, as an
    attacker who knows the format would."""
    from conductor_nb.checkpoint_format import manifest_checksum

    path = engine.tree.track_dir(track_id) / "checkpoints" / "checkpoint-001.json"
    manifest = json.loads(path.read_text())
    mutate(manifest)
    manifest["checksum"] = manifest_checksum(manifest)
    path.write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    "evil", ["../../outside.txt", "/etc/passwd", "context/../../x", "checkpoints/x"]
)
def test_manifest_paths_outside_the_track_are_refused(
    root: Path, tmp_path: Path, evil: str
) -> None:
    """A sealed manifest naming '../', an absolute path or the checkpoints folder is refused."""
    engine, track_id, _ = _new_track(root)
    engine.add_artifact(track_id, "a.txt", data=b"a")
    engine.create_checkpoint(track_id)

    def mutate(manifest):
        manifest["files"][0]["path"] = evil

    _forge(engine, track_id, mutate)
    assert engine.verify_checkpoint(track_id, "1")
    with pytest.raises(CorruptFile):
        engine.restore_checkpoint(track_id, "1")
    assert not (tmp_path / "outside.txt").exists()


def test_decompression_bomb_is_refused(root: Path) -> None:
    """A blob that inflates beyond the size its manifest declares is refused, without
    inflating it all."""
    import zstandard

    engine, track_id, track_dir = _new_track(root)
    engine.add_artifact(track_id, "small.txt", data=b"small")
    engine.create_checkpoint(track_id)
    sha = hashlib.sha256(b"small").hexdigest()
    bomb = zstandard.ZstdCompressor(level=19).compress(b"\0" * (64 * 1024 * 1024))
    blob = track_dir / "checkpoints" / "blobs" / sha[:2] / f"{sha}.zst"
    blob.write_bytes(bomb)

    def mutate(manifest):
        for entry in manifest["files"]:
            if entry["sha256"] == sha:
                entry["blob_sha256"] = hashlib.sha256(bomb).hexdigest()

    _forge(engine, track_id, mutate)
    (damage,) = engine.verify_checkpoint(track_id, "1")
    assert "more than the 5 bytes declared" in damage["problem"]
    with pytest.raises(CorruptFile):
        engine.restore_checkpoint(track_id, "1")


def test_diff_prune_and_history(root: Path) -> None:
    """diff lists added, removed, changed files and decisions; prune keeps the newest and
    pinned checkpoints and drops unused blobs; history is newest first."""
    engine, track_id, track_dir = _new_track(root)
    engine.add_artifact(track_id, "keep.txt", data=b"1")
    engine.add_artifact(track_id, "gone.txt", data=b"2")
    engine.create_checkpoint(track_id, reason="one", pinned=True)
    (track_dir / "context" / "artifacts" / "gone.txt").unlink()
    engine.add_artifact(track_id, "keep.txt", data=b"changed")
    engine.add_artifact(track_id, "new.txt", data=b"3")
    engine.decide(track_id, "Ship it")
    engine.create_checkpoint(track_id, reason="two")
    diff = engine.diff_checkpoints(track_id, "1", "2")
    assert diff["added"] == ["context/artifacts/new.txt"]
    assert diff["removed"] == ["context/artifacts/gone.txt"]
    assert "context/artifacts/keep.txt" in diff["changed"]
    assert [d["summary"] for d in diff["decisions_added"]] == ["Ship it"]
    for _ in range(3):
        engine.create_checkpoint(track_id)
    assert [m["checkpoint_id"] for m in engine.checkpoints(track_id)][:2] == [
        "checkpoint-005",
        "checkpoint-004",
    ]
    result = engine.prune_checkpoints(track_id, keep=2)
    assert result["removed"] == ["checkpoint-003", "checkpoint-002"]
    assert result["kept"] == ["checkpoint-005", "checkpoint-004", "checkpoint-001"]
    for manifest_id in result["kept"]:
        assert engine.verify_checkpoint(track_id, manifest_id) == []
    with pytest.raises(InvalidInput):
        engine.prune_checkpoints(track_id, keep=0)


def test_restore_keeps_the_lifecycle_and_a_safety_checkpoint(root: Path) -> None:
    """Restoring brings back the work, not an older status; the state it replaced is a
    checkpoint of its own, so the restore can itself be undone."""
    engine, track_id, track_dir = _new_track(root)
    engine.add_step(track_id, "design")
    engine.create_checkpoint(track_id)
    engine.step(track_id, "1", "complete")
    engine.transition(track_id, "pause", reason="lunch")
    after_work = _snapshot(track_dir)["context/decisions.json"]
    done = engine.restore_checkpoint(track_id, "1")
    track = engine.track(track_id)
    assert track["status"] == "paused" and track["steps"][0]["status"] == "pending"
    assert [e["to"] for e in track["history"]][-1] == "paused"
    engine.restore_checkpoint(track_id, done["safety_checkpoint"])
    assert engine.track(track_id)["steps"][0]["status"] == "completed"
    assert _snapshot(track_dir)["context/decisions.json"] == after_work


def test_pause_and_switch_checkpoint_the_suspended_track(root: Path) -> None:
    """pause, switch and activate --force each checkpoint the track they suspend."""
    engine = Engine(root)
    first = engine.create("First track")["track_id"]
    second = engine.create("Second track")["track_id"]
    engine.transition(first, "activate")
    engine.transition(first, "pause", reason="lunch")
    assert [(m["kind"], m["reason"]) for m in engine.checkpoints(first)] == [
        ("pause", "paused: lunch")
    ]
    engine.transition(first, "resume")
    engine.switch(second)
    assert engine.checkpoints(first)[0]["kind"] == "suspend"
    engine.transition(first, "activate", force=True)
    assert engine.checkpoints(second)[0]["kind"] == "suspend"
    assert engine.track(first)["last_checkpoint"] == "checkpoint-002"


def test_resume_brings_back_the_last_checkpoint_keeping_what_was_there(root: Path) -> None:
    """Files changed while a track was paused are kept in a safety checkpoint and the
    track resumes as it was suspended; unchanged tracks resume without a restore."""
    engine, track_id, track_dir = _new_track(root)
    engine.add_artifact(track_id, "plan.md", data=b"the plan")
    engine.transition(track_id, "pause")
    engine.transition(track_id, "resume")
    assert len(engine.checkpoints(track_id)) == 1  # nothing changed: no restore
    engine.transition(track_id, "pause")
    (track_dir / "context" / "artifacts" / "plan.md").write_bytes(b"scribbled while paused")
    engine.transition(track_id, "resume")
    assert (track_dir / "context" / "artifacts" / "plan.md").read_bytes() == b"the plan"
    safety = engine.checkpoints(track_id)[0]
    assert safety["kind"] == "safety"
    engine.restore_checkpoint(track_id, safety["checkpoint_id"])
    assert (
        track_dir / "context" / "artifacts" / "plan.md"
    ).read_bytes() == b"scribbled while paused"


def test_checkpoint_frequency_is_honoured(root: Path, clock) -> None:
    """never: no automatic checkpoints; per-step: one per finished step; per-milestone:
    a pinned one per finished checkpoint step; hourly: a change an hour later takes one."""
    engine = Engine(root, clock=clock)

    def track(name: str, frequency: str) -> str:
        track_id = engine.create(name)["track_id"]
        engine.update(track_id, "checkpoint_frequency", frequency)
        engine.transition(track_id, "activate", force=True)
        return track_id

    never = track("Never track", "never")
    engine.transition(never, "pause")
    assert engine.checkpoints(never) == []
    per_step = track("Step track", "per-step")
    engine.add_step(per_step, "one")
    engine.add_step(per_step, "two")
    engine.step(per_step, "1", "complete")
    engine.step(per_step, "2", "skip")
    assert [m["kind"] for m in engine.checkpoints(per_step)] == ["step", "step"]
    milestone = track("Milestone track", "per-milestone")
    engine.add_step(milestone, "work")
    engine.add_step(milestone, "review gate", type="checkpoint")
    engine.step(milestone, "1", "complete")
    engine.step(milestone, "2", "complete")
    (only,) = engine.checkpoints(milestone)
    assert (only["kind"], only["pinned"]) == ("milestone", True)
    hourly = track("Hourly track", "hourly")
    first = len(engine.checkpoints(hourly))
    engine.decide(hourly, "early")
    clock.advance(minutes=30)
    engine.add_step(hourly, "a")
    engine.step(hourly, "1", "start")
    assert len(engine.checkpoints(hourly)) == first
    clock.advance(minutes=31)
    engine.step(hourly, "1", "complete")
    assert len(engine.checkpoints(hourly)) == first + 1


def test_restore_rewrites_only_the_files_that_differ(root: Path) -> None:
    """A file already holding the checkpoint's bytes keeps its inode and stays out of the
    journal; one the same transaction deletes is written back all the same."""
    engine, track_id, track_dir = _new_track(root)
    artifacts = track_dir / "context" / "artifacts"
    for name in ("same.bin", "changed.txt", "deleted-in-txn.md"):
        engine.add_artifact(track_id, name, data=name.encode() * 1000)
    engine.create_checkpoint(track_id)
    engine.add_artifact(track_id, "changed.txt", data=b"edited")
    same_inode = (artifacts / "same.bin").stat().st_ino
    with engine.tree.transaction() as txn:
        txn.delete(artifacts / "deleted-in-txn.md")
        engine.restore_checkpoint(track_id, "1")  # joins this transaction
        written = {p.name for p in txn.writes if p.is_relative_to(artifacts)}
    assert written == {"changed.txt", "deleted-in-txn.md"}
    assert (artifacts / "same.bin").stat().st_ino == same_inode
    for name in ("same.bin", "changed.txt", "deleted-in-txn.md"):
        assert (artifacts / name).read_bytes() == name.encode() * 1000
    assert engine.verify_checkpoint(track_id, "last") == []
    assert engine.validate() == []


def test_edits_made_through_conductor_while_paused_survive_resume(root: Path) -> None:
    """Decisions and artifacts added to a paused track with conductor are its work: resume
    keeps them (only changes made behind conductor's back are rolled back)."""
    engine, track_id, track_dir = _new_track(root)
    engine.transition(track_id, "pause")
    engine.decide(track_id, "decided while paused")
    engine.add_artifact(track_id, "notes.md", data=b"written while paused")
    engine.transition(track_id, "resume")
    assert [d["summary"] for d in engine.decisions(track_id)] == ["decided while paused"]
    assert (
        track_dir / "context" / "artifacts" / "notes.md"
    ).read_bytes() == b"written while paused"


def test_project_files_the_track_registers_are_checkpointed_and_restored(
    root: Path, tmp_path: Path
) -> None:
    """A notebook of the project that the track registers is part of its checkpoints and
    comes back on restore; registering a path outside the project is refused."""
    from conductor_nb.errors import PathOutsideRoot

    engine, track_id, _ = _new_track(root)
    project = root.parent.parent  # <project>/.claude/conductor
    notebook = project / "analysis" / "explore.ipynb"
    notebook.parent.mkdir()
    notebook.write_text('{"cells": []}')
    engine.update(track_id, "checkpoint_files", "analysis/explore.ipynb")
    manifest = engine.create_checkpoint(track_id)
    assert "project/analysis/explore.ipynb" in [e["path"] for e in manifest["files"]]
    notebook.write_text('{"cells": ["changed"]}')
    assert "project/analysis/explore.ipynb" in engine.diff_checkpoints(track_id, "1")["changed"]
    engine.restore_checkpoint(track_id, "1")
    assert notebook.read_text() == '{"cells": []}'
    with pytest.raises(PathOutsideRoot):
        engine.update(track_id, "checkpoint_files", "../outside.ipynb")
