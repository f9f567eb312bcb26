"""The write-ahead log (``store/wal.py``): one fsync per commit, bounded, and what it does
with a torn tail, a damaged log, a killed writer and a file another program changed.

The power-cut states of every verb are explored in ``test_crash_states`` (the "wal"
protocols); these are the log's own promises, on real files.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_process import conductor_in
from crashstates import Image, Recorder, explore, rebooted

from conductor_nb.engine import Engine
from conductor_nb.errors import ConductorError, CorruptFile
from conductor_nb.store import files, wal
from conductor_nb.store.tree import commit_protocol


@pytest.fixture
def project(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CONDUCTOR_COMMIT", "wal")
    path = Path(tempfile.mkdtemp(prefix="wal-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _root(project: Path) -> Path:
    return project / ".claude" / "conductor"


def test_a_transition_is_made_durable_by_one_fsync(project: Path) -> None:
    """The journal syncs every file it writes; the log syncs itself, once."""
    engine = Engine(_root(project))
    track_id = engine.create("Counted", goal="g")["track_id"]
    recorder = Recorder(project, Image.read(project))
    with recorder.active():
        engine.transition(track_id, "ready")
    syncs = [op.describe() for op in recorder.ops if op.kind in ("fsync", "fsync-dir")]
    assert len(syncs) == 1 and syncs[0].endswith("fsync tracks/.conductor-wal"), syncs
    assert engine.entry(track_id)["status"] == "ready"  # and readers see it at once
    assert json.loads(engine.tree.registry.path.read_bytes())["tracks"][track_id]["status"] == (
        "ready"
    )


def test_a_new_track_s_files_are_each_written_once(project: Path) -> None:
    """A create commits files into folders that do not exist yet: they are made first,
    so no temp file is written into a missing folder, thrown away and written again."""
    engine = Engine(_root(project))
    engine.create("First track", goal="g")
    recorder = Recorder(project, Image.read(project))
    with recorder.active():
        track_id = engine.create("Second track", goal="g")["track_id"]
    created = [op.path for op in recorder.ops if op.kind == "create"]
    dropped = [op.path for op in recorder.ops if op.kind == "unlink"]
    assert dropped == [], dropped
    temp_files = [path for path in created if "/.conductor-tmp/" in path]
    assert sorted(name.rsplit("/", 1)[1].split(".")[0] for name in temp_files) == [
        "assumptions",
        "decisions",
        "track",
        "track-registry",
    ]
    assert engine.track(track_id)["name"] == "Second track"


def test_without_the_log_fsync_the_explorer_names_a_returned_change_lost(
    project: Path, run_seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one fsync is the commit point: taken away, a power cut after the verb returned
    may lose its change, and the crash-state explorer says which states do."""
    engine = Engine(_root(project))
    track_id = engine.create("Unsynced", goal="g")["track_id"]
    monkeypatch.setattr(files, "fdatasync", lambda fd: None)
    report = explore(
        project, lambda: engine.transition(track_id, "ready"), name="ready", seed=run_seed
    )
    print(report.explain(most=5))
    lost = [problem for _, problem in report.broken if "its change is lost" in problem]
    assert lost, report.explain()


def test_the_log_stays_bounded(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past ``CHECKPOINT_BYTES`` a commit syncs what the log's records replaced and starts
    an empty log, keeping the registry as its base."""
    monkeypatch.setattr(wal, "CHECKPOINT_BYTES", 8_000)
    engine = Engine(_root(project))
    track_id = engine.create("Busy", goal="g")["track_id"]
    sizes = []
    for number in range(40):
        engine.decide(track_id, f"decision {number}")
        sizes.append(engine.tree.wal.path.stat().st_size)
    assert max(sizes) < 8_000 + 6_000  # one record beyond the bound at most
    assert min(sizes[5:]) < 2_000  # it was started again
    base = engine.tree.wal.base_path.read_bytes()
    assert json.loads(base)["tracks"][track_id]["name"] == "Busy"
    assert engine.validate() == []


def test_a_torn_append_is_cut_off(project: Path) -> None:
    """A writer killed while appending never reached its commit point: the next lock cuts
    its half frame off and the tree is as it was."""
    engine = Engine(_root(project))
    track_id = engine.create("Torn", goal="g")["track_id"]
    log = engine.tree.wal.path
    whole = log.read_bytes()
    record = wal._frame(wal._RECORD, wal.Record({"x": b"never"}, []).encode())
    log.write_bytes(whole + record[: len(record) // 2])
    fresh = Engine(_root(project))
    assert fresh.entry(track_id)["status"] == "draft"
    fresh.decide(track_id, "after the tear")
    assert log.read_bytes().startswith(whole) and not (project / "x").exists()
    assert fresh.validate() == []


def test_a_record_without_its_mark_is_replayed(project: Path) -> None:
    """A writer killed between its commit point and its mark: the next reader replays
    the record, so the change it had committed is there."""
    engine = Engine(_root(project))
    track_id = engine.create("Killed", goal="g")["track_id"]
    decisions = engine.tree.track_file(track_id, "context", "decisions.json")
    relative = decisions.relative_to(project).as_posix()
    committed = b'[{"id": "decision-1", "summary": "committed"}]'
    record = wal.Record({relative: committed}, [])
    record.before[relative] = [2, __import__("zlib").crc32(b"[]")]
    with engine.tree.lock:
        engine.tree.wal._append(wal._frame(wal._RECORD, record.encode()), sync=True)
    assert engine.tree.wal.unapplied()
    assert Engine(_root(project)).decisions(track_id)[0]["summary"] == "committed"
    assert not engine.tree.wal.unapplied()


def test_after_a_power_cut_a_file_another_program_changed_is_kept(
    project: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """A ``git pull`` between a power cut and the next command changes a file the log
    holds a commit for: the replay keeps the pulled file and says so."""
    engine = Engine(_root(project))
    track_id = engine.create("Shared", goal="ours")["track_id"]
    track_file = engine.tree.track_file(track_id, "track.json")
    pulled = json.loads(track_file.read_bytes())
    pulled["context"]["goal"] = "theirs"
    track_file.write_text(files.dumps(pulled))
    with rebooted():
        Engine(_root(project)).validate()
    assert json.loads(track_file.read_bytes())["context"]["goal"] == "theirs"
    err = capfd.readouterr().err
    assert re.search(r"track\.json was changed by another program .* kept as it is", err), err
    assert not engine.tree.wal.path.exists()  # replayed, synced and removed


def test_a_damaged_log_is_one_line_and_repair_sets_it_aside(project: Path) -> None:
    root = _root(project)
    engine = Engine(root)
    track_id = engine.create("Damaged", goal="g")["track_id"]
    engine.decide(track_id, "one")
    log = engine.tree.wal.path
    data = bytearray(log.read_bytes())
    data[100] ^= 0xFF  # inside the first record: no cut append leaves that
    data += b"x" * 40
    log.write_bytes(bytes(data))
    with pytest.raises(CorruptFile) as caught:
        Engine(root).decisions(track_id)
    assert str(log) in str(caught.value) and "conductor repair" in str(caught.value)
    shown = conductor_in(project, "--root", str(root), "show", track_id)
    lines = shown.stderr.strip().splitlines()
    assert shown.returncode != 0 and len(lines) == 1 and "conductor repair" in lines[0], lines
    assert [p.kind for p in Engine(root).validate()] == ["corrupt-file"]
    done = Engine(root).repair()
    assert any("write-ahead log was damaged" in line for line in done), done
    assert not log.exists() and list((root / "backups").glob("*conductor-wal"))
    assert Engine(root).validate() == []
    assert Engine(root).decisions(track_id)[0]["summary"] == "one"


def test_the_journal_folds_a_log_in(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process committing with the journal first makes a log's changes durable and
    removes it (the two never mix)."""
    engine = Engine(_root(project))
    track_id = engine.create("Switched", goal="g")["track_id"]
    assert engine.tree.wal.path.exists()
    monkeypatch.setenv("CONDUCTOR_COMMIT", "journal")
    Engine(_root(project)).transition(track_id, "ready")
    assert not engine.tree.wal.path.exists() and not engine.tree.wal.base_path.exists()
    assert Engine(_root(project)).entry(track_id)["status"] == "ready"


def test_an_unknown_commit_protocol_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONDUCTOR_COMMIT", "fast")
    with pytest.raises(ConductorError, match="CONDUCTOR_COMMIT is 'fast': use one of wal, journal"):
        commit_protocol()
