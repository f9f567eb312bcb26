"""The command declarations: each command has its behaviour, each outcome kind its
terminal rendering, the track option is one declaration, and a new command needs
nothing but its declaration to be parsed, run and listed in help."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conductor_nb import commands, lifecycle, render
from conductor_nb.cli import main
from conductor_nb.engine import Engine
from conductor_nb.grammar import Arg, Grammar, UsageProblem
from conductor_nb.outcome import Outcome, OutcomeKind


def test_every_outcome_kind_has_a_terminal_rendering() -> None:
    assert set(render.RENDERERS) == set(OutcomeKind)


def test_an_unknown_outcome_kind_fails_where_it_is_made() -> None:
    with pytest.raises(ValueError, match="bogus"):
        Outcome("bogus", None)


def test_every_command_has_its_behaviour() -> None:
    """Each declared command runs a handler, or one per sub-action (`help` is answered by
    parse, before any engine); every lifecycle verb is a command."""
    for name, command in commands.GRAMMAR.commands.items():
        if name == "help":
            continue
        assert (command.handler is None) == bool(command.actions), name
        assert all(command.actions.values()), name
    assert set(lifecycle.ACTIONS) <= set(commands.command_names())


def test_the_track_option_is_declared_once() -> None:
    """Every command that names a track accepts the same --track-id, from one declaration."""
    with_track = [
        command
        for command in commands.GRAMMAR.commands.values()
        if command.option("--track-id") is not None
    ]
    assert len(with_track) > 20
    for command in with_track:
        option = command.option("--track-id")
        assert option.flags == commands.TRACK_OPTION.flags, command.name
        assert option.options["dest"] == "track_id"
        assert command.option("--track").flags == option.flags


def test_a_new_command_needs_only_its_declaration() -> None:
    """Declared once, a command parses, runs, and shows in the help and its own usage."""
    grammar = Grammar("test grammar", "", [Arg("--json", action="store_true")])

    @grammar.command("greet", "say hello", Arg("who"), Arg("--loud", action="store_true"))
    def greet(engine, ns):
        return Outcome(OutcomeKind.ACTIONS, [f"hello {ns.who}" + ("!" if ns.loud else "")])

    ns = grammar.parse(["greet", "you", "--loud"], "prog")
    assert grammar.commands[ns.command].handler_for(ns)(None, ns).data == ["hello you!"]
    assert "say hello" in grammar.help_text(None, "prog")
    assert "--loud" in grammar.help_text("greet", "prog")
    with pytest.raises(UsageProblem, match="required: who"):
        grammar.parse(["greet"], "prog")


def test_sub_actions_are_declared_with_their_behaviour() -> None:
    step = commands.GRAMMAR.commands["step"]
    assert list(step.actions) == ["add", "list", "start", "complete", "skip", "fail", "reopen"]
    ns = commands.parse(["step", "start"])
    with pytest.raises(UsageProblem, match="step start needs a step"):
        commands.execute(None, ns)


def test_cell_forms_parse_with_the_shared_grammar() -> None:
    """`%%track run` has a grammar of its own, declared with `run`; decide reads the cell
    as its rationale; other commands take no cell."""
    ns = commands.parse(["run", "--name", "load", "--track", "t"], "%%track", cell="x = 1\n")
    assert (ns.command, ns.name, ns.track_id, ns.code) == ("run", "load", "t", "x = 1\n")
    assert commands.parse(["run"], "%%track", cell="").name == "notebook cell"
    ns = commands.parse(["decide", "Use PKCE"], "%%track", cell="  because  \n")
    assert ns.rationale == "because"
    with pytest.raises(UsageProblem, match="takes a cell only for `decide` and `run`"):
        commands.parse(["list"], "%%track", cell="x")
    with pytest.raises(UsageProblem, match="unrecognized arguments: --workflow"):
        commands.parse(["run", "--workflow", "w"], "%%track", cell="x")
    assert commands.parse(["run", "list"]).action == "list"  # the line form is unchanged


def test_cli_board_strips_the_search_text(root: Path, capsys: pytest.CaptureFixture) -> None:
    engine = Engine(root)
    engine.create("Search me")
    engine.create("Other track")
    assert main(["--root", str(root), "board", "--search", "  search ME ", "--json"]) == 0
    assert [e["name"] for e in json.loads(capsys.readouterr().out)] == ["Search me"]
