"""HTML and plain-text views of tracks for notebooks. Every piece of user text goes
through ``escape``: a track named ``<img src=x onerror=alert(1)>`` shows as text."""

from __future__ import annotations

import html
from typing import Any

from ..colours import STATUS_COLOURS

__all__ = ["Result", "TrackView", "badge", "escape", "html_rows", "progress_bar", "progress_html"]


def escape(value: Any) -> str:
    """Escaped text of any value (None shows as a dash)."""
    return "-" if value is None else html.escape(str(value), quote=True)


def badge(status: Any) -> str:
    colour = STATUS_COLOURS.get(str(status), "#6b7280")
    return (
        f'<span class="conductor-badge" style="background:{colour};color:white;'
        f'padding:1px 6px;border-radius:8px;font-size:0.85em">{escape(status)}</span>'
    )


def progress_html(progress: dict[str, Any]) -> str:
    """A track's progress: a bar and the steps done, or "no steps" when it has none."""
    total = progress.get("total_steps") or 0
    if not total:
        return "no steps"
    done = escape(progress.get("completed_steps", 0))
    return f"{progress_bar(progress.get('percentage', 0))} ({done}/{escape(total)} steps)"


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


def html_rows(headers: list[str], rows: list[list[str]]) -> str:
    """An HTML table: ``headers`` escaped here, ``rows`` of cells already escaped."""
    head = "".join(f"<th style='text-align:left'>{escape(h)}</th>" for h in headers)
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
            f"<div class='conductor-track'><h4 style='margin:4px 0'>{escape(t.get('name'))} "
            f"{badge(t.get('status'))}</h4>",
            f"<div><code>{escape(t.get('track_id'))}</code> &middot; {escape(t.get('type'))} "
            f"&middot; {escape(t.get('priority'))}</div>",
            f"<div><b>Goal:</b> {escape(context.get('goal') or '-')}</div>",
            f"<div><b>Progress:</b> {progress_html(progress)}</div>",
        ]
        if t.get("pause_reason"):
            parts.append(f"<div><b>Paused:</b> {escape(t['pause_reason'])}</div>")
        criteria = context.get("success_criteria") or []
        if criteria:
            items = "".join(f"<li>{escape(c)}</li>" for c in criteria)
            parts.append(f"<div><b>Success criteria</b><ul>{items}</ul></div>")
        steps = t.get("steps") or []
        if steps:
            rows = [
                [escape(s.get("step_id")), badge(s.get("status")), escape(s.get("name"))]
                for s in steps
            ]
            parts.append("<b>Steps</b>" + html_rows(["step", "status", "name"], rows))
        if self.decisions:
            rows = [
                [escape(d.get("id")), escape(d.get("summary")), escape(d.get("rationale"))]
                for d in self.decisions
            ]
            parts.append("<b>Decisions</b>" + html_rows(["id", "summary", "rationale"], rows))
        if self.runs:
            rows = [
                [escape(r.get("run_id")), badge(r.get("status")), escape(r.get("duration_ms"))]
                for r in self.runs
            ]
            parts.append("<b>Runs</b>" + html_rows(["run", "status", "duration ms"], rows))
        if self.checkpoints:
            rows = [
                [
                    escape(c.get("checkpoint_id")),
                    escape(c.get("created_at")),
                    escape(c.get("kind")),
                    escape(c.get("reason")),
                ]
                for c in self.checkpoints
            ]
            parts.append(
                "<b>Checkpoints</b>" + html_rows(["checkpoint", "created", "kind", "reason"], rows)
            )
        history = t.get("history") or []
        if history:
            rows = [
                [
                    escape(h.get("at")),
                    f"{escape(h.get('from'))} &rarr; {badge(h.get('to'))}",
                    escape(h.get("reason")),
                ]
                for h in history
            ]
            parts.append("<b>Timeline</b>" + html_rows(["at", "transition", "reason"], rows))
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
        return f"<span class='conductor-result'>{escape(self.message)}</span>"
