"""The tables ``%track`` returns for listings (tracks, decisions, runs, checkpoints...):
pandas DataFrames, one row per item, with categorical status, type and priority and UTC
timestamps in the analytics frames' unit (``datetime64[us, UTC]``)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..vocab import Priority, TrackStatus, TrackType

__all__ = ["TIME_DTYPE", "TRACK_COLUMNS", "records_frame", "tracks_frame", "tree_frame"]

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
    """Registry entries as one row per track, indexed by track id. Built a column at a
    time (a frame from row dicts costs twice as much at 1,000 tracks)."""
    progress = [entry.get("progress") or {} for entry in entries]

    def field(key: str) -> list[Any]:
        return [entry.get(key) for entry in entries]

    text = None if entries else object  # no rows: nothing to infer text from
    columns = {
        "track_id": pd.Series(field("track_id"), dtype=text),
        "name": pd.Series(field("name"), dtype=text),
        "status": pd.Categorical(field("status"), dtype=STATUS_DTYPE),
        "type": pd.Categorical(field("type"), dtype=TYPE_DTYPE),
        "priority": pd.Categorical(field("priority"), dtype=PRIORITY_DTYPE),
        "progress": pd.array([float(p.get("percentage") or 0) for p in progress], "float64"),
        "completed_steps": pd.array(
            [int(p.get("completed_steps") or 0) for p in progress], "int64"
        ),
        "total_steps": pd.array([int(p.get("total_steps") or 0) for p in progress], "int64"),
        **{key: field(key) for key in ("created_at", "updated_at", "started_at", "completed_at")},
    }
    return _times(pd.DataFrame(columns, columns=TRACK_COLUMNS)).set_index("track_id")


def tree_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """``%track list --tree``: the tracks frame in tree order, with each track's
    ``depth``, ``parent_track`` and ``family_progress`` (see ``conductor_nb.hierarchy``)."""
    frame = tracks_frame(rows)
    frame["depth"] = pd.array([int(row.get("depth") or 0) for row in rows], "int64")
    frame["parent_track"] = [row.get("parent_track") for row in rows]
    frame["family_progress"] = pd.array(
        [float(row.get("family_progress") or 0) for row in rows], "float64"
    )
    return frame


def records_frame(items: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    """Decisions, assumptions, runs, checkpoints...: the named columns, times parsed."""
    frame = pd.DataFrame([{c: item.get(c) for c in columns} for item in items], columns=columns)
    for column in frame:
        if frame[column].map(lambda v: isinstance(v, list)).any():
            frame[column] = frame[column].map(
                lambda v: ", ".join(map(str, v)) if isinstance(v, list) else v
            )
    return _times(frame)
