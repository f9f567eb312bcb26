"""What a track's report says, gathered through the engine's public reading verbs
(``track``, ``decisions``, ``assumptions``, ``runs``, ``run_metrics``, ``checkpoints``,
``artifacts``): a JSON-ready dict. Reading changes nothing on disk."""

from __future__ import annotations

from itertools import pairwise

from ..run_records import portable
from ..tracks import iso, parse_time, reconstruct_history
from ..vocab import TrackStatus

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from datetime import datetime
    from typing import Any

__all__ = ["OPEN_STATUSES", "gather", "time_in_status", "timeline"]

# Statuses whose time keeps running until now while the track sits in them (a completed
# or archived track does not "spend" time being archived).
OPEN_STATUSES = frozenset(
    s.value
    for s in (
        TrackStatus.DRAFT,
        TrackStatus.READY,
        TrackStatus.ACTIVE,
        TrackStatus.PAUSED,
        TrackStatus.FAILED,
    )
)
_TRACK_FIELDS = (
    "track_id",
    "name",
    "type",
    "priority",
    "status",
    "description",
    "created_at",
    "updated_at",
    "started_at",
    "completed_at",
    "pause_reason",
    "progress",
    "metrics",
    "outcomes",
)


def gather(engine: Any, ref: str | None = None) -> dict[str, Any]:
    """Everything the report shows of track ``ref`` (default: the active track)."""
    track = engine.track(ref)
    track_id = track["track_id"]
    now = engine.now()
    events = timeline(track)
    return {
        "generated_at": iso(now),
        "root": str(engine.root),
        "track": _summary(track),
        "timeline": events,
        "time_in_status": time_in_status(events, now),
        "decisions": engine.decisions(track_id),
        "assumptions": engine.assumptions(track_id),
        "steps": list(track.get("steps") or []),
        "runs": [_run(engine, track_id, run) for run in engine.runs(track_id)],
        "checkpoints": [_checkpoint(m) for m in _manifests(engine, track_id)],
        "artifacts": engine.artifacts(track_id),
    }


def _summary(track: dict[str, Any]) -> dict[str, Any]:
    context = track.get("context") or {}
    summary = {key: track.get(key) for key in _TRACK_FIELDS}
    summary["goal"] = context.get("goal")
    summary["success_criteria"] = list(context.get("success_criteria") or [])
    summary["tags"] = list((track.get("metadata") or {}).get("tags") or track.get("tags") or [])
    summary["track_json_status"] = track.get("track_json_status")
    return summary


def timeline(track: dict[str, Any]) -> list[dict[str, Any]]:
    """The track's status history; a track the original tool wrote without one gets it
    from its timestamps (each such event says so in its reason)."""
    history = [e for e in track.get("history") or [] if isinstance(e, dict)]
    events = history or reconstruct_history(track)
    keys = ("at", "from", "to", "reason", "actor")
    return [{key: event.get(key) for key in keys} for event in events]


def time_in_status(events: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """Seconds spent in each status, in the order first reached: each event's status
    lasts until the next event (the last one until ``now`` if it is still open)."""
    spent: dict[str, float] = {}
    timed = [(parse_time(e.get("at")), str(e.get("to"))) for e in events]
    timed = [(at, status) for at, status in timed if at is not None]
    for (at, status), (later, _) in pairwise(timed):
        spent[status] = spent.get(status, 0.0) + max(0.0, (later - at).total_seconds())
    if timed:
        at, status = timed[-1]
        if status in OPEN_STATUSES:
            spent[status] = spent.get(status, 0.0) + max(0.0, (now - at).total_seconds())
        else:
            spent.setdefault(status, 0.0)
    return [{"status": status, "seconds": seconds} for status, seconds in spent.items()]


def _run(engine: Any, track_id: str, run: dict[str, Any]) -> dict[str, Any]:
    """A run as run.json has it, with every metric value it logged (``metric_series``;
    a NaN or an infinity as its text, as strict JSON holds them)."""
    series = engine.run_metrics(track_id, run["run_id"])
    return {
        **run,
        "metric_series": [{**row, **portable({"value": row["value"]})} for row in series],
    }


def _manifests(engine: Any, track_id: str) -> list[dict[str, Any]]:
    """Our checkpoints and the original tool's snapshots of the track, newest first."""
    found = engine.checkpoints(track_id) + engine.legacy_snapshots(track_id)
    return sorted(found, key=lambda m: str(m.get("created_at") or ""), reverse=True)


def _checkpoint(manifest: dict[str, Any]) -> dict[str, Any]:
    meta = manifest.get("metadata") or {}
    return {
        "checkpoint_id": manifest.get("checkpoint_id"),
        "created_at": manifest.get("created_at"),
        "kind": manifest.get("kind"),
        "pinned": bool(manifest.get("pinned")),
        "reason": manifest.get("reason"),
        "file_count": meta.get("file_count"),
        "size_bytes": meta.get("size_bytes"),
    }
