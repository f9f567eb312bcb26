"""Sharing a root through git: two real clones of a bare repository, each changing
tracks through the real CLI, merged both ways by the drivers `conductor git-setup`
installs; and merges that must conflict."""

from __future__ import annotations

import json
import os
import shutil
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


def test_two_clones_pausing_a_track_conflict_on_its_checkpoint_and_one_is_kept(
    clones: tuple[Path, Path],
) -> None:
    """Each pause checkpoints the track under the next number: two clones that pause it
    write checkpoint-001.json twice, an add/add conflict no driver settles (a manifest
    is one snapshot, and a driver can write only the one file). Keeping one side's, as
    the README says, leaves a sound root: its blobs came with the merge."""
    a, b = clones
    conductor(a, "activate", "Track one")
    commit(a, "one is active")
    git(a, "push", "-q", "origin", "main")
    git(b, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    conductor(a, "pause", "Track one", "--reason", "end of day")
    commit(a, "alice paused")
    git(a, "push", "-q", "origin", "main")
    conductor(b, "pause", "Track one", "--reason", "end of day")
    commit(b, "bob paused")

    pulled = git(b, "pull", "--no-rebase", "--no-edit", "origin", "main", check=False)
    assert pulled.returncode != 0
    track_id = track_ids(b)["Track one"]
    manifest = f"{ROOT}/tracks/{track_id}/checkpoints/checkpoint-001.json"
    assert f"CONFLICT (add/add): Merge conflict in {manifest}" in pulled.stdout
    status = git(b, "status", "--porcelain").stdout.splitlines()
    assert [line for line in status if line[:2] in ("UU", "AA")] == [f"AA {manifest}"]

    # the resolution the README gives: keep one side's manifest (here alice's)
    theirs = json.loads(git(b, "show", f":3:{manifest}").stdout)
    git(b, "checkout", "--theirs", "--", manifest)
    git(b, "add", manifest)
    git(b, "commit", "-q", "--no-edit")
    kept = json.loads((b / manifest).read_text())
    bobs = json.loads(git(b, "show", f"HEAD^1:{manifest}").stdout)
    assert kept == theirs and kept["created_at"] != bobs["created_at"]  # alice's, not bob's
    assert conductor_in(b, "validate").returncode == 0
    assert "intact" in conductor(b, "verify", "--track-id", "Track one").lower()
    listed = json.loads(conductor(b, "checkpoints", "Track one", "--json"))
    assert [c["checkpoint_id"] for c in listed] == ["checkpoint-001"]


def test_adopt_checkpoint_keeps_both_sides_of_the_add_add_conflict(
    clones: tuple[Path, Path], tmp_path: Path
) -> None:
    """The README's "keep both": ours stays checkpoint-001, theirs (saved from git's stage
    3) becomes checkpoint-002, and both verify and restore."""
    a, b = clones
    conductor(a, "activate", "Track one")
    commit(a, "one is active")
    git(a, "push", "-q", "origin", "main")
    git(b, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main")
    conductor(a, "decide", "Alice's decision", "--track-id", "Track one")
    conductor(a, "pause", "Track one", "--reason", "end of day")
    commit(a, "alice paused")
    git(a, "push", "-q", "origin", "main")
    conductor(b, "pause", "Track one", "--reason", "end of day")
    commit(b, "bob paused")
    assert git(b, "pull", "--no-rebase", "--no-edit", "origin", "main", check=False).returncode
    track_id = track_ids(b)["Track one"]
    manifest = f"{ROOT}/tracks/{track_id}/checkpoints/checkpoint-001.json"
    theirs = tmp_path / "theirs.json"
    theirs.write_text(git(b, "show", f":3:{manifest}").stdout)
    git(b, "checkout", "--ours", "--", manifest)

    out = conductor(b, "adopt-checkpoint", str(theirs), "--track-id", "Track one")
    assert f"is now checkpoint-002 of {track_id} (it was checkpoint-001)" in out
    again = conductor_in(b, "adopt-checkpoint", str(theirs), "--track-id", "Track one")
    assert again.returncode == 1
    assert "is already checkpoint-002 of this track" in again.stderr
    git(b, "add", "-A", str(ROOT))
    git(b, "commit", "-q", "--no-edit")
    assert conductor_in(b, "validate").returncode == 0
    listed = json.loads(conductor(b, "checkpoints", "Track one", "--json"))
    assert [c["checkpoint_id"] for c in listed] == ["checkpoint-002", "checkpoint-001"]
    kept = {c["checkpoint_id"]: c for c in listed}
    assert [d["summary"] for d in kept["checkpoint-002"]["decisions"]] == ["Alice's decision"]
    assert kept["checkpoint-001"]["decisions"] == []  # bob's own pause
    for checkpoint in ("checkpoint-001", "checkpoint-002"):
        assert conductor(b, "verify", checkpoint, "--track-id", "Track one")
    conductor(b, "restore", "checkpoint-002", "--track-id", "Track one")  # alice's work back
    decisions = json.loads(conductor(b, "decisions", "--track-id", "Track one", "--json"))
    assert [d["summary"] for d in decisions] == ["Alice's decision"]


def test_adopt_checkpoint_refuses_what_it_cannot_keep(
    clones: tuple[Path, Path], tmp_path: Path
) -> None:
    a, _ = clones
    conductor(a, "checkpoint", "Track one")
    one = a / ROOT / "tracks" / track_ids(a)["Track one"] / "checkpoints" / "checkpoint-001.json"

    def refused(path: Path, track: str = "Track two") -> str:
        done = conductor_in(a, "adopt-checkpoint", str(path), "--track-id", track)
        assert done.returncode == 1 and len(done.stderr.splitlines()) == 1, done.stderr
        return done.stderr

    assert "is a checkpoint of" in refused(one)  # another track's
    edited = tmp_path / "edited.json"
    edited.write_text(one.read_text().replace("manual checkpoint", "edited by hand"))
    assert "checksum does not match" in refused(edited, "Track one")
    (tmp_path / "junk.json").write_text("<<<<<<< ours")
    assert "not a checkpoint manifest" in refused(tmp_path / "junk.json", "Track one")
    assert "is already checkpoint-001" in refused(one, "Track one")
    shutil.rmtree(one.parent / "blobs")
    assert "merge the commit that holds them first" in refused(one, "Track one")
    assert sorted(p.name for p in one.parent.glob("checkpoint-*.json")) == ["checkpoint-001.json"]
