"""Lifecycle hooks, run by the real CLI in real processes: sh scripts that veto, that
record what they were given, that run past the timeout; and the trust flow."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli_process import conductor_in

NOT_TRUSTED = "are not trusted: run conductor hooks --trust"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with a root of two tracks; this machine's trust record lives in
    a temporary XDG_DATA_HOME."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    project = tmp_path / "project"
    project.mkdir()
    for name in ("Track one", "Track two"):
        ok(project, "create", "--name", name, "--goal", f"goal of {name}")
    return project


def ok(cwd: Path, *args: str) -> str:
    done = conductor_in(cwd, *args)
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def status(cwd: Path, name: str) -> str:
    return json.loads(ok(cwd, "show", name, "--json"))["status"]


def write_hooks(project: Path, hooks: dict, scripts: dict[str, str] | None = None) -> Path:
    root = project / ".claude" / "conductor"
    for name, body in (scripts or {}).items():
        script = root / name
        script.write_text("#!/bin/sh\n" + body)
        script.chmod(0o755)
    path = root / "hooks.json"
    path.write_text(json.dumps(hooks, indent=2))
    return path


def trust(project: Path) -> str:
    return ok(project, "hooks", "--trust")


def test_a_pre_hook_that_exits_non_zero_refuses_with_its_last_line(project: Path) -> None:
    write_hooks(
        project,
        {"pre-activate": ["./veto.sh"]},
        {"veto.sh": 'echo "checking" >&2\necho "not on the release branch" >&2\nexit 3\n'},
    )
    trust(project)
    done = conductor_in(project, "activate", "Track one")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: pre-activate hook `./veto.sh` refused (exit 3): not on the release branch"
    ]
    assert status(project, "Track one") == "draft"  # nothing changed
    ok(project, "ready", "Track one")  # other events have no hook: they run


def test_hooks_get_the_event_on_stdin_and_in_the_environment(project: Path) -> None:
    record = (
        'cat > "$CONDUCTOR_EVENT.json"\nenv | grep ^CONDUCTOR_ | sort > "$CONDUCTOR_EVENT.env"\n'
    )
    write_hooks(
        project,
        {
            "pre-activate": "./record.sh",
            "post-activate": "./record.sh",
            "post-create": "./record.sh",
        },
        {"record.sh": record},
    )
    trust(project)
    ok(project, "activate", "Track one")
    root = project / ".claude" / "conductor"
    track_id = json.loads(ok(project, "show", "Track one", "--json"))["track_id"]
    before = json.loads((root / "pre-activate.json").read_text())
    after = json.loads((root / "post-activate.json").read_text())
    assert before["event"] == after["event"] == "activate"
    assert before["hook"] == "pre-activate" and after["hook"] == "post-activate"
    assert before["track_id"] == after["track_id"] == track_id
    assert before["track"]["status"] == "draft"  # as it was
    assert after["track"]["status"] == "active"  # on disk when the post-hook runs
    env = (root / "pre-activate.env").read_text().splitlines()
    assert env == [
        "CONDUCTOR_EVENT=pre-activate",
        f"CONDUCTOR_ROOT={root}",
        f"CONDUCTOR_TRACK_ID={track_id}",
    ]
    ok(project, "create", "--name", "Track three")
    created = json.loads((root / "post-create.json").read_text())
    assert created["name"] == "Track three" and created["track"]["status"] == "draft"


def test_a_failing_post_hook_is_a_warning_and_the_change_stays(project: Path) -> None:
    write_hooks(
        project,
        {"post-ready": ["echo notified > notified.txt", "echo 'mail server down' >&2; exit 1"]},
    )
    trust(project)
    done = conductor_in(project, "ready", "Track one")
    assert done.returncode == 0
    assert status(project, "Track one") == "ready"
    assert (project / ".claude" / "conductor" / "notified.txt").read_text() == "notified\n"
    assert done.stderr.strip().splitlines() == [
        "warning: post-ready hook `echo 'mail server down' >&2; exit 1` failed (exit 1): "
        "mail server down"
    ]


def test_a_hook_past_its_timeout_is_stopped(project: Path) -> None:
    write_hooks(
        project,
        {"timeout": 0.5, "pre-cancel": ["./slow.sh"]},
        {"slow.sh": "echo $$ > slow.pid\nexec sleep 60\n"},
    )
    trust(project)
    done = conductor_in(project, "cancel", "Track two")
    assert done.returncode == 1
    assert "pre-cancel hook `./slow.sh` refused: still running after 0.5 s (stopped)" in done.stderr
    assert status(project, "Track two") == "draft"
    pid = int((project / ".claude" / "conductor" / "slow.pid").read_text())
    assert not running(pid)  # the sleep was killed, not left behind


def running(pid: int) -> bool:
    """Whether the process runs (a killed one whose parent is gone may stay a zombie
    until init reaps it: that is not running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rpartition(")")[2].split()[0] != "Z"


def test_switch_has_hooks_of_its_own(project: Path) -> None:
    write_hooks(project, {"post-switch": "cat > switched.json"})
    trust(project)
    ok(project, "activate", "Track one")
    ok(project, "switch", "--to", "Track two")
    event = json.loads((project / ".claude" / "conductor" / "switched.json").read_text())
    ids = {
        n: json.loads(ok(project, "show", n, "--json"))["track_id"]
        for n in ("Track one", "Track two")
    }
    assert event["track_id"] == ids["Track two"] and event["from_track"] == ids["Track one"]


def test_untrusted_hooks_do_not_run_until_trusted_and_a_change_untrusts(
    project: Path, tmp_path: Path
) -> None:
    hooks = write_hooks(project, {"pre-ready": "echo 'no' >&2; exit 1"})
    listed = ok(project, "hooks")
    assert "pre-ready" in listed and "not trusted on this machine" in listed

    done = conductor_in(project, "ready", "Track one")
    assert done.returncode == 0  # the veto did not run
    assert done.stderr.count(NOT_TRUSTED) == 1
    assert f"hooks in {hooks} {NOT_TRUSTED}" in done.stderr

    assert "trusted on this machine" in trust(project)
    record = json.loads((tmp_path / "xdg" / "conductor_nb" / "trusted.json").read_text())
    assert len(record[str(hooks)]) == 64  # a sha256, outside the tree
    refused = conductor_in(project, "ready", "Track two")
    assert refused.returncode == 1 and "refused (exit 1): no" in refused.stderr

    hooks.write_text(hooks.read_text().replace("exit 1", "exit 2"))  # arrived by a pull
    again = conductor_in(project, "ready", "Track two")
    assert again.returncode == 0 and again.stderr.count(NOT_TRUSTED) == 1
    data = json.loads(ok(project, "hooks", "--json"))
    assert data["trusted"] is False and data["hooks"][0]["hook"] == "pre-ready"


def test_a_malformed_hooks_file_cannot_be_trusted(project: Path) -> None:
    write_hooks(project, {"pre-launch": "true"})
    done = conductor_in(project, "hooks", "--trust")
    assert done.returncode == 1
    assert "unknown key 'pre-launch'" in done.stderr and len(done.stderr.splitlines()) == 1
