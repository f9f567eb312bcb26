"""The tables ``%track`` returns for listings (tracks, decisions, runs, checkpoints...):
pandas DataFrames, one row per item, with categorical status, type and priority and UTC
timestamps in the analytics frames' unit (``datetime64[us, UTC]``)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..vocab import Priority, TrackStatus, TrackType

__all__ = ["TIME_DTYPE", "TRACK_COLUMNS", "records_frame", "tracks_frame"]

STATUS_DTYPE = pd.CategoricalDtype([s.value for s in TrackStatus], ordered=False)
TYPE_DTYPE = pd.CategoricalDtype([t.value for t in TrackType], ordered=False)
PRIORITY_DTYPE = pd.CategoricalDtype([p.value for p in Priority], ordered=True)

TRACK_COLUMNS = [
    "track_id",
    "name",
    "status",
    "type",
    "priority",
    "progress",
    "completed_steps",
    "total_steps",
    "created_at",
    "updated_at",
    "started_at",
    "completed_at",
]
# Microseconds, as conductor_nb.analytics: one unit for every datetime column.
TIME_DTYPE = "datetime64[us, UTC]"
_TIMES = ("created_at", "updated_at", "started_at", "completed_at", "timestamp", "finished_at")


def _times(frame: pd.DataFrame) -> pd.DataFrame:
    for column in _TIMES:
        if column in frame:
            parsed = pd.to_datetime(frame[column], utc=True, errors="coerce", format="ISO8601")
            frame[column] = parsed.astype(TIME_DTYPE)  # one unit, even when all NaT
    return frame


def tracks_frame(entries: list[dict[str, Any]]) -> pd.DataFrame:
    """Registry entries as one row per track, indexed by track id."""
    rows = []
    for entry in entries:
        progress = entry.get("progress") or {}
        rows.append(
            {
                "track_id": entry.get("track_id"),
                "name": entry.get("name"),
                "status": entry.get("status"),
                "type": entry.get("type"),
                "priority": entry.get("priority"),
                "progress": float(progress.get("percentage") or 0),
                "completed_steps": int(progress.get("completed_steps") or 0),
                "total_steps": int(progress.get("total_steps") or 0),
                **{
                    k: entry.get(k)
                    for k in ("created_at", "updated_at", "started_at", "completed_at")
                },
            }
        )
    frame = pd.DataFrame(rows, columns=TRACK_COLUMNS)
    frame["status"] = frame["status"].astype(STATUS_DTYPE)
    frame["type"] = frame["type"].astype(TYPE_DTYPE)
    frame["priority"] = frame["priority"].astype(PRIORITY_DTYPE)
    return _times(frame).set_index("track_id")


def records_frame(items: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    """Decisions, assumptions, runs, checkpoints...: the named columns, times parsed."""
    frame = pd.DataFrame([{c: item.get(c) for c in columns} for item in items], columns=columns)
    for column in frame:
        if frame[column].map(lambda v: isinstance(v, list)).any():
            frame[column] = frame[column].map(
                lambda v: ", ".join(map(str, v)) if isinstance(v, list) else v
            )
    return _times(frame)
