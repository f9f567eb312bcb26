"""The report's sections as plain text, in order: what each shows, whatever the format.
The HTML and Markdown renderers lay these out and escape every piece of text."""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from .words import DASH, duration, listed, pairs, size, text, when

__all__ = ["Section", "sections"]


class Section(namedtuple("Section", "key title facts bullets headers rows empty charts")):
    """One section: ``facts`` (label, value) lines, ``bullets``, a table (``headers`` and
    ``rows``, or the ``empty`` sentence when it has none) and the keys of its charts."""

    __slots__ = ()


def _section(key: str, title: str, **parts: Any) -> Section:
    defaults = {"facts": [], "bullets": [], "headers": [], "rows": [], "empty": "", "charts": []}
    return Section(key, title, **{**defaults, **parts})


def sections(facts: dict[str, Any]) -> list[Section]:
    return [
        _overview(facts["track"]),
        _section(
            "criteria",
            "Success criteria",
            bullets=[text(c) for c in facts["track"]["success_criteria"]],
            empty="No success criteria recorded.",
        ),
        _timeline(facts["timeline"]),
        _time_in_status(facts["time_in_status"]),
        _decisions(facts["decisions"]),
        _assumptions(facts["assumptions"]),
        _steps(facts["steps"]),
        _runs(facts["runs"]),
        _checkpoints(facts["checkpoints"]),
        _artifacts(facts["artifacts"]),
    ]


def _overview(track: dict[str, Any]) -> Section:
    progress = track.get("progress") or {}
    metrics = track.get("metrics") or {}
    outcomes = track.get("outcomes") or {}
    done, total = progress.get("completed_steps", 0), progress.get("total_steps", 0)
    lines = [
        ("Track", text(track.get("track_id"))),
        ("Status", text(track.get("status"))),
        ("Type", f"{text(track.get('type'))}, priority {text(track.get('priority'))}"),
        ("Goal", text(track.get("goal"))),
        ("Description", text(track.get("description"))),
        ("Tags", listed(track.get("tags"))),
        ("Progress", f"{done} of {total} steps done" if total else "no steps"),
        ("Created", when(track.get("created_at"))),
        ("Started", when(track.get("started_at"))),
        ("Completed", when(track.get("completed_at"))),
        ("Last change", when(track.get("updated_at"))),
        ("Time active", duration((metrics.get("active_duration_ms") or 0) / 1000)),
        ("Pauses", text(metrics.get("pause_count", 0))),
    ]
    if track.get("pause_reason"):
        lines.append(("Paused because", text(track["pause_reason"])))
    if outcomes.get("summary"):
        lines.append(("Outcome", text(outcomes["summary"])))
    if outcomes.get("lessons_learned"):
        lines.append(("Lessons learned", listed(outcomes["lessons_learned"])))
    return _section("overview", "Overview", facts=lines)


def _timeline(events: list[dict[str, Any]]) -> Section:
    rows = [
        [
            when(e.get("at")),
            text(e.get("from")),
            text(e.get("to")),
            text(e.get("reason")),
            text(e.get("actor")),
        ]
        for e in events
    ]
    return _section(
        "timeline",
        "Timeline",
        headers=["at", "from", "to", "reason", "by"],
        rows=rows,
        empty="No status changes recorded.",
    )


def _time_in_status(spent: list[dict[str, Any]]) -> Section:
    rows = [[text(item["status"]), duration(item["seconds"])] for item in spent]
    return _section(
        "time-in-status",
        "Time per status",
        headers=["status", "time"],
        rows=rows,
        empty="No time recorded.",
        charts=["time-in-status"],
    )


def _decisions(decisions: list[dict[str, Any]]) -> Section:
    rows = [
        [
            text(d.get("id")),
            when(d.get("timestamp")),
            text(d.get("summary")),
            text(d.get("rationale")),
            listed(d.get("alternatives")),
            listed(d.get("tags")),
        ]
        for d in decisions
    ]
    headers = ["id", "at", "decision", "rationale", "alternatives", "tags"]
    return _section(
        "decisions", "Decisions", headers=headers, rows=rows, empty="No decisions recorded."
    )


def _assumptions(assumptions: list[dict[str, Any]]) -> Section:
    rows = [
        [
            text(a.get("id")),
            text(a.get("status")),
            text(a.get("statement")),
            text(a.get("note")),
            when(a.get("timestamp")),
            when(a.get("updated_at")),
        ]
        for a in assumptions
    ]
    headers = ["id", "status", "assumption", "evidence / note", "recorded", "status changed"]
    return _section(
        "assumptions", "Assumptions", headers=headers, rows=rows, empty="No assumptions recorded."
    )


def _steps(steps: list[dict[str, Any]]) -> Section:
    rows = [
        [
            str(number),
            text(s.get("step_id")),
            text(s.get("status")),
            text(s.get("type")),
            text(s.get("name")),
            _step_note(s),
        ]
        for number, s in enumerate(steps, 1)
    ]
    headers = ["#", "step", "status", "type", "name", "notes"]
    return _section("steps", "Steps", headers=headers, rows=rows, empty="No steps.")


def _step_note(step: dict[str, Any]) -> str:
    error = step.get("error") if isinstance(step.get("error"), dict) else {}
    parts = [step.get("description"), step.get("notes"), error.get("message")]
    return "; ".join(text(p) for p in parts if p) or DASH


def _runs(runs: list[dict[str, Any]]) -> Section:
    rows = [
        [
            text(r.get("run_id")),
            text(r.get("name")),
            text(r.get("status")),
            when(r.get("started_at")),
            _run_duration(r),
            pairs(_latest(r)),
            pairs(r.get("params")),
        ]
        for r in runs
    ]
    headers = ["run", "name", "status", "started", "duration", "latest metrics", "parameters"]
    return _section(
        "runs",
        "Workflow runs",
        headers=headers,
        rows=rows,
        empty="No workflow runs.",
        charts=["run-durations", "run-metrics"],
    )


def _run_duration(run: dict[str, Any]) -> str:
    ms = run.get("duration_ms")
    return duration(ms / 1000) if isinstance(ms, int | float) else DASH


def _latest(run: dict[str, Any]) -> dict[str, Any]:
    """run.json's metrics (copied when the run ended), else the last value logged."""
    if run.get("metrics"):
        return run["metrics"]
    latest: dict[str, Any] = {}
    for row in run.get("metric_series") or []:
        latest[row.get("key")] = row.get("value")
    return latest


def _checkpoints(checkpoints: list[dict[str, Any]]) -> Section:
    rows = [
        [
            text(c["checkpoint_id"]),
            when(c["created_at"]),
            text(c["kind"]),
            "yes" if c["pinned"] else "",
            text(c["file_count"]),
            size(c["size_bytes"]),
            text(c["reason"]),
        ]
        for c in checkpoints
    ]
    headers = ["checkpoint", "created", "kind", "pinned", "files", "size", "reason"]
    return _section(
        "checkpoints", "Checkpoints", headers=headers, rows=rows, empty="No checkpoints."
    )


def _artifacts(artifacts: list[dict[str, Any]]) -> Section:
    rows = [
        [
            text(a.get("name")),
            size(a.get("size")),
            text(a.get("sha256"))[:16],
            when(a.get("modified_at")),
        ]
        for a in artifacts
    ]
    headers = ["name", "size", "sha256", "modified"]
    return _section("artifacts", "Artifacts", headers=headers, rows=rows, empty="No artifacts.")
