"""The board's "Next:" line: the track ``conductor next`` proposes and why, or why no
track can start, as HTML (the widget and the fallback) and as text (the board's repr)."""

from __future__ import annotations

from typing import Any

from ..engine import Engine
from ..errors import ConductorError
from .display import escape

__all__ = ["NEXT_CLASS", "next_html", "next_text", "read_next"]

NEXT_CLASS = "conductor-next"
_NOTHING = "nothing to start: "  # how planning's reason starts when no track can


def read_next(engine: Engine) -> dict[str, Any] | None:
    """What ``next`` says (``Engine.next_tracks``); None when a track cannot be read
    (the board says why in its message line, and shows no proposal)."""
    try:
        return engine.next_tracks()
    except ConductorError:
        return None


def _parts(found: dict[str, Any]) -> tuple[str, str]:
    """The proposed track's name (or "nothing can start") and why."""
    proposal = found.get("proposal")
    if proposal:
        return str(proposal.get("name") or proposal["track_id"]), str(proposal.get("why") or "")
    first = str(found.get("reason") or "").splitlines()[0] if found.get("reason") else ""
    return "nothing can start", first.removeprefix(_NOTHING)


def next_text(found: dict[str, Any] | None) -> str:
    """``Next: NAME (why)``; empty when nothing could be read."""
    if found is None:
        return ""
    name, why = _parts(found)
    return f"Next: {name} ({why})" if why else f"Next: {name}"


def next_html(found: dict[str, Any] | None) -> str:
    if found is None:
        return ""
    name, why = _parts(found)
    shown = f"<b>{escape(name)}</b>" if found.get("proposal") else f"<i>{escape(name)}</i>"
    reason = f" <span style='color:#6b7280'>({escape(why)})</span>" if why else ""
    return f"<div class='{NEXT_CLASS}'>&#9654; Next: {shown}{reason}</div>"
