"""Importing a bundle creates tracks, so it runs the create hooks: real sh scripts run by
the real CLI. A pre-create hook that refuses stops the whole import (nothing lands); the
post-create hooks run for each track once every one is on disk, with its id here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_process import conductor_in

from conductor_nb.engine import Engine


@pytest.fixture
def bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A bundle of two tracks (one active, one waiting on it), from another root."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))  # this machine's trust
    source = Engine(tmp_path / "source")
    schema = source.create("Schema", type="migration", goal="tables first")["track_id"]
    source.create("Orders API", priority="P0", goal="serve orders")
    source.depend("Orders API", on="Schema")
    source.transition(schema, "activate")
    path = tmp_path / "handover.tar.zst"
    source.export_bundle(["Schema", "Orders API"], path)
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    done = conductor_in(project, "create", "--name", "Already here")
    assert done.returncode == 0, done.stderr
    return project


def hooks_in(project: Path, hooks: dict, scripts: dict[str, str]) -> Path:
    root = project / ".claude" / "conductor"
    for name, body in scripts.items():
        (root / name).write_text("#!/bin/sh\n" + body)
        (root / name).chmod(0o755)
    (root / "hooks.json").write_text(json.dumps(hooks))
    trusted = conductor_in(project, "hooks", "--trust")
    assert trusted.returncode == 0, trusted.stderr
    return root


def names(project: Path) -> list[str]:
    listed = conductor_in(project, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    return sorted(entry["name"] for entry in json.loads(listed.stdout))


def test_a_pre_create_hook_refuses_the_whole_import(project: Path, bundle: Path) -> None:
    # the hook refuses migrations only: the second track of the bundle is fine
    veto = 'grep -q \'"type": "migration"\' && { echo "no migrations this week" >&2; exit 4; }\n'
    root = hooks_in(project, {"pre-create": "./veto.sh"}, {"veto.sh": veto + "exit 0\n"})
    registry = (root / "tracks" / "track-registry.json").read_bytes()
    done = conductor_in(project, "import", str(bundle))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: pre-create hook `./veto.sh` refused (exit 4): no migrations this week"
    ]
    assert names(project) == ["Already here"]  # nothing imported
    assert (root / "tracks" / "track-registry.json").read_bytes() == registry
    folders = [p.name for p in (root / "tracks").glob("track-*") if p.is_dir()]
    assert len(folders) == 1 and folders[0].startswith("track-already-here-")


def test_post_create_hooks_run_for_each_imported_track(project: Path, bundle: Path) -> None:
    record = 'cat > "post-$$.json"\n'  # a file per hook run ($$: the script's pid)
    pre = 'cat > "pre-$$.json"\n'
    root = hooks_in(
        project,
        {"pre-create": "./pre.sh", "post-create": "./record.sh"},
        {"record.sh": record, "pre.sh": pre},
    )
    done = conductor_in(project, "import", str(bundle), "--json")
    assert done.returncode == 0, done.stderr
    landed = {t["name"]: t for t in json.loads(done.stdout)["tracks"]}
    assert sorted(landed) == ["Orders API", "Schema"]

    before = [json.loads(p.read_text()) for p in root.glob("pre-*.json")]
    after = [json.loads(p.read_text()) for p in root.glob("post-*.json")]
    assert sorted(e["name"] for e in before) == ["Orders API", "Schema"]
    for event in before:  # told what create tells, and where the track comes from
        assert event["event"] == "create" and event["hook"] == "pre-create"
        assert event["track"] is None and event["bundle"] == str(bundle)
        assert event["bundle_track_id"].startswith("track-")
    schema = next(e for e in before if e["name"] == "Schema")
    assert (schema["type"], schema["goal"]) == ("migration", "tables first")

    assert len(after) == 2
    for event in after:  # the track as it landed, on disk when the hook ran
        track = event["track"]
        assert event["hook"] == "post-create"
        assert event["track_id"] == track["track_id"] == landed[track["name"]]["track_id"]
        on_disk = root / "tracks" / track["track_id"] / "track.json"
        assert json.loads(on_disk.read_text())["status"] == track["status"]
    statuses = {e["track"]["name"]: e["track"]["status"] for e in after}
    assert statuses == {"Schema": "paused", "Orders API": "draft"}  # active came in paused


def test_untrusted_create_hooks_do_not_run_on_import(project: Path, bundle: Path) -> None:
    root = project / ".claude" / "conductor"
    (root / "hooks.json").write_text(json.dumps({"pre-create": "exit 1"}))
    done = conductor_in(project, "import", str(bundle))
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("are not trusted") == 1  # said once, not once per track
    assert names(project) == ["Already here", "Orders API", "Schema"]
