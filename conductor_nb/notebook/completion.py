"""Tab completion for ``%track``: subcommands, then track ids and names, statuses,
types and priorities where an option expects them."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any

from .. import commands
from ..errors import ConductorError
from ..vocab import Priority, TrackStatus, TrackType

_CHOICES = {
    "--status": [s.value for s in TrackStatus],
    "--type": [t.value for t in TrackType],
    "--priority": [p.value for p in Priority],
    "--field": [],
}


def candidates(line: str, tracks: Callable[[], list[dict[str, Any]]]) -> list[str]:
    """What may follow ``line`` (the text typed so far, starting with %track)."""
    try:
        words = shlex.split(line)
    except ValueError:  # an open quote: complete as if it were closed
        words = shlex.split(line + '"')
    if line.endswith(" "):
        words.append("")
    words = words[1:]  # drop "%track"
    if len(words) <= 1:
        return [*commands.command_names(), "help"]
    previous = words[-2]
    if previous in _CHOICES:
        if previous == "--field":
            from ..engine import Engine

            return list(Engine.UPDATABLE)
        return _CHOICES[previous]
    if words[0] == "help":
        return commands.command_names()
    try:
        entries = tracks()
    except ConductorError:
        return []
    names = [shlex.quote(e["name"]) for e in entries if isinstance(e.get("name"), str)]
    return [e["track_id"] for e in entries] + names


def install(shell, tracks: Callable[[], list[dict[str, Any]]]) -> None:
    def complete(_self, event) -> list[str]:
        return candidates(event.line, tracks)

    shell.set_hook("complete_command", complete, str_key="%track")


def uninstall(shell) -> None:
    dispatcher = shell.strdispatchers.get("complete_command")
    if dispatcher is not None:
        dispatcher.strs.pop("%track", None)
