"""Which notebooks did a track's work: the cells a notebook recorded while a track was
active (``conductor_nb.provenance``), as DataFrames.

    from conductor_nb import analytics

    analytics.cells(ROOT)            # one row per recorded cell, every track
    analytics.notebook_time(ROOT)    # per track and notebook: cells, runs, seconds

Both take what ``analytics.load`` takes (a root, an Engine, a list of roots: a
``project`` column), and ``Analytics.cells()`` / ``Analytics.notebook_time()`` give the
same over the roots it read.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..engine import Engine
from ..provenance import CONSOLE, read_cells
from .loading import resolve_sources

__all__ = ["CELL_COLUMNS", "cells_frame", "frame_of", "notebook_time"]

CELL_COLUMNS = [
    "track_id",
    "track",
    "started_at",
    "notebook",
    "cell_id",
    "execution_count",
    "sha256",
    "duration_ms",
    "raised",
    "error",
    "run_id",
]
TIME_DTYPE = "datetime64[us, UTC]"  # the unit of every analytics frame


def frame_of(
    records: list[dict[str, Any]], *, project: bool = False, named: bool = True
) -> pd.DataFrame:
    """Cell records (each with ``track_id``, and with ``named`` its name as ``track``)
    as one row each."""
    columns = (["project"] if project else []) + [c for c in CELL_COLUMNS if named or c != "track"]
    frame = pd.DataFrame([{c: r.get(c) for c in columns} for r in records], columns=columns)
    started = pd.to_datetime(frame["started_at"], utc=True, errors="coerce", format="ISO8601")
    frame["started_at"] = started.astype(TIME_DTYPE)
    frame["execution_count"] = pd.to_numeric(frame["execution_count"]).astype("Int64")
    frame["duration_ms"] = pd.to_numeric(frame["duration_ms"]).astype("float64")
    frame["raised"] = frame["raised"].eq(True)  # a missing flag: did not raise
    return frame


def cells_frame(source: Any = None) -> pd.DataFrame:
    """Every cell recorded in the root(s), oldest first within each track."""
    pairs, multi = resolve_sources(source)
    records = []
    for project, root in pairs:
        engine = Engine(root)
        for entry in engine.list():
            folder = engine.tree.track_dir(entry["track_id"])
            extra = {"track_id": entry["track_id"], "track": entry.get("name")}
            if multi:
                extra["project"] = project
            records += [{**record, **extra} for record in read_cells(folder)]
    return frame_of(records, project=multi)


def notebook_time(source: Any = None) -> pd.DataFrame:
    """Per track and notebook (``(console)``: cells run without one): distinct cells (by
    cell id, else by source hash), runs, seconds spent, how many raised, first and last
    start; ``source`` may be a frame of ``cells_frame``."""
    frame = source if isinstance(source, pd.DataFrame) else cells_frame(source)
    keys = (["project"] if "project" in frame else []) + ["track_id", "notebook"]
    frame = frame.assign(
        notebook=frame["notebook"].fillna(CONSOLE),
        cell=frame["cell_id"].fillna(frame["sha256"]),
        seconds=frame["duration_ms"].fillna(0) / 1000,
    )
    return frame.groupby(keys, sort=True, dropna=False).agg(
        track=("track", "first"),
        cells=("cell", "nunique"),
        runs=("sha256", "size"),
        seconds=("seconds", "sum"),
        raised=("raised", "sum"),
        first=("started_at", "min"),
        last=("started_at", "max"),
    )
