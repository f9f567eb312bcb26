"""The magic reads the same declarations as the CLI: every outcome kind has an object,
completion and `%%track run` come from the grammar, and the board's filters are one rule
for `conductor board` and the widget."""

from __future__ import annotations

import json

import pytest
from IPython.core.error import UsageError

from conductor_nb import commands
from conductor_nb.cli import main
from conductor_nb.grammar import Arg, Command, CsvChoices
from conductor_nb.notebook import watch
from conductor_nb.notebook.board import Board
from conductor_nb.notebook.completion import candidates
from conductor_nb.notebook.magics import CONVERTERS
from conductor_nb.outcome import OutcomeKind


def test_every_outcome_kind_has_a_notebook_object() -> None:
    assert set(CONVERTERS) == set(OutcomeKind)


def test_completion_reads_the_declarations(monkeypatch) -> None:
    """A newly declared command is offered, with its options' values, and nothing else
    has to know about it; sub-actions and per-command choices come from the same place."""
    command = Command("paint", "paint a track", Arg("--colour", type=CsvChoices(["red", "blue"])))
    monkeypatch.setitem(commands.GRAMMAR.commands, "paint", command)

    def no_tracks():
        return []

    assert "paint" in candidates("%track pa", no_tracks)
    assert candidates("%track paint --colour ", no_tracks) == ["red", "blue"]
    assert candidates("%track step ", no_tracks)[:2] == ["add", "list"]
    assert "review" in candidates("%track step add x --type ", no_tracks)
    assert candidates("%track assume --status ", no_tracks) == ["open", "validated", "invalidated"]


def test_run_cell_options_come_from_the_shared_grammar(track, ip, capsys) -> None:
    track('create --name "Cell grammar"')
    track("activate Cell")
    assert ip.run_cell("%%track run --help\nx = 1\n").success
    out = capsys.readouterr().out
    assert "usage: %%track run" in out and "--name NAME" in out
    result = ip.run_cell("%%track run --workflow w\nx = 1\n")
    assert type(result.error_in_exec) is UsageError
    assert "unrecognized arguments: --workflow" in str(result.error_in_exec)
    assert track("run list").empty  # nothing ran


@pytest.mark.parametrize("search", ["  number 1 ", "NUMBER 1", " Number 1  "])
def test_cli_and_widget_board_show_the_same_rows(engine, root, track, capsys, search) -> None:
    """The search text loses its surrounding spaces in both, and the filters agree."""
    for i in range(12):
        engine.create(f"Track number {i:02d}", type="bugfix" if i % 2 else "feature")
    args = ["--root", str(root), "board", "--type", "bugfix,feature", "--search", search]
    assert main([*args, "--json"]) == 0
    from_cli = sorted(e["track_id"] for e in json.loads(capsys.readouterr().out))
    watcher = watch.Watcher(interval=0.05)
    board = Board(engine, type=["bugfix", "feature"], search=search, watcher=watcher, live=False)
    try:
        assert sorted(e["track_id"] for e in board.matching) == from_cli
        assert len(from_cli) == 2  # "Track number 10" and "11"
    finally:
        board.close()
        watcher.stop()
    magic_board = track(f'board --type bugfix,feature --search "{search}"')
    try:
        assert sorted(e["track_id"] for e in magic_board.matching) == from_cli
    finally:
        magic_board.close()
