"""A track for the report tests with user text that tries to break out of HTML in every
field a report shows (name, goal, criteria, decisions, assumptions, steps, runs, metric
and parameter names, artifacts, checkpoints, pause reasons), written through the engine
with a clock the test moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from conductor_nb.engine import Engine

# Each piece must show as text: a script element, a bare closing tag (which would end an
# embedded <script> block), quotes, an entity, and an element whose handler sets a hook.
PAYLOAD = (
    '<script>alert(1)</script> </script> "quotes" &amp; <img src=x onerror="window.__pwned=1">'
)
PIECES = ("<script>alert(1)</script>", "</script>", '"quotes"', "&amp;", "<img src=x")
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
METRIC = "loss " + PAYLOAD
# matplotlib would parse this as broken math (and raise) if a chart did not draw it as text
MATH_METRIC = "rows $\\frac{1"


class StepClock:
    """A clock that stays where the test puts it."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def hostile_track(root: Path, clock: StepClock | None = None) -> str:
    """Make the track in ``root``: a draft for 1 h, active 2 h (a run logging 3 values of
    two metrics), paused 3 h, active again (the clock is left there). Returns its id."""
    clock = clock or StepClock()
    engine = Engine(root, clock=clock)
    track = engine.create(
        "Report " + PAYLOAD,
        goal="Goal " + PAYLOAD,
        success_criteria=["Criterion " + PAYLOAD],
        tags=["tag " + PAYLOAD],
    )
    track_id = track["track_id"]
    clock.advance(hours=1)
    engine.transition(track_id, "activate")
    engine.decide(track_id, "Decision " + PAYLOAD, rationale="Why " + PAYLOAD)
    made = engine.assume(track_id, "Assumption " + PAYLOAD)
    engine.set_assumption(track_id, made["id"], "validated", note="Evidence " + PAYLOAD)
    engine.add_step(track_id, "Step " + PAYLOAD, description="Says " + PAYLOAD)
    engine.step(track_id, "1", "start")
    _run(engine, clock, track_id)
    engine.add_artifact(track_id, "notes.txt", data=("Artifact " + PAYLOAD).encode())
    engine.create_checkpoint(track_id, reason="Checkpoint " + PAYLOAD)
    clock.advance(hours=1)
    engine.transition(track_id, "pause", reason="Pause " + PAYLOAD)
    clock.advance(hours=3)
    engine.transition(track_id, "resume")
    return track_id


def _run(engine: Engine, clock: StepClock, track_id: str) -> None:
    run = engine.create_run(track_id, "Run " + PAYLOAD)
    engine.set_run_status(track_id, run["run_id"], "running")
    engine.log_params(track_id, run["run_id"], {"param " + PAYLOAD: "value " + PAYLOAD})
    for step, loss in enumerate((0.9, 0.5, 0.25)):
        clock.advance(minutes=10)
        engine.log_metrics(
            track_id, run["run_id"], {METRIC: loss, MATH_METRIC: step * 100}, step=step
        )
    clock.advance(minutes=30)
    engine.set_run_status(track_id, run["run_id"], "completed")
