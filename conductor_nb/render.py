"""Plain-text rendering of command outcomes for terminals (tables, key/value blocks)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from .errors import track_label
from .lifecycle import transition_verbs
from .outcome import MESSAGE_KINDS, Outcome, OutcomeKind
from .store.jsontext import dumps_indented

K = OutcomeKind

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "RENDERERS",
    "board_table",
    "compact",
    "entries_table",
    "family_block",
    "notes_block",
    "render",
    "table",
    "track_block",
    "tree_table",
]


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Aligned columns, padded by display width (a CJK character or an emoji takes two
    columns); long cells are cut, except in the last column (nothing follows it)."""
    last = len(headers) - 1
    texts = [[_text(v) for v in row] for row in rows]
    width = _width_of(all(t.isascii() for row in texts for t in row))
    cells = [[_cut(t, width) if i != last else t for i, t in enumerate(row)] for row in texts]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], width(value))
    line = "  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line.rstrip()]
    for row in cells:
        padded = (v + " " * (w - width(v)) for v, w in zip(row, widths, strict=True))
        out.append("  ".join(padded).rstrip())
    return "\n".join(out)


def _width_of(ascii_only: bool) -> Callable[[str], int]:
    """The display width of a cell: its length when every cell is ASCII, else wcwidth's
    (imported only then: it costs the CLI ~20 ms)."""
    if ascii_only:
        return len
    from wcwidth import wcswidth

    def width(text: str) -> int:
        columns = wcswidth(text)
        return columns if columns >= 0 else len(text)  # a control character: count it

    return width


_CUT = 60


def _text(value: Any) -> str:
    return "-" if value is None else str(value).replace("\n", " ")


def _cut(text: str, width: Callable[[str], int]) -> str:
    """``text`` cut to at most _CUT columns, ending with "..." when cut."""
    if width(text) <= _CUT:
        return text
    if width is len:
        return text[: _CUT - 3] + "..."
    text = text[: _CUT * 4]
    while width(text) > _CUT - 3:
        text = text[:-1]
    return text + "..."


def _short_time(value: Any) -> str:
    return str(value)[:16].replace("T", " ") if value else "-"


def _percent(progress: Any) -> str:
    if not isinstance(progress, dict):
        return "-"
    done, total = progress.get("completed_steps", 0), progress.get("total_steps", 0)
    return f"{progress.get('percentage', 0):g}% ({done}/{total})" if total else "-"


def _progress(progress: Any) -> str:
    """A track's progress in words: "no steps" rather than 0% of 0."""
    if isinstance(progress, dict) and not progress.get("total_steps"):
        return "no steps"
    return _percent(progress)


def _times_paused(count: int) -> str:
    return {0: "never paused", 1: "paused once"}.get(count, f"paused {count} times")


def notes_block(decisions: Sequence[dict[str, Any]], assumptions: Sequence[dict[str, Any]]) -> str:
    """The latest decisions and assumptions of a track, and how many there are."""
    lines = []
    for label, items, row in (
        (
            "decisions",
            decisions,
            lambda d: f"{_short_time(d.get('timestamp'))}  {d.get('summary')}",
        ),
        ("assumptions", assumptions, lambda a: f"{a.get('status', '-'):<11} {a.get('statement')}"),
    ):
        latest = list(items)[-_LATEST:]
        more = f", the latest {len(latest)}" if len(items) > len(latest) else ""
        lines.append(f"{label}: {len(items)}{more}" if items else f"{label}: none")
        lines += [f"  {row(item)}" for item in reversed(latest)]
    return "\n".join(lines)


_LATEST = 3  # decisions and assumptions `conductor show` lists


def _none_found(root: Any) -> str:
    """What an empty listing says: where it looked (the root exists: a missing one is
    an error before anything is listed)."""
    return f"no tracks in {root}" if root is not None else "no tracks"


def entries_table(entries: Sequence[dict[str, Any]], root: Any = None) -> str:
    if not entries:
        return _none_found(root)
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


def tree_table(rows: Sequence[dict[str, Any]], root: Any = None) -> str:
    """``conductor list --tree``: sub-tracks indented under their parents; a parent's
    progress is its family's (its steps and its sub-tracks: see ``hierarchy``)."""
    if not rows:
        return _none_found(root)
    lines = [
        (
            r.get("track_id"),
            "  " * r.get("depth", 0) + ("- " if r.get("depth") else "") + str(r.get("name")),
            r.get("status"),
            r.get("type"),
            f"{r.get('family_progress', 0):g}%",
        )
        for r in rows
    ]
    return table(["id", "name", "status", "type", "progress"], lines)


def board_table(entries: Sequence[dict[str, Any]], root: Any = None) -> str:
    """``conductor board``: the tracks with the lifecycle verbs each one allows."""
    if not entries:
        return _none_found(root)
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
        f"  progress  {_progress(track.get('progress'))}",
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
        lines.append(f"  active    {hours:.1f} h, {_times_paused(metrics.get('pause_count') or 0)}")
    if track.get("estimated_duration_minutes"):  # see estimates; `conductor forecast` uses it
        from .durations import format_duration

        lines.append(f"  estimate  {format_duration(track['estimated_duration_minutes'])}")
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
_TABLES: dict[OutcomeKind, tuple[list[str], Callable[[Any], tuple], str]] = {
    K.DECISIONS: (
        ["id", "at", "summary"],
        lambda d: (d.get("id"), _short_time(d.get("timestamp")), d.get("summary")),
        "no decisions",
    ),
    K.ASSUMPTIONS: (
        ["id", "status", "statement"],
        lambda a: (a.get("id"), a.get("status"), a.get("statement")),
        "no assumptions",
    ),
    K.STEPS: (
        ["id", "status", "type", "name"],
        lambda s: (s.get("step_id"), s.get("status"), s.get("type"), s.get("name")),
        "no steps",
    ),
    K.TEMPLATES: (
        ["name", "from", "type", "steps", "about"],
        lambda t: (
            t.get("name"),
            t.get("origin"),
            t.get("type"),
            t.get("steps"),
            t.get("problem") or t.get("description"),
        ),
        "no templates",
    ),
    K.RUNS: (
        ["run", "status", "started", "duration ms"],
        lambda r: (
            r.get("run_id"),
            r.get("status"),
            _short_time(r.get("started_at")),
            r.get("duration_ms"),
        ),
        "no runs",
    ),
    K.ARTIFACTS: (
        ["name", "size", "sha256"],
        lambda a: (a["name"], a["size"], a["sha256"][:12]),
        "no artifacts",
    ),
    K.CHECKPOINTS: (
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
_REPORTS: dict[OutcomeKind, tuple[list[str], Callable[[Any], tuple]]] = {
    K.CHECKS: (
        ["id", "check", "result", "expected", "found", "status"],
        lambda c: (c["id"], c["check"], c["result"], c["expected"], c["found"], c["status"]),
    ),
    K.PROBLEMS: (["problem", "fix", "detail"], lambda p: (p["kind"], p["fix"], p["message"])),
    K.DAMAGE: (
        ["checkpoint", "file", "problem"],
        lambda d: (d["checkpoint"], d["path"], d["problem"]),
    ),
    K.INTERRUPTED: (
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


def _stats(data: dict[str, Any], extra: dict[str, Any]) -> str:
    lines = [f"root {extra['root']}"] if extra.get("root") else []
    active = data["active_track"]
    named = track_label(active, extra.get("active_name")) if active else "none"
    lines.append(f"total {data['total']}, active: {named}")
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


def _table(outcome: Outcome) -> str:
    headers, row, empty = _TABLES[outcome.kind]
    return table(headers, [row(item) for item in outcome.data]) if outcome.data else empty


def _report(outcome: Outcome) -> str:
    headers, row = _REPORTS[outcome.kind]
    body = table(headers, [row(item) for item in outcome.data]) + "\n" if outcome.data else ""
    return body + str(outcome.message)


def _track(outcome: Outcome) -> str:
    if outcome.data is None:
        return str(outcome.message)
    block = track_block(outcome.data, outcome.extra.get("detail", False))
    if "decisions" in outcome.extra:
        block += "\n" + notes_block(outcome.extra["decisions"], outcome.extra["assumptions"])
    if outcome.extra.get("family"):
        block += family_block(outcome.extra["family"])
    return f"{outcome.message}\n{block}" if outcome.message else block


def family_block(family: dict[str, Any]) -> str:
    """A track's parent and sub-tracks (nothing when it has neither)."""
    lines = []
    if family.get("parent"):
        lines.append(f"parent: {family['parent']}")
    children = family.get("children") or []
    if children:
        lines.append(f"sub-tracks: {len(children)}, family progress {family['family_progress']:g}%")
        lines += [
            f"  {c.get('status'):<10} {c.get('name')}  ({c.get('track_id')})" for c in children
        ]
    return "".join("\n" + line for line in lines)


def _message_or_json(outcome: Outcome) -> str:
    return outcome.message or _json(outcome)


def _json(outcome: Outcome) -> str:
    return dumps_indented(outcome.data)


def _cells(outcome: Outcome) -> str:
    """A track's recorded cells, then time per notebook (``conductor_nb.provenance``)."""
    if outcome.extra.get("switched") or not outcome.data:
        return str(outcome.message)
    from .provenance import notebook_summary

    cells = table(
        ["started", "notebook", "cell", "#", "sha256", "ms", "raised", "run"],
        [
            (
                str(c.get("started_at") or "-")[:19].replace("T", " "),
                c.get("notebook"),
                c.get("cell_id"),
                c.get("execution_count"),
                c.get("sha256"),
                c.get("duration_ms"),
                (c.get("error") or "yes") if c.get("raised") else "",
                c.get("run_id"),
            )
            for c in outcome.data
        ],
    )
    per_notebook = table(
        ["notebook", "cells", "runs", "seconds", "raised"],
        [
            (n["notebook"], n["cells"], n["runs"], n["seconds"], n["raised"])
            for n in notebook_summary(outcome.data)
        ],
    )
    return f"{cells}\n\n{per_notebook}\n{outcome.message}"


def _peek(outcome: Outcome) -> str:
    """Another track, read-only: its block, notes, checkpoints and the diff asked for."""
    data = outcome.data
    headers, row, empty = _TABLES[K.CHECKPOINTS]
    checkpoints = data["checkpoints"]
    parts = [
        str(outcome.message),
        track_block(data["track"], False),
        notes_block(data["decisions"], data["assumptions"]),
        table(headers, [row(m) for m in checkpoints]) if checkpoints else empty,
    ]
    if data.get("diff") is not None:
        parts.append(_diff(data["diff"]))
    return "\n".join(parts)


def compact(value: Any, width: int = 48) -> str:
    """A value on one short line: compact JSON, cut with '...' past ``width``."""
    text = "" if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= width else text[: width - 3] + "..."


def _migration(outcome: Outcome) -> str:
    """What `migrate` changed (or would): one row per field, then the summary. A track's
    files and registry entry are named from the track (the track column)."""
    rows = []
    for c in outcome.data["changes"]:
        track_id = c.get("track_id") or ""
        file = c["file"].removeprefix(f"tracks/{track_id}/") if track_id else c["file"]
        field = c["field"].removeprefix(f"tracks.{track_id}.") if track_id else c["field"]
        rows.append((track_id, file, field, c["change"], compact(c["before"]), compact(c["after"])))
    headers = ["track", "file", "field", "change", "before", "after"]
    body = table(headers, rows) + "\n" if rows else ""
    return body + str(outcome.message)


# The terminal text of each kind of outcome (a test checks that every kind is here).
RENDERERS: dict[OutcomeKind, Callable[[Outcome], str]] = {
    **dict.fromkeys(_TABLES, _table),
    **dict.fromkeys(_REPORTS, _report),
    **dict.fromkeys(MESSAGE_KINDS, _message_or_json),
    K.ENTRIES: lambda o: entries_table(o.data, o.extra.get("root")),
    K.BOARD: lambda o: board_table(o.data, o.extra.get("root")),
    K.TREE: lambda o: tree_table(o.data, o.extra.get("root")),
    K.ENTRY: lambda o: o.message or entries_table([o.data]),
    K.TRACK: _track,
    K.STATS: lambda o: _stats(o.data, o.extra),
    K.ANALYTICS: lambda o: str(o.message),
    K.DIFF: lambda o: _diff(o.data),
    K.ACTIONS: lambda o: "\n".join(o.data) if o.data else str(o.message),
    K.CONTEXT: _json,
    K.PROJECT: _json,
    K.SCHEMA: _json,
    # dependencies, conflicts, next, graph: their message is the text
    K.DEPENDENCIES: lambda o: str(o.message),
    K.CONFLICTS: lambda o: str(o.message),
    K.NEXT: lambda o: str(o.message),
    K.GRAPH: lambda o: str(o.message),
    K.REPORT: lambda o: o.message or o.extra["markdown"].rstrip("\n"),
    K.CELLS: _cells,
    K.PEEK: _peek,
    K.MIGRATION: _migration,
}


def render(outcome: Outcome) -> str:
    """The terminal text of a command's outcome."""
    return RENDERERS[outcome.kind](outcome)
