"""Analytics over tracks: tidy pandas DataFrames from one conductor root or several.

    from conductor_nb import analytics

    a = analytics.load()                      # the usual root; or a path, an Engine,
    a = analytics.load(["proj-a/.claude/conductor", "proj-b/.claude/conductor"])
    a.tracks()          # one row per track: attributes, outcome, lead/cycle/active time...
    a.transitions()     # one row per history event
    a.success("type")   # success rate with its Wilson interval, by type/priority/month
    a.flow("W")         # throughput per week and tracks per status (cumulative flow)
    a.overruns()        # tracks longer than the seed's typical range for their type
    a.paths()           # the most common lifecycle paths and how often each succeeds
    a.runs("type")      # workflow-run durations and failure rates
    a.run_metrics()     # one row per metric value logged on a run (run.log)
    a.cells()           # one row per notebook cell run while a track was active
    a.notebook_time()   # per track and notebook: cells, runs, seconds
    a.estimates("type") # estimate against actual per track type (or "step_type")

``analytics.tracks(root)`` and the like are shortcuts for ``load(root).tracks()``.
Reading a root keeps what each track's files say in ``<root>/tracks/.conductor-cache``
and reads again only the tracks whose files changed (``load(root, cache=False)`` neither
uses nor writes it).
``analytics.generate(root, tracks=500, seed=1)`` makes demo data through the engine.

pandas is imported on first use, not by ``import conductor_nb.analytics`` (the ``demo``
command drives the engine only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .stats import wilson

if TYPE_CHECKING:
    import pandas as pd

    from .frames import Analytics

__all__ = [
    "Analytics",
    "cells",
    "estimates",
    "flow",
    "generate",
    "load",
    "notebook_time",
    "overruns",
    "paths",
    "run_metrics",
    "runs",
    "success",
    "summary",
    "tracks",
    "transitions",
    "wilson",
]


def load(
    source: Any = None, *, now: Any = None, cache: bool = True, progress: Any = None
) -> Analytics:
    """Read one root (a path, an Engine, None: the usual root) or several (a list, or
    ``{project: root}``) once; ``now`` (aware datetime) ends open intervals; ``cache``:
    use the column cache of each root (``<root>/tracks/.conductor-cache``), which makes
    reading again a root whose tracks mostly did not change several times faster.
    ``progress``: reported as tracks are read (``conductor_nb.progress``)."""
    from .frames import Analytics

    return Analytics(source, now=now, cache=cache, progress=progress)


def tracks(source: Any = None, *, now: Any = None) -> pd.DataFrame:
    return load(source, now=now).tracks()


def transitions(source: Any = None, *, now: Any = None) -> pd.DataFrame:
    return load(source, now=now).transitions()


def success(
    source: Any = None, by: str | list[str] | None = None, *, now: Any = None, confidence=0.95
) -> pd.DataFrame:
    return load(source, now=now).success(by, confidence=confidence)


def flow(source: Any = None, freq: str = "W", *, now: Any = None) -> pd.DataFrame:
    return load(source, now=now).flow(freq)


def overruns(source: Any = None, measure: str = "cycle", *, now: Any = None) -> pd.DataFrame:
    return load(source, now=now).overruns(measure)


def paths(source: Any = None, *, simplify: bool = True, now: Any = None) -> pd.DataFrame:
    return load(source, now=now).paths(simplify=simplify)


def runs(source: Any = None, by: str | list[str] | None = None, *, now: Any = None):
    return load(source, now=now).runs(by)


def run_metrics(source: Any = None, *, now: Any = None) -> pd.DataFrame:
    return load(source, now=now).run_metrics()


def cells(source: Any = None) -> pd.DataFrame:
    """One row per notebook cell recorded for a track (``analytics.cell_time``)."""
    from .cell_time import cells_frame

    return cells_frame(source)


def notebook_time(source: Any = None) -> pd.DataFrame:
    """Per track and notebook: cells, runs and seconds spent (``analytics.cell_time``)."""
    from .cell_time import notebook_time as per_notebook

    return per_notebook(source)


def estimates(source: Any = None, by: str = "type") -> pd.DataFrame:
    """Estimate against actual by ``type``, ``step_type``, ``track`` or ``step``
    (``analytics.estimate_frames``)."""
    from .estimate_frames import estimates as frame

    return frame(source, by)


def summary(source: Any = None, *, now: Any = None) -> dict[str, Any]:
    return load(source, now=now).summary()


def generate(root: Any, **options: Any) -> dict[str, Any]:
    """Demo data through the real engine (see ``conductor_nb.analytics.demo``)."""
    from .demo import generate as run

    return run(root, **options)


def __getattr__(name: str) -> Any:
    if name == "Analytics":
        from .frames import Analytics

        return Analytics
    raise AttributeError(f"module 'conductor_nb.analytics' has no attribute {name!r}")
