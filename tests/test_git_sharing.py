"""Sharing a root through git: two real clones of a bare repository, each changing
tracks through the real CLI, merged both ways by the drivers `conductor git-setup`
installs; and merges that must conflict."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.cli_process import conductor_in

ROOT = Path(".claude") / "conductor"


def git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"}
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=120
    )
    if check:
        assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done


def conductor(cwd: Path, *args: str) -> str:
    done = conductor_in(cwd, *args)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def clone(origin: Path, dest: Path, who: str) -> Path:
    git(origin.parent, "clone", "-q", str(origin), str(dest))
    for key, value in (("user.name", who), ("user.email", f"{who}@example.com")):
        git(dest, "config", key, value)
    git(dest, "config", "commit.gpgsign", "false")
    return dest


def commit(cwd: Path, message: str) -> None:
    git(cwd, "add", "-A")
    git(cwd, "commit", "-q", "-m", message)


def track_ids(cwd: Path) -> dict[str, str]:
    """Name -> id of every track of the clone's root."""
    entries = json.loads(conductor(cwd, "list", "--json"))
    return {e["name"]: e["track_id"] for e in entries}


@pytest.fixture
def clones(tmp_path: Path) -> tuple[Path, Path]:
    """Clone a holds a root with two tracks, pushed to origin; clone b is cloned from
    it; both ran `conductor git-setup`."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    a = clone(origin, tmp_path / "a", "alice")
    git(a, "checkout", "-q", "-b", "main")
    conductor(a, "create", "--name", "Track one", "--goal", "the first goal")
    conductor(a, "create", "--name", "Track two", "--goal", "the second goal")
    conductor(a, "git-setup")
    commit(a, "two tracks")
    git(a, "push", "-q", "origin", "main")
    b = clone(origin, tmp_path / "b", "bob")
    out = conductor(b, "git-setup")
    assert "merge driver conductor-track: set in .git/config" in out
    return a, b


def test_git_setup_installs_once_and_says_what_it_did(clones: tuple[Path, Path]) -> None:
    a, _ = clones
    attributes = (a / ".gitattributes").read_text()
    ignore = (a / ROOT / ".gitignore").read_text()
    assert ".claude/conductor/tracks/track-registry.json merge=conductor-registry" in attributes
    assert ".claude/conductor/tracks/*/track.json merge=conductor-track" in attributes
    assert ".claude/conductor/tracks/*/context/decisions.json merge=conductor-notes" in attributes
    for line in ("*.lock", ".conductor.lock", "tracks/.conductor-tmp/", "lease.json"):
        assert line in ignore.splitlines()
    driver = git(a, "config", "--get", "merge.conductor-registry.driver").stdout.strip()
    assert driver.endswith("-m conductor_nb.gitmerge registry %O %A %B %P")
    assert Path(driver.split()[0]).is_absolute()

    again = conductor(a, "git-setup")
    assert "already listed" in again and "already in .git/config" in again
    assert (a / ".gitattributes").read_text() == attributes  # no duplicate lines
    assert (a / ROOT / ".gitignore").read_text() == ignore
    # what belongs to one machine stays out of commits
    (a / ROOT / "tracks" / ".conductor.lock").write_text("")
    assert git(a, "status", "--porcelain").stdout == ""


def test_git_setup_outside_a_work_tree_is_one_line(tmp_path: Path) -> None:
    conductor(tmp_path, "create", "--name", "Lonely track")
    done = conductor_in(tmp_path, "git-setup")
    assert done.returncode == 1
    assert done.stderr.startswith("error: ") and "not inside a git work tree" in done.stderr
    assert not (tmp_path / ".gitattributes").exists()


def _work_in_a(a: Path) -> None:
    conductor(a, "decide", "Use Postgres", "--track-id", "Track one")
    conductor(a, "assume", "Users have an email", "--track-id", "Track one")
    conductor(a, "update", "Track two", "--field", "goal", "--value", "goal from alice")
    conductor(a, "step", "add", "Write tests", "--track-id", "Track one")
    commit(a, "alice's work")


def _work_in_b(b: Path) -> None:
    conductor(b, "decide", "Use Redis", "--track-id", "Track one")
    conductor(b, "create", "--name", "Track three")
    conductor(b, "activate", "Track one")
    conductor(b, "step", "add", "Write docs", "--track-id", "Track one")
    commit(b, "bob's work")


def _has_both_sides(clone_dir: Path) -> None:
    validate = conductor_in(clone_dir, "validate")
    assert validate.returncode == 0, validate.stdout + validate.stderr
    ids = track_ids(clone_dir)
    assert set(ids) == {"Track one", "Track two", "Track three"}
    decisions = json.loads(conductor(clone_dir, "decisions", "Track one", "--json"))
    assert sorted(d["summary"] for d in decisions) == ["Use Postgres", "Use Redis"]
    assert sorted(d["id"] for d in decisions) == ["decision-1", "decision-2"]
    track = json.loads(conductor(clone_dir, "show", "Track one", "--json"))
    assert track["status"] == "active"
    assert sorted(s["name"] for s in track["steps"]) == ["Write docs", "Write tests"]
    assert len({s["step_id"] for s in track["steps"]}) == 2
    assert track["progress"]["total_steps"] == 2
    assert json.loads(conductor(clone_dir, "get-active", "--json"))["name"] == "Track one"
    assumptions = json.loads(conductor(clone_dir, "assumptions", "Track one", "--json"))
    assert [a["statement"] for a in assumptions] == ["Users have an email"]
    two = json.loads(conductor(clone_dir, "show", "Track two", "--json"))
    assert two["context"]["goal"] == "goal from alice"
    stats = json.loads(conductor(clone_dir, "stats", "--json"))
    assert stats["total"] == 3


def test_changes_on_two_clones_merge_both_ways(clones: tuple[Path, Path]) -> None:
    a, b = clones
    _work_in_a(a)
    _work_in_b(b)
    git(a, "push", "-q", "origin", "main")
    git(b, "push", "-q", "origin", "main:side")
    for here, other in ((a, "origin/side"), (b, "origin/main")):
        git(here, "fetch", "-q", "origin")
        merged = git(here, "merge", "--no-edit", other)
        assert "CONFLICT" not in merged.stdout
        _has_both_sides(here)
    # the drivers do not depend on which side is ours: both merges made the same tree
    assert git(a, "rev-parse", "HEAD^{tree}").stdout == git(b, "rev-parse", "HEAD^{tree}").stdout


def test_the_same_field_changed_on_both_sides_is_a_git_conflict(
    clones: tuple[Path, Path],
) -> None:
    a, b = clones
    conductor(a, "update", "Track one", "--field", "goal", "--value", "alice's goal")
    conductor(a, "decide", "Keep it small", "--track-id", "Track one")
    commit(a, "alice's goal")
    git(a, "push", "-q", "origin", "main")
    conductor(b, "update", "Track one", "--field", "goal", "--value", "bob's goal")
    commit(b, "bob's goal")
    pulled = git(b, "pull", "--no-rebase", "--no-edit", "origin", "main", check=False)
    assert pulled.returncode != 0
    track_json = f"{ROOT}/tracks/{track_ids(a)['Track one']}/track.json"
    assert f"CONFLICT (content): Merge conflict in {track_json}" in pulled.stdout
    assert "conflict in" in pulled.stderr and "context.goal" in pulled.stderr
    status = git(b, "status", "--porcelain").stdout.splitlines()
    assert f"UU {track_json}" in status
    text = (b / track_json).read_text()
    ours = text.index("<<<<<<< ours")
    assert ours < text.index("bob's goal") < text.index("=======")
    assert text.index("=======") < text.index("alice's goal") < text.index(">>>>>>> theirs")
    # only the goal conflicts: the other files merged cleanly
    assert len([line for line in status if line.startswith("UU")]) == 1
    decisions = json.loads(
        (b / track_json).with_name("context").joinpath("decisions.json").read_text()
    )
    assert [d["summary"] for d in decisions] == ["Keep it small"]


def test_two_tracks_made_active_is_a_conflict_repair_settles(
    clones: tuple[Path, Path],
) -> None:
    a, b = clones
    conductor(a, "activate", "Track one")
    commit(a, "one is active")
    git(a, "push", "-q", "origin", "main")
    conductor(b, "activate", "Track two")
    commit(b, "two is active")
    pulled = git(b, "pull", "--no-rebase", "--no-edit", "origin", "main", check=False)
    assert pulled.returncode != 0
    assert "both sides made a track active" in pulled.stderr
    registry = b / ROOT / "tracks" / "track-registry.json"
    doc = json.loads(registry.read_text())  # still JSON: conductor keeps working
    assert doc["active_track"] == track_ids(b)["Track two"]  # the newer one
    assert doc["metadata"]["active_count"] == 2
    assert conductor_in(b, "validate").returncode == 1
    repaired = conductor(b, "repair")
    assert "paused" in repaired
    assert conductor_in(b, "validate").returncode == 0
    one = json.loads(conductor(b, "show", "Track one", "--json"))
    assert one["status"] == "paused"
