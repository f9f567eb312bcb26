"""Plain-text rendering of command outcomes for terminals (tables, key/value blocks)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from .commands import MESSAGE_KINDS, Outcome
from .lifecycle import transition_verbs

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Aligned columns; long cells are cut, except in the last column (nothing follows it)."""
    last = len(headers) - 1
    cells = [[_cell(v, whole=i == last) for i, v in enumerate(row)] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], len(value))
    line = "  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line.rstrip()]
    for row in cells:
        out.append("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(out)


def _cell(value: Any, *, whole: bool = False) -> str:
    if value is None:
        return "-"
    text = str(value).replace("\n", " ")
    return text if whole or len(text) <= 60 else text[:57] + "..."


def _short_time(value: Any) -> str:
    return str(value)[:16].replace("T", " ") if value else "-"


def _percent(progress: Any) -> str:
    if not isinstance(progress, dict):
        return "-"
    done, total = progress.get("completed_steps", 0), progress.get("total_steps", 0)
    return f"{progress.get('percentage', 0):g}% ({done}/{total})" if total else "-"


def entries_table(entries: Sequence[dict[str, Any]]) -> str:
    if not entries:
        return "no tracks"
    rows = [
        (
            e.get("track_id"),
            e.get("name"),
            e.get("status"),
            e.get("type"),
            e.get("priority"),
            _percent(e.get("progress")),
            _short_time(e.get("updated_at")),
        )
        for e in entries
    ]
    return table(["id", "name", "status", "type", "priority", "progress", "updated"], rows)


def board_table(entries: Sequence[dict[str, Any]]) -> str:
    """``conductor board``: the tracks with the lifecycle verbs each one allows."""
    if not entries:
        return "no tracks"
    rows = [
        (
            e.get("track_id"),
            e.get("name"),
            e.get("status"),
            _percent(e.get("progress")),
            " ".join(transition_verbs(str(e.get("status")))) or "-",
        )
        for e in entries
    ]
    return table(["id", "name", "status", "progress", "actions"], rows)


def track_block(track: dict[str, Any], detail: bool) -> str:
    context = track.get("context") or {}
    lines = [
        f"{track.get('name')}  [{track.get('status')}]",
        f"  id        {track.get('track_id')}",
        f"  type      {track.get('type')}   priority {track.get('priority')}",
        f"  goal      {context.get('goal') or '-'}",
        f"  progress  {_percent(track.get('progress'))}",
        f"  created   {_short_time(track.get('created_at'))}"
        f"   updated {_short_time(track.get('updated_at'))}",
    ]
    if track.get("pause_reason"):
        lines.append(f"  paused    {track['pause_reason']}")
    if track.get("track_json_status"):
        lines.append(
            f"  note      track.json says {track['track_json_status']}; run `conductor repair`"
        )
    if not detail:
        return "\n".join(lines)
    metrics = track.get("metrics") or {}
    if metrics.get("active_duration_ms") is not None:
        hours = metrics["active_duration_ms"] / 3_600_000
        lines.append(f"  active    {hours:.1f} h, paused {metrics.get('pause_count', 0)} times")
    for criterion in context.get("success_criteria") or []:
        lines.append(f"  criterion {criterion}")
    steps = track.get("steps") or []
    if steps:
        lines.append("steps:")
        lines += [f"  {s.get('step_id'):<8} {s.get('status'):<12} {s.get('name')}" for s in steps]
    history = track.get("history") or []
    if history:
        lines.append("history:")
        for event in history:
            reason = f"  ({event['reason']})" if event.get("reason") else ""
            moved = f"{event.get('from') or '-'} -> {event.get('to')}"
            lines.append(f"  {_short_time(event.get('at'))}  {moved}{reason}")
    return "\n".join(lines)


# Lists shown as tables: kind -> (headers, one row per item, text when empty).
_TABLES: dict[str, tuple[list[str], Callable[[Any], tuple], str]] = {
    "decisions": (
        ["id", "at", "summary"],
        lambda d: (d.get("id"), _short_time(d.get("timestamp")), d.get("summary")),
        "no decisions",
    ),
    "assumptions": (
        ["id", "status", "statement"],
        lambda a: (a.get("id"), a.get("status"), a.get("statement")),
        "no assumptions",
    ),
    "steps": (
        ["id", "status", "type", "name"],
        lambda s: (s.get("step_id"), s.get("status"), s.get("type"), s.get("name")),
        "no steps",
    ),
    "runs": (
        ["run", "status", "started", "duration ms"],
        lambda r: (
            r.get("run_id"),
            r.get("status"),
            _short_time(r.get("started_at")),
            r.get("duration_ms"),
        ),
        "no runs",
    ),
    "artifacts": (
        ["name", "size", "sha256"],
        lambda a: (a["name"], a["size"], a["sha256"][:12]),
        "no artifacts",
    ),
    "checkpoints": (
        ["checkpoint", "created", "kind", "pinned", "files", "bytes", "reason"],
        lambda m: (
            m["checkpoint_id"],
            _short_time(m.get("created_at")),
            m.get("kind"),
            "yes" if m.get("pinned") else "",
            m["metadata"]["file_count"],
            m["metadata"]["size_bytes"],
            m.get("reason"),
        ),
        "no checkpoints",
    ),
}
# Findings shown as a table followed by the outcome's one-line summary.
_REPORTS: dict[str, tuple[list[str], Callable[[Any], tuple]]] = {
    "problems": (["problem", "fix", "detail"], lambda p: (p["kind"], p["fix"], p["message"])),
    "damage": (
        ["checkpoint", "file", "problem"],
        lambda d: (d["checkpoint"], d["path"], d["problem"]),
    ),
    "interrupted": (
        ["type", "id", "track", "age min", "why"],
        lambda f: (
            f["type"],
            f["id"],
            f["track_id"] if f["type"] == "run" else "",
            f["age_minutes"],
            f["reason"],
        ),
    ),
}


def _stats(data: dict[str, Any]) -> str:
    lines = [f"total {data['total']}, active: {data['active_track'] or 'none'}"]
    for group in ("by_status", "by_type", "by_priority"):
        counts = ", ".join(f"{k} {v}" for k, v in data[group].items() if v)
        lines.append(f"{group.replace('_', ' ')}: {counts or '-'}")
    return "\n".join(lines)


def _diff(data: dict[str, Any]) -> str:
    lines = [f"{data['from']} -> {data['to']}"]
    for label in ("added", "removed", "changed"):
        lines += [f"  {label:<8} {path}" for path in data[label]]
    lines += [f"  decision {d['id']}: {d['summary']}" for d in data["decisions_added"]]
    return "\n".join(lines)


def render(outcome: Outcome) -> str:
    """The terminal text of a command's outcome."""
    kind, data = outcome.kind, outcome.data
    if kind in _TABLES:
        headers, row, empty = _TABLES[kind]
        return table(headers, [row(item) for item in data]) if data else empty
    if kind in _REPORTS:
        headers, row = _REPORTS[kind]
        body = table(headers, [row(item) for item in data]) + "\n" if data else ""
        return body + str(outcome.message)
    if kind == "entries":
        return entries_table(data)
    if kind == "board":
        return board_table(data)
    if kind == "entry":
        return outcome.message or entries_table([data])
    if kind == "track" and data is None:
        return str(outcome.message)
    if kind == "track":
        block = track_block(data, outcome.extra.get("detail", False))
        return f"{outcome.message}\n{block}" if outcome.message else block
    if kind == "stats":
        return _stats(data)
    if kind == "analytics":
        return str(outcome.message)
    if kind == "diff":
        return _diff(data)
    if kind == "actions":
        return "\n".join(data) if data else str(outcome.message)
    if kind in MESSAGE_KINDS and outcome.message:
        return outcome.message
    return json.dumps(data, indent=2, ensure_ascii=False)
