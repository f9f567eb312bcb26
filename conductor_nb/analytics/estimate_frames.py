"""Estimates against what the work took: per completed track, per done step, and
aggregated by track type or step type.

A track's actual time is its active time (pauses left out) from its history, as the
forecast measures it; a step's is its ``timing.actual_duration_ms`` (started to done).
The ratio is actual / estimate: above 1, the work overran. Read from the track files
(estimates are outside the column cache of ``loading``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..engine import Engine
from ..errors import InvalidInput
from ..forecast import ESTIMATE_FIELD, active_minutes, finished_at, track_estimate
from ..vocab import DONE_STEP_STATUSES
from .loading import resolve_sources

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "VIEWS",
    "by_step_type",
    "by_type",
    "estimates",
    "steps_frame",
    "summarise",
    "tracks_frame",
]

TRACK_COLUMNS = ["track_id", "name", "type", "estimate_minutes", "actual_minutes", "ratio"]
STEP_COLUMNS = [
    "track_id",
    "step_id",
    "step",
    "step_type",
    "estimate_minutes",
    "actual_minutes",
    "ratio",
]


def _engines(source: Any) -> list[tuple[str | None, Engine]]:
    pairs, multi = resolve_sources(source)
    return [(name if multi else None, Engine(root)) for name, root in pairs]


def _track_rows(project: str | None, engine: Engine) -> list[dict[str, Any]]:
    rows = []
    for track in engine.estimates.finished_of_type(None):
        estimate = track_estimate(track)
        actual = active_minutes(track, finished_at(track))
        if estimate and actual > 0:
            row = {"project": project} if project is not None else {}
            row.update(
                track_id=track["track_id"],
                name=track.get("name"),
                type=track.get("type"),
                estimate_minutes=estimate,
                actual_minutes=round(actual, 1),
                ratio=actual / estimate,
            )
            rows.append(row)
    return rows


def _step_rows(project: str | None, engine: Engine) -> list[dict[str, Any]]:
    rows = []
    for entry in engine.list():
        track = engine.store.read_track(entry["track_id"])
        for step in track.get("steps") or []:
            timing = step.get("timing") if isinstance(step, dict) else None
            if not isinstance(timing, dict) or step.get("status") not in DONE_STEP_STATUSES:
                continue
            estimate, took = timing.get(ESTIMATE_FIELD), timing.get("actual_duration_ms")
            if not isinstance(estimate, int) or estimate < 1 or not isinstance(took, int):
                continue
            row = {"project": project} if project is not None else {}
            row.update(
                track_id=entry["track_id"],
                step_id=step.get("step_id"),
                step=step.get("name"),
                step_type=step.get("type"),
                estimate_minutes=estimate,
                actual_minutes=round(took / 60_000, 1),
                ratio=took / 60_000 / estimate,
            )
            rows.append(row)
    return rows


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    import pandas as pd

    if rows and "project" in rows[0]:
        columns = ["project", *columns]
    return pd.DataFrame(rows, columns=columns)


def tracks_frame(source: Any = None) -> pd.DataFrame:
    """One row per completed track that had an estimate: its estimate, the active
    minutes it took, and their ratio (actual / estimate)."""
    rows = [row for project, e in _engines(source) for row in _track_rows(project, e)]
    return _frame(rows, TRACK_COLUMNS)


def steps_frame(source: Any = None) -> pd.DataFrame:
    """One row per done step (completed or skipped) that had an estimate and a measured
    duration (it was started before it was done)."""
    rows = [row for project, e in _engines(source) for row in _step_rows(project, e)]
    return _frame(rows, STEP_COLUMNS)


def summarise(frame: pd.DataFrame, key: str, count: str) -> pd.DataFrame:
    """Per ``key``: how many (``count``), the median ratio and the share over estimate."""
    import pandas as pd

    keys = [k for k in ("project", key) if k in frame.columns]
    columns = [*keys, count, "median_ratio", "share_over"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    grouped = frame.assign(over=frame["ratio"] > 1).groupby(keys, sort=True, observed=True)
    out = grouped.agg(
        **{
            count: ("ratio", "size"),
            "median_ratio": ("ratio", "median"),
            "share_over": ("over", "mean"),
        }
    )
    return out.reset_index()[columns]


def by_type(source: Any = None) -> pd.DataFrame:
    """Estimate against actual by track type: type, tracks, median_ratio (actual /
    estimate) and share_over (the share of tracks that took longer than estimated)."""
    return summarise(tracks_frame(source), "type", "tracks")


def by_step_type(source: Any = None) -> pd.DataFrame:
    """The same by step type: step_type, steps, median_ratio, share_over."""
    return summarise(steps_frame(source), "step_type", "steps")


VIEWS = {"type": by_type, "step_type": by_step_type, "track": tracks_frame, "step": steps_frame}


def estimates(source: Any = None, by: str = "type") -> pd.DataFrame:
    """Estimate against actual ``by`` one of ``VIEWS``: per track type, per step type,
    one row per track, one row per step."""
    if by not in VIEWS:
        raise InvalidInput(f"estimates by {by!r}: one of {', '.join(VIEWS)}")
    return VIEWS[by](source)
