"""Checkpoints the lifecycle takes by itself, as ``execution.checkpoint_frequency`` says:
on suspension (pause, switch), per step or milestone, hourly; and bringing a paused
track back from its last checkpoint when its files changed behind conductor's back."""

from __future__ import annotations

from .checkpoint_format import CHECKPOINT_RE, RUN_FILE_RE
from .tracks import parse_time

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

    from .checkpoints import Checkpoints
    from .store.tree import Transaction
    from .trackstore import TrackStore

__all__ = ["AutoCheckpoints"]


class AutoCheckpoints:
    """The checkpoint policy of the tracks in a store."""

    def __init__(self, store: TrackStore, checkpoints: Checkpoints) -> None:
        self.store = store
        self.checkpoints = checkpoints

    def frequency(self, txn: Transaction, track_id: str) -> str | None:
        return _frequency_of(self.store.peek(txn, track_id))

    def on_suspend(
        self, txn: Transaction, track_id: str, *, kind: str, reason: str
    ) -> dict[str, Any] | None:
        """Checkpoint a track being suspended, unless its frequency is 'never'."""
        if self.frequency(txn, track_id) == "never":
            return None
        return self.checkpoints.take(
            txn, track_id, reason=reason.strip(": "), kind=kind, pinned=False
        )

    def after_step(self, txn: Transaction, track_id: str, step: dict[str, Any]) -> None:
        frequency = self.frequency(txn, track_id)
        if frequency == "per-step":
            reason = f"step {step['step_id']} {step['status']}"
            self.checkpoints.take(txn, track_id, reason=reason, kind="step", pinned=False)
        elif frequency == "per-milestone" and step.get("type") == "checkpoint":
            reason = f"milestone {step['step_id']}: {step.get('name')}"
            self.checkpoints.take(txn, track_id, reason=reason, kind="milestone", pinned=True)

    def after_change(self, txn: Transaction, track_id: str) -> None:
        """'hourly': a change more than an hour after the last checkpoint takes one."""
        track = self.store.peek(txn, track_id)
        if _frequency_of(track) != "hourly":
            return
        last = parse_time(track.get("last_checkpoint_at"))
        if last is None or (self.store.now() - last).total_seconds() >= 3600:
            self.checkpoints.take(txn, track_id, reason="hourly", kind="hourly", pinned=False)

    def bring_back(self, txn: Transaction, track: dict[str, Any]) -> str | None:
        """Before a paused track (``track``, as loaded for the change) becomes active
        again: if its files were changed behind conductor's back since its last checkpoint
        (conductor's own edits move the track's updated_at and are kept), keep what is
        there in a safety checkpoint and restore the last checkpoint. Returns the safety
        checkpoint's id, if one was taken."""
        track_id, last = track["track_id"], track.get("last_checkpoint")
        if _frequency_of(track) == "never" or not isinstance(last, str):
            return None
        if (
            not CHECKPOINT_RE.fullmatch(last)
            or not self.checkpoints.manifest_path(track_id, last).exists()
        ):
            return None  # e.g. the original tool's snapshot ids: nothing of ours to restore
        manifest = self.checkpoints.get(track_id, last)
        if manifest.get("track_state", {}).get("updated_at") != track.get("updated_at"):
            return None  # conductor itself changed the track since: that work stands
        diff = self.checkpoints.diff(track_id, last)
        changed = [
            p
            for key in ("added", "removed", "changed")
            for p in diff[key]
            if p != "track.json" and not RUN_FILE_RE.fullmatch(p)  # heartbeats go on
        ]
        if not changed:
            return None
        done = self.checkpoints.restore(track_id, last)
        return done["safety_checkpoint"]


def _frequency_of(track: dict[str, Any]) -> str | None:
    return (track.get("execution") or {}).get("checkpoint_frequency")
