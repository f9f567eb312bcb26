"""Demo data: realistic track lifecycles driven through the real engine API.

``generate(root, tracks=500, seed=1)`` simulates one person working over months: tracks
arrive on working days, wait, get activated; work happens in sessions of under two
hours, and starting one means switching away from whatever is active (the engine pauses
and checkpoints it); sessions add and finish steps, record decisions and run workflows
(some of which fail); a failed step pauses the track; most tracks complete, some fail
and are retried or cancelled, a few are cancelled before they start or forgotten while
paused; closed tracks are sometimes archived. Durations follow the seed's typical range
of each type, with a tail of overruns. Every change is an Engine call at the time of a
simulated clock, so the result is exactly what the engine writes; the clock ends at
``start + days`` and the same seed gives the same data.

The changes are written as usual (one transaction each, atomic replaces, the journal)
but not synced one by one: the demo runs inside ``files.deferred_sync`` and syncs once
at the end, so a power cut in the middle may lose its latest changes (never a whole
file's consistency). On a disk that makes ``conductor demo --tracks 500`` about 2.5
times faster; what is left is the engine's own work per change.

No pandas here: ``conductor demo`` drives the engine only.
"""

from __future__ import annotations

import heapq
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..engine import Engine
from ..errors import InvalidInput
from ..store import files
from ..tracks import iso
from ..vocab import TYPICAL_DAYS, TrackType

__all__ = ["SimClock", "Simulation", "generate"]

DEFAULT_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # a Monday morning

TYPE_WEIGHTS = {
    "feature": 28,
    "bugfix": 24,
    "refactor": 9,
    "testing": 7,
    "documentation": 6,
    "maintenance": 6,
    "migration": 4,
    "performance": 4,
    "security": 3,
    "exploration": 3,
    "learning": 2,
    "onboarding": 2,
    "custom": 2,
}
PRIORITY_WEIGHTS = {"P0": 6, "P1": 24, "P2": 50, "P3": 20}
# Probability that the final session ends in success, by type (the rest fail).
SUCCESS = {"migration": 0.72, "exploration": 0.7, "performance": 0.78, "security": 0.82}
RUN_FAILURE = {"migration": 0.3, "performance": 0.25, "testing": 0.2}
START_WAIT_DAYS = {"P0": (0.0, 0.3), "P1": (0.1, 2.0), "P2": (0.5, 5.0), "P3": (1.0, 12.0)}

THINGS = [
    "login", "checkout", "search", "billing", "invoices", "reports", "dashboard", "exports",
    "notifications", "webhooks", "user profiles", "permissions", "audit log", "file upload",
    "onboarding emails", "rate limits", "the admin panel", "session handling", "the API client",
    "pagination", "caching", "the job queue", "feature flags", "the mobile menu", "dark mode",
]  # fmt: skip
TEMPLATES = {
    "feature": ["Add {thing}", "Build {thing} v2", "Support SSO in {thing}", "Redesign {thing}"],
    "bugfix": ["Fix {thing} timeout", "Fix crash in {thing}", "Fix {thing} encoding bug"],
    "refactor": ["Refactor {thing}", "Split {thing} module", "Simplify {thing}"],
    "testing": ["Test coverage for {thing}", "End-to-end tests for {thing}"],
    "documentation": ["Document {thing}", "Write the {thing} guide"],
    "maintenance": ["Upgrade dependencies of {thing}", "Clean up {thing}"],
    "migration": ["Migrate {thing} to Postgres", "Move {thing} to the new queue"],
    "performance": ["Speed up {thing}", "Cut memory of {thing}"],
    "security": ["Harden {thing}", "Security review of {thing}"],
    "exploration": ["Explore a new design for {thing}", "Spike: {thing} with GraphQL"],
    "learning": ["Learn how {thing} works", "Study {thing} internals"],
    "onboarding": ["Onboard the team to {thing}", "Onboarding: {thing}"],
    "custom": ["Chore: {thing}", "Housekeeping: {thing}"],
}
PAUSE_REASONS = [
    "waiting for review",
    "blocked by another team",
    "end of day",
    "waiting for CI",
    "needs a product decision",
]
FAIL_REASONS = ["approach did not work", "requirements changed", "too risky", "tests keep failing"]
DECISIONS = [
    "Keep the old API behind a flag",
    "Use the existing queue",
    "Write the migration in two steps",
    "Cache per user, not globally",
    "Drop support for the legacy format",
]
RUN_NAMES = ["test suite", "nightly load", "lint and build", "benchmark", "data backfill"]
ERRORS = ["AssertionError", "TimeoutError", "ConnectionError", "KeyError"]


class SimClock:
    """The demo's clock: the engine stamps every change with its time."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def reach(self, moment: datetime) -> None:
        if moment > self.now:
            self.now = moment


class _Plan:
    """What the simulation decided for one track."""

    __slots__ = (
        "cycle_days",
        "gap_days",
        "kind",
        "number",
        "priority",
        "sessions",
        "status",
        "step_failed",
        "steps_done",
        "steps_total",
        "track_id",
    )

    def __init__(self, number: int, priority: str) -> None:
        self.number = number
        self.priority = priority
        self.kind = "feature"
        self.track_id = ""
        self.status = "draft"
        self.sessions = 0  # sessions left before the track is finished
        self.steps_total = 0
        self.steps_done = 0
        self.step_failed = False
        self.cycle_days = 0.0
        self.gap_days = 1.0  # between two sessions, on average


class Simulation:
    def __init__(
        self,
        root: Path,
        *,
        tracks: int,
        seed: int,
        start: datetime,
        days: float,
        progress: Any = None,
    ) -> None:
        self.progress = progress  # progress("demo tracks", made, tracks), if given
        self.rng = random.Random(seed)
        self.clock = SimClock(start)
        self.engine = Engine(root, clock=self.clock, actor="demo@conductor")
        self.count = tracks
        self.start = start
        self.end = start + timedelta(days=days)
        self.cutoff = self.end - timedelta(hours=6)  # nothing starts later: it ends at `end`
        self.days = days
        self.queue: list[tuple[datetime, int, str, _Plan]] = []
        self.sequence = 0
        self.active: _Plan | None = None
        self.calls = 0  # engine calls that changed something

    # -- scheduling ----------------------------------------------------------------------

    def schedule(self, moment: datetime, action: str, plan: _Plan) -> None:
        self.sequence += 1
        heapq.heappush(self.queue, (moment, self.sequence, action, plan))

    def working_time(self, moment: datetime) -> datetime:
        """``moment``, or the next working-day morning when it falls outside 8:00-18:00
        (UTC) or on a weekend."""
        if moment.hour >= 18:
            moment = (moment + timedelta(days=1)).replace(hour=8, minute=0)
        elif moment.hour < 8:
            moment = moment.replace(hour=8, minute=0)
        while moment.weekday() >= 5:
            moment = (moment + timedelta(days=1)).replace(hour=8, minute=0)
        if moment.hour == 8 and moment.minute == 0:
            moment += timedelta(minutes=self.rng.randint(0, 90))
        return moment

    def tick(self, low: float = 1, high: float = 6) -> None:
        self.clock.advance(minutes=self.rng.uniform(low, high))

    # -- the run -------------------------------------------------------------------------

    def run(self) -> None:
        arrivals = sorted(self.rng.uniform(0, self.days) for _ in range(self.count))
        for number, offset in enumerate(arrivals, 1):
            priority = self._choice(PRIORITY_WEIGHTS)
            moment = self.working_time(self.start + timedelta(days=offset))
            if moment > self.cutoff:  # every track is created before the end
                moment = self.cutoff - timedelta(minutes=self.rng.uniform(1, 60))
            self.schedule(moment, "create", _Plan(number, priority))
        while self.queue:
            moment, _, action, plan = heapq.heappop(self.queue)
            if moment > self.cutoff:
                break
            self.clock.reach(moment)
            getattr(self, f"_{action}")(plan)
        self.clock.reach(self.end)

    def _choice(self, weights: dict[str, float]) -> str:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def _create(self, plan: _Plan) -> None:
        rng = self.rng
        kind = self._choice(TYPE_WEIGHTS)
        template = rng.choice(TEMPLATES[kind])
        name = f"{template.format(thing=rng.choice(THINGS))} (#{plan.number})"
        name = name[0].upper() + name[1:]
        track = self.engine.create(
            name, type=kind, priority=plan.priority, goal=f"{name}: done and shipped"
        )
        self.calls += 1
        if self.progress is not None:
            self.progress("demo tracks", plan.number, self.count)
        plan.track_id = track["track_id"]
        plan.kind = kind
        low, high = TYPICAL_DAYS[TrackType(kind)] or (1, 10)
        days = low + max(0.0, 0.75 * high - low) * rng.random() ** 1.6  # weekends add more
        if rng.random() < 0.12:  # some take far longer than the type usually does
            days *= rng.uniform(1.4, 2.6)
        plan.cycle_days = days
        plan.sessions = rng.randint(2, 3) + int(days // 10)
        plan.gap_days = days / (plan.sessions - 1)
        wait_low, wait_high = START_WAIT_DAYS[plan.priority]
        now = self.clock.now
        if rng.random() < 0.04:  # dropped before anyone started
            self.schedule(now + timedelta(days=rng.uniform(0.5, 12)), "cancel", plan)
            return
        if rng.random() < 0.6:
            self.schedule(now + timedelta(hours=rng.uniform(0.2, 30)), "ready", plan)
        self.schedule(now + timedelta(days=rng.uniform(wait_low, wait_high)), "session", plan)

    def _ready(self, plan: _Plan) -> None:
        if plan.status != "draft":
            return
        self._transition(plan, "ready")
        if self.rng.random() < 0.03:  # ready, then dropped
            self.queue = [item for item in self.queue if item[3] is not plan]
            heapq.heapify(self.queue)
            self.schedule(self.clock.now + timedelta(days=self.rng.uniform(0.5, 3)), "cancel", plan)

    def _session(self, plan: _Plan) -> None:
        if plan.status not in ("draft", "ready", "paused", "active"):
            return
        rng = self.rng
        begin = self.working_time(self.clock.now)
        if begin > self.cutoff:
            return
        self.clock.reach(begin)
        first = plan.status in ("draft", "ready")
        self._activate(plan)
        length = rng.uniform(0.25, 1.4) * 60  # minutes
        began = self.clock.now
        if first and not plan.steps_total and rng.random() < 0.45:
            for number in range(rng.randint(2, 3)):
                self.engine.add_step(plan.track_id, f"Step {number + 1}")
                plan.steps_total += 1
                self.calls += 1
                self.tick(0.5, 2)
        current = str(plan.steps_done + 1)
        pending = plan.steps_done < plan.steps_total
        if pending and not plan.step_failed and rng.random() < 0.06:
            self.tick(5, 30)  # a step fails: the engine pauses the track
            self.engine.step(plan.track_id, current, "fail", note="unexpected error")
            plan.step_failed = True
            self.calls += 1
            plan.status = "paused"
            self.active = None
            self._next_session(plan, rng.uniform(0.3, 2))
            return
        if pending and rng.random() < 0.6:
            self.tick(5, 20)
            self.engine.step(plan.track_id, current, "complete")
            plan.steps_done += 1
            plan.step_failed = False
            self.calls += 1
        if rng.random() < 0.25:
            self.tick(2, 10)
            self.engine.decide(
                plan.track_id, rng.choice(DECISIONS), rationale="the simplest thing that works"
            )
            self.calls += 1
        if rng.random() < 0.3:
            self._workflow_run(plan)
        self.clock.reach(began + timedelta(minutes=length))
        plan.sessions -= 1
        if plan.sessions <= 0:
            self._finish(plan)
            return
        if rng.random() < 0.3:
            self._transition(plan, "pause", reason=rng.choice(PAUSE_REASONS))
            self.active = None
            if rng.random() < 0.06:  # forgotten: it stays paused (an open overrun, later)
                return
        self._next_session(plan, plan.gap_days)

    def _activate(self, plan: _Plan) -> None:
        if plan.status == "active":
            return
        if self.active is not None and self.active is not plan:
            reason = f"urgent: {plan.track_id}" if plan.priority == "P0" else None
            self.engine.switch(plan.track_id, reason=reason)
            self.calls += 1
            self.active.status = "paused"
        else:
            self._transition(plan, "activate")
        plan.status = "active"
        self.active = plan
        self.tick()

    def _workflow_run(self, plan: _Plan) -> None:
        rng = self.rng
        run = self.engine.create_run(plan.track_id, rng.choice(RUN_NAMES))
        self.tick(0.2, 1)
        self.engine.set_run_status(plan.track_id, run["run_id"], "running")
        self.clock.advance(minutes=rng.lognormvariate(2.3, 0.7))
        self.calls += 3
        self._log_metrics(plan, run)
        if rng.random() < RUN_FAILURE.get(plan.kind, 0.12):
            self.engine.set_run_status(
                plan.track_id,
                run["run_id"],
                "failed",
                error_type=rng.choice(ERRORS),
                message="the run failed",
            )
        else:
            self.engine.set_run_status(plan.track_id, run["run_id"], "completed")
        self.tick(0.5, 3)

    def _log_metrics(self, plan: _Plan, run: dict[str, Any]) -> None:
        """What a test suite, a benchmark or a nightly load reports (``run.log``): coverage
        that creeps up over the months, latencies, rows. Drawn from a generator of the
        run's own, so the rest of the demo is the same with or without them."""
        rng = random.Random(f"{plan.track_id}/{run['run_id']}")
        progress = (self.clock.now - self.start) / (self.end - self.start)
        if run["name"] == "test suite":
            coverage = min(0.98, 0.62 + 0.3 * progress + rng.gauss(0, 0.02))
            metrics = {"coverage": round(coverage, 4), "tests": 300 + int(900 * progress)}
        elif run["name"] == "benchmark":
            metrics = {"p50_ms": round(rng.lognormvariate(3.0 - 0.4 * progress, 0.15), 2)}
        elif run["name"] == "nightly load":
            metrics = {"rows": int(rng.lognormvariate(11.5 + progress, 0.3))}
        else:
            return
        self.engine.log_metrics(plan.track_id, run["run_id"], metrics)
        self.calls += 1

    def _next_session(self, plan: _Plan, gap_days: float) -> None:
        gap = gap_days * self.rng.uniform(0.5, 1.5)
        self.schedule(self.clock.now + timedelta(days=max(gap, 0.05)), "session", plan)

    def _finish(self, plan: _Plan) -> None:
        rng = self.rng
        if rng.random() < SUCCESS.get(plan.kind, 0.88):
            self.engine.transition(
                plan.track_id, "complete", outcome={"summary": "shipped", "lessons_learned": []}
            )
            self.calls += 1
            plan.status = "completed"
            self.active = None
            if rng.random() < 0.3:
                self.schedule(self.clock.now + timedelta(days=rng.uniform(3, 30)), "archive", plan)
            return
        self._transition(plan, "fail", reason=rng.choice(FAIL_REASONS))
        self.active = None
        roll = rng.random()
        if roll < 0.55:
            self.schedule(self.clock.now + timedelta(days=rng.uniform(0.5, 4)), "retry", plan)
        elif roll < 0.8:
            self.schedule(self.clock.now + timedelta(days=rng.uniform(1, 5)), "cancel", plan)

    def _retry(self, plan: _Plan) -> None:
        self._transition(plan, "retry", reason="another attempt")
        plan.sessions = self.rng.randint(1, 3)
        plan.gap_days = max(0.5, plan.cycle_days / 2 / plan.sessions)
        self._next_session(plan, self.rng.uniform(0.2, 2))

    def _cancel(self, plan: _Plan) -> None:
        if plan.status not in ("draft", "ready", "failed", "paused"):
            return
        self._transition(plan, "cancel", reason="no longer needed")
        if self.rng.random() < 0.3:
            self.schedule(self.clock.now + timedelta(days=self.rng.uniform(3, 20)), "archive", plan)

    def _archive(self, plan: _Plan) -> None:
        if plan.status in ("completed", "cancelled"):
            self._transition(plan, "archive")

    def _transition(self, plan: _Plan, verb: str, *, reason: str | None = None) -> None:
        track = self.engine.transition(plan.track_id, verb, reason=reason)
        plan.status = track["status"]
        self.calls += 1
        self.tick()


def generate(
    root: str | Path,
    *,
    tracks: int = 500,
    seed: int = 1,
    start: datetime | None = None,
    days: float | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    """Fill an empty root with ``tracks`` demo tracks spread over ``days`` (default: half
    a day per track, at least 30) from ``start`` (default 2026-01-05 09:00 UTC).
    ``progress``: called as ``progress("demo tracks", made, tracks)`` (conductor_nb.progress).

    Returns the root, the simulated start and end (pass ``now=end`` to the analytics for
    figures that do not depend on the day you run it) and the counts by status."""
    if not isinstance(tracks, int) or not 1 <= tracks <= 100_000:
        raise InvalidInput("the demo makes 1 to 100,000 tracks")
    start = start or DEFAULT_START
    if start.tzinfo is None:
        raise InvalidInput("the demo's start must be timezone-aware")
    root = Path(root)
    engine = Engine(root)
    if engine.tree.registry.path.exists() and engine.registry().tracks:
        raise InvalidInput(
            f"{root} already has tracks: the demo writes into an empty root only",
            hint="give a fresh folder with --root",
        )
    span = float(days) if days is not None else max(30.0, tracks * 0.5)
    simulation = Simulation(
        root, tracks=tracks, seed=seed, start=start, days=span, progress=progress
    )
    if progress is not None:
        progress("demo tracks", 0, tracks)
    with files.deferred_sync():
        simulation.run()
    stats = simulation.engine.stats()
    return {
        "root": str(root.absolute()),
        "tracks": stats["total"],
        "seed": seed,
        "start": iso(start),
        "end": iso(simulation.clock.now),
        "engine_calls": simulation.calls,
        "by_status": {k: v for k, v in stats["by_status"].items() if v},
    }
