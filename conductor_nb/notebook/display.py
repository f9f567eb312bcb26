"""HTML and plain-text views of tracks for notebooks. Every piece of user text goes
through ``html.escape``: a track named ``<img src=x onerror=alert(1)>`` shows as text."""

from __future__ import annotations

from html import escape
from typing import Any

# One colour per status, defined once (the widget panels read it too).
STATUS_COLOURS = {
    "draft": "#6b7280",
    "ready": "#2563eb",
    "active": "#16a34a",
    "paused": "#d97706",
    "completed": "#0d9488",
    "failed": "#dc2626",
    "cancelled": "#9ca3af",
    "archived": "#4b5563",
}


def e(value: Any) -> str:
    """Escaped text of any value (None shows as a dash)."""
    return "-" if value is None else escape(str(value), quote=True)


def badge(status: Any) -> str:
    colour = STATUS_COLOURS.get(str(status), "#6b7280")
    return (
        f'<span class="conductor-badge" style="background:{colour};color:white;'
        f'padding:1px 6px;border-radius:8px;font-size:0.85em">{e(status)}</span>'
    )


def progress_bar(percentage: Any) -> str:
    try:
        value = max(0.0, min(100.0, float(percentage)))
    except (TypeError, ValueError):
        value = 0.0
    return (
        f'<div class="conductor-progress" title="{value:g}%" style="display:inline-block;'
        f'width:120px;height:8px;background:#e5e7eb;border-radius:4px;vertical-align:middle">'
        f'<div style="width:{value:g}%;height:8px;background:#16a34a;border-radius:4px"></div>'
        f"</div> {value:g}%"
    )


def _rows(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th style='text-align:left'>{e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class TrackView:
    """A track as a notebook shows it: ``_repr_html_`` for the page, ``__repr__`` for
    text (and for nbval, which compares text). ``.data`` is the track.json document."""

    def __init__(
        self,
        track: dict[str, Any],
        *,
        decisions: list[dict[str, Any]] | None = None,
        runs: list[dict[str, Any]] | None = None,
        checkpoints: list[dict[str, Any]] | None = None,
    ) -> None:
        self.data = track
        self.decisions = decisions or []
        self.runs = runs or []
        self.checkpoints = checkpoints or []

    @property
    def track_id(self) -> str:
        return self.data["track_id"]

    @property
    def status(self) -> str:
        return self.data.get("status", "")

    def __repr__(self) -> str:
        progress = self.data.get("progress") or {}
        return (
            f"Track({self.data.get('name')!r}, status={self.status!r}, "
            f"progress={progress.get('percentage', 0):g}%, id={self.track_id!r})"
        )

    def _repr_html_(self) -> str:
        t = self.data
        context = t.get("context") or {}
        progress = t.get("progress") or {}
        parts = [
            f"<div class='conductor-track'><h4 style='margin:4px 0'>{e(t.get('name'))} "
            f"{badge(t.get('status'))}</h4>",
            f"<div><code>{e(t.get('track_id'))}</code> &middot; {e(t.get('type'))} "
            f"&middot; {e(t.get('priority'))}</div>",
            f"<div><b>Goal:</b> {e(context.get('goal') or '-')}</div>",
            f"<div><b>Progress:</b> {progress_bar(progress.get('percentage', 0))} "
            f"({e(progress.get('completed_steps', 0))}/{e(progress.get('total_steps', 0))}"
            " steps)</div>",
        ]
        if t.get("pause_reason"):
            parts.append(f"<div><b>Paused:</b> {e(t['pause_reason'])}</div>")
        criteria = context.get("success_criteria") or []
        if criteria:
            items = "".join(f"<li>{e(c)}</li>" for c in criteria)
            parts.append(f"<div><b>Success criteria</b><ul>{items}</ul></div>")
        steps = t.get("steps") or []
        if steps:
            rows = [[e(s.get("step_id")), badge(s.get("status")), e(s.get("name"))] for s in steps]
            parts.append("<b>Steps</b>" + _rows(["step", "status", "name"], rows))
        if self.decisions:
            rows = [
                [e(d.get("id")), e(d.get("summary")), e(d.get("rationale"))] for d in self.decisions
            ]
            parts.append("<b>Decisions</b>" + _rows(["id", "summary", "rationale"], rows))
        if self.runs:
            rows = [
                [e(r.get("run_id")), badge(r.get("status")), e(r.get("duration_ms"))]
                for r in self.runs
            ]
            parts.append("<b>Runs</b>" + _rows(["run", "status", "duration ms"], rows))
        if self.checkpoints:
            rows = [
                [
                    e(c.get("checkpoint_id")),
                    e(c.get("created_at")),
                    e(c.get("kind")),
                    e(c.get("reason")),
                ]
                for c in self.checkpoints
            ]
            parts.append(
                "<b>Checkpoints</b>" + _rows(["checkpoint", "created", "kind", "reason"], rows)
            )
        history = t.get("history") or []
        if history:
            rows = [
                [
                    e(h.get("at")),
                    f"{e(h.get('from'))} &rarr; {badge(h.get('to'))}",
                    e(h.get("reason")),
                ]
                for h in history
            ]
            parts.append("<b>Timeline</b>" + _rows(["at", "transition", "reason"], rows))
        parts.append("</div>")
        return "".join(parts)


class Result:
    """What a command that changes one thing returns: its message, and ``.data``."""

    def __init__(self, message: str, data: Any) -> None:
        self.message = message
        self.data = data

    def __repr__(self) -> str:
        return self.message

    def _repr_html_(self) -> str:
        return f"<span class='conductor-result'>{e(self.message)}</span>"
