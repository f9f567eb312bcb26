"""Tab completion for ``%track``, read from the commands' declarations: the commands,
then an option's values (statuses, types, priorities, fields, the root's templates...)
or a command's sub-actions, else track ids and names."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any

from .. import commands
from ..errors import ConductorError
from ..grammar import Command, FromRoot

__all__ = ["candidates", "install", "uninstall"]


def candidates(
    line: str,
    tracks: Callable[[], list[dict[str, Any]]],
    engine: Callable[[], Any] | None = None,
) -> list[str]:
    """What may follow ``line`` (the text typed so far, starting with %track); ``engine``
    gives the root's engine, for values read from the root (``--template`` names)."""
    try:
        words = shlex.split(line)
    except ValueError:  # an open quote: complete as if it were closed
        words = shlex.split(line + '"')
    if line.endswith(" "):
        words.append("")
    words = words[1:]  # drop "%track"
    if len(words) <= 1:
        return commands.command_names()
    declared = commands.GRAMMAR.commands.get(words[0])
    offered = _declared(declared, words, engine) if declared is not None else []
    if offered:
        return offered
    try:
        entries = tracks()
    except ConductorError:
        return []
    names = [shlex.quote(e["name"]) for e in entries if isinstance(e.get("name"), str)]
    return [e["track_id"] for e in entries] + names


def _declared(command: Command, words: list[str], engine: Callable[[], Any] | None) -> list[str]:
    """What the command's declaration says may come next (empty: it does not say)."""
    if command.name == "help":
        return commands.command_names()
    previous = words[-2]
    option = command.option(previous) if previous.startswith("-") else None
    if option is not None:
        return _values(option, engine)
    if command.actions and len(words) == 2:
        return list(command.actions)
    return []


def _values(option: Any, engine: Callable[[], Any] | None) -> list[str]:
    """The option's values; those read from the root need its engine (none: no root
    can be read now, so nothing is offered rather than an error)."""
    if not isinstance(option.complete, FromRoot):
        return option.values()
    try:
        return option.values(engine()) if engine is not None else []
    except ConductorError:
        return []


def install(
    shell,
    tracks: Callable[[], list[dict[str, Any]]],
    engine: Callable[[], Any] | None = None,
) -> None:
    def complete(_self, event) -> list[str]:
        return candidates(event.line, tracks, engine)

    shell.set_hook("complete_command", complete, str_key="%track")


def uninstall(shell) -> None:
    dispatcher = shell.strdispatchers.get("complete_command")
    if dispatcher is not None:
        dispatcher.strs.pop("%track", None)
