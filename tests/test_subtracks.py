"""Sub-tracks: a parent named in track.json and the registry entry, the family progress
rule, a parent that cannot complete over open children, no loops, ``list --tree`` through
the real CLI, and the board and the panel showing the hierarchy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_process import conductor_in

from conductor_nb import Conductor, hierarchy
from conductor_nb.engine import Engine
from conductor_nb.errors import InvalidInput
from conductor_nb.notebook import watch
from conductor_nb.notebook.board import Board
from conductor_nb.notebook.panel import TrackPanel


@pytest.fixture
def watcher():
    instance = watch.Watcher(interval=0.05)
    yield instance
    instance.stop()


@pytest.fixture
def family(engine: Engine) -> dict[str, str]:
    """Epic > (Backend > Schema, Frontend): names -> ids."""
    ids = {"Epic": engine.create("Epic")["track_id"]}
    for name, parent in (("Backend", "Epic"), ("Frontend", "Epic"), ("Schema", "Backend")):
        ids[name] = engine.create_track(name, parent=parent)["track_id"]
    return ids


def on_disk(engine: Engine, track_id: str) -> dict:
    return json.loads(engine.tree.track_file(track_id, "track.json").read_text())


def entry(progress: float, steps: int, status: str = "draft", parent: str | None = None):
    done = {"percentage": progress, "total_steps": steps, "completed_steps": 0}
    return {"status": status, "progress": done, "parent_track": parent}


# -- the family progress rule -------------------------------------------------------------


def test_family_progress_counts_own_steps_and_each_child_by_its_progress() -> None:
    tracks = {
        "p": entry(50, 2),  # one of two own steps done
        "half": entry(50, 4, parent="p"),  # counts 0.5
        "done": entry(0, 0, "completed", parent="p"),  # counts 1
        "dropped": entry(0, 3, "cancelled", parent="p"),  # left out
    }
    # (1 own step + 0.5 + 1) / (2 own steps + 2 children)
    assert hierarchy.family_progress(tracks) == {"p": 62.5}


def test_grandchildren_count_through_their_parent() -> None:
    tracks = {
        "top": entry(0, 0),
        "mid": entry(100, 1, parent="top"),  # its own step done, its child half done
        "leaf": entry(50, 2, parent="mid"),
    }
    progress = hierarchy.family_progress(tracks)
    assert progress["mid"] == 75.0  # (1 + 0.5) / 2
    assert progress["top"] == 75.0  # no own steps: its one child's progress


def test_a_loop_written_by_hand_neither_hangs_nor_hides_tracks() -> None:
    tracks = {
        "a": {**entry(0, 1, parent="b"), "track_id": "a"},
        "b": {**entry(0, 1, parent="a"), "track_id": "b"},
        "c": {**entry(0, 1, parent="a"), "track_id": "c"},
    }
    ordered = hierarchy.tree_order(tracks.values(), tracks)
    assert sorted(e["track_id"] for e, _ in ordered) == ["a", "b", "c"]
    assert ("c", 1) in [(e["track_id"], d) for e, d in ordered]
    assert set(hierarchy.family_progress(tracks)) == {"a", "b"}


def test_the_engine_reports_a_parent_s_family(engine: Engine, family: dict[str, str]) -> None:
    engine.add_step(family["Epic"], "Plan")
    engine.step(family["Epic"], "1", "complete")
    engine.add_step(family["Schema"], "Write it")
    engine.step(family["Schema"], "1", "complete")
    epic = engine.family("Epic")
    assert [c["name"] for c in epic["children"]] == ["Backend", "Frontend"]
    # Epic: its step (1) + Backend (its one child done: 1) + Frontend (0), over 3
    assert epic["family_progress"] == pytest.approx(66.7)
    schema = engine.family("Schema")
    assert schema["parent"] == family["Backend"]
    assert schema["ancestors"] == [family["Backend"], family["Epic"]]


# -- storing the parent --------------------------------------------------------------------


def test_the_parent_is_in_track_json_and_the_registry_entry(
    engine: Engine, family: dict[str, str]
) -> None:
    schema = family["Schema"]
    assert on_disk(engine, schema)["parent_track"] == family["Backend"]
    assert engine.registry().tracks[schema]["parent_track"] == family["Backend"]
    engine.set_parent(schema, "Epic")
    assert on_disk(engine, schema)["parent_track"] == family["Epic"]
    engine.set_parent(schema, "none")
    assert "parent_track" not in on_disk(engine, schema)
    assert "parent_track" not in engine.registry().tracks[schema]
    # the models keep the field
    assert Conductor(engine.root).get(family["Backend"]).parent_track == family["Epic"]


def test_rebuilding_the_registry_keeps_the_parents(engine: Engine, family: dict[str, str]) -> None:
    engine.tree.registry.path.unlink()
    engine.rebuild()
    assert engine.registry().tracks[family["Schema"]]["parent_track"] == family["Backend"]


# -- the rules -----------------------------------------------------------------------------


def test_no_track_can_be_its_own_ancestor(engine: Engine, family: dict[str, str]) -> None:
    with pytest.raises(InvalidInput, match="it is that track"):
        engine.set_parent("Epic", "Epic")
    with pytest.raises(InvalidInput, match="cannot be its own ancestor") as err:
        engine.set_parent("Epic", "Schema")  # Schema is Epic's grandchild
    assert family["Schema"] in str(err.value) and family["Epic"] in str(err.value)
    assert "parent_track" not in on_disk(engine, family["Epic"])  # nothing changed


def test_a_parent_cannot_complete_while_a_child_is_open(
    tmp_path: Path, root: Path, engine: Engine, family: dict[str, str]
) -> None:
    engine.transition("Epic", "activate")
    result = conductor_in(tmp_path, "complete", "Epic", env_root=root)
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1, result.stderr
    for name in ("Backend", "Frontend"):  # the open children, named with their ids
        assert f"'{name}' ({family[name]}) [draft]" in result.stderr
    assert "Schema" not in result.stderr  # a grandchild is Backend's to wait for
    assert engine.entry("Epic")["status"] == "active"

    engine.transition("Schema", "cancel")
    engine.transition("Backend", "cancel")
    engine.transition("Frontend", "activate", force=True)  # pauses Epic
    engine.transition("Frontend", "fail")  # failed is closed too
    engine.transition("Epic", "resume")
    done = conductor_in(tmp_path, "complete", "Epic", env_root=root)
    assert done.returncode == 0, done.stderr
    assert engine.entry("Epic")["status"] == "completed"


def test_an_open_track_cannot_go_under_a_completed_one(engine: Engine) -> None:
    engine.create("Done epic")
    engine.transition("Done epic", "activate")
    engine.transition("Done epic", "complete")
    with pytest.raises(InvalidInput, match="cannot take an open sub-track"):
        engine.create_track("Late child", parent="Done epic")
    assert engine.list() and all(e["name"] != "Late child" for e in engine.list())


# -- through the CLI -------------------------------------------------------------------------


def test_list_tree_shows_the_hierarchy_through_the_cli(tmp_path: Path, root: Path) -> None:
    def run(*args: str):
        result = conductor_in(tmp_path, *args, env_root=root)
        assert result.returncode == 0, result.stderr
        return result

    run("create", "--name", "Epic")
    run("create", "--name", "Backend", "--parent", "Epic", "--template", "feature")
    run("create", "--name", "Loose end")
    run("create", "--name", "Schema", "--parent", "Backend")
    run("update", "Loose end", "--parent", "Epic")
    run("step", "complete", "1", "--track-id", "Backend")

    # siblings newest first: Backend changed last (its step)
    text = run("list", "--tree").stdout.splitlines()
    depth_of = {"Epic": 0, "Backend": 1, "Schema": 2, "Loose end": 1}
    for line, (name, depth) in zip(text[1:], depth_of.items(), strict=True):
        assert f"  {'  ' * depth}{'- ' if depth else ''}{name}  " in line, text

    rows = json.loads(run("list", "--tree", "--json").stdout)
    by_name = {row["name"]: row for row in rows}
    assert [(row["name"], row["depth"]) for row in rows] == list(depth_of.items())
    assert by_name["Schema"]["parent_track"] == by_name["Backend"]["track_id"]
    assert by_name["Epic"]["parent_track"] is None
    # Backend: 1 of its 6 steps, plus Schema (0), over 7; Epic: (Backend + Loose end) / 2
    assert by_name["Backend"]["family_progress"] == pytest.approx(14.3)
    assert by_name["Epic"]["family_progress"] == pytest.approx(7.1)

    shown = run("show", "Epic").stdout
    assert "sub-tracks: 2, family progress 7.1%" in shown
    assert "Backend" in shown and "Loose end" in shown

    loop = conductor_in(tmp_path, "update", "Epic", "--parent", "Schema", env_root=root)
    assert loop.returncode == 1
    assert "cannot be its own ancestor" in loop.stderr
    mixed = conductor_in(
        tmp_path, "update", "Epic", "--parent", "none", "--field", "goal", env_root=root
    )
    assert mixed.returncode == 2
    assert "--parent TRACK|none" in mixed.stderr


# -- the board and the panel ------------------------------------------------------------------


def test_the_board_shows_children_indented_under_their_parent(
    engine: Engine, family: dict[str, str], watcher
) -> None:
    engine.create("Unrelated")  # the newest: first among the top-level tracks
    board = Board(engine, watcher=watcher, live=False, page_size=10)
    try:
        shown = [(e["name"], board.depths[e["track_id"]]) for e in board.visible]
        assert shown[0] == ("Unrelated", 0)
        epic_at = shown.index(("Epic", 0))
        assert shown[epic_at + 1 :] == [("Frontend", 1), ("Backend", 1), ("Schema", 2)] or (
            shown[epic_at + 1 :] == [("Backend", 1), ("Schema", 2), ("Frontend", 1)]
        )
        schema_row = board.row("Schema")
        assert schema_row.depth == 2
        assert "padding-left:48px" in schema_row.label.value
        assert "sub-track of Backend" in schema_row.label.value
        assert "padding-left:0px" in board.row("Epic").label.value
        lines = repr(board).splitlines()
        assert any(line.startswith(f"      {family['Schema']}") for line in lines), lines
        # filtered to the children alone: no parent shown, so no indentation
        board.search.value = "Schema"
        assert [board.depths[e["track_id"]] for e in board.visible] == [0]
    finally:
        board.close()


def test_the_board_bar_of_a_parent_is_its_family_progress(
    engine: Engine, family: dict[str, str], watcher
) -> None:
    engine.add_step("Frontend", "Only step")
    engine.step("Frontend", "1", "complete")
    board = Board(engine, watcher=watcher, live=False)
    try:
        assert board.row("Frontend").bar.value == 100
        assert board.row("Epic").bar.value == 50  # Frontend done, Backend at 0
        assert board.row("Backend").bar.value == 0
    finally:
        board.close()


def test_the_panel_shows_the_parent_and_the_children_with_their_status(
    engine: Engine, family: dict[str, str], watcher
) -> None:
    engine.transition("Frontend", "ready")
    panel = TrackPanel(engine, "Epic", watcher=watcher, live=False)
    child = TrackPanel(engine, "Schema", watcher=watcher, live=False)
    try:
        header = panel.header.value
        assert "Sub-tracks (2)" in header
        for name in ("Backend", "Frontend"):
            assert name in header and family[name] in header
        assert ">ready<" in header and ">draft<" in header  # each child's status badge
        assert "Parent:" not in header
        assert "Parent:</b> Backend" in child.header.value
        assert "Sub-tracks" not in child.header.value
        # a child's change shows in its parent's panel at the next refresh (Schema first:
        # Backend cannot be cancelled over its open sub-track)
        engine.transition("Schema", "cancel")
        engine.transition("Backend", "cancel")
        panel.refresh()
        assert ">cancelled<" in panel.header.value
    finally:
        panel.close()
        child.close()
