"""The team features from the Python API (`conductor_nb.Conductor` reaches each one), and
the sub-track rules closed parents keep: no cancel or archive over open sub-tracks, and
a repaired track.json keeps its parent."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cli_process import conductor_in

from conductor_nb import Conductor
from conductor_nb.engine import Engine
from conductor_nb.errors import InvalidInput


@pytest.fixture
def family(engine: Engine) -> dict[str, str]:
    """Epic > (Backend, Frontend): names -> ids."""
    ids = {"Epic": engine.create("Epic")["track_id"]}
    for name in ("Backend", "Frontend"):
        ids[name] = engine.create_track(name, parent="Epic")["track_id"]
    return ids


def on_disk(engine: Engine, track_id: str) -> dict:
    return json.loads(engine.tree.track_file(track_id, "track.json").read_text())


# -- cancel and archive wait for the sub-tracks, as complete does ----------------------------


def test_a_parent_cannot_be_cancelled_over_open_sub_tracks(
    tmp_path: Path, root: Path, engine: Engine, family: dict[str, str]
) -> None:
    engine.transition("Frontend", "ready")
    refused = conductor_in(tmp_path, "cancel", "Epic", "--reason", "dropped", env_root=root)
    assert refused.returncode == 1
    (line,) = refused.stderr.splitlines()
    assert f"'Epic' ({family['Epic']}) cannot cancel: its sub-tracks are still open" in line
    assert f"'Backend' ({family['Backend']}) [draft]" in line
    assert f"'Frontend' ({family['Frontend']}) [ready]" in line
    assert "cancel them first" in line and "--force" not in line
    assert engine.entry("Epic")["status"] == "draft"  # nothing changed
    assert on_disk(engine, family["Epic"])["status"] == "draft"

    for child in ("Backend", "Frontend"):  # as the message says: the children first
        engine.transition(child, "cancel")
    engine.transition("Epic", "cancel", reason="dropped")
    assert engine.entry("Epic")["status"] == "cancelled"


def test_a_parent_cannot_be_archived_over_an_open_sub_track(
    engine: Engine, family: dict[str, str]
) -> None:
    engine.transition("Backend", "cancel")
    engine.transition("Frontend", "activate")
    engine.transition("Frontend", "fail")  # failed: closed, so the parent may be cancelled
    engine.transition("Epic", "cancel")
    engine.transition("Frontend", "retry")  # open again, under a cancelled parent
    with pytest.raises(InvalidInput, match="cannot archive: its sub-tracks are still open") as err:
        engine.transition("Epic", "archive")
    assert "'Frontend'" in str(err.value) and "'Backend'" not in str(err.value)
    assert "cancel them first, then archive the parent" in str(err.value)
    engine.transition("Frontend", "cancel")
    assert engine.transition("Epic", "archive")["status"] == "archived"


def test_fail_is_not_held_up_by_sub_tracks(engine: Engine, family: dict[str, str]) -> None:
    engine.transition("Epic", "activate")
    assert engine.transition("Epic", "fail", reason="the approach was wrong")["status"] == "failed"


# -- repair keeps a sub-track under its parent ---------------------------------------------


def test_repair_rebuilds_a_damaged_track_json_with_its_parent(
    engine: Engine, family: dict[str, str]
) -> None:
    path = engine.tree.track_file(family["Backend"], "track.json")
    path.write_text('{"track_id": "track-backend-1", "name": ')  # cut short
    assert [p.kind for p in engine.validate()] == ["corrupt-track-file"]
    done = engine.repair()
    assert any("rewrote track.json from the registry" in line for line in done)
    assert on_disk(engine, family["Backend"])["parent_track"] == family["Epic"]
    children = [c["track_id"] for c in engine.family("Epic")["children"]]
    assert children == [family["Backend"], family["Frontend"]]
    assert engine.validate() == []


# -- every feature from the Python API ---------------------------------------------------


def test_conductor_reaches_templates_sub_tracks_and_dependencies(root: Path) -> None:
    c = Conductor(root=root)
    listed = {t["name"]: t for t in c.templates()}
    assert {"bugfix", "feature", "migration"} <= set(listed)
    assert listed["bugfix"]["origin"] == "built-in"
    assert c.template("bugfix", {"name": "Login crash"})["goal"] == "Fix Login crash"

    epic = c.create("Epic", goal="ship it")
    schema = c.create("Schema", template="migration", parent="Epic")
    api = c.create("Orders API", priority="P0", parent="Epic")
    assert schema.parent_track == epic.track_id and schema.type.value == "migration"
    assert [e["track_id"] for e in c.family("Epic")["children"]] == [
        schema.track_id,
        api.track_id,
    ]
    tree = {row["name"]: (row["depth"], row["parent_track"]) for row in c.tree()}
    assert tree == {
        "Epic": (0, None),
        "Schema": (1, epic.track_id),
        "Orders API": (1, epic.track_id),
    }
    assert c.tree()[0]["name"] == "Epic"  # the parent first, its children under it

    c.depend("Orders API", on="Schema")
    links = c.dependencies("Orders API")
    assert links["waiting_on"] == [schema.track_id]
    assert c.dependencies("Schema")["blocks"][0]["track_id"] == api.track_id
    assert c.next()["proposal"]["name"] != "Orders API"  # it waits on Schema
    assert c.dependency_graph()["edges"] == [{"from": api.track_id, "to": schema.track_id}]
    c.update("Schema", "target_directories", "src/db")
    c.update("Orders API", "target_files", "src/db/models.py")
    (pair,) = c.conflicts()
    assert {pair["track_id"], pair["other_id"]} == {schema.track_id, api.track_id}
    assert pair["overlaps"] == ["src/db/models.py is inside src/db/"]


def test_conductor_moves_bundles_and_shows_hooks_and_git_setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    here = Conductor(root=tmp_path / "here")
    track = here.create("Handover", goal="move me")
    bundle = tmp_path / "handover.tar.zst"
    written = here.export_bundle(["Handover"], bundle)
    assert written["tracks"] == [track.track_id] and bundle.is_file()

    project = tmp_path / "project"
    project.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    there = Conductor(root=project / ".claude" / "conductor")
    there.create("Already there")
    landed = there.import_bundle(bundle)
    assert [t["name"] for t in landed["tracks"]] == ["Handover"]
    assert there.get("Handover").context.goal == "move me"

    assert there.hooks()["exists"] is False
    (there.root / "hooks.json").write_text('{"post-create": "true"}')
    shown = there.hooks()
    assert (shown["exists"], shown["trusted"]) == (True, False)
    assert there.hooks(trust=True)["trusted"] is True

    first = there.checkpoint(track="Handover")["checkpoint_id"]
    saved = tmp_path / "saved.json"
    manifest = there.root / "tracks" / landed["tracks"][0]["track_id"] / "checkpoints"
    saved.write_bytes((manifest / f"{first}.json").read_bytes())
    (manifest / f"{first}.json").unlink()  # as if only another clone had it
    there.checkpoint(track="Handover")
    adopted = there.adopt_checkpoint(saved, track="Handover")
    assert (adopted["checkpoint_id"], adopted["adopted_from"]) == ("checkpoint-002", first)
    assert there.verify("checkpoint-002", track="Handover") == []

    done = there.git_setup()
    assert any("merge driver conductor-track" in line for line in done)
    attributes = (project / ".gitattributes").read_text()
    assert ".claude/conductor/tracks/*/track.json merge=conductor-track" in attributes


# -- git: two clones that both wrote a track's durations ------------------------------------


def test_metrics_both_sides_wrote_merge_to_the_later_side_either_way() -> None:
    from conductor_nb.gitmerge.merging import merge_track

    base = {
        "track_id": "t",
        "updated_at": "2026-01-01T00:00:00.000Z",
        "metrics": {"pause_count": 0},
    }
    alice = {
        **base,
        "updated_at": "2026-01-02T00:00:00.000Z",
        "metrics": {"pause_count": 1, "active_duration_ms": 826},
    }
    bob = {
        **base,
        "updated_at": "2026-01-03T00:00:00.000Z",
        "metrics": {"pause_count": 1, "active_duration_ms": 1479},
    }
    ours, merge = merge_track(base, alice, bob)
    theirs, other = merge_track(base, bob, alice)
    assert merge.conflicts == other.conflicts == []
    assert ours["metrics"] == theirs["metrics"] == bob["metrics"]  # bob wrote later
    only_alice, _ = merge_track(base, base, alice)  # one side alone: its figures
    assert only_alice["metrics"] == alice["metrics"]
