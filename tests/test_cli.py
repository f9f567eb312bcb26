"""The `conductor` command in real subprocesses: the original commands and flags, tables,
--json, exit codes, and one clear line (never a traceback) for user mistakes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conductor_nb.cli import main


def conductor(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONDUCTOR_ROOT": str(root)}
    result = subprocess.run(
        [sys.executable, "-m", "conductor_nb.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"conductor {args} failed: {result.stderr}")
    return result


def test_original_command_sequence_works_end_to_end(root: Path) -> None:
    """create, activate, pause, resume, switch, complete, list, get-active, stats with the
    original tool's flags, each in its own process."""
    first = json.loads(
        conductor(
            root,
            "create",
            "--name",
            "OAuth login",
            "--type",
            "feature",
            "--goal",
            "Sign in",
            "--priority",
            "P1",
            "--json",
        ).stdout
    )
    second = json.loads(
        conductor(root, "create", "--name", "Fix timeout", "--type", "bugfix", "--json").stdout
    )
    conductor(root, "activate", "--track-id", first["track_id"])
    conductor(root, "pause", "--track-id", first["track_id"], "--reason", "waiting for review")
    conductor(root, "resume", "--track-id", first["track_id"])
    conductor(root, "switch", "--to", second["track_id"])
    active = json.loads(conductor(root, "get-active", "--json").stdout)
    assert active["track_id"] == second["track_id"]
    conductor(root, "complete", "--track-id", second["track_id"], "--summary", "done")
    listed = json.loads(conductor(root, "list", "--json").stdout)
    assert {e["track_id"]: e["status"] for e in listed} == {
        first["track_id"]: "paused",
        second["track_id"]: "completed",
    }
    stats = json.loads(conductor(root, "stats", "--json").stdout)
    assert stats["by_status"]["paused"] == 1 and stats["by_status"]["completed"] == 1


def test_list_filters_and_table(root: Path) -> None:
    """list --status/--type/--priority filter, and the default output is a table."""
    conductor(root, "create", "--name", "Alpha work", "--type", "bugfix", "--priority", "P0")
    conductor(root, "create", "--name", "Beta work", "--type", "feature")
    out = conductor(root, "list", "--type", "bugfix").stdout
    assert "Alpha work" in out and "Beta work" not in out
    assert out.splitlines()[0].split()[:3] == ["ID", "NAME", "STATUS"]
    assert "Beta work" in conductor(root, "list", "--priority", "P2,P3").stdout
    empty = conductor(root, "list", "--status", "active").stdout
    assert empty.strip() == f"no tracks in {root.resolve()}"  # it says where it looked
    assert conductor(root, "board", "--search", "nothing").stdout.strip() == empty.strip()


def test_track_named_by_name_and_prefix(root: Path) -> None:
    """A track can be named by id, unique id prefix or exact name."""
    conductor(root, "create", "--name", "Search refactor")
    conductor(root, "activate", "Search refactor")
    conductor(root, "pause", "search")
    assert (
        json.loads(conductor(root, "show", "track-search", "--json").stdout)["status"] == "paused"
    )


@pytest.mark.parametrize(
    ("args", "needle", "code"),
    [
        (("activate", "--track-id", "nope"), "no track matches 'nope'", 1),
        (("create", "--name", "ab"), "3 to 100 characters", 1),
        (("create", "--name", "Good name", "--type", "bogus"), "invalid choice", 2),
        (("list", "--status", "bogus"), "'bogus' is not one of", 2),
        (
            ("update", "--track-id", "x", "--field", "constructor", "--value", "1"),
            "cannot be updated",
            1,
        ),
        (("frobnicate",), "invalid command 'frobnicate'", 2),
        (("pause", "--track-id", "../../etc/passwd"), "no track matches", 1),
    ],
)
def test_user_mistakes_give_one_line_and_nonzero_exit(
    root: Path, args: tuple[str, ...], needle: str, code: int
) -> None:
    """Bad input: one clear line on stderr, a non-zero exit, no traceback."""
    conductor(root, "create", "--name", "Existing one")
    result = conductor(root, *args, check=False)
    assert result.returncode == code
    assert needle in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_activate_refusal_names_active_track_and_switch(root: Path) -> None:
    """Activating while another is active names it and suggests switch; --force works."""
    conductor(root, "create", "--name", "First one")
    conductor(root, "create", "--name", "Second one")
    conductor(root, "activate", "First one")
    refused = conductor(root, "activate", "Second one", check=False)
    assert refused.returncode == 1
    assert "track-first-one" in refused.stderr and "switch --to" in refused.stderr
    conductor(root, "activate", "Second one", "--force")
    listed = {e["name"]: e["status"] for e in json.loads(conductor(root, "list", "--json").stdout)}
    assert listed == {"First one": "paused", "Second one": "active"}


def test_update_validates_fields_and_routes_status_through_lifecycle(root: Path) -> None:
    """update checks values (the original accepted anything) and status uses the lifecycle."""
    conductor(root, "create", "--name", "Some track")
    bad = conductor(
        root, "update", "Some track", "--field", "priority", "--value", "P9", check=False
    )
    assert bad.returncode == 1 and "priority must be one of" in bad.stderr
    conductor(root, "update", "Some track", "--field", "priority", "--value", "P0")
    refused = conductor(
        root, "update", "Some track", "--field", "status", "--value", "completed", check=False
    )
    assert refused.returncode == 1 and "cannot" in refused.stderr
    conductor(root, "update", "Some track", "--field", "status", "--value", "ready")
    shown = json.loads(conductor(root, "show", "Some track", "--json").stdout)
    assert (shown["priority"], shown["status"]) == ("P0", "ready")


def test_context_commands(root: Path, tmp_path: Path) -> None:
    """decide, assume, step, run, artifact and context through the CLI."""
    conductor(root, "create", "--name", "Context track")
    conductor(root, "activate", "Context track")
    conductor(root, "decide", "Use OAuth 2.0", "--rationale", "standard", "--alternative", "SAML")
    conductor(root, "assume", "Users have email")
    conductor(root, "assume", "--id", "assumption-1", "--status", "validated")
    conductor(root, "step", "add", "Write tests")
    conductor(root, "step", "complete", "1")
    conductor(root, "run", "create", "nightly build")
    conductor(root, "run", "start", "1")
    conductor(
        root, "run", "finish", "1", "--failed", "--error-type", "ValueError", "--message", "boom"
    )
    source = tmp_path / "brief.md"
    source.write_text("# brief\n")
    conductor(root, "artifact", "add", "docs/brief.md", "--from", str(source))
    conductor(root, "project", "--add-rule", "No secrets in code", "--add-stack", "python")
    context = json.loads(
        conductor(
            root, "context", "--add-stack", "pandas", "--agent", 'reviewer={"model": "x"}', "--json"
        ).stdout
    )
    assert [r["text"] for r in context["rules"]] == ["No secrets in code"]
    assert [(s["item"], s["source"]) for s in context["stack"]] == [
        ("python", "project"),
        ("pandas", "track"),
    ]
    assert context["decisions"][0]["summary"] == "Use OAuth 2.0"
    assert context["artifacts"][0]["name"] == "docs/brief.md"
    runs = json.loads(conductor(root, "run", "list", "--json").stdout)
    assert runs[0]["status"] == "failed" and runs[0]["outcome"]["error_type"] == "ValueError"
    shown = json.loads(conductor(root, "show", "--json").stdout)
    assert shown["progress"]["percentage"] == 100


def test_validate_exit_code_and_schema(seed_root: Path) -> None:
    """validate exits 1 listing problems; repair fixes them; schema prints a JSON Schema."""
    result = conductor(seed_root, "validate", check=False)
    assert result.returncode == 1 and "status-mismatch" in result.stdout
    conductor(seed_root, "repair")
    assert conductor(seed_root, "validate").returncode == 0
    schema = json.loads(conductor(seed_root, "schema").stdout)
    assert len(schema["$defs"]["TrackType"]["enum"]) == 13
    assert len(schema["$defs"]["TrackStatus"]["enum"]) == 8
    assert "history" in schema["properties"]


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    """--help prints usage and returns 0 without a process exit."""
    assert main(["--help"]) == 0
    assert "switch" in capsys.readouterr().out
    assert main(["create", "--help"]) == 0
    assert "--priority" in capsys.readouterr().out


def test_output_cut_short_by_its_reader_is_no_error(root: Path) -> None:
    """`conductor list | head -1`: the reader goes away; no traceback, exit as usual."""
    assert main(["--root", str(root), "create", "--name", "Piped", "--goal", "g"]) == 0
    command = [sys.executable, "-m", "conductor_nb.cli", "--root", str(root), "list"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as done:
        done.stdout.close()  # before it writes a line
        errors = done.stderr.read().decode()
        assert done.wait(timeout=60) == 0
    assert errors == ""


def test_a_listing_longer_than_a_pipe_buffer_arrives_whole(root: Path) -> None:
    """The executable ends without the interpreter's teardown: what it printed is flushed
    first (here ~60 KB through a pipe, several of Python's 8 KB blocks)."""
    from conductor_nb.engine import Engine

    engine = Engine(root)
    for k in range(120):
        engine.create(f"Listed track {k:03d}", goal="a goal long enough to fill the pipe " * 3)
    listed = json.loads(conductor(root, "list", "--json").stdout)
    assert len(listed) == 120 and len(json.dumps(listed)) > 32_000


def _run_probe(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    """``cli.run()`` (the executable's entry) after ``body``, in a real process."""
    head = "import sys, threading, time\nfrom pathlib import Path\nfrom conductor_nb import cli\n"
    return subprocess.run(
        [sys.executable, "-c", head + body, str(tmp_path / "left")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CONDUCTOR_ROOT": str(tmp_path / "no-root-here")},
    )


def test_the_quick_exit_waits_for_threads_and_keeps_the_exit_code(tmp_path: Path) -> None:
    """A thread still working when main returns finishes first, as at a normal exit; the
    exit code is main's (0 for --help, 1 for a missing root, 2 for a malformed command)."""
    late = (
        "def late(path=Path(sys.argv[1])):\n    time.sleep(0.3)\n    path.write_text('done')\n"
        "threading.Thread(target=late).start()\n"
    )
    done = _run_probe(tmp_path, late + "sys.argv = ['conductor', '--help']\ncli.run()")
    assert done.returncode == 0 and "switch" in done.stdout
    assert (tmp_path / "left").read_text() == "done"
    missing = _run_probe(tmp_path, "sys.argv = ['conductor', 'list']\ncli.run()")
    assert missing.returncode == 1 and missing.stderr.startswith("error: ")
    malformed = _run_probe(tmp_path, "sys.argv = ['conductor', 'frobnicate']\ncli.run()")
    assert malformed.returncode == 2


def test_an_unexpected_error_still_shows_its_traceback_and_exits_1(tmp_path: Path) -> None:
    """A bug (not a user mistake) under the quick exit: the traceback and what was printed
    before it both reach the user, and the exit code is 1 as Python gives it."""
    body = (
        "def broken(argv=None):\n    print('printed before')\n    raise RuntimeError('a bug')\n"
        "cli.main = broken\ncli.run()"
    )
    done = _run_probe(tmp_path, body)
    assert done.returncode == 1
    assert done.stdout == "printed before\n"
    assert "Traceback" in done.stderr and "RuntimeError: a bug" in done.stderr
