"""Estimates of tracks and steps, and the forecast of when a track will be done.

A track's estimate is ``estimated_duration_minutes`` in its track.json and its registry
entry; a step's is ``timing.estimated_duration_minutes``, the seed schema's own field.
Setting one on a new track or step happens in the transaction that creates it.
"""

from __future__ import annotations

from .durations import parse_duration
from .errors import InvalidInput
from .forecast import ESTIMATE_FIELD, finished_at, forecast
from .steps import find_step
from .vocab import TrackStatus

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

    from .steps import Steps
    from .templating import Templating
    from .tracks import TrackDoc
    from .trackstore import TrackStore

__all__ = ["CLEAR", "Estimates", "estimate_minutes"]

CLEAR = "none"  # the duration that removes an estimate


def estimate_minutes(duration: str | int | None) -> int | None:
    """Minutes from ``90m``/``12h``/``3d``/``1w`` (or a whole number of minutes);
    None for ``none`` or None (no estimate)."""
    if duration is None or (isinstance(duration, str) and duration.strip().lower() == CLEAR):
        return None
    if isinstance(duration, int) and not isinstance(duration, bool):
        if duration < 1:
            raise InvalidInput(f"an estimate is at least one minute, not {duration}")
        return duration
    return parse_duration(duration)


def _put(node: dict[str, Any], minutes: int | None) -> None:
    if minutes is None:
        node.pop(ESTIMATE_FIELD, None)
    else:
        node[ESTIMATE_FIELD] = minutes


class Estimates:
    """Estimates of the tracks and steps in a store, and forecasts from them."""

    def __init__(self, store: TrackStore, templating: Templating, steps: Steps) -> None:
        self.store = store
        self.tree = store.tree
        self.templating = templating
        self.steps = steps

    def set(
        self, ref: str | None, duration: str | int | None, *, step: str | None = None
    ) -> dict[str, Any]:
        """Set (or with ``none`` remove) the estimate of a track, or of one of its steps
        (by id, number from 1, or exact name)."""
        minutes = estimate_minutes(duration)
        with self.tree.transaction() as txn:
            track_id = self.store.resolve(ref, txn.registry)
            track = self.store.load(txn, track_id)
            done: dict[str, Any] = {"track_id": track_id, "name": track.get("name")}
            if step is None:
                _put(track, minutes)
            else:
                found = find_step(track, step)
                _put(found.setdefault("timing", {}), minutes)
                done["step_id"] = found["step_id"]
                done["step"] = found.get("name")
            self.store.save(txn, track)
        return {**done, ESTIMATE_FIELD: minutes}

    def create(self, name: str | None, *, estimate: str | int | None, **options: Any) -> TrackDoc:
        """A new track (``Templating.create``'s options) with its estimate, in one change."""
        minutes = estimate_minutes(estimate)
        with self.tree.transaction() as txn:
            made = self.templating.create(name, **options)
            track = self.store.load(txn, made["track_id"])
            _put(track, minutes)
            self.store.save(txn, track, touch=False)
        return track

    def add_step(
        self, ref: str | None, name: str, *, estimate: str | int | None, **options: Any
    ) -> dict[str, Any]:
        """A new step (``Steps.add``'s options) with its estimate, in one change."""
        minutes = estimate_minutes(estimate)
        with self.tree.transaction() as txn:
            added = self.steps.add(ref, name, **options)
            track_id = self.store.resolve(ref, txn.registry)
            track = self.store.load(txn, track_id)
            step = find_step(track, added["step_id"])
            _put(step.setdefault("timing", {}), minutes)
            self.store.save(txn, track, touch=False)
        return step

    def forecast(self, ref: str | None = None) -> dict[str, Any]:
        """When the track will be done (``conductor_nb.forecast``): expected finish, low,
        high and the basis, or why there is no forecast."""
        track = self.store.track(ref)
        return forecast(track, self.finished_of_type(track.get("type")), self.store.now())

    def finished_of_type(self, track_type: str | None) -> list[TrackDoc]:
        """The completed tracks of a type (archived ones too, if they had completed)."""
        finished = []
        for status in (TrackStatus.COMPLETED, TrackStatus.ARCHIVED):
            for entry in self.store.list(status=status.value, type=track_type):
                if status == TrackStatus.ARCHIVED and not entry.get("completed_at"):
                    continue
                track = self.store.read_track(entry["track_id"])
                track["status"] = entry["status"]  # the registry's status is the truth
                if finished_at(track) is not None:
                    finished.append(track)
        return finished
