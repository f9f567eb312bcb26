"""A track's dependencies in the panel: the tracks it waits on (with their status and
whether each is done), the tracks it blocks and its related tracks
(``Engine.dependencies``)."""

from __future__ import annotations

from typing import Any

from ..engine import Engine
from ..errors import ConductorError
from .display import badge, escape

__all__ = ["DEPENDENCY_CLASS", "dependency_html", "read_dependencies"]

DEPENDENCY_CLASS = "conductor-dependencies"
# listing key -> the heading it has in the panel
_SECTIONS = (("prerequisites", "Waits on"), ("blocks", "Blocks"), ("related", "Related"))


def read_dependencies(engine: Engine, track_id: str) -> dict[str, Any] | None:
    """The track's dependencies; None when a linked track cannot be read (``validate``
    names it), so the rest of the panel still shows."""
    try:
        return engine.dependencies(track_id)
    except ConductorError:
        return None


def _linked(other: dict[str, Any], *, waits: bool) -> str:
    name = other.get("name") or "(no such track)"
    done = ""
    if waits:  # a prerequisite says whether it holds the track up
        done = " &#10003; done" if other.get("done") else " <b>not done</b>"
    return (
        f"<li>{badge(other.get('status'))} {escape(name)} "
        f"<code>{escape(other.get('track_id'))}</code>{done}</li>"
    )


def dependency_html(listing: dict[str, Any] | None) -> str:
    """One block per kind of link the track has (empty for a track without any)."""
    if not listing:
        return ""
    parts = []
    for key, heading in _SECTIONS:
        others = listing.get(key) or []
        if others:
            items = "".join(_linked(o, waits=key == "prerequisites") for o in others)
            parts.append(f"<b>{heading} ({len(others)})</b><ul style='margin:2px 0'>{items}</ul>")
    if not parts:
        return ""
    waiting = len(listing.get("waiting_on") or [])
    state = f" &middot; blocked: {waiting} not done" if waiting else ""
    return (
        f"<div class='{DEPENDENCY_CLASS}'><b>Dependencies</b>{state}"
        f"<div style='padding-left:8px'>{''.join(parts)}</div></div>"
    )
