"""A track's steps: added, started, completed, skipped, failed, reopened.

A failed step pauses an active track whose ``execution.pause_on_failure`` is on; done
steps take the checkpoints ``checkpoint_frequency`` asks for.
"""

from __future__ import annotations

from .errors import InvalidInput, track_label
from .inputs import check_text
from .tracks import apply_transition, next_number, parse_time
from .vocab import FINISHED_STATUSES, StepStatus, StepType, TrackStatus, parse_choice

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

    from .autocheckpoints import AutoCheckpoints
    from .tracks import TrackDoc
    from .trackstore import TrackStore

__all__ = ["STEP_VERBS", "Steps", "find_step"]

STEP_VERBS: dict[str, StepStatus] = {
    "start": StepStatus.IN_PROGRESS,
    "complete": StepStatus.COMPLETED,
    "skip": StepStatus.SKIPPED,
    "fail": StepStatus.FAILED,
    "reopen": StepStatus.PENDING,  # undo a tick: the step is to do again
}


class Steps:
    """Steps of the tracks in a store."""

    def __init__(self, store: TrackStore, auto: AutoCheckpoints) -> None:
        self.store = store
        self.tree = store.tree
        self.auto = auto

    def add(
        self,
        ref: str | None,
        name: str,
        *,
        type: str = "action",  # noqa: A002
        description: str | None = None,
    ) -> dict[str, Any]:
        name = check_text(name, "step name", 100).strip()
        if not name:
            raise InvalidInput("a step needs a name")
        step_type = parse_choice(StepType, type, "step type").value
        with self.tree.transaction() as txn:
            track_id = self.store.resolve(ref, txn.registry)
            track = self.store.load(txn, track_id)
            refuse_finished(track, "add steps to")
            steps = track.setdefault("steps", [])
            step = {
                "step_id": f"step-{next_number(steps, 'step-', key='step_id')}",
                "name": name,
                "type": step_type,
                "status": StepStatus.PENDING.value,
                "order": len(steps),
            }
            if description:
                step["description"] = check_text(description, "step description", 500)
            steps.append(step)
            self.store.save(txn, track)
        return step

    def change(
        self, ref: str | None, step_ref: str, verb: str, *, note: str | None = None
    ) -> dict[str, Any]:
        """start, complete, skip, fail or reopen a step (by id, number from 1, or exact
        name)."""
        if verb not in STEP_VERBS:
            raise InvalidInput(f"unknown step action {verb!r}; one of: {', '.join(STEP_VERBS)}")
        with self.tree.transaction() as txn:
            track_id = self.store.resolve(ref, txn.registry)
            track = self.store.load(txn, track_id)
            refuse_finished(track, "change steps of")
            step = find_step(track, step_ref)
            target = STEP_VERBS[verb]
            if step.get("status") == target:
                raise InvalidInput(f"step {step['step_id']} is already {target.value}")
            now = self.store.stamp()
            _move(step, target, now)
            if note:
                step["notes"] = check_text(note, "note", 2000)
            if target == StepStatus.FAILED:
                self._failed(track, step, note, now)
            self.store.save(txn, track)
            if target in (StepStatus.COMPLETED, StepStatus.SKIPPED):
                self.auto.after_step(txn, track_id, step)
            self.auto.after_change(txn, track_id)
        return step

    def _failed(self, track: TrackDoc, step: dict[str, Any], note: str | None, now: str) -> None:
        """Record the failure; pause the track if it is active and asks for that."""
        step["error"] = {"message": note or "failed", "occurred_at": now, "recoverable": True}
        execution = track.get("execution") or {}
        if track["status"] == TrackStatus.ACTIVE and execution.get("pause_on_failure", True):
            apply_transition(
                track,
                TrackStatus.ACTIVE.value,
                TrackStatus.PAUSED.value,
                now=now,
                actor=self.store.actor,
                reason=f"step {step['step_id']} failed",
            )


def _move(step: dict[str, Any], target: StepStatus, now: str) -> None:
    """Set the step's status and its timing (a reopened step forgets both)."""
    timing = step.setdefault("timing", {})
    step["status"] = target.value
    if target == StepStatus.IN_PROGRESS:
        timing["started_at"] = now
    elif target == StepStatus.PENDING:
        for key in ("started_at", "completed_at", "actual_duration_ms"):
            timing.pop(key, None)
        step.pop("error", None)
    else:
        timing["completed_at"] = now
        started = parse_time(timing.get("started_at"))
        if started is not None:
            elapsed = (parse_time(now) - started).total_seconds()
            timing["actual_duration_ms"] = max(0, int(elapsed * 1000))


def refuse_finished(track: TrackDoc, what: str) -> None:
    """A finished track (completed, cancelled, archived) takes no more work."""
    if track["status"] in FINISHED_STATUSES:
        raise InvalidInput(f"cannot {what} track {track['track_id']}: it is {track['status']}")


def find_step(track: TrackDoc, step_ref: str) -> dict[str, Any]:
    """A step by id, by number from 1, or by exact name."""
    steps = [s for s in track.get("steps", []) if isinstance(s, dict)]
    for step in steps:
        if step.get("step_id") == step_ref:
            return step
    if str(step_ref).isdigit() and 1 <= int(step_ref) <= len(steps):
        return steps[int(step_ref) - 1]
    named = [s for s in steps if s.get("name") == step_ref]
    if len(named) == 1:
        return named[0]
    raise InvalidInput(
        f"{track_label(track['track_id'], track.get('name'))} has no step {step_ref!r}"
    )
