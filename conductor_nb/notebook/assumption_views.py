"""How the panel and the board show assumptions that check themselves: the "needs
attention" marker of a track whose check failed, each assumption's check and what it
last found, and the rows of a run of checks."""

from __future__ import annotations

import re
from typing import Any

from ..assumption_checks import attention
from ..check_approvals import is_approved
from ..check_kinds import FAILED, HOLDS, describe
from ..engine import Engine
from ..errors import ConductorError
from .display import escape

__all__ = [
    "ATTENTION_KEY",
    "attention_html",
    "attention_line",
    "attention_text",
    "check_cell",
    "checks_html",
    "entry_attention_html",
    "mark_attention",
]

ATTENTION_KEY = "assumption_failed"  # added to the board's copy of a registry entry
_ORANGE = "#b45309"
_COLOURS = {HOLDS: "#16a34a", FAILED: "#dc2626"}
_DIGEST = re.compile(r"\b([0-9a-f]{12})[0-9a-f]{52}\b")  # a sha256, shown by its start


def _short(value: Any) -> str:
    """Escaped text, with sha256 digests cut to 12 characters (the files keep them whole)."""
    return _DIGEST.sub(r"\1&hellip;", escape(value))


def attention_html(assumptions: list[dict[str, Any]]) -> str:
    """The panel's marker: "needs attention: assumption failed: ..." (or nothing)."""
    text = attention(assumptions)
    return attention_line(text)


def attention_line(text: str) -> str:
    if not text:
        return ""
    return (
        f"<span class='conductor-attention' style='font-size:0.85em;color:{_ORANGE}'>"
        f"&#9888; needs attention: {escape(text)}</span>"
    )


def check_cell(assumption: dict[str, Any], project: Any) -> str:
    """An assumption's check and what it last found (escaped HTML; "-" without one)."""
    check = assumption.get("check")
    if not isinstance(check, dict):
        return "-"
    parts = [f"<code>{escape(describe(check))}</code>"]
    if not is_approved(project, check):
        parts.append(f"<span style='color:{_ORANGE}'>not approved</span>")
    evidence = assumption.get("evidence")
    if isinstance(evidence, dict):
        state = HOLDS if evidence.get("holds") else FAILED
        parts.append(
            f"<span style='color:{_COLOURS[state]}'>{state}</span>: found "
            f"{_short(evidence.get('found'))} ({escape(evidence.get('checked_at'))})"
        )
    return "<br>".join(parts)


def checks_html(rows: list[dict[str, Any]]) -> str:
    """What the latest run of checks found, one line each."""
    lines = [
        f"<div class='conductor-check-result'><b>{escape(r['id'])}</b> "
        f"<span style='color:{_COLOURS.get(r['result'], _ORANGE)}'>{escape(r['result'])}</span>"
        f" &middot; expected {_short(r['expected'] or '-')}, found {_short(r['found'] or '-')}"
        "</div>"
        for r in rows
    ]
    return "".join(lines)


def mark_attention(engine: Engine, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``entries`` with "assumption failed: ..." on the open tracks whose check failed (a
    copy of such an entry; the others as they are, and as they are when unreadable)."""
    marked = []
    for entry in entries:
        text = ""
        if entry.get("status") != "archived":
            try:
                text = attention(engine.assumptions(entry["track_id"]))
            except ConductorError:
                text = ""
        marked.append({**entry, ATTENTION_KEY: text} if text else entry)
    return marked


def entry_attention_html(entry: dict[str, Any]) -> str:
    """The board row's marker, on a line under the track's name (or nothing)."""
    text = entry.get(ATTENTION_KEY)
    return "<br>" + attention_line(text) if text else ""


def attention_text(entry: dict[str, Any]) -> str:
    """The board's text form of the marker."""
    text = entry.get(ATTENTION_KEY)
    return f"  needs attention: {text}" if text else ""
