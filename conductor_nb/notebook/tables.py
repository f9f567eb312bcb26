"""The tables ``%track`` returns for listings (tracks, decisions, runs, checkpoints...):
pandas DataFrames, one row per item, with categorical status, type and priority and UTC
timestamps in the analytics frames' unit (``datetime64[us, UTC]``)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
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
_NAT = np.iinfo(np.int64).min  # NaT as a datetime64's integer
_TIMES = ("created_at", "updated_at", "started_at", "completed_at", "timestamp", "finished_at")


# Each timestamp text as pandas' ISO 8601 parser reads it (int64 microseconds, NaT as
# int64's minimum). A listing parses the same few thousand texts at every refresh; looking
# them up costs a fifth of parsing them again. Bounded: cleared when it grows past this.
_INSTANTS: dict[Any, int] = {None: _NAT}
_INSTANTS_KEPT = 200_000
_BEYOND_MICROSECONDS = re.compile(r"(\.\d{6})\d+")


def _instants(values: list[Any]) -> pd.api.extensions.ExtensionArray:
    """Timestamps as UTC instants (``TIME_DTYPE``), each read on its own to the microsecond
    (digits beyond are dropped); what is not ISO 8601 text is NaT."""
    known = _INSTANTS
    try:
        us = [known[value] for value in values]
    except (KeyError, TypeError):  # texts not seen yet, or a value that cannot be a key
        us = _parse_instants(values)
    return pd.array(np.array(us, dtype=np.int64).view("M8[us]")).tz_localize("UTC")


def _parse_instants(values: list[Any]) -> list[int]:
    global _INSTANTS
    known = _INSTANTS  # this call's: another thread may replace it, never empty it
    text = [value if type(value) is str else None for value in values]  # a number is no time
    new = list(dict.fromkeys(value for value in text if value not in known))
    # To the microsecond: one nanosecond digit would make pandas read the whole batch in
    # nanoseconds, where a date after 2262 does not fit and so each text would depend on
    # the others.
    microseconds = [_BEYOND_MICROSECONDS.sub(r"\1", value) for value in new]
    parsed = pd.to_datetime(
        pd.Series(microseconds, dtype=object), utc=True, errors="coerce", format="ISO8601"
    )
    fresh = dict(zip(new, parsed.astype(TIME_DTYPE).array.asi8.tolist(), strict=True))
    us = [fresh[value] if value in fresh else known[value] for value in text]
    if len(known) + len(fresh) > _INSTANTS_KEPT:
        known = _INSTANTS = {None: _NAT}
    known.update(fresh)
    return us


def _times(frame: pd.DataFrame) -> pd.DataFrame:
    for column in _TIMES:
        if column in frame:
            frame[column] = _instants(frame[column].tolist())
    return frame


def _categorical(values: list[Any], dtype: pd.CategoricalDtype) -> pd.Categorical:
    """``pd.Categorical(values, dtype=dtype)`` (unknown values are NaN), from codes: half
    the time."""
    codes = {value: code for code, value in enumerate(dtype.categories)}
    found = [codes.get(value, -1) if type(value) is str else -1 for value in values]
    return pd.Categorical.from_codes(np.array(found, dtype=np.int8), dtype=dtype)


def tracks_frame(entries: list[dict[str, Any]]) -> pd.DataFrame:
    """Registry entries as one row per track, indexed by track id. Built from a column of
    plain values at a time: a frame from row dicts costs twice as much at 1,000 tracks."""
    progress = [entry.get("progress") or {} for entry in entries]

    def field(key: str) -> list[Any]:
        return [entry.get(key) for entry in entries]

    columns = {
        "name": field("name") if entries else pd.array([], dtype=object),
        "status": _categorical(field("status"), STATUS_DTYPE),
        "type": _categorical(field("type"), TYPE_DTYPE),
        "priority": _categorical(field("priority"), PRIORITY_DTYPE),
        "progress": np.array([float(p.get("percentage") or 0) for p in progress], "float64"),
        "completed_steps": np.array(
            [int(p.get("completed_steps") or 0) for p in progress], "int64"
        ),
        "total_steps": np.array([int(p.get("total_steps") or 0) for p in progress], "int64"),
        **{key: _instants(field(key)) for key in TRACK_COLUMNS[-4:]},
    }
    text = None if entries else object  # no rows: nothing to infer text from
    index = pd.Index(field("track_id"), dtype=text, name="track_id")
    return pd.DataFrame(columns, index=index, columns=TRACK_COLUMNS[1:])


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
