"""Assumptions that check themselves: each kind of check, the evidence it leaves in
assumptions.json, checks on resume and switch, and which checks this machine runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from conductor_nb import check_approvals
from conductor_nb.assumption_checks import AssumptionChecks, attention, failed_checks
from conductor_nb.check_kinds import FAILED, HOLDS, NEEDS_KERNEL, NOT_APPROVED
from conductor_nb.engine import Engine
from conductor_nb.errors import InvalidInput, PathOutsideRoot
from conductor_nb.notebook.check_eval import kernel_evaluator


@pytest.fixture(autouse=True)
def this_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine of its own: approvals live under a temporary XDG_DATA_HOME."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg"


@pytest.fixture
def project(root: Path) -> Path:
    return root.parent.parent  # <project>/.claude/conductor


@pytest.fixture
def track_id(engine: Engine) -> str:
    track = engine.create("Data pipeline")
    engine.transition(track["track_id"], "activate")
    return track["track_id"]


def stored(engine: Engine, track_id: str, assumption_id: str) -> dict:
    """The assumption as assumptions.json holds it (read from disk)."""
    path = engine.tree.track_file(track_id, "context", "assumptions.json")
    items = json.loads(path.read_text(encoding="utf-8"))
    return next(item for item in items if item["id"] == assumption_id)


def assume(engine: Engine, track_id: str, statement: str, kind: str, value: str, **kw) -> str:
    check = engine.define_check(kind, value, **kw)
    return engine.assume(track_id, statement, check=check)["id"]


def only_row(engine: Engine, track_id: str) -> dict:
    (row,) = engine.check_assumptions(track_id)
    return row


# -- files -------------------------------------------------------------------------------


def test_a_changed_file_invalidates_with_expected_and_found(engine, track_id, project) -> None:
    (project / "data").mkdir(parents=True)
    raw = project / "data" / "raw.csv"
    raw.write_text("a,b\n1,2\n")
    aid = assume(engine, track_id, "raw data is frozen", "file", "data/raw.csv")
    before = stored(engine, track_id, aid)["check"]["sha256"]

    assert only_row(engine, track_id)["result"] == HOLDS
    assert stored(engine, track_id, aid)["status"] == "validated"

    raw.write_text("a,b\n1,3\n")
    row = only_row(engine, track_id)
    item = stored(engine, track_id, aid)
    assert row["result"] == FAILED and item["status"] == "invalidated"
    assert item["evidence"]["holds"] is False
    assert item["evidence"]["expected"] == f"sha256 {before}"
    assert (
        item["evidence"]["found"].startswith("sha256 ") and before not in item["evidence"]["found"]
    )
    assert item["evidence"]["checked_at"]

    raw.write_text("a,b\n1,2\n")  # put back: the check holds again
    only_row(engine, track_id)
    item = stored(engine, track_id, aid)
    assert item["status"] == "validated" and item["evidence"]["holds"] is True


def test_a_removed_file_is_found_missing(engine, track_id, project) -> None:
    (project / "model.pkl").write_bytes(b"weights")
    aid = assume(engine, track_id, "the model is there", "file", str(project / "model.pkl"))
    assert stored(engine, track_id, aid)["check"]["path"] == "model.pkl"  # kept relative
    (project / "model.pkl").unlink()
    only_row(engine, track_id)
    assert stored(engine, track_id, aid)["evidence"]["found"] == "missing"


def test_a_relative_path_is_taken_from_where_the_user_is(
    engine, track_id, project, monkeypatch
) -> None:
    (project / "notebooks" / "data").mkdir(parents=True)
    (project / "notebooks" / "data" / "x.csv").write_text("x")
    monkeypatch.chdir(project / "notebooks")  # inside the project: from here
    assert engine.define_check("file", "data/x.csv")["path"] == "notebooks/data/x.csv"
    monkeypatch.chdir(project.parent)  # outside it: from the project folder
    assert engine.define_check("file", "notebooks/data/x.csv")["path"] == "notebooks/data/x.csv"


def test_a_file_check_stays_inside_the_project(engine, track_id, project, tmp_path) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside.txt"
    outside.write_text("not ours")
    try:
        with pytest.raises(InvalidInput, match="outside the project folder"):
            engine.define_check("file", str(outside))
        with pytest.raises(InvalidInput, match="outside the project folder"):
            engine.define_check("file", "../" + outside.name)
        (project / "link.txt").symlink_to(outside)
        with pytest.raises(PathOutsideRoot, match="resolves outside"):
            engine.define_check("file", "link.txt")
    finally:
        outside.unlink()
    with pytest.raises(InvalidInput, match=r"no file nothing\.txt"):
        engine.define_check("file", "nothing.txt")


# -- packages ----------------------------------------------------------------------------


def test_a_package_check_records_the_installed_version(engine, track_id) -> None:
    from importlib.metadata import version

    aid = assume(engine, track_id, "pytest is here", "package", "pytest")
    assert stored(engine, track_id, aid)["check"] == {
        "kind": "package",
        "name": "pytest",
        "version": version("pytest"),
    }
    assert only_row(engine, track_id)["result"] == HOLDS


def test_another_version_or_no_package_fails(engine, track_id) -> None:
    from importlib.metadata import version

    old = assume(engine, track_id, "pinned pytest", "package", "pytest==0.0.1")
    gone = assume(engine, track_id, "a package", "package", "no-such-package-here==1.0")
    rows = {row["id"]: row for row in engine.check_assumptions(track_id)}
    assert (rows[old]["result"], rows[old]["expected"]) == (FAILED, "0.0.1")
    assert rows[old]["found"] == version("pytest")
    assert (rows[gone]["result"], rows[gone]["found"]) == (FAILED, "not installed")
    with pytest.raises(InvalidInput, match="not installed here"):
        engine.define_check("package", "no-such-package-here")


# -- commands ----------------------------------------------------------------------------


def test_a_command_holds_while_it_exits_zero(engine, track_id) -> None:
    ok = assume(engine, track_id, "works", "command", "sh -c 'exit 0'")
    bad = assume(engine, track_id, "db up", "command", "sh -c 'echo db is down >&2; exit 1'")
    rows = {row["id"]: row for row in engine.check_assumptions(track_id)}
    assert rows[ok]["result"] == HOLDS and stored(engine, track_id, ok)["status"] == "validated"
    assert rows[bad]["result"] == FAILED
    assert stored(engine, track_id, bad)["evidence"] | {"checked_at": None} == {
        "holds": False,
        "expected": "exit status 0",
        "found": "exit status 1: db is down",
        "checked_at": None,
    }


def test_a_command_runs_without_a_shell_in_the_project(engine, track_id, project) -> None:
    """Its words are split as a shell would, but `;` is only a word: nothing else runs."""
    aid = assume(engine, track_id, "echo", "command", "echo one; touch injected")
    where = assume(engine, track_id, "runs here", "command", "test -f marker.txt")
    (project / "marker.txt").write_text("")
    rows = {row["id"]: row for row in engine.check_assumptions(track_id)}
    assert rows[aid]["result"] == HOLDS
    assert not (project / "injected").exists() and not Path("injected").exists()
    assert rows[where]["result"] == HOLDS  # its working folder is the project


def test_a_command_past_its_timeout_fails(engine, track_id) -> None:
    aid = assume(
        engine,
        track_id,
        "quick",
        "command",
        f"{sys.executable} -c 'import time; time.sleep(30)'",
        timeout=0.5,
    )
    row = only_row(engine, track_id)
    assert (row["result"], row["found"]) == (FAILED, "timed out after 0.5 s")
    assert stored(engine, track_id, aid)["status"] == "invalidated"


def test_a_missing_program_fails_with_why(engine, track_id) -> None:
    assume(engine, track_id, "tool", "command", "no-such-program-here --version")
    row = only_row(engine, track_id)
    assert row["result"] == FAILED and row["found"].startswith("could not run no-such-program-here")


def test_bad_definitions_are_refused(engine) -> None:
    with pytest.raises(InvalidInput, match="not a Python expression"):
        engine.define_check("expr", "len(df >")
    with pytest.raises(InvalidInput, match="No closing quotation"):
        engine.define_check("command", "echo 'open")
    with pytest.raises(InvalidInput, match="positive number"):
        engine.define_check("command", "true", timeout=0)
    with pytest.raises(InvalidInput, match="unknown check kind"):
        engine.define_check("url", "https://example.org")


# -- expressions ---------------------------------------------------------------------------


def test_an_expression_needs_a_kernel(engine, track_id) -> None:
    aid = assume(engine, track_id, "enough rows", "expr", "len(df) > 1000")
    row = only_row(engine, track_id)
    assert row["result"] == NEEDS_KERNEL == "not checked (needs a kernel)"
    item = stored(engine, track_id, aid)
    assert item["status"] == "open" and "evidence" not in item  # nothing recorded


def test_an_expression_is_evaluated_in_the_kernel_namespace(engine, track_id) -> None:
    shell = SimpleNamespace(user_ns={"df": list(range(5))})
    engine.assumption_checks.evaluate = kernel_evaluator(shell)
    rows_ok = assume(engine, track_id, "some rows", "expr", "len(df) > 3")
    too_many = assume(engine, track_id, "many rows", "expr", "len(df) > 1000")
    broken = assume(engine, track_id, "a column", "expr", "df['x'] > 0")
    rows = {row["id"]: row for row in engine.check_assumptions(track_id)}
    assert rows[rows_ok]["result"] == HOLDS and rows[rows_ok]["found"] == "True"
    assert (rows[too_many]["result"], rows[too_many]["found"]) == (FAILED, "False")
    assert rows[broken]["result"] == FAILED
    assert rows[broken]["found"].startswith("raised TypeError: list indices")
    assert stored(engine, track_id, broken)["evidence"]["found"] == rows[broken]["found"]


# -- resume and switch ---------------------------------------------------------------------


def test_resume_checks_and_a_failure_only_marks(engine, track_id, project, capsys) -> None:
    (project / "config.yaml").write_text("lr: 0.1\n")
    aid = assume(engine, track_id, "config unchanged", "file", "config.yaml")
    engine.transition(track_id, "pause")
    (project / "config.yaml").write_text("lr: 0.5\n")

    resumed = engine.transition(track_id, "resume")
    assert resumed["status"] == "active"  # the change went through
    assert stored(engine, track_id, aid)["status"] == "invalidated"
    assert "assumption failed: assumption-1 'config unchanged'" in capsys.readouterr().err
    assert attention(engine.assumptions(track_id)) == "assumption failed: config unchanged"


def test_resume_runs_checks_only_where_an_assumption_has_one(
    engine, track_id, project, monkeypatch, capsys
) -> None:
    """A resume looks for checks inside its own transaction: with none (no assumption,
    or none with a check) nothing runs after it; with one, the checks run; a damaged
    assumptions.json never stops the resume and is reported after it."""
    ran: list[str] = []
    real = AssumptionChecks.after_transition

    def counting(checks, checked_id):
        ran.append(checked_id)
        return real(checks, checked_id)

    monkeypatch.setattr(AssumptionChecks, "after_transition", counting)
    for prepare, expected in (
        (lambda: None, []),
        (lambda: engine.assume(track_id, "no check here"), []),
        (lambda: assume(engine, track_id, "a there", "file", "a.txt"), [track_id]),
    ):
        (project / "a.txt").write_text("a")
        prepare()
        engine.transition(track_id, "pause")
        ran.clear()
        assert engine.transition(track_id, "resume")["status"] == "active"
        assert ran == expected
    engine.update(track_id, "checkpoint_frequency", "never")  # (a resume restores its pause's)
    engine.transition(track_id, "pause")
    engine.tree.track_file(track_id, "context", "assumptions.json").write_text("{damaged")
    capsys.readouterr()
    assert engine.transition(track_id, "resume")["status"] == "active"
    assert f"assumptions of {track_id} not checked" in capsys.readouterr().err


def test_switch_checks_the_track_switched_to(engine, track_id) -> None:
    other = engine.create("Other work")["track_id"]
    engine.transition(other, "ready")
    aid = assume(engine, other, "tool there", "command", "sh -c 'exit 3'")
    engine.switch(other)
    assert engine.get_active()["track_id"] == other
    assert stored(engine, other, aid)["evidence"]["found"] == "exit status 3"


def test_unknown_fields_are_kept(engine, track_id, project) -> None:
    (project / "a.txt").write_text("a")
    aid = assume(engine, track_id, "a", "file", "a.txt")
    path = engine.tree.track_file(track_id, "context", "assumptions.json")
    items = json.loads(path.read_text())
    items[0]["owner"] = "data team"
    path.write_text(json.dumps(items))
    only_row(engine, track_id)
    assert stored(engine, track_id, aid)["owner"] == "data team"


def test_failed_checks_and_the_attention_line() -> None:
    failed = {"statement": "s1", "status": "invalidated", "evidence": {"holds": False}}
    marked_by_hand = {"statement": "s2", "status": "invalidated"}
    holding = {"statement": "s3", "status": "validated", "evidence": {"holds": True}}
    assert failed_checks([failed, marked_by_hand, holding]) == [failed]
    assert (
        attention([failed, {**failed, "statement": "s4"}]) == "assumption failed: s1 (and 1 more)"
    )
    assert attention([holding, marked_by_hand]) == ""


# -- trust: checks that arrived from elsewhere ---------------------------------------------


def test_a_check_from_a_bundle_runs_only_once_approved(tmp_path, monkeypatch, engine, track_id):
    assume(engine, track_id, "build works", "command", "touch ran.txt")
    assume(engine, track_id, "rows", "expr", "len(df) > 0")
    bundle = tmp_path / "work.tar.zst"
    engine.export_bundle(track_id, bundle)

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "elsewhere-xdg"))  # another machine
    theirs = tmp_path / "elsewhere"
    other = Engine(theirs / ".claude" / "conductor")
    other.import_bundle(bundle)
    (their_id,) = (e["track_id"] for e in other.list())
    other.assumption_checks.evaluate = kernel_evaluator(SimpleNamespace(user_ns={}))

    rows = other.check_assumptions(their_id)
    assert [row["result"] for row in rows] == [NOT_APPROVED, NOT_APPROVED]
    assert not (theirs / "ran.txt").exists()  # not run
    assert "evidence" not in stored(other, their_id, "assumption-1")

    approved = other.approve_check(their_id, "assumption-1")
    assert approved["approved"] is True
    record = json.loads(check_approvals.approvals_file().read_text())
    assert list(record) == [str(theirs)]
    rows = other.check_assumptions(their_id)
    assert [row["result"] for row in rows] == [HOLDS, NOT_APPROVED]
    assert (theirs / "ran.txt").exists()


def test_an_edited_check_is_not_approved_any_more(engine, track_id, project) -> None:
    aid = assume(engine, track_id, "ok", "command", "true")
    assert only_row(engine, track_id)["result"] == HOLDS  # approved at creation
    path = engine.tree.track_file(track_id, "context", "assumptions.json")
    items = json.loads(path.read_text())
    items[0]["check"]["command"] = "touch merged-in.txt"  # as a git merge could bring
    path.write_text(json.dumps(items))
    assert only_row(engine, track_id)["result"] == NOT_APPROVED
    assert not (project / "merged-in.txt").exists()
    with pytest.raises(InvalidInput, match="has no assumption 'assumption-9'"):
        engine.approve_check(track_id, "assumption-9")
    engine.approve_check(track_id, aid)
    assert only_row(engine, track_id)["result"] == HOLDS
    assert (project / "merged-in.txt").exists()


def test_approvals_belong_to_one_project(tmp_path, this_machine) -> None:
    check = {"kind": "command", "command": "make test", "timeout": 30.0}
    check_approvals.approve(tmp_path / "a", check, label="t/assumption-1", at="now")
    assert check_approvals.is_approved(tmp_path / "a", check)
    assert not check_approvals.is_approved(tmp_path / "b", check)
    assert (
        check_approvals.approvals_file() == this_machine / "conductor_nb" / "approved-checks.json"
    )
    # reading a file or a version runs nothing: no approval needed
    assert check_approvals.is_approved(tmp_path / "b", {"kind": "file", "path": "x", "sha256": "0"})


# -- the model-level API -------------------------------------------------------------------


def test_the_python_api_records_runs_and_approves_checks(root, project) -> None:
    from conductor_nb import Conductor

    api = Conductor(root=root)
    track = api.create(name="Through the API", goal="g")
    data = project / "data.csv"
    data.write_text("a,b\n")
    assumption = api.assume(
        "the data is unchanged", track=track.track_id, check=("file", "data.csv")
    )
    assert assumption.check["kind"] == "file" and assumption.check["path"] == "data.csv"
    assert [r["result"] for r in api.check_assumptions(track=track.track_id)] == [HOLDS]
    data.write_text("changed\n")
    (row,) = api.check_assumptions(track=track.track_id)
    assert (row["result"], row["status"]) == (FAILED, "invalidated")
    command = api.assume("the tool exits 0", track=track.track_id, check=("command", "true"))
    assert api.approve_check(command.id, track=track.track_id)["id"] == command.id
