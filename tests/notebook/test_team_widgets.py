"""The team features in the widgets and the magic, in this process: the board's "Next:"
line (what `next` proposes, refreshed with the board), the panel's dependencies, and Tab
completion of `--template` from the root's templates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conductor_nb.engine import Engine
from conductor_nb.notebook import watch
from conductor_nb.notebook.board import Board
from conductor_nb.notebook.completion import candidates
from conductor_nb.notebook.panel import TrackPanel

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def watcher():
    instance = watch.Watcher(interval=0.05)
    yield instance
    instance.stop()


@pytest.fixture
def planned(engine: Engine) -> dict[str, str]:
    """Schema (P1) blocks Orders API (P0); Load test is related to Orders API."""
    ids = {
        "Schema": engine.create("Schema", priority="P1")["track_id"],
        "Orders API": engine.create("Orders API", priority="P0")["track_id"],
        "Load test": engine.create("Load test", priority="P3")["track_id"],
    }
    engine.depend("Orders API", on="Schema")
    engine.depend("Load test", related="Orders API")
    return ids


# -- the board's "Next:" line --------------------------------------------------------------


def test_the_board_says_what_to_start_next_and_why(engine, planned, watcher) -> None:
    board = Board(engine, watcher=watcher, live=False)
    try:
        assert board.children[0] is board.next_up  # the line at the top
        assert "conductor-next" in board.next_up._dom_classes
        # Orders API is P0 but waits on Schema: Schema comes first, as `next` says
        assert "Next: <b>Schema</b>" in board.next_up.value
        assert "P1, draft, unblocks 1 track, new today" in board.next_up.value
        lines = repr(board).splitlines()
        assert lines[1] == "Next: Schema (P1, draft, unblocks 1 track, new today)"
        assert "Next: <b>Schema</b>" in board._repr_mimebundle_()["text/html"]

        engine.transition("Schema", "activate")
        engine.transition("Schema", "complete")
        board.refresh()  # what the live refresh runs when the registry changes
        assert "Next: <b>Orders API</b>" in board.next_up.value
        assert repr(board).splitlines()[1].startswith("Next: Orders API (P0, draft, ")
    finally:
        board.close()


def test_the_board_says_why_nothing_can_start(engine, watcher) -> None:
    engine.create("Schema")
    engine.create("Orders API")
    engine.depend("Orders API", on="Schema")
    engine.transition("Schema", "activate")
    board = Board(engine, watcher=watcher, live=False)
    try:
        text = repr(board).splitlines()[1]
        assert text.startswith("Next: nothing can start (every open track waits on another")
        assert "'Schema'" in text and "is active" in text
        assert "<i>nothing can start</i>" in board.next_up.value
    finally:
        board.close()


def test_the_next_line_escapes_the_name(engine, watcher) -> None:
    engine.create(f"Ship {XSS}")
    board = Board(engine, watcher=watcher, live=False)
    try:
        for html in (board.next_up.value, board._repr_mimebundle_()["text/html"]):
            assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    finally:
        board.close()


# -- the panel's dependencies ---------------------------------------------------------------


def test_the_panel_shows_what_a_track_waits_on_blocks_and_relates_to(
    engine, planned, watcher
) -> None:
    api = TrackPanel(engine, "Orders API", watcher=watcher, live=False)
    schema = TrackPanel(engine, "Schema", watcher=watcher, live=False)
    alone = engine.create("Unrelated")["track_id"]
    other = TrackPanel(engine, alone, watcher=watcher, live=False)
    try:
        header = api.header.value
        assert "conductor-dependencies" in header and "blocked: 1 not done" in header
        waits = header.split("Waits on (1)", 1)[1].split("</ul>", 1)[0]
        assert "Schema" in waits and planned["Schema"] in waits
        assert ">draft<" in waits and "not done" in waits  # its status, and that it holds up
        related = header.split("Related (1)", 1)[1].split("</ul>", 1)[0]
        assert "Load test" in related and planned["Load test"] in related
        assert "Blocks (" not in header

        blocks = schema.header.value.split("Blocks (1)", 1)[1].split("</ul>", 1)[0]
        assert "Orders API" in blocks and planned["Orders API"] in blocks
        assert "Waits on" not in schema.header.value and "blocked:" not in schema.header.value
        assert "conductor-dependencies" not in other.header.value  # no links, no section

        engine.transition("Schema", "activate")
        engine.transition("Schema", "complete")
        api.refresh()  # the prerequisite's change reaches the panel at its next refresh
        waits = api.header.value.split("Waits on (1)", 1)[1].split("</ul>", 1)[0]
        assert ">completed<" in waits and "done" in waits and "not done" not in waits
        assert "blocked:" not in api.header.value
    finally:
        for panel in (api, schema, other):
            panel.close()


def test_the_dependency_section_escapes_names(engine, watcher) -> None:
    engine.create(f"Prereq {XSS}")
    waiting = engine.create("Waiting track")["track_id"]
    engine.depend(waiting, on=f"Prereq {XSS}")
    panel = TrackPanel(engine, waiting, watcher=watcher, live=False)
    try:
        section = panel.header.value.split("conductor-dependencies", 1)[1]
        assert "<img" not in section and "&lt;img src=x onerror=alert(1)&gt;" in section
    finally:
        panel.close()


# -- Tab completion of --template -------------------------------------------------------------


def tab(ip, line: str) -> set[str]:
    """What Tab offers at the end of ``line`` (IPython's completer, as a kernel runs it)."""
    from IPython.core.completer import provisionalcompleter

    with provisionalcompleter():
        return {c.text for c in ip.Completer.completions(line, len(line))}


def test_template_names_complete_from_the_root(ip, magics, root: Path) -> None:
    magics.engine().create("Makes the root")
    folder = root / "track-templates"
    folder.mkdir()
    (folder / "release.json").write_text(json.dumps({"type": "maintenance", "goal": "ship"}))
    offered = candidates("%track create --template ", lambda: magics.engine().list(), magics.engine)
    assert "release" in offered and {"bugfix", "feature", "migration"} <= set(offered)
    # through IPython's completer, as Tab in a notebook asks it
    assert {"release", "bugfix"} <= tab(ip, "%track create 'Next release' --template ")
    assert tab(ip, "%track create --template rel") == {"release"}
    # the other options' values still come from their declarations, without the root
    assert candidates("%track create --priority ", list, lambda: 1 / 0)[0] == "P0"
