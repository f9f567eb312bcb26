"""Assumptions that check themselves, through the real ``conductor`` CLI in real
processes: defining checks, ``assumptions --check`` (exit 1 when one failed), checks on
``resume``, and approving a check that arrived from elsewhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_process import conductor_in


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with one active track; this machine's approvals in a temporary
    XDG_DATA_HOME."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    project = tmp_path / "project"
    project.mkdir()
    ok(project, "create", "--name", "Model training")
    ok(project, "activate", "Model training")
    return project


def ok(cwd: Path, *args: str) -> str:
    done = conductor_in(cwd, *args)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def assumptions_on_disk(project: Path) -> list[dict]:
    (path,) = (project / ".claude" / "conductor" / "tracks").glob("*/context/assumptions.json")
    return json.loads(path.read_text(encoding="utf-8"))


def test_a_failed_file_check_exits_1_and_leaves_evidence(project: Path) -> None:
    (project / "train.csv").write_text("x,y\n")
    said = ok(project, "assume", "training data is frozen", "--check-file", "train.csv")
    assert said.strip() == "recorded assumption-1, checked by file train.csv"
    listed = json.loads(ok(project, "--json", "assumptions", "--check"))
    assert [(r["id"], r["result"], r["status"]) for r in listed] == [
        ("assumption-1", "holds", "validated")
    ]

    (project / "train.csv").write_text("x,y\n1,2\n")
    done = conductor_in(project, "assumptions", "--check")
    assert done.returncode == 1
    assert "assumption-1" in done.stdout and "failed" in done.stdout
    assert "1 checked: 0 hold, 1 failed, 0 not run" in done.stdout
    (item,) = assumptions_on_disk(project)
    assert item["status"] == "invalidated"
    assert item["evidence"]["expected"] == f"sha256 {item['check']['sha256']}"
    assert item["evidence"]["found"] != item["evidence"]["expected"]


def test_resume_runs_the_checks_and_still_resumes(project: Path) -> None:
    ok(project, "assume", "the database answers", "--check-command", "sh -c 'exit 1'")
    ok(project, "pause")
    done = conductor_in(project, "resume", "Model training")
    assert done.returncode == 0, done.stderr
    assert "is now active" in done.stdout
    assert "assumption failed: assumption-1 'the database answers'" in done.stderr
    assert "found exit status 1" in done.stderr
    (item,) = assumptions_on_disk(project)
    assert (item["status"], item["evidence"]["found"]) == ("invalidated", "exit status 1")


def test_an_expression_is_not_checked_outside_a_kernel(project: Path) -> None:
    ok(project, "assume", "enough rows", "--check-expr", "len(df) > 1000")
    done = conductor_in(project, "assumptions", "--check")
    assert done.returncode == 0
    assert "not checked (needs a kernel)" in done.stdout
    (item,) = assumptions_on_disk(project)
    assert item["status"] == "open" and "evidence" not in item


def test_a_merged_check_runs_only_after_approve(project: Path) -> None:
    ok(project, "assume", "it builds", "--check-command", "true")
    (path,) = (project / ".claude" / "conductor" / "tracks").glob("*/context/assumptions.json")
    items = json.loads(path.read_text())
    items[0]["check"]["command"] = "touch pulled.txt"  # what a teammate's merge brought
    path.write_text(json.dumps(items))

    listed = json.loads(ok(project, "--json", "assumptions", "--check"))
    assert listed[0]["result"] == "not approved"
    assert not (project / "pulled.txt").exists()

    said = ok(project, "assumptions", "--approve", "assumption-1")
    assert said.strip() == "approved the check of assumption-1: command touch pulled.txt"
    listed = json.loads(ok(project, "--json", "assumptions", "--check"))
    assert listed[0]["result"] == "holds"
    assert (project / "pulled.txt").exists()


def test_usage_mistakes_are_one_line(project: Path) -> None:
    two = conductor_in(project, "assume", "x", "--check-file", "a", "--check-expr", "1")
    assert two.returncode != 0
    assert "give one check" in two.stderr and "Traceback" not in two.stderr
    timeout = conductor_in(project, "assume", "x", "--check-expr", "1", "--check-timeout", "3")
    assert "--check-timeout goes with --check-command" in timeout.stderr
    outside = conductor_in(project, "assume", "x", "--check-file", "../elsewhere.txt")
    assert outside.returncode != 0 and "outside the project folder" in outside.stderr
    assert assumptions_on_disk(project) == []  # nothing recorded


def test_a_check_pulled_through_git_waits_for_approval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Alice's command check reaches Bob by a real merge: on Bob's machine it is listed,
    not run, until Bob approves it."""
    from tests.test_git_sharing import clone, commit, git

    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    alice = clone(origin, tmp_path / "alice", "alice")
    git(alice, "checkout", "-q", "-b", "main")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "alice-machine"))
    ok(alice, "create", "--name", "Shared track")
    ok(alice, "git-setup")
    commit(alice, "a track")
    git(alice, "push", "-q", "origin", "main")
    bob = clone(origin, tmp_path / "bob", "bob")

    ok(alice, "assume", "it builds", "--track", "Shared track", "--check-command", "touch built")
    assert "holds" in ok(alice, "assumptions", "Shared track", "--check")  # approved: hers
    (alice / "built").unlink()
    commit(alice, "an assumption with a check")
    git(alice, "push", "-q", "origin", "main")

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "bob-machine"))
    ok(bob, "git-setup")
    ok(bob, "decide", "keep it small", "--track", "Shared track")
    commit(bob, "a decision")
    git(bob, "pull", "-q", "--no-rebase", "--no-edit", "origin", "main")  # a real merge
    listed = json.loads(ok(bob, "--json", "assumptions", "Shared track", "--check"))
    assert [(r["id"], r["result"]) for r in listed] == [("assumption-1", "not approved")]
    assert not (bob / "built").exists()

    ok(bob, "assumptions", "Shared track", "--approve", "assumption-1")
    listed = json.loads(ok(bob, "--json", "assumptions", "Shared track", "--check"))
    assert listed[0]["result"] == "holds" and (bob / "built").exists()
