"""Paths from users never leave the root: hostile ids, names, artifact paths and symlinks
are refused, and the root is found the way git finds .git."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conductor_nb.engine import Engine
from conductor_nb.errors import ConductorError, InvalidId, PathOutsideRoot
from conductor_nb.store.paths import find_root

HOSTILE = ["../../etc/passwd", "/etc/passwd", "track-../x", "a\x00b", "..", "track-x/../../y"]


@pytest.mark.parametrize("ref", HOSTILE)
@pytest.mark.parametrize("verb", ["activate", "pause", "complete", "archive"])
def test_hostile_track_refs_are_refused(tmp_path: Path, ref: str, verb: str) -> None:
    """A hostile reference is a clean error for every verb and for show, and touches no
    file outside the root."""
    root = tmp_path / "project" / ".claude" / "conductor"
    engine = Engine(root)
    engine.create("Only track")
    before = set(tmp_path.rglob("*"))
    with pytest.raises(ConductorError):
        engine.transition(ref, verb)
    with pytest.raises(ConductorError):
        engine.track(ref)
    assert set(tmp_path.rglob("*")) == before


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("../escape.txt", PathOutsideRoot),
        ("/etc/passwd", PathOutsideRoot),
        ("a/../../b", PathOutsideRoot),
        ("nul\x00byte", InvalidId),
        ("", InvalidId),
    ],
)
def test_hostile_artifact_names_are_refused(root: Path, name: str, error: type) -> None:
    """Artifact names with '..', absolute paths or NUL bytes are refused."""
    engine = Engine(root)
    engine.create("Artifact track")
    with pytest.raises(error):
        engine.add_artifact("Artifact track", name, data=b"x")


def test_symlink_out_of_the_root_is_refused(root: Path, tmp_path: Path) -> None:
    """An artifact path through a symlink pointing outside the root is refused."""
    engine = Engine(root)
    track_id = engine.create("Linked track")["track_id"]
    outside = tmp_path / "outside"
    outside.mkdir()
    artifacts = engine.tree.track_file(track_id, "context", "artifacts")
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / "link").symlink_to(outside)
    with pytest.raises(PathOutsideRoot):
        engine.add_artifact(track_id, "link/payload.txt", data=b"escape")
    assert list(outside.iterdir()) == []


def test_tampered_registry_key_is_never_used_as_a_path(root: Path, tmp_path: Path) -> None:
    """A registry key like '../../outside' is reported as unsafe and never becomes a path."""
    engine = Engine(root)
    engine.create("Honest track")
    registry_path = root / "tracks" / "track-registry.json"
    registry = json.loads(registry_path.read_text())
    registry["tracks"]["../../outside"] = {
        "track_id": "../../outside",
        "name": "Evil",
        "type": "feature",
        "status": "draft",
        "priority": "P2",
    }
    registry_path.write_text(json.dumps(registry, indent=2))
    engine = Engine(root)
    assert ("unsafe-id", "../../outside") in {(p.kind, p.track_id) for p in engine.validate()}
    with pytest.raises(ConductorError):
        engine.transition("Evil", "ready")
    engine.repair()
    assert not (root.parent / "outside").exists() and not (tmp_path / "outside").exists()


def test_root_discovery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """$CONDUCTOR_ROOT wins; else the nearest ancestor with .claude/conductor; else the
    working directory's .claude/conductor."""
    monkeypatch.delenv("CONDUCTOR_ROOT", raising=False)
    project = tmp_path / "project"
    nested = project / "src" / "deep"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    assert find_root() == nested / ".claude" / "conductor"
    (project / ".claude" / "conductor").mkdir(parents=True)
    assert find_root() == project / ".claude" / "conductor"
    monkeypatch.setenv("CONDUCTOR_ROOT", str(tmp_path / "elsewhere"))
    assert find_root() == tmp_path / "elsewhere"
    assert os.fspath(Engine().root) == os.fspath(tmp_path / "elsewhere")
