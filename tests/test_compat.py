"""Trees written by the original Node.js tool open unchanged, report exactly their known
disagreements, keep unknown fields through our writes, stay readable by that tool, and
are mended by repair and rebuild without losing anything silently."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conductor_nb import Conductor
from conductor_nb.engine import Engine
from conductor_nb.errors import CorruptFile, RegistryMissing

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "seed-conductor"

T = {
    "T1": "track-user-authentication-1795583994454",
    "T2": "track-payment-retry-bugfix-1795583994663",
    "T3": "track-search-refactor-1795583994875",
    "T4": "track-api-docs-migration-1795583995098",
    "T5": "track-onboarding-flow-1795583995315",
    "T6": "track-cache-warmup-experiment-1795583995521",
    "T7": "track-legacy-export-removal-1795583995727",
    "T8": "track-release-1-0-checklist-1795583995935",
    "T9": "track-metrics-dashboard-1795583996140",
}
# HOW-MADE.md, "Result": the registry's status and track.json's status of each track.
REGISTRY_STATUS = {
    "T1": "completed",
    "T2": "paused",
    "T3": "active",
    "T4": "draft",
    "T5": "ready",
    "T6": "failed",
    "T7": "cancelled",
    "T8": "archived",
    "T9": "draft",
}
TRACK_JSON_STATUS = {
    "T1": "completed",
    "T2": "paused",
    "T3": "active",
    "T4": "draft",
    "T5": "draft",
    "T6": "draft",
    "T7": "draft",
    "T8": "completed",
    "T9": "active",
}
NAMES = {
    "T1": "User authentication",
    "T2": "Payment retry bugfix",
    "T3": "Search refactor",
    "T4": "API docs migration",
    "T5": "Onboarding flow",
    "T6": "Cache warmup experiment",
    "T7": "Legacy export removal",
    "T8": "Release 1.0 checklist",
    "T9": "Metrics dashboard",
}
ENTRY_KEYS = {
    "track_id",
    "name",
    "type",
    "status",
    "priority",
    "created_at",
    "updated_at",
    "path",
    "progress",
}
# The keys the original tool writes into every track.json it creates.
TRACK_KEYS = {
    "track_id",
    "name",
    "type",
    "status",
    "priority",
    "created_at",
    "updated_at",
    "context",
    "steps",
    "progress",
    "execution",
}


def _track_path(root: Path, key: str) -> Path:
    return root / "tracks" / T[key] / "track.json"


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _original(key: str) -> dict:
    return _read(_track_path(FIXTURE / "conductor", key))


def _assert_original_format(path: Path) -> object:
    """The file is JSON as the original tool writes it: two-space indent, no final newline."""
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, ensure_ascii=False), path
    assert not text.endswith("\n"), path
    return data


def _assert_readable_by_the_original_tool(root: Path) -> dict:
    """The registry and every track's files have the shape and format the tool reads."""
    registry = _assert_original_format(root / "tracks" / "track-registry.json")
    assert isinstance(registry, dict)
    assert list(registry)[:4] == ["version", "active_track", "tracks", "metadata"]
    assert registry["version"] == "1.0"
    assert set(registry["tracks"]) == set(T.values())
    for track_id, entry in registry["tracks"].items():
        assert set(entry) >= ENTRY_KEYS, track_id
        assert entry["track_id"] == entry["path"] == track_id
        assert {"current_step", "completed_steps", "total_steps", "percentage"} <= set(
            entry["progress"]
        )
    active = [t for t, e in registry["tracks"].items() if e["status"] == "active"]
    assert registry["active_track"] == (active[0] if active else None)
    assert {"total_tracks", "active_count", "completed_count", "last_updated"} <= set(
        registry["metadata"]
    )
    for key in T:
        track = _assert_original_format(_track_path(root, key))
        assert set(track) >= TRACK_KEYS, key
        assert track["track_id"] == T[key]
        assert isinstance(track["steps"], list)
        assert {"goal", "success_criteria", "target_files", "prerequisites"} <= set(
            track["context"]
        )
        assert {"mode", "auto_advance", "pause_on_failure"} <= set(track["execution"])
        for name in ("decisions.json", "assumptions.json"):
            items = _assert_original_format(root / "tracks" / T[key] / "context" / name)
            assert isinstance(items, list)
    return registry


def _assert_keeps_original_fields(root: Path, key: str, *, changed: set[str] = frozenset()):
    """Every field the original tool wrote is still there; those not in ``changed`` keep
    their value (progress may gain keys but keeps the original ones)."""
    original, now = _original(key), _read(_track_path(root, key))
    for field, value in original.items():
        assert field in now, (key, field)
        if field in changed | {"updated_at"}:
            continue
        if field in ("progress", "context", "execution"):
            assert value.items() <= now[field].items(), (key, field)
        else:
            assert now[field] == value, (key, field)


def _assert_snapshots_untouched(root: Path) -> None:
    original = FIXTURE / "conductor" / "context" / "snapshots"
    copy = root / "context" / "snapshots"
    assert sorted(p.name for p in copy.iterdir()) == sorted(p.name for p in original.iterdir())
    for path in original.iterdir():
        assert (copy / path.name).read_bytes() == path.read_bytes(), path.name


def test_the_fixture_copy_is_the_original(seed_root: Path) -> None:
    """The tests work on a byte-identical copy of the tree, never on the fixture itself."""
    original = FIXTURE / "conductor"
    files = sorted(p.relative_to(original) for p in original.rglob("*") if p.is_file())
    assert files and files == sorted(
        p.relative_to(seed_root) for p in seed_root.rglob("*") if p.is_file()
    )
    for relative in files:
        assert (seed_root / relative).read_bytes() == (original / relative).read_bytes()
    assert seed_root.resolve() != original.resolve()


def test_every_track_lists_with_the_registrys_status(seed_root: Path) -> None:
    """All nine tracks load and list, each with the status the registry gives (the one
    the original tool showed its user), name and priority."""
    engine = Engine(seed_root)
    listed = {e["track_id"]: (e["status"], e["name"]) for e in engine.list()}
    assert listed == {T[k]: (REGISTRY_STATUS[k], NAMES[k]) for k in T}
    stats = engine.stats()
    assert stats["total"] == 9 and stats["active_track"] == T["T3"]
    assert stats["by_status"] == {s: 1 for s in REGISTRY_STATUS.values() if s != "draft"} | {
        "draft": 2
    }
    api = Conductor(seed_root)
    assert {e.track_id: e.status.value for e in api.list()} == {
        T[k]: s for k, s in REGISTRY_STATUS.items()
    }


def test_conductor_get_works_for_every_track(seed_root: Path) -> None:
    """Conductor(root).get() validates every track the original tool wrote, with the
    registry's status and the original's fields."""
    api = Conductor(seed_root)
    for key, track_id in T.items():
        track = api.get(track_id)
        assert track.track_id == track_id and track.name == NAMES[key]
        assert track.status.value == REGISTRY_STATUS[key]
        assert api.get(NAMES[key]).track_id == track_id
    t1 = api.get(T["T1"]).to_json_dict()
    assert t1["resumed_at"] == "2026-11-25T05:20:01.646Z"
    assert t1["last_checkpoint"] == "snap-checkpoint-1795584001500-4vbhdw"
    assert t1["outcomes"]["result"] == "success"
    assert len(api.decisions(T["T1"])) == 3 and len(api.decisions(T["T3"])) == 2
    assert api.active().track_id == T["T3"]


def test_reading_changes_nothing(seed_root: Path) -> None:
    """Listing, showing and validating the tree write nothing into it."""
    before = {p: p.read_bytes() for p in seed_root.rglob("*") if p.is_file()}
    engine = Engine(seed_root)
    engine.list()
    for track_id in T.values():
        engine.track(track_id)
        engine.decisions(track_id)
    engine.validate()
    engine.stats()
    after = {p: p.read_bytes() for p in seed_root.rglob("*") if p.is_file()}
    assert after == before


def test_validate_reports_exactly_the_known_disagreements(seed_root: Path) -> None:
    """Five tracks whose track.json disagrees with the registry (T5..T9), and the
    drifted completed_count; nothing else."""
    problems = Engine(seed_root).validate()
    assert {(p.kind, p.track_id) for p in problems} == {
        ("status-mismatch", T["T5"]),
        ("status-mismatch", T["T6"]),
        ("status-mismatch", T["T7"]),
        ("status-mismatch", T["T8"]),
        ("status-mismatch", T["T9"]),
        ("metadata-drift", None),
    }
    assert len(problems) == 6
    (drift,) = [p for p in problems if p.kind == "metadata-drift"]
    assert "completed_count" in drift.message


def test_writes_keep_unknown_fields_and_the_original_format(seed_root: Path) -> None:
    """Pausing T3 and activating T9 (registry draft, track.json active), then writing T1
    and T2, keeps every field the original tool wrote, keeps the registry's top-level
    and entry keys, backs up the one track.json whose status is brought in line, and
    leaves a tree the original tool reads."""
    # fields a newer tool might add: top level, in entries, in a track.json
    registry_path = seed_root / "tracks" / "track-registry.json"
    doc = _read(registry_path)
    doc["x_written_by"] = {"tool": "newer", "ünïcødé": True}
    for key in ("T1", "T3", "T9"):
        doc["tracks"][T[key]]["x_custom"] = [key, {"nested": 1}]
    registry_path.write_text(json.dumps(doc, indent=2, ensure_ascii=False))
    t3_path = _track_path(seed_root, "T3")
    t3 = _read(t3_path)
    t3["x_future"] = {"kept": ["yes"]}
    t3_path.write_text(json.dumps(t3, indent=2, ensure_ascii=False))
    before_registry = _read(registry_path)
    t9_bytes = _track_path(seed_root, "T9").read_bytes()
    engine = Engine(seed_root)
    engine.transition("Search refactor", "pause", reason="lunch")
    engine.transition("Metrics dashboard", "activate")
    engine.decide(T["T1"], "late note")  # a write to the track with outcomes and resumed_at
    engine.update(T["T1"], "notes", "touched by conductor_nb")
    engine.decide(T["T2"], "still blocked")  # a write to the paused track
    engine.update(T["T2"], "notes", "touched by conductor_nb")

    _assert_keeps_original_fields(seed_root, "T1")
    _assert_keeps_original_fields(seed_root, "T2")
    _assert_keeps_original_fields(seed_root, "T3", changed={"status"})
    _assert_keeps_original_fields(seed_root, "T9", changed={"status"})
    t1, t2 = _read(_track_path(seed_root, "T1")), _read(_track_path(seed_root, "T2"))
    assert t1["resumed_at"] == "2026-11-25T05:20:01.646Z"
    assert t1["last_checkpoint"] == "snap-checkpoint-1795584001500-4vbhdw"
    assert t1["outcomes"] == _original("T1")["outcomes"]
    assert t2["pause_reason"] == "Blocked on payment provider sandbox"
    assert t2["paused_at"] == _original("T2")["paused_at"]
    assert [d["summary"] for d in engine.decisions(T["T2"])][-1] == "still blocked"
    for key in ("T4", "T5", "T6", "T7", "T8"):  # never written: byte for byte the same
        original = _track_path(FIXTURE / "conductor", key).read_bytes()
        assert _track_path(seed_root, key).read_bytes() == original

    registry = _assert_readable_by_the_original_tool(seed_root)
    assert list(registry) == list(before_registry)
    assert registry["x_written_by"] == before_registry["x_written_by"]
    for key in ("T1", "T3", "T9"):
        assert registry["tracks"][T[key]]["x_custom"] == [key, {"nested": 1}]
    assert _read(t3_path)["x_future"] == {"kept": ["yes"]}
    for track_id, entry in before_registry["tracks"].items():
        assert set(entry) <= set(registry["tracks"][track_id]), track_id
    for key in ("T4", "T5", "T6", "T7", "T8"):
        assert registry["tracks"][T[key]] == before_registry["tracks"][T[key]]
    assert registry["tracks"][T["T1"]]["completed_at"] == "2026-11-25T05:20:06.809Z"
    assert registry["active_track"] == T["T9"]
    assert registry["tracks"][T["T3"]]["status"] == "paused"
    assert registry["tracks"][T["T9"]]["status"] == "active"
    for key in ("T1", "T2", "T3", "T9"):  # the tracks we wrote agree with the registry
        assert _read(_track_path(seed_root, key))["status"] == registry["tracks"][T[key]]["status"]

    backups = list((seed_root / "backups").iterdir())
    assert len(backups) == 1 and T["T9"] in backups[0].name
    assert backups[0].read_bytes() == t9_bytes  # the track.json the registry overruled
    t9 = _read(_track_path(seed_root, "T9"))
    assert [(e["from"], e["to"]) for e in t9["history"][-3:]] == [
        ("active", "draft"),
        ("draft", "ready"),
        ("ready", "active"),
    ]
    _assert_snapshots_untouched(seed_root)


def test_repair_fixes_everything_and_keeps_copies(seed_root: Path) -> None:
    """repair brings T5..T9's track.json in line with the registry (a byte copy of each
    in backups/), recounts, keeps every other field, and validate() is then empty."""
    originals = {key: _track_path(seed_root, key).read_bytes() for key in T}
    engine = Engine(seed_root)
    done = engine.repair()
    assert len([d for d in done if "track.json" in d]) == 5
    assert any("metadata" in d for d in done)
    assert engine.validate() == []
    for key in T:
        assert _read(_track_path(seed_root, key))["status"] == REGISTRY_STATUS[key]
        _assert_keeps_original_fields(seed_root, key, changed={"status"})
    for key in ("T1", "T2", "T3", "T4"):  # already in line: untouched
        assert _track_path(seed_root, key).read_bytes() == originals[key]
    backups = sorted((seed_root / "backups").iterdir())
    assert len(backups) == 5
    for key in ("T5", "T6", "T7", "T8", "T9"):
        (copy,) = [p for p in backups if T[key] in p.name]
        assert copy.read_bytes() == originals[key]
    registry = _assert_readable_by_the_original_tool(seed_root)
    assert registry["metadata"]["completed_count"] == 1
    assert registry["metadata"]["active_count"] == 1 and registry["active_track"] == T["T3"]
    assert {t: e["status"] for t, e in registry["tracks"].items()} == {
        T[k]: s for k, s in REGISTRY_STATUS.items()
    }
    _assert_snapshots_untouched(seed_root)


def test_repair_is_idempotent(seed_root: Path) -> None:
    """A second repair finds nothing more to bring in line and writes nothing at all."""
    engine = Engine(seed_root)
    engine.repair()
    tracks = {key: _track_path(seed_root, key).read_bytes() for key in T}
    registry = (seed_root / "tracks" / "track-registry.json").read_bytes()
    done = engine.repair()
    assert done == []
    assert {key: _track_path(seed_root, key).read_bytes() for key in T} == tracks
    assert (seed_root / "tracks" / "track-registry.json").read_bytes() == registry
    assert engine.validate() == []


def test_rebuild_regenerates_a_lost_registry(seed_root: Path) -> None:
    """A deleted registry is reported (never silently recreated empty); rebuild makes it
    again from the track files with all nine tracks, statuses from track.json, one active
    track (the other is paused, and the result says so), and every field kept."""
    (seed_root / "tracks" / "track-registry.json").unlink()
    engine = Engine(seed_root)
    with pytest.raises(RegistryMissing, match="conductor rebuild"):
        engine.list()
    assert not (seed_root / "tracks" / "track-registry.json").exists()
    decisions = {k: (seed_root / "tracks" / T[k] / "context" / "decisions.json") for k in T}
    decision_bytes = {k: p.read_bytes() for k, p in decisions.items()}

    done = engine.rebuild()

    registry = engine.registry()
    assert list(registry.tracks) == list(T.values())  # in creation order
    statuses = {t: e["status"] for t, e in registry.tracks.items()}
    # both T3 and T9 say active in track.json; the later-updated T9 stays active
    assert statuses == {T[k]: s for k, s in TRACK_JSON_STATUS.items()} | {T["T3"]: "paused"}
    assert registry.active_track == T["T9"]
    assert any(T["T3"] in d and "paused" in d for d in done)
    assert "registry rebuilt with 9 tracks" in done
    t3 = _read(_track_path(seed_root, "T3"))
    assert t3["status"] == "paused" and T["T9"] in t3["history"][-1]["reason"]
    for key in T:
        entry = registry.tracks[T[key]]
        track = _read(_track_path(seed_root, key))
        for field in ("name", "type", "priority", "status", "created_at"):
            assert entry[field] == track[field], (key, field)
        _assert_keeps_original_fields(seed_root, key, changed={"status"} if key == "T3" else set())
        assert decisions[key].read_bytes() == decision_bytes[key]
    _assert_readable_by_the_original_tool(seed_root)
    assert engine.validate() == []
    _assert_snapshots_untouched(seed_root)


def test_corrupt_registry_is_named_and_kept(seed_root: Path) -> None:
    """A corrupt registry gives CorruptFile naming the file and `conductor rebuild`, is
    never overwritten by a read or a refused write, and rebuild keeps a copy of it."""
    path = seed_root / "tracks" / "track-registry.json"
    path.write_text("garbage{")
    engine = Engine(seed_root)
    with pytest.raises(CorruptFile) as refused:
        engine.list()
    assert str(path) in str(refused.value) and "`conductor rebuild`" in str(refused.value)
    with pytest.raises(CorruptFile):
        engine.transition("Search refactor", "pause")
    with pytest.raises(CorruptFile):
        Conductor(seed_root).get(T["T1"])
    assert [p.kind for p in engine.validate()] == ["registry"]
    assert path.read_text() == "garbage{"

    done = engine.rebuild()

    (copy,) = (seed_root / "backups").glob("*track-registry.json")
    assert copy.read_text() == "garbage{"
    assert any(str(copy) in d for d in done)
    assert {e["track_id"] for e in engine.list()} == set(T.values())
    assert len(engine.list(status="active")) == 1
    _assert_readable_by_the_original_tool(seed_root)
    assert engine.validate() == []


def test_a_copied_track_folder_is_reported_refused_and_repaired(engine: Engine) -> None:
    """A folder whose track.json names another track (a copied folder) is never written
    through: the write would land in the other track. validate names it, every verb
    refuses it, and repair gives it back its own id, keeping its content and a copy."""
    original = engine.create("Original track", goal="g")
    copy = engine.create("Copied track", goal="g")
    engine.add_step(original["track_id"], "shared step")
    original_file = engine.tree.track_file(original["track_id"], "track.json")
    copy_file = engine.tree.track_file(copy["track_id"], "track.json")
    copy_file.write_bytes(original_file.read_bytes())
    before = original_file.read_bytes()

    problems = [p for p in engine.validate() if p.track_id == copy["track_id"]]
    assert [p.kind for p in problems] == ["id-mismatch"]
    with pytest.raises(CorruptFile, match="conductor repair"):
        engine.transition(copy["track_id"], "ready")
    with pytest.raises(CorruptFile, match=original["track_id"]):
        engine.track(copy["track_id"])
    assert original_file.read_bytes() == before  # nothing landed in the original

    done = engine.repair()
    assert any("its track_id is now" in line for line in done)
    repaired = json.loads(copy_file.read_text())
    assert repaired["track_id"] == copy["track_id"]
    assert repaired["name"] == "Copied track"  # brought in line with its registry entry
    assert [s["name"] for s in repaired["steps"]] == ["shared step"]  # content kept
    assert original_file.read_bytes() == before
    assert engine.validate() == []
    assert list(engine.tree.backups_dir.glob(f"*{copy['track_id']}-track.json"))


def test_run_folders_named_as_the_original_tool_names_them(engine: Engine) -> None:
    """The seed's layout names run folders run-001/: the engine lists and resolves them,
    numbers new runs after them, and analytics counts them."""
    from conductor_nb import analytics

    track_id = engine.create("Old runs", goal="g")["track_id"]
    engine.transition(track_id, "activate")
    folder = engine.tree.track_file(track_id, "workflows", "run-001")
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(
        json.dumps({"run_id": "run-001", "track_id": track_id, "status": "completed"})
    )
    assert [r["run_id"] for r in engine.runs(track_id)] == ["run-001"]
    assert engine.run(track_id, "1")["status"] == "completed"
    new = engine.create_run(track_id, "second")
    assert new["run_id"] == "run-002-second"
    frame = analytics.load(engine.root, cache=False).runs()
    assert sorted(frame["run_id"]) == ["run-001", "run-002-second"]


def _files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_a_new_track_has_the_files_of_one_the_original_tool_made(engine: Engine) -> None:
    """A created track holds what a track in the original tool's tree holds (track.json
    and the two context lists, both ``[]``), and no empty folder; the folders appear when
    something is written in them: an artifact, a run, a checkpoint."""
    original = _files_under(_track_path(FIXTURE / "conductor", "T1").parent)
    track_id = engine.create("Fresh track", goal="g")["track_id"]
    folder = engine.tree.track_dir(track_id)
    assert (
        _files_under(folder)
        == original
        == [
            "context",
            "context/assumptions.json",
            "context/decisions.json",
            "track.json",
        ]
    )
    for name in ("decisions.json", "assumptions.json"):
        assert (folder / "context" / name).read_text() == "[]"

    engine.transition(track_id, "activate")
    engine.add_artifact(track_id, "notes.md", data="# notes")
    engine.create_run(track_id, "first")
    engine.create_checkpoint(track_id, reason="the folders are made when needed")
    made = _files_under(folder)
    for path in ("context/artifacts/notes.md", "checkpoints/checkpoint-001.json"):
        assert path in made
    assert any(p.startswith("workflows/run-001-first/") for p in made)
