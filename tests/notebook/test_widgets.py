"""The board and the track panel without a browser: click buttons, set values, and check
what reached the disk and what the widgets show (the browser test proves the rendering)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import ipywidgets as widgets
import pytest

from conductor_nb.engine import Engine
from conductor_nb.lifecycle import ACTIONS, TRANSITIONS, plan, transition_verbs
from conductor_nb.notebook import watch
from conductor_nb.notebook.board import Board
from conductor_nb.notebook.controls import widget_tree
from conductor_nb.notebook.panel import TrackPanel
from conductor_nb.vocab import TrackStatus

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def watcher():
    """A private watcher, so tests never share polling state."""
    instance = watch.Watcher(interval=0.05)
    yield instance
    instance.stop()


def board_of(engine: Engine, watcher: watch.Watcher, **kwargs) -> Board:
    return Board(engine, watcher=watcher, live=False, **kwargs)


def on_disk(engine: Engine, track_id: str) -> dict:
    return json.loads(engine.tree.track_file(track_id, "track.json").read_text())


def descendants(widget: widgets.Widget) -> list[widgets.Widget]:
    return widget_tree(widget)


# -- the buttons a status offers -------------------------------------------------------------


@pytest.mark.parametrize("status", list(TrackStatus))
def test_each_status_offers_exactly_its_transitions(status):
    verbs = transition_verbs(status.value)
    assert {ACTIONS[v].target for v in verbs} == set(TRANSITIONS[status])
    assert len(verbs) == len(TRANSITIONS[status])
    for verb in verbs:  # each button's verb is one the engine accepts from this status
        assert plan("t", status.value, verb)[-1][1] == ACTIONS[verb].target


def test_board_rows_show_the_valid_transitions_and_highlight_the_active_track(seed_root, watcher):
    board = board_of(Engine(seed_root), watcher)
    shown = [row for row in board.rows if row.track_id]
    assert {row.entry["status"] for row in shown} == {s.value for s in TrackStatus}
    for row in shown:
        assert row.verbs == transition_verbs(row.entry["status"])
        assert row.active == (row.entry["status"] == "active")
    assert sum(row.active for row in shown) == 1
    assert "active: Search refactor" in repr(board)


# -- filters, search, sort, pages --------------------------------------------------------------


@pytest.fixture
def many(engine):
    """45 tracks: types and priorities cycle, every third one is ready."""
    types = ["feature", "bugfix", "migration"]
    for i in range(45):
        track = engine.create(
            f"Track number {i:02d}", type=types[i % 3], priority=f"P{i % 4}", goal="g"
        )
        if i % 3 == 0:
            engine.transition(track["track_id"], "ready")
    return engine


def test_filters_and_search_narrow_the_board(many, watcher):
    board = board_of(many, watcher, page_size=10)
    assert len(board.matching) == 45
    assert len(board.visible) == 10
    board.status_filter.value = ("ready",)
    assert len(board.matching) == 15
    assert all(row.entry["status"] == "ready" for row in board.rows if row.track_id)
    board.type_filter.value = ("feature",)
    assert {x["type"] for x in board.matching} == {"feature"}
    assert len(board.matching) == 15  # every ready one is a feature (i % 3 == 0)
    board.priority_filter.value = ("P0",)
    assert {x["priority"] for x in board.matching} == {"P0"}
    board.status_filter.value = ()
    board.type_filter.value = ()
    board.priority_filter.value = ()
    board.search.value = "NUMBER 4"  # case-insensitive, name or id
    assert sorted(x["name"] for x in board.matching) == [f"Track number 4{i}" for i in range(5)]
    board.search.value = "zzz"
    assert board.matching == []
    assert all(row.track_id is None for row in board.rows)
    assert "0 matching" in repr(board)


def test_paging_and_sorting(many, watcher):
    board = board_of(many, watcher, page_size=20)
    board.sort.value = "name"
    names = [x["name"] for x in board.matching]
    assert names == sorted(names)
    assert board.previous.disabled and not board.next.disabled
    board.next.click()
    assert board.page_label.value == "page 2 of 3"
    assert [r.entry["name"] for r in board.rows if r.track_id] == names[20:40]
    board.next.click()
    assert len(board.visible) == 5 and board.next.disabled
    assert sum(1 for r in board.rows if r.track_id) == 5
    board.search.value = "Track"  # a filter change goes back to the first page
    assert board.page == 0


def test_status_filter_accepts_the_magic_s_lists(many, watcher):
    board = board_of(many, watcher, status=["draft", "ready", "active", "paused"])
    assert board.status_filter.label == "open"
    board = board_of(many, watcher, status=["draft", "completed"])
    assert board.status_filter.value == ("draft", "completed")
    assert {x["status"] for x in board.matching} == {"draft"}
    board = board_of(many, watcher, type=["feature", "bugfix"], priority=["P1", "P2"])
    assert {x["type"] for x in board.matching} == {"feature", "bugfix"}
    assert {x["priority"] for x in board.matching} == {"P1", "P2"}
    assert board.type_filter.label == "feature,bugfix"


# -- actions -----------------------------------------------------------------------------------


def button(row, verb):
    return next(b for b in row.buttons if b.description == verb and b.layout.display != "none")


def test_a_transition_button_changes_the_track_on_disk(engine, watcher):
    track = engine.create("Board click", goal="g")
    board = board_of(engine, watcher)
    row = board.row("Board click")
    button(row, "ready").click()
    assert on_disk(engine, track["track_id"])["status"] == "ready"
    assert row.verbs == ["activate", "cancel"]  # the same row widget, updated
    assert board.message.text == "Board click is now ready"
    button(row, "activate").click()
    assert on_disk(engine, track["track_id"])["status"] == "active"
    assert row.active
    history = on_disk(engine, track["track_id"])["history"]
    assert [h["to"] for h in history][-2:] == ["ready", "active"]


def test_ending_a_track_asks_first_and_keeps_the_reason(engine, watcher):
    track = engine.create("To cancel", goal="g")
    board = board_of(engine, watcher)
    button(board.row("To cancel"), "cancel").click()
    assert board.confirm.asking
    assert on_disk(engine, track["track_id"])["status"] == "draft"
    board.confirm.keep.click()
    assert not board.confirm.asking
    assert on_disk(engine, track["track_id"])["status"] == "draft"
    button(board.row("To cancel"), "cancel").click()
    board.confirm.reason.value = "superseded"
    board.confirm.confirm.click()
    saved = on_disk(engine, track["track_id"])
    assert saved["status"] == "cancelled"
    assert saved["history"][-1]["reason"] == "superseded"


def test_activating_while_another_is_active_offers_a_switch(engine, watcher):
    first = engine.create("First", goal="g")
    second = engine.create("Second", goal="g")
    engine.transition(first["track_id"], "activate")
    engine.transition(second["track_id"], "ready")
    board = board_of(engine, watcher)
    button(board.row("Second"), "activate").click()
    assert board.message.kind == "error"
    assert "only one track can be active" in board.message.text
    assert board.confirm.asking and board.confirm.confirm.description == "switch"
    board.confirm.confirm.click()
    assert on_disk(engine, second["track_id"])["status"] == "active"
    assert on_disk(engine, first["track_id"])["status"] == "paused"
    assert board.row("Second").active and not board.row("First").active


def test_an_error_shows_in_the_board_not_as_a_traceback(engine, watcher):
    track = engine.create("Gone soon", goal="g")
    board = board_of(engine, watcher)
    row = board.row("Gone soon")
    engine.transition(track["track_id"], "cancel")  # behind the board's back
    button(row, "ready").click()  # the row still offers what it last saw
    assert board.message.kind == "error"
    assert "cancel" in board.message.text
    assert row.verbs == ["archive"]  # and the board now shows the truth


def test_closing_closes_every_widget_model(engine, watcher):
    engine.create("Closing time", goal="g")
    board = Board(engine, watcher=watcher)
    board.row("Closing time").open_button.click()
    everything = descendants(board) + descendants(board.panel)
    assert all(w.comm is not None for w in everything)
    board.close()
    assert [w for w in everything if w.comm is not None] == []
    assert not watcher.watching(board)


def test_a_damaged_registry_shows_in_the_board_and_a_repair_brings_it_back(engine, watcher):
    engine.create("Survivor", goal="g")
    board = board_of(engine, watcher)
    registry = engine.tree.registry.path
    good = registry.read_bytes()
    registry.write_text("{ not json")
    board.refresh()
    assert board.message.kind == "error"
    assert "conductor rebuild" in board.message.text or "conductor repair" in board.message.text
    assert board.row("Survivor")  # what it showed stays
    registry.write_bytes(good)
    board.refresh()
    assert board.row("Survivor").verbs == ["ready", "cancel"]
    assert board.message.kind == ""  # the reading error is gone with its cause


def test_a_panel_whose_track_is_gone_says_so(engine, watcher):
    track = engine.create("Short lived", goal="g")
    panel = panel_of(engine, track["track_id"], watcher)
    engine.tree.track_file(track["track_id"], "track.json").unlink()
    panel.refresh()
    assert panel.message.kind == "error" and "missing" in panel.message.text
    assert "Short lived" in panel.header.value  # the last good view stays


def test_refresh_without_changes_sends_nothing_and_keeps_the_widgets(many, watcher):
    board = board_of(many, watcher)
    before = descendants(board)
    changes = []
    for widget in before:
        widget.observe(changes.append)
    board.refresh()
    assert changes == []
    assert [id(w) for w in descendants(board)] == [id(w) for w in before]
    many.transition(
        board.rows[0].track_id, "ready" if board.rows[0].verbs[0] == "ready" else "cancel"
    )
    board.refresh()
    assert changes  # only now something is sent
    assert [id(w) for w in descendants(board)] == [id(w) for w in before]


def test_new_track_form_creates_a_draft_and_refuses_bad_names(engine, watcher):
    board = board_of(engine, watcher)
    form = board.new_track
    form.name.value = "Made on the board"
    form.type.value = "bugfix"
    form.priority.value = "P0"
    form.goal.value = "Fix it"
    form.create.click()
    [entry] = engine.list()
    assert (entry["name"], entry["type"], entry["priority"], entry["status"]) == (
        "Made on the board",
        "bugfix",
        "P0",
        "draft",
    )
    assert engine.track(entry["track_id"])["context"]["goal"] == "Fix it"
    assert form.name.value == "" and board.row("Made on the board").verbs == ["ready", "cancel"]
    form.name.value = "Made on the board"  # a duplicate name: one line in the board
    form.create.click()
    assert board.message.kind == "error" and "exists" in board.message.text
    assert len(engine.list()) == 1
    assert form.name.value == "Made on the board"  # kept, to correct it


def test_open_shows_the_panel_under_the_board_and_closes_it(engine, watcher):
    track = engine.create("Opened", goal="Look inside")
    board = board_of(engine, watcher)
    row = board.row("Opened")
    row.open_button.click()
    assert isinstance(board.panel, TrackPanel) and board.panel.track_id == track["track_id"]
    assert board.detail.children == (board.panel,)
    assert row.open_button.description == "close"
    next(b for b in board.panel.buttons if b.description == "ready").click()
    assert row.verbs == ["activate", "cancel"]  # the board follows the panel at once
    panel = board.panel
    row.open_button.click()
    assert board.panel is None and board.detail.children == ()
    assert row.open_button.description == "open"
    assert not watcher.watching(panel)


# -- live refresh from another process -----------------------------------------------------------


def cli(root: Path, *args: str) -> None:
    env = {**os.environ, "CONDUCTOR_ROOT": str(root)}
    subprocess.run(
        [sys.executable, "-m", "conductor_nb.cli", *args], env=env, check=True, timeout=60
    )


def wait_for(condition, seconds: float = 30.0) -> float:
    """Poll until ``condition()`` holds. These tests prove a change arrives by itself;
    how fast is benchmarks/bench_board.py's job, so the timeout is generous enough for a
    loaded machine (a view that never refreshes still fails)."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < seconds, f"the widget did not refresh in {seconds} s"
        time.sleep(0.02)
    return time.monotonic() - start


def test_board_and_panel_refresh_by_themselves_when_the_cli_changes_a_track(root, watcher):
    engine = Engine(root)
    track = engine.create("Live one", goal="g")
    board = Board(engine, watcher=watcher)
    panel = TrackPanel(engine, track["track_id"], watcher=watcher)
    assert watcher.watching(board) and watcher.watching(panel)
    cli(root, "ready", track["track_id"])
    wait_for(lambda: board.row("Live one").verbs == ["activate", "cancel"])
    wait_for(lambda: panel.buttons[0].description == "activate")
    cli(root, "decide", "Made elsewhere", "--track-id", track["track_id"])
    wait_for(lambda: "Made elsewhere" in panel.decisions_table.value)
    cli(root, "create", "Born in the CLI", "--goal", "g")
    wait_for(lambda: any(r.entry.get("name") == "Born in the CLI" for r in board.rows))
    board.close()
    panel.close()
    assert not watcher.watching(board) and not watcher.watching(panel)


def test_only_the_newest_views_stay_live(engine, watcher):
    watcher.max_live = 2
    engine.create("Some track", goal="g")
    boards = [Board(engine, watcher=watcher) for _ in range(3)]
    assert not watcher.watching(boards[0])
    assert "auto-refresh is off" in boards[0].message.text
    assert watcher.watching(boards[1]) and watcher.watching(boards[2])


def test_a_failing_view_does_not_stop_the_others(engine, watcher):
    class Broken:
        def __init__(self):
            self.n = 0

        def signature(self):
            self.n += 1
            return (self.n,)

        def refresh(self):
            raise RuntimeError("boom")

        def stop_watching(self, why):
            pass

    engine.create("Still live", goal="g")
    watcher.watch(Broken())
    board = Board(engine, watcher=watcher)
    track_id = board.rows[0].track_id
    engine.transition(track_id, "ready")
    wait_for(lambda: board.rows[0].entry["status"] == "ready")


# -- escaping -----------------------------------------------------------------------------------


def test_user_text_is_escaped_everywhere(engine, watcher):
    track = engine.create(XSS, goal=XSS, success_criteria=[XSS])
    engine.decide(track["track_id"], XSS, rationale=XSS, alternatives=[XSS])
    engine.assume(track["track_id"], XSS)
    engine.add_step(track["track_id"], XSS)
    board = board_of(engine, watcher)
    panel = TrackPanel(engine, track["track_id"], watcher=watcher, live=False)
    board.confirm.ask(XSS, "x", lambda _: None)
    html_widgets = [
        w for w in descendants(board) + descendants(panel) if isinstance(w, widgets.HTML)
    ]
    html = "".join(w.value for w in html_widgets)
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img" not in html
    for bundle in (board._repr_mimebundle_(), panel._repr_mimebundle_()):
        assert "<img" not in bundle["text/html"]
    # Checkbox descriptions are text, never HTML.
    assert panel.step_rows[0].checkbox.description == XSS
    assert not panel.step_rows[0].checkbox.description_allow_html


# -- the track panel ----------------------------------------------------------------------------


@pytest.fixture
def active(engine):
    track = engine.create(
        "Panel track", goal="Ship it", success_criteria=["tests pass", "docs written"]
    )
    engine.transition(track["track_id"], "activate")
    for name in ("design", "build", "review"):
        engine.add_step(track["track_id"], name)
    return track["track_id"]


def panel_of(engine, track_id, watcher) -> TrackPanel:
    return TrackPanel(engine, track_id, watcher=watcher, live=False)


def test_panel_shows_goal_criteria_progress_and_tabs(engine, active, watcher):
    panel = panel_of(engine, active, watcher)
    assert "Ship it" in panel.header.value and "docs written" in panel.header.value
    assert [b.description for b in panel.buttons if b.layout.display != "none"] == [
        "pause",
        "complete",
        "fail",
    ]
    assert panel.tabs.titles[0] == "Steps (3)"
    assert panel.progress_label.value.startswith("0/3 steps")
    assert repr(panel).startswith("Track('Panel track', status='active'")


def test_ticking_and_unticking_steps(engine, active, watcher):
    panel = panel_of(engine, active, watcher)
    panel.step_rows[0].checkbox.value = True
    steps = on_disk(engine, active)["steps"]
    assert steps[0]["status"] == "completed"
    assert panel.progress.value == 33
    assert panel.progress_label.value.startswith("1/3 steps")
    panel.step_rows[0].checkbox.value = False
    steps = on_disk(engine, active)["steps"]
    assert steps[0]["status"] == "pending"
    assert "completed_at" not in steps[0].get("timing", {})
    assert panel.progress.value == 0
    panel.new_step.value = "ship"
    panel.add_step_button.click()
    assert [s["name"] for s in on_disk(engine, active)["steps"]][-1] == "ship"
    assert panel.new_step.value == ""
    assert len(panel.step_rows) == 4


def test_recording_decisions_and_assumptions(engine, active, watcher):
    panel = panel_of(engine, active, watcher)
    panel.decision_summary.value = "Use PKCE"
    panel.decision_rationale.value = "Public clients"
    panel.decision_alternatives.value = "implicit flow, password grant"
    panel.decide_button.click()
    decisions = engine.decisions(active)
    assert decisions[-1]["summary"] == "Use PKCE"
    assert decisions[-1]["alternatives"] == ["implicit flow", "password grant"]
    assert panel.decision_summary.value == ""
    assert "Use PKCE" in panel.decisions_table.value
    assert panel.tabs.titles[1] == "Decisions (1)"

    panel.decide_button.click()  # empty summary: an error in the panel, nothing written
    assert panel.message.kind == "error"
    assert len(engine.decisions(active)) == 1

    panel.assumption_statement.value = "Users have modern browsers"
    panel.assume_button.click()
    assumption_id = engine.assumptions(active)[0]["id"]
    panel.assumption_choice.value = assumption_id
    panel.assumption_status.value = "validated"
    panel.assumption_note.value = "analytics"
    panel.mark_button.click()
    assert engine.assumptions(active)[0]["status"] == "validated"
    assert "validated" in panel.assumptions_table.value


def test_checkpoint_history_create_verify_diff_restore(engine, active, watcher):
    engine.add_artifact(active, "notes.md", data="first version\n")
    panel = panel_of(engine, active, watcher)
    panel.checkpoint_reason.value = "before the rewrite"
    panel.create_button.click()
    assert panel.message.kind == "ok", panel.message.text
    [manifest] = engine.checkpoints(active)
    assert manifest["reason"] == "before the rewrite"
    assert manifest["checkpoint_id"] in panel.checkpoints_table.value
    assert panel.checkpoint_choice.value == manifest["checkpoint_id"]

    panel.verify_button.click()
    assert "intact" in panel.checkpoint_result.value

    artifact = engine.tree.track_file(active, "context", "artifacts", "notes.md")
    engine.add_artifact(active, "notes.md", data="second version\n")
    panel.diff_button.click()
    assert "context/artifacts/notes.md" in panel.checkpoint_result.value
    panel.verify_button.click()  # each action's latest result stays readable
    assert "intact" in panel.checkpoint_result.value
    assert "context/artifacts/notes.md" in panel.checkpoint_result.value

    panel.restore_button.click()  # asks first
    assert panel.confirm.asking
    assert artifact.read_text() == "second version\n"
    panel.confirm.confirm.click()
    assert panel.message.kind == "ok", panel.message.text
    assert artifact.read_text() == "first version\n"
    kinds = [c["kind"] for c in engine.checkpoints(active)]
    assert "safety" in kinds  # what the restore replaced is kept
    assert panel.tabs.titles[-1] == f"Checkpoints ({len(kinds)})"


def test_verify_names_the_damaged_file(engine, active, watcher):
    engine.add_artifact(active, "data.txt", data="x" * 1000)
    manifest = engine.create_checkpoint(active, reason="r")
    blob = next(iter(engine.tree.track_file(active, "checkpoints", "blobs").rglob("*.zst")))
    blob.write_bytes(blob.read_bytes()[:-3] + b"\x00\x00\x00")
    panel = panel_of(engine, active, watcher)
    panel.checkpoint_choice.value = manifest["checkpoint_id"]
    panel.verify_button.click()
    assert "damaged" in panel.checkpoint_result.value
    panel.restore_button.click()
    panel.confirm.confirm.click()  # restoring from a damaged checkpoint is refused
    assert panel.message.kind == "error"


def test_panel_transitions_and_closed_tracks(engine, active, watcher):
    panel = panel_of(engine, active, watcher)
    next(b for b in panel.buttons if b.description == "complete").click()
    assert on_disk(engine, active)["status"] == "completed"
    assert all(row.checkbox.disabled for row in panel.step_rows)
    assert panel.add_step_button.disabled
    assert [b.description for b in panel.buttons if b.layout.display != "none"] == ["archive"]


def test_timeline_of_a_track_the_original_tool_wrote(seed_root, watcher):
    engine = Engine(seed_root)
    panel = panel_of(engine, "track-user-authentication-1795583994454", watcher)
    assert "rebuilt from the track" in panel.timeline.value
    assert panel.timeline_length > 0


# -- through the magic and the CLI ---------------------------------------------------------------


def test_magic_returns_the_board_and_the_panel(track, root):
    track("create --name 'Magic board' --goal g")
    track("create --name 'Other one' --type bugfix --goal g")
    board = track("board --type bugfix")
    try:
        assert isinstance(board, Board)
        assert [x["name"] for x in board.matching] == ["Other one"]
        bundle = board._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle
        assert "Other one" in bundle["text/plain"]
    finally:
        board.close()
    panel = track("show 'Magic board'")
    try:
        assert isinstance(panel, TrackPanel)
        assert "Magic board" in panel._repr_mimebundle_()["text/html"]
    finally:
        panel.close()


def test_a_board_activation_gives_the_kernel_the_lease(track, magics, root):
    track("create --name 'Leased' --goal g")
    board = track("board")
    try:
        button(board.row("Leased"), "ready").click()
        button(board.row("Leased"), "activate").click()
        track_id = board.row("Leased").track_id
        assert track_id in magics._keepers
    finally:
        board.close()


def test_cli_board_lists_actions(root):
    cli(root, "create", "CLI board", "--goal", "g")
    env = {**os.environ, "CONDUCTOR_ROOT": str(root)}
    out = subprocess.run(
        [sys.executable, "-m", "conductor_nb.cli", "board", "--search", "cli"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "CLI board" in out and "ready cancel" in out


def test_panel_times_read_as_utc_to_the_second(engine, active, watcher):
    from conductor_nb.notebook.panel import when

    assert when("2026-03-01T09:00:00.123Z") == "2026-03-01 09:00:00 UTC"
    assert when("2026-03-01T10:00:00+01:00") == "2026-03-01 09:00:00 UTC"
    assert when("<b>not a time</b>") == "&lt;b&gt;not a time&lt;/b&gt;"
    assert when(None) == "-"
    panel = panel_of(engine, active, watcher)
    created = on_disk(engine, active)["history"][0]["at"]
    assert when(created) in panel.timeline.value
