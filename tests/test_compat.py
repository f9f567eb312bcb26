"""Trees written by the original Node.js tool open unchanged, report exactly their known
disagreements, keep unknown fields through our writes, and stay readable by that tool."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conductor_nb import Conductor
from conductor_nb.engine import Engine
from conductor_nb.errors import CorruptFile

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
# The registry's status of each track (HOW-MADE.md, "Result").
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


def test_every_track_lists_with_the_registrys_status(seed_root: Path) -> None:
    """All nine tracks list, each with the status the original tool showed its user."""
    listed = {e["track_id"]: e["status"] for e in Engine(seed_root).list()}
    assert listed == {T[k]: status for k, status in REGISTRY_STATUS.items()}
    api = Conductor(seed_root)
    for key, track_id in T.items():
        assert api.get(track_id).status.value == REGISTRY_STATUS[key]


def test_validate_reports_exactly_the_known_disagreements(seed_root: Path) -> None:
    """Five tracks whose track.json disagrees with the registry, and the drifted counter."""
    found = {(p.kind, p.track_id) for p in Engine(seed_root).validate()}
    assert found == {
        ("status-mismatch", T["T5"]),
        ("status-mismatch", T["T6"]),
        ("status-mismatch", T["T7"]),
        ("status-mismatch", T["T8"]),
        ("status-mismatch", T["T9"]),
        ("metadata-drift", None),
    }


def test_writes_keep_unknown_fields_and_the_original_format(seed_root: Path) -> None:
    """Transitions on the fixture keep every field of the original tool, bring a
    disagreeing track.json in line (with a copy in backups/), and leave files the
    original tool reads: two-space JSON without a final newline, the keys it expects."""
    engine = Engine(seed_root)
    before_t1 = json.loads((seed_root / "tracks" / T["T1"] / "track.json").read_text())
    engine.transition("Search refactor", "pause", reason="lunch")
    engine.transition("Metrics dashboard", "activate")  # registry: draft; track.json: active
    engine.decide(T["T1"], "late note")  # a write to a track with outcomes and resumed_at
    t1 = json.loads((seed_root / "tracks" / T["T1"] / "track.json").read_text())
    for key in ("resumed_at", "last_checkpoint", "outcomes", "started_at", "completed_at"):
        assert t1[key] == before_t1[key], key
    t2 = json.loads((seed_root / "tracks" / T["T2"] / "track.json").read_text())
    assert t2["pause_reason"] == "Blocked on payment provider sandbox"
    backups = sorted(p.name for p in (seed_root / "backups").iterdir())
    assert any(T["T9"] in name for name in backups)
    registry_text = (seed_root / "tracks" / "track-registry.json").read_text()
    registry = json.loads(registry_text)
    assert registry_text == json.dumps(registry, indent=2, ensure_ascii=False)
    assert list(registry)[:4] == ["version", "active_track", "tracks", "metadata"]
    assert registry["version"] == "1.0" and registry["active_track"] == T["T9"]
    for entry in registry["tracks"].values():
        assert set(entry) >= ENTRY_KEYS
    for track_id in T.values():
        text = (seed_root / "tracks" / track_id / "track.json").read_text()
        track = json.loads(text)
        assert text == json.dumps(track, indent=2, ensure_ascii=False)
        assert {"track_id", "name", "type", "status", "created_at", "context", "steps"} <= set(
            track
        )
    for key in ("T1", "T3", "T9"):  # the tracks we wrote agree with the registry again
        track = json.loads((seed_root / "tracks" / T[key] / "track.json").read_text())
        assert track["status"] == registry["tracks"][T[key]]["status"]
    assert (seed_root / "context" / "snapshots").is_dir()  # the original snapshots, untouched
    assert len(list((seed_root / "context" / "snapshots").iterdir())) == 3


def test_repair_fixes_everything_and_keeps_copies(seed_root: Path) -> None:
    """repair brings every track.json in line and recounts; copies of what it replaced
    are in backups/."""
    engine = Engine(seed_root)
    done = engine.repair()
    assert len([d for d in done if "track.json" in d]) == 5
    assert engine.validate() == []
    assert len(list((seed_root / "backups").glob("*-track.json"))) == 5
    assert engine.registry().doc["metadata"]["completed_count"] == 1


def test_rebuild_regenerates_a_lost_registry(seed_root: Path) -> None:
    """A deleted registry is reported (never silently recreated empty); rebuild makes it
    again from the track files, with one active track."""
    from conductor_nb.errors import RegistryMissing

    (seed_root / "tracks" / "track-registry.json").unlink()
    engine = Engine(seed_root)
    with pytest.raises(RegistryMissing, match="conductor rebuild"):
        engine.list()
    engine.rebuild()
    registry = engine.registry()
    assert set(registry.tracks) == set(T.values())
    assert len(registry.ids(status="active")) == 1
    assert engine.validate() == []


def test_corrupt_registry_is_named_and_kept(seed_root: Path) -> None:
    """A corrupt registry gives an error naming the file and the fix; rebuild keeps a
    copy of the corrupt bytes."""
    path = seed_root / "tracks" / "track-registry.json"
    path.write_text("garbage{")
    engine = Engine(seed_root)
    with pytest.raises(CorruptFile, match=r"track-registry\.json is corrupt.*conductor rebuild"):
        engine.list()
    assert path.read_text() == "garbage{"
    engine.rebuild()
    (copy,) = (seed_root / "backups").glob("*track-registry.json")
    assert copy.read_text() == "garbage{"
    assert len(engine.list()) == 9
