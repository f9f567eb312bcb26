"""A root with a known history for estimate and forecast tests, made through the engine
on a hand-moved clock.

Four completed feature tracks, each estimated 10h, took 8h, 10h, 12h and 20h of active
time (the 20h one was paused 5h in the middle: pauses do not count), so their
actual/estimate ratios are 0.8, 1.0, 1.2 and 2.0: 10th percentile 0.86, median 1.1,
90th percentile 1.76. Two completed bugfix tracks (too few to forecast from). Steps of
the feature tracks carry estimates too: each took 2h of a 1h-estimated review step and
30m of a 1h-estimated action step.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from conductor_nb.engine import Engine

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FEATURE_HOURS = (8, 10, 12, 20)
RATIOS = (0.8, 1.0, 1.2, 2.0)
P10, P50, P90 = 0.86, 1.1, 1.76


class Clock:
    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def _finished_track(
    engine: Engine, clock: Clock, name: str, kind: str, hours: float, *, pause: bool
) -> None:
    engine.create_estimated(name, estimate="10h", type=kind)
    engine.add_estimated_step(name, "Review it", estimate="1h", type="review")
    engine.add_estimated_step(name, "Build it", estimate="1h", type="action")
    engine.transition(name, "ready")
    engine.transition(name, "activate")
    clock.advance(minutes=1)
    engine.step(name, "1", "start")
    clock.advance(hours=2)
    engine.step(name, "1", "complete")
    engine.step(name, "2", "start")
    clock.advance(minutes=30)
    engine.step(name, "2", "complete")
    left = hours * 60 - 151
    if pause:
        clock.advance(minutes=left / 2)
        engine.transition(name, "pause", reason="waiting on review")
        clock.advance(hours=5)  # paused: not part of the active time
        engine.transition(name, "resume")
        clock.advance(minutes=left / 2)
    else:
        clock.advance(minutes=left)
    engine.transition(name, "complete")
    clock.advance(hours=1)


def build_history(root: Path) -> tuple[Engine, Clock]:
    """The root described above; the engine and its clock, an hour after the last."""
    clock = Clock()
    engine = Engine(root, clock=clock)
    for number, hours in enumerate(FEATURE_HOURS, start=1):
        _finished_track(engine, clock, f"Feature {number}", "feature", hours, pause=hours == 20)
    for number in (1, 2):
        _finished_track(engine, clock, f"Bugfix {number}", "bugfix", 6, pause=False)
    return engine, clock


def started_track(engine: Engine, clock: Clock, name: str, **options: Any) -> str:
    """An active feature track (``options`` for ``create_estimated``) with 4 steps, 1 done,
    after 3h active (any other active track is paused); its id."""
    options.setdefault("type", "feature")
    track = engine.create_estimated(name, **options)
    for step in ("One", "Two", "Three", "Four"):
        engine.add_step(name, step)
    engine.transition(name, "ready")
    engine.transition(name, "activate", force=True)  # pauses the active one, if any
    clock.advance(hours=3)
    engine.step(name, "1", "complete")
    return track["track_id"]
