"""The board's mark on a track that waits on prerequisites not yet done: which ones, in
its row (HTML) and in the board's text form."""

from __future__ import annotations

from typing import Any

from ..engine import Engine
from ..errors import ConductorError
from .display import escape

__all__ = ["WAITING_KEY", "mark_waiting", "waiting_html", "waiting_text"]

WAITING_KEY = "waiting_on"  # added to the board's copy of a registry entry


def mark_waiting(engine: Engine, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``entries`` with the prerequisites each open track still waits on (a copy of an
    entry that waits; the others as they are). A failure to read leaves them unmarked."""
    try:
        waiting = engine.waiting()
    except ConductorError:
        return entries
    return [
        {**entry, WAITING_KEY: waiting[entry["track_id"]]}
        if entry.get("track_id") in waiting
        else entry
        for entry in entries
    ]


def _names(entry: dict[str, Any]) -> list[str]:
    return [
        f"{p.get('name') or p['track_id']} [{p['status']}]" for p in entry.get(WAITING_KEY) or ()
    ]


def waiting_html(entry: dict[str, Any]) -> str:
    """A line under the track's name: "blocked: waits on ..." (nothing when it does not)."""
    names = _names(entry)
    if not names:
        return ""
    return (
        "<br><span class='conductor-waiting' style='font-size:0.8em;color:#b45309'>"
        f"&#9888; blocked: waits on {escape(', '.join(names))}</span>"
    )


def waiting_text(entry: dict[str, Any]) -> str:
    names = _names(entry)
    return f"  blocked: waits on {', '.join(names)}" if names else ""
