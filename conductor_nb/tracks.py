"""Pure functions over a track's JSON document: new tracks, transitions, progress, metrics.

The engine keeps tracks as the plain dicts read from track.json, so every field the
original tool (or a later version of ours) wrote survives a read-modify-write.
"""

from __future__ import annotations

import copy
import functools
from datetime import UTC, datetime

from .vocab import DONE_STEP_STATUSES, StepStatus, TrackStatus

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "ENTRY_FIELDS",
    "ENTRY_PROGRESS",
    "TrackDoc",
    "active_intervals",
    "apply_transition",
    "compute_metrics",
    "iso",
    "new_track",
    "next_number",
    "parse_time",
    "recompute_progress",
    "reconstruct_history",
    "registry_entry",
]

TrackDoc = dict  # a track.json document, dict[str, Any]: kept as parsed, unknown fields and all

# Fields of track.json that the registry entry mirrors (besides the always-present ones);
# parent_track (a sub-track's parent, see hierarchy) and estimated_duration_minutes (see
# estimates) are ours: the original tool keeps them.
ENTRY_FIELDS = (
    "started_at",
    "completed_at",
    "last_checkpoint",
    "parent_track",
    "estimated_duration_minutes",
)
ENTRY_PROGRESS = ("current_step", "completed_steps", "total_steps", "percentage")


def iso(moment: datetime) -> str:
    """The original tool's timestamp format: UTC, milliseconds, 'Z'."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    return _parse_time(value)


@functools.lru_cache(maxsize=4096)  # a track's history is read at each of its changes
def _parse_time(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def new_track(
    track_id: str,
    name: str,
    *,
    type: str,  # noqa: A002
    priority: str,
    goal: str,
    now: str,
    actor: str,
    description: str | None = None,
    success_criteria: list[str] | None = None,
    tags: list[str] | None = None,
) -> TrackDoc:
    track: TrackDoc = {
        "track_id": track_id,
        "name": name,
        "type": type,
        "status": TrackStatus.DRAFT.value,
        "priority": priority,
        "created_at": now,
        "updated_at": now,
    }
    if description:
        track["description"] = description
    track["source"] = {"type": "user-created", "created_by": actor}
    track["context"] = {
        "goal": goal,
        "success_criteria": list(success_criteria or []),
        "target_files": [],
        "prerequisites": [],
    }
    track["steps"] = []
    track["progress"] = {"current_step": 0, "completed_steps": 0, "total_steps": 0, "percentage": 0}
    track["execution"] = {"mode": "interactive", "auto_advance": False, "pause_on_failure": True}
    if tags:
        track["metadata"] = {"tags": list(tags)}
    track["history"] = [
        {"from": None, "to": "draft", "at": now, "reason": "created", "actor": actor}
    ]
    return track


def registry_entry(track: TrackDoc, previous: dict[str, Any] | None) -> dict[str, Any]:
    """The registry entry for ``track``: a shallow merge over the previous entry, so fields
    that other tools put there are kept (the original tool merges the same way)."""
    entry = dict(previous or {})
    for key in ("track_id", "name", "type", "status", "priority", "created_at", "updated_at"):
        entry[key] = track.get(key)
    entry["path"] = track["track_id"]
    progress = track.get("progress") or {}
    # the registry's progress is the seed's four counters, not the per-status breakdown
    entry["progress"] = {k: progress[k] for k in ENTRY_PROGRESS if k in progress}
    for key in ENTRY_FIELDS:
        if key in track:
            entry[key] = track[key]
        else:
            entry.pop(key, None)
    return entry


def apply_transition(
    track: TrackDoc, source: str, target: str, *, now: str, actor: str, reason: str | None
) -> None:
    """Set the status, stamp the timestamps the schema has, and append to history."""
    track["status"] = target
    if target == TrackStatus.ACTIVE:
        if "started_at" not in track:
            track["started_at"] = now
        if source == TrackStatus.PAUSED:
            track["resumed_at"] = now
            track.pop("paused_at", None)
            track.pop("pause_reason", None)
    elif target == TrackStatus.PAUSED:
        track["paused_at"] = now
        if reason:  # no reason given: none recorded (older files may say "Manual pause")
            track["pause_reason"] = reason
        else:
            track.pop("pause_reason", None)
    elif target == TrackStatus.COMPLETED:
        track["completed_at"] = now
    elif target == TrackStatus.FAILED:
        track["failed_at"] = now
        if reason:
            track["failure_reason"] = reason
    elif target == TrackStatus.CANCELLED:
        track["cancelled_at"] = now
        if reason:
            track["cancel_reason"] = reason
    elif target == TrackStatus.ARCHIVED:
        track["archived_at"] = now
    elif target == TrackStatus.READY:
        track["ready_at"] = now
    elif target == TrackStatus.DRAFT and source == TrackStatus.FAILED:
        metrics = track.setdefault("metrics", {})
        metrics["retry_count"] = int(metrics.get("retry_count", 0)) + 1
    event = {"from": source, "to": target, "at": now, "reason": reason, "actor": actor}
    track.setdefault("history", []).append(event)


def recompute_progress(track: TrackDoc) -> None:
    steps = [step for step in track.get("steps", []) if isinstance(step, dict)]
    counts = {status.value: 0 for status in StepStatus}
    for step in steps:
        status = step.get("status")
        if status in counts:
            counts[status] += 1
    done = sum(counts[s] for s in DONE_STEP_STATUSES)
    current = next(
        (i for i, step in enumerate(steps) if step.get("status") not in DONE_STEP_STATUSES),
        len(steps),
    )
    progress = track.setdefault("progress", {})
    progress["current_step"] = current
    progress["completed_steps"] = counts[StepStatus.COMPLETED]
    progress["total_steps"] = len(steps)
    progress["percentage"] = round(100 * done / len(steps), 1) if steps else 0
    if current < len(steps) and steps[current].get("step_id"):
        progress["current_step_id"] = steps[current]["step_id"]
    else:
        progress.pop("current_step_id", None)
    progress["steps_status"] = {
        key: counts[key] for key in ("pending", "completed", "failed", "skipped")
    }


def active_intervals(track: TrackDoc, now: datetime) -> list[tuple[datetime, datetime]]:
    """Intervals the track spent active, from its history (or its timestamps if it has none)."""
    history = [e for e in track.get("history", []) if isinstance(e, dict)]
    intervals = []
    if history:
        opened: datetime | None = None
        for event in history:
            opened, closed = _step(opened, event)
            if closed is not None:
                intervals.append(closed)
        if opened is not None:
            intervals.append((opened, now))
        return intervals
    started = parse_time(track.get("started_at"))
    if started is None:
        return []
    end = _end_time(track) or now
    return [(started, max(started, end))]


def _step(
    opened: datetime | None, event: dict[str, Any]
) -> tuple[datetime | None, tuple[datetime, datetime] | None]:
    """One history event read: the start of the active interval now open (if any), and
    the interval it closed (if it did). Events without a readable time are passed over."""
    at = parse_time(event.get("at"))
    if at is None:
        return opened, None
    if event.get("to") == TrackStatus.ACTIVE:
        return (at if opened is None else opened), None
    return None, (None if opened is None else (opened, at))


def _end_time(track: TrackDoc) -> datetime | None:
    for key in ("completed_at", "failed_at", "cancelled_at"):
        moment = parse_time(track.get(key))
        if moment is not None:
            return moment
    return None


def compute_metrics(track: TrackDoc, now: datetime) -> dict[str, Any]:
    """Total duration (first start to end, or now), active duration excluding pauses,
    pause count; other metrics fields already present are kept."""
    metrics = dict(track.get("metrics") or {})
    started = parse_time(track.get("started_at"))
    status = track.get("status")
    if started is not None:
        end = _end_time(track) if status not in (TrackStatus.ACTIVE, TrackStatus.PAUSED) else None
        metrics["total_duration_ms"] = max(0, int(((end or now) - started).total_seconds() * 1000))
    history = track.get("history", [])
    scan = _scan_history(track.get("track_id"), history) if type(history) is list else None
    if scan is None or not scan.events_seen:
        active_ms = sum((b - a).total_seconds() for a, b in active_intervals(track, now)) * 1000
        pauses = sum(isinstance(e, dict) and e.get("to") == TrackStatus.PAUSED for e in history)
    else:  # the same sums as over active_intervals, in the same order
        seconds = scan.seconds + ((now - scan.opened).total_seconds() if scan.opened else 0)
        active_ms, pauses = seconds * 1000, scan.pauses
    metrics["active_duration_ms"] = max(0, int(active_ms))
    if not history and track.get("paused_at"):
        pauses = 1
    metrics["pause_count"] = pauses
    return metrics


class _Scan:
    """What a history's events add up to: the seconds of its closed active intervals,
    the start of an open one, its pauses. Never changed once made (threads share them)."""

    __slots__ = ("events", "events_seen", "opened", "pauses", "seconds")

    def __init__(self, events, events_seen, seconds, opened, pauses) -> None:
        self.events: list[Any] = events  # copies of the events scanned, to compare with
        self.events_seen: int = events_seen  # how many of them are dicts
        self.seconds: float = seconds
        self.opened: datetime | None = opened
        self.pauses: int = pauses

    def extended(self, events: list[Any]) -> _Scan:
        seconds, opened, pauses, seen = self.seconds, self.opened, self.pauses, self.events_seen
        for event in events:  # active_intervals' loop, and the pause count
            if not isinstance(event, dict):
                continue
            seen += 1
            pauses += event.get("to") == TrackStatus.PAUSED
            opened, closed = _step(opened, event)
            if closed is not None:
                seconds += (closed[1] - closed[0]).total_seconds()
        return _Scan(self.events + copy.deepcopy(events), seen, seconds, opened, pauses)


_NO_SCAN = _Scan([], 0, 0, None, 0)
_SCANS: dict[str, _Scan] = {}  # the last scan of each track's history, by id
_SCANS_KEPT = 256


def _scan_history(track_id: Any, history: list[Any]) -> _Scan:
    """The scan of ``history``, resumed after the last one of the same track when its
    events are still the first ones (a change is saved at every transition, each adding
    an event: a long history would cost its length each time). An edit to any earlier
    event starts over."""
    known = _SCANS.get(track_id, _NO_SCAN) if type(track_id) is str else _NO_SCAN
    count = len(known.events)
    if len(history) < count or history[:count] != known.events:  # compared in C: cheap
        known, count = _NO_SCAN, 0
    scan = known.extended(history[count:]) if len(history) > count else known
    if type(track_id) is str and scan is not known:
        _SCANS.pop(track_id, None)  # re-inserted last: the oldest go first
        _SCANS[track_id] = scan
        while len(_SCANS) > _SCANS_KEPT:
            _SCANS.pop(next(iter(_SCANS)), None)
    return scan


_TIMESTAMP_STATUSES = (
    ("created_at", TrackStatus.DRAFT),
    ("started_at", TrackStatus.ACTIVE),
    ("paused_at", TrackStatus.PAUSED),
    ("resumed_at", TrackStatus.ACTIVE),
    ("completed_at", TrackStatus.COMPLETED),
    ("failed_at", TrackStatus.FAILED),
    ("cancelled_at", TrackStatus.CANCELLED),
    ("archived_at", TrackStatus.ARCHIVED),
)


def reconstruct_history(track: TrackDoc) -> list[dict[str, Any]]:
    """A history for a track written without one (by the original tool), from the
    timestamps it has, so durations stay right once our own events are appended."""
    stamped = []
    for key, status in _TIMESTAMP_STATUSES:
        moment = parse_time(track.get(key))
        if moment is not None:
            stamped.append((moment, key, status.value))
    stamped.sort(key=lambda item: item[0])
    events, previous = [], None
    for moment, key, status in stamped:
        if status == previous:
            continue
        events.append(
            {
                "from": previous,
                "to": status,
                "at": iso(moment),
                "reason": f"reconstructed from {key}",
                "actor": "conductor",
            }
        )
        previous = status
    return events


def next_number(items: list[dict[str, Any]], prefix: str, *, key: str = "id") -> int:
    """One more than the highest ``<prefix>N`` among the items' ``key`` (ids such as
    decision-3 or step-12 are never reused, even after a hand edit removed one)."""
    highest = 0
    for item in items:
        value = str(item.get(key, "")) if isinstance(item, dict) else ""
        if value.startswith(prefix) and value[len(prefix) :].isdigit():
            highest = max(highest, int(value[len(prefix) :]))
    return highest + 1
