"""Paths from users never leave the root: hostile track refs, names, artifact paths,
symlinks and tampered registry keys are refused without touching anything outside the
root, and the root is found the way git finds .git."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from conductor_nb import Conductor, lifecycle
from conductor_nb.engine import Engine
from conductor_nb.errors import (
    ConductorError,
    InvalidId,
    InvalidInput,
    PathOutsideRoot,
    TrackNotFound,
)
from conductor_nb.store.paths import find_root

SAFE_ERRORS = (TrackNotFound, InvalidId, PathOutsideRoot)
HOSTILE_REFS = [
    "../../etc/passwd",
    "/etc/passwd",
    "track-../x",
    "a\x00b",
    "..",
    ".",
    "track-x/../../y",
    "track-../../outside",
    "..\\..\\outside",
    "~",
    "ABSOLUTE",  # replaced by an absolute path outside the root
]

# Every verb that takes a track ref, and show.
OPERATIONS: dict[str, Callable[[Engine, str], object]] = {
    **{
        f"transition-{verb}": (lambda v: lambda e, ref: e.transition(ref, v))(verb)
        for verb in lifecycle.ACTIONS
    },
    "transition-force": lambda e, ref: e.transition(ref, "activate", force=True),
    "switch": lambda e, ref: e.switch(ref),
    "show": lambda e, ref: e.track(ref),
    "entry": lambda e, ref: e.entry(ref),
    "update": lambda e, ref: e.update(ref, "priority", "P0"),
    "update-status": lambda e, ref: e.update(ref, "status", "ready"),
    "decide": lambda e, ref: e.decide(ref, "a decision"),
    "assume": lambda e, ref: e.assume(ref, "an assumption"),
    "add_step": lambda e, ref: e.add_step(ref, "a step"),
    "add_artifact": lambda e, ref: e.add_artifact(ref, "note.txt", data=b"x"),
    "artifacts": lambda e, ref: e.artifacts(ref),
    "decisions": lambda e, ref: e.decisions(ref),
}


def _outside_state(tmp_path: Path, root: Path) -> dict[str, tuple[bytes | None, int]]:
    """Every path under tmp_path outside the root, with its bytes and mtime."""
    state = {}
    for path in tmp_path.rglob("*"):
        if path == root or root in path.parents:
            continue
        data = path.read_bytes() if path.is_file() and not path.is_symlink() else None
        state[str(path)] = (data, path.lstat().st_mtime_ns)
    return state


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Path, Engine]:
    """A root inside a project, with decoys outside it where escaping paths would land."""
    root = tmp_path / "project" / ".claude" / "conductor"
    engine = Engine(root)
    engine.create("Only track")
    for decoy in (tmp_path / "outside", tmp_path / "project" / ".claude" / "outside"):
        decoy.mkdir(parents=True)
        (decoy / "track.json").write_text('{"track_id": "decoy"}')
    (tmp_path / "project" / "etc").mkdir()
    (tmp_path / "project" / "etc" / "passwd").write_text("root:x:0:0")
    return tmp_path, root, engine


@pytest.mark.parametrize("ref", HOSTILE_REFS)
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_hostile_track_refs_are_refused(world, ref: str, operation: str) -> None:
    """A hostile track ref gives TrackNotFound, InvalidId or PathOutsideRoot for every verb
    and for show, and no file outside the root is created or changed."""
    tmp_path, root, engine = world
    if ref == "ABSOLUTE":
        ref = str(tmp_path / "outside")
    before = _outside_state(tmp_path, root)
    etc_passwd = os.stat("/etc/passwd").st_mtime_ns if os.path.exists("/etc/passwd") else None
    registry_before = engine.tree.registry.path.read_bytes()
    with pytest.raises(ConductorError) as refused:
        OPERATIONS[operation](engine, ref)
    assert isinstance(refused.value, SAFE_ERRORS), repr(refused.value)
    assert _outside_state(tmp_path, root) == before
    assert engine.tree.registry.path.read_bytes() == registry_before
    if etc_passwd is not None:
        assert os.stat("/etc/passwd").st_mtime_ns == etc_passwd


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "track-../x", "..\\..\\x"])
def test_hostile_names_give_safe_ids_inside_the_root(world, name: str) -> None:
    """A track named like a path gets a safe id and a folder inside the root; its name is
    kept as given and works as a ref."""
    tmp_path, root, engine = world
    before = _outside_state(tmp_path, root)
    track = engine.create(name)
    track_id = track["track_id"]
    assert track["name"] == name
    assert "/" not in track_id and "\\" not in track_id and ".." not in track_id
    folder = root / "tracks" / track_id
    assert folder.is_dir() and (folder / "track.json").is_file()
    assert os.path.realpath(folder).startswith(os.path.realpath(root) + os.sep)
    assert engine.resolve(name) == track_id
    engine.transition(name, "activate")
    engine.decide(name, "named like a path")
    assert _outside_state(tmp_path, root) == before


@pytest.mark.parametrize("name", ["a\x00b", "..", ".", "x\ny"])
def test_unusable_names_are_refused(world, name: str) -> None:
    """Names with NUL or control characters, or too short to be one, are refused."""
    _tmp_path, root, engine = world
    before = set(root.rglob("*"))
    with pytest.raises(InvalidInput):
        engine.create(name)
    assert set(root.rglob("*")) == before


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("../escape.txt", PathOutsideRoot),
        ("../../../../../outside/track.json", PathOutsideRoot),
        ("a/../../b", PathOutsideRoot),
        ("..", PathOutsideRoot),
        ("./x", PathOutsideRoot),
        ("a//b", PathOutsideRoot),
        ("..\\..\\escape.txt", PathOutsideRoot),
        ("/etc/passwd", PathOutsideRoot),
        ("\\\\server\\share\\x", PathOutsideRoot),
        ("C:/Windows/x", PathOutsideRoot),
        ("ABSOLUTE", PathOutsideRoot),  # replaced by an absolute path outside the root
        ("nul\x00byte", InvalidId),
        ("a/b\x00/../../c", InvalidId),
        ("tab\tname", InvalidId),
        ("", InvalidId),
        ("x" * 300, InvalidId),
    ],
)
def test_hostile_artifact_names_are_refused(world, name: str, error: type) -> None:
    """Artifact names that are absolute, climb with '..', or hold NUL or control
    characters are refused, and nothing is written anywhere."""
    tmp_path, root, engine = world
    if name == "ABSOLUTE":
        name = str(tmp_path / "outside" / "evil.txt")
    track_id = engine.list()[0]["track_id"]
    before_outside = _outside_state(tmp_path, root)
    before_root = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    with pytest.raises(error):
        engine.add_artifact(track_id, name, data=b"escape")
    with pytest.raises(error):
        Conductor(root).add_artifact(name, track=track_id, data=b"escape")
    assert _outside_state(tmp_path, root) == before_outside
    after_root = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    assert {p: b for p, b in after_root.items() if p.name != ".conductor.lock"} == {
        p: b for p, b in before_root.items() if p.name != ".conductor.lock"
    }


def test_artifact_names_inside_the_track_are_accepted(world) -> None:
    """A nested relative artifact name is stored under context/artifacts (the guard does
    not refuse honest names)."""
    _tmp_path, root, engine = world
    track_id = engine.list()[0]["track_id"]
    info = engine.add_artifact(track_id, "reports\\2026/summary..txt", data=b"ok")
    assert info["name"] == "reports/2026/summary..txt"
    stored = root / "tracks" / track_id / "context" / "artifacts" / "reports" / "2026"
    assert (stored / "summary..txt").read_bytes() == b"ok"


def _artifacts_dir(engine: Engine, track_id: str) -> Path:
    folder = engine.tree.tracks_dir / track_id / "context" / "artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_symlinked_folder_out_of_the_root_is_refused(world) -> None:
    """An artifact path through a symlinked folder pointing outside the root is refused,
    and nothing is written there."""
    tmp_path, root, engine = world
    track_id = engine.list()[0]["track_id"]
    outside = tmp_path / "outside"
    (_artifacts_dir(engine, track_id) / "link").symlink_to(outside, target_is_directory=True)
    before = _outside_state(tmp_path, root)
    with pytest.raises(PathOutsideRoot):
        engine.add_artifact(track_id, "link/payload.txt", data=b"escape")
    with pytest.raises(PathOutsideRoot):
        engine.add_artifact(track_id, "link/track.json", data=b"escape")
    assert _outside_state(tmp_path, root) == before
    assert not (outside / "payload.txt").exists()


def test_symlinked_file_out_of_the_root_is_refused(world) -> None:
    """An artifact name that is a symlink to a file outside the root is refused, and the
    file it points to keeps its content."""
    tmp_path, root, engine = world
    track_id = engine.list()[0]["track_id"]
    target = tmp_path / "outside" / "track.json"
    (_artifacts_dir(engine, track_id) / "file-link").symlink_to(target)
    before = _outside_state(tmp_path, root)
    with pytest.raises(PathOutsideRoot):
        engine.add_artifact(track_id, "file-link", data=b"overwritten")
    assert target.read_text() == '{"track_id": "decoy"}'
    assert _outside_state(tmp_path, root) == before


def test_symlinked_artifacts_folder_is_refused(world) -> None:
    """When context/artifacts itself is a symlink out of the root, adding any artifact is
    refused."""
    tmp_path, root, engine = world
    track_id = engine.list()[0]["track_id"]
    folder = _artifacts_dir(engine, track_id)
    folder.rmdir()
    folder.symlink_to(tmp_path / "outside", target_is_directory=True)
    before = _outside_state(tmp_path, root)
    with pytest.raises(PathOutsideRoot):
        engine.add_artifact(track_id, "note.txt", data=b"escape")
    assert _outside_state(tmp_path, root) == before


def test_listing_artifacts_does_not_follow_symlinks_out(world) -> None:
    """Listing a track's artifacts neither lists nor hashes files reached through a
    symlink that points outside the root."""
    tmp_path, _root, engine = world
    track_id = engine.list()[0]["track_id"]
    folder = _artifacts_dir(engine, track_id)
    engine.add_artifact(track_id, "real.txt", data=b"mine")
    (folder / "link").symlink_to(tmp_path / "outside", target_is_directory=True)
    (folder / "file-link").symlink_to(tmp_path / "outside" / "track.json")
    assert [a["name"] for a in engine.artifacts(track_id)] == ["real.txt"]


@pytest.mark.parametrize("key", ["../../outside", "/tmp/x", "track-../../outside"])
def test_tampered_registry_key_is_never_used_as_a_path(world, key: str) -> None:
    """A registry key that is not a track id is reported by validate() as unsafe-id, every
    verb on it is refused, and repair, rebuild and transitions never create or change a
    file outside the root through it."""
    tmp_path, root, engine = world
    registry_path = root / "tracks" / "track-registry.json"
    registry = json.loads(registry_path.read_text())
    registry["tracks"][key] = {
        "track_id": key,
        "name": "Evil track",
        "type": "feature",
        "status": "draft",
        "priority": "P2",
        "path": key,
    }
    registry_path.write_text(json.dumps(registry, indent=2))
    before = _outside_state(tmp_path, root)
    engine = Engine(root)
    engine.tree.registry.invalidate()
    problems = {(p.kind, p.track_id) for p in engine.validate()}
    assert ("unsafe-id", key) in problems
    for ref in (key, "Evil track"):
        for name, operation in OPERATIONS.items():
            if name == "entry":  # the registry entry itself is data, not a path
                continue
            with pytest.raises(ConductorError):
                operation(engine, ref)
    engine.repair()
    assert _outside_state(tmp_path, root) == before
    engine.transition("Only track", "activate")  # honest tracks still work
    engine.rebuild()
    assert key not in engine.registry().tracks  # rebuilt from real folders only
    assert _outside_state(tmp_path, root) == before
    assert engine.validate() == []


def test_tampered_entry_path_is_ignored(world) -> None:
    """A registry entry whose 'path' field points outside is never followed: the track's
    files are found by its id."""
    tmp_path, root, engine = world
    track_id = engine.list()[0]["track_id"]
    registry_path = root / "tracks" / "track-registry.json"
    registry = json.loads(registry_path.read_text())
    registry["tracks"][track_id]["path"] = "../../outside"
    registry_path.write_text(json.dumps(registry, indent=2, ensure_ascii=False))
    before = _outside_state(tmp_path, root)
    engine = Engine(root)
    engine.tree.registry.invalidate()
    engine.transition(track_id, "activate")
    engine.decide(track_id, "stays home")
    assert _outside_state(tmp_path, root) == before
    assert engine.track(track_id)["status"] == "active"


# -- finding the root ----------------------------------------------------------------------


def test_conductor_root_env_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """$CONDUCTOR_ROOT wins over an ancestor's .claude/conductor, for find_root, Engine
    and Conductor."""
    project = tmp_path / "project"
    (project / ".claude" / "conductor").mkdir(parents=True)
    monkeypatch.chdir(project)
    monkeypatch.setenv("CONDUCTOR_ROOT", str(tmp_path / "elsewhere"))
    assert find_root() == tmp_path / "elsewhere"
    assert Engine().root == tmp_path / "elsewhere"
    assert Conductor().root == tmp_path / "elsewhere"
    monkeypatch.setenv("CONDUCTOR_ROOT", "relative/root")
    assert find_root() == project / "relative" / "root"


def test_nearest_ancestor_with_a_conductor_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without $CONDUCTOR_ROOT the nearest ancestor holding .claude/conductor wins; a
    .claude/conductor that is a file does not count."""
    monkeypatch.delenv("CONDUCTOR_ROOT", raising=False)
    project = tmp_path / "project"
    sub = project / "sub"
    deep = sub / "src" / "deep"
    deep.mkdir(parents=True)
    (project / ".claude" / "conductor").mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert find_root() == project / ".claude" / "conductor"
    (sub / ".claude").mkdir()
    (sub / ".claude" / "conductor").write_text("not a folder")
    assert find_root() == project / ".claude" / "conductor"
    (sub / ".claude" / "conductor").unlink()
    (sub / ".claude" / "conductor").mkdir()
    assert find_root() == sub / ".claude" / "conductor"
    assert Engine().root == sub / ".claude" / "conductor"
    assert find_root(project / "other") == project / ".claude" / "conductor"
    monkeypatch.setenv("CONDUCTOR_ROOT", "")  # empty counts as unset
    assert find_root() == sub / ".claude" / "conductor"


def test_no_ancestor_gives_the_working_directorys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no $CONDUCTOR_ROOT and no ancestor holding one, the root is
    <cwd>/.claude/conductor (nothing is created by finding it)."""
    monkeypatch.delenv("CONDUCTOR_ROOT", raising=False)
    # The machine may have a .claude/conductor above the temp folder (a developer's home,
    # say): the walk must see none outside `world`. The decoy stands for such a folder,
    # and shows the hiding works.
    world = tmp_path / "world"
    (tmp_path / ".claude" / "conductor").mkdir(parents=True)
    is_dir = Path.is_dir

    def is_dir_in_world(path: Path, *args, **kwargs) -> bool:
        if path.parts[-2:] == (".claude", "conductor") and not path.is_relative_to(world):
            return False
        return is_dir(path, *args, **kwargs)

    monkeypatch.setattr(Path, "is_dir", is_dir_in_world)
    nested = world / "project" / "src"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    assert find_root() == nested / ".claude" / "conductor"
    assert not (nested / ".claude").exists()
    (world / ".claude" / "conductor").mkdir(parents=True)  # inside the world: found
    assert find_root() == world / ".claude" / "conductor"
