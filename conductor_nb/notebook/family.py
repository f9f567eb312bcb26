"""A track's family in HTML: its parent and its sub-tracks with their status (the
panel's header shows it)."""

from __future__ import annotations

from typing import Any

from .display import badge, escape, progress_bar

__all__ = ["family_html"]


def family_html(family: dict[str, Any]) -> str:
    """The parent (name and status) and each sub-track (status, name, progress), with the
    family progress (``conductor_nb.hierarchy``); empty for a track that has neither."""
    parts = []
    parent = family.get("parent_entry")
    if parent:
        parts.append(
            f"<div class='conductor-parent'><b>Parent:</b> {escape(parent.get('name'))} "
            f"{badge(parent.get('status'))} <code>{escape(parent.get('track_id'))}</code></div>"
        )
    children = family.get("children") or []
    if children:
        rows = "".join(
            f"<li>{badge(child.get('status'))} {escape(child.get('name'))} "
            f"<code>{escape(child.get('track_id'))}</code> "
            f"{escape((child.get('progress') or {}).get('percentage') or 0)}%</li>"
            for child in children
        )
        parts.append(
            f"<div class='conductor-children'><b>Sub-tracks ({len(children)})</b> &middot; "
            f"family progress {progress_bar(family.get('family_progress') or 0)}"
            f"<ul style='margin:2px 0'>{rows}</ul></div>"
        )
    return "".join(parts)
