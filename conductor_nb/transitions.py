"""Lifecycle verbs on tracks: transition, switch, and the single active track.

The rules (which verb leads where) are ``lifecycle``'s; this part applies them to
tracks in a store, suspending (pausing and checkpointing) whatever must make room.
"""

from __future__ import annotations

from . import lifecycle
from .assumption_checks import AssumptionChecks
from .dependencies import refuse_while_waiting
from .errors import ActiveTrackExists, InvalidInput, InvalidTransition, track_label
from .hierarchy import refuse_open_children
from .hooks import Hooks
from .inputs import check_text
from .tracks import apply_transition
from .vocab import TrackStatus, parse_choice

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

    from .autocheckpoints import AutoCheckpoints
    from .store.tree import Transaction
    from .tracks import TrackDoc
    from .trackstore import TrackStore

__all__ = ["OUTCOME_LISTS", "Transitions"]

# Outcome fields that hold lists of text (the schema's outcomes object).
OUTCOME_LISTS = (
    "artifacts_created",
    "files_modified",
    "next_tracks",
    "lessons_learned",
    "suggestions_generated",
)
_RESULTS = {"complete": "success", "fail": "failed", "cancel": "cancelled"}
# Verbs a parent cannot take while a sub-track is open (fail can: the work went wrong).
_WAIT_FOR_CHILDREN = ("complete", "cancel", "archive")


class Transitions:
    """The lifecycle of the tracks in a store."""

    def __init__(
        self,
        store: TrackStore,
        auto: AutoCheckpoints,
        hooks: Hooks | None = None,
        checks: AssumptionChecks | None = None,
    ) -> None:
        self.store = store
        self.tree = store.tree
        self.auto = auto
        self.hooks = hooks or Hooks(store)  # pre-hooks run before the lock, post-hooks after
        self.checks = checks or AssumptionChecks(store)  # run on resume and switch, after

    def transition(
        self,
        ref: str | None,
        verb: str,
        *,
        reason: str | None = None,
        force: bool = False,
        outcome: dict[str, Any] | None = None,
    ) -> TrackDoc:
        """Apply a lifecycle verb (ready, activate, pause, resume, complete, fail, cancel,
        archive, retry) to a track."""
        if verb not in lifecycle.ACTIONS:
            raise InvalidInput(f"unknown action {verb!r}; one of: {', '.join(lifecycle.ACTIONS)}")
        reason = check_text(reason, "reason", 2000) or None
        hooks = self.hooks.before(verb, ref, reason=reason, force=force)
        with self.tree.transaction() as txn:
            track_id = self.store.resolve(ref, txn.registry)
            track = self.store.load(txn, track_id)
            steps = lifecycle.plan(track_id, track["status"], verb, track.get("name"))
            refuse_while_waiting(self.store, txn, track, verb, steps)  # prerequisites done?
            if verb in _WAIT_FOR_CHILDREN:  # a parent waits for its sub-tracks
                refuse_open_children(txn.registry.tracks, track_id, verb)
            if steps[-1][1] == TrackStatus.ACTIVE:
                self._make_room(txn, track_id, force=force)
                track = self._wake(txn, track)
            self._apply(track, steps, reason)
            if verb in _RESULTS:
                set_outcome(track, verb, outcome)
            self.store.save(txn, track)
            self.store.share(txn, track)  # done with it: what follows reads it as saved
            if verb == "pause":
                why = f"paused: {reason}" if reason else "paused"
                self.auto.on_suspend(txn, track_id, kind="pause", reason=why)
            else:
                self.auto.after_change(txn, track_id)
            done = self.store.peek(txn, track_id)  # what commit writes (txn ends here)
            check = verb == "resume" and self.checks.any_check(txn, track_id)
        # on disk now: a failing check marks, it never undoes (and writes what it found)
        if check and self.checks.after_transition(track_id):
            done = self.store.read_track(track_id)
        hooks.after(done)
        return done

    def switch(self, to: str, *, reason: str | None = None) -> TrackDoc:
        """Pause the active track and activate ``to``, as one all-or-nothing change."""
        reason = check_text(reason, "reason", 2000) or None
        hooks = self.hooks.before("switch", to, reason=reason)
        with self.tree.transaction() as txn:
            target_id = self.store.resolve(to, txn.registry)
            target = self.store.load(txn, target_id)
            if target["status"] == TrackStatus.ACTIVE:
                raise InvalidInput(
                    f"{track_label(target_id, target.get('name'))} is already active"
                )
            steps = lifecycle.plan(target_id, target["status"], "activate", target.get("name"))
            refuse_while_waiting(self.store, txn, target, "switch to", steps)
            others = txn.registry.ids(status=TrackStatus.ACTIVE)
            for other_id in others:  # the reason explains the pause of the one suspended
                self.suspend(txn, other_id, reason or f"switched to {target_id}")
            target = self._wake(txn, target)
            self._apply(target, steps[:-1], None)
            self._apply(target, steps[-1:], f"switched from {others[0]}" if others else None)
            self.store.save(txn, target)
            self.store.share(txn, target)  # done with it: what follows reads it as saved
            self.auto.after_change(txn, target_id)
            done = self.store.peek(txn, target_id)  # what commit writes (txn ends here)
            check = self.checks.any_check(txn, target_id)
        # on disk now: a failing check marks, it never undoes (and writes what it found)
        if check and self.checks.after_transition(target_id):
            done = self.store.read_track(target_id)
        hooks.after(done)
        return done

    def set_status(self, ref: str | None, value: str) -> TrackDoc:
        """``update --field status`` runs the verb that leads there (``ready`` -> ready...)."""
        target = parse_choice(TrackStatus, value, "status")
        entry = self.store.entry(ref)
        current = TrackStatus(entry["status"])
        verbs = [v for v in lifecycle.VERBS_FROM[current] if lifecycle.ACTIONS[v].target == target]
        if not verbs:
            raise InvalidTransition(
                entry["track_id"],
                current,
                f"set status {target.value} on",
                lifecycle.VERBS_FROM[current],
                entry.get("name"),
            )
        return self.transition(entry["track_id"], verbs[0])

    def suspend(self, txn: Transaction, track_id: str, reason: str) -> None:
        """Pause an active track and checkpoint it (the seed's suspension)."""
        track = self.store.load(txn, track_id)
        self._apply(track, [(TrackStatus.ACTIVE, TrackStatus.PAUSED)], reason)
        self.store.save(txn, track)
        self.auto.on_suspend(txn, track_id, kind="suspend", reason=reason)

    def _make_room(self, txn: Transaction, track_id: str, *, force: bool) -> None:
        """Enforce the single active track before ``track_id`` becomes active."""
        others = [tid for tid in txn.registry.ids(status=TrackStatus.ACTIVE) if tid != track_id]
        if others and not force:
            raise ActiveTrackExists(others[0], track_id, txn.registry.tracks[others[0]].get("name"))
        for other_id in others:
            self.suspend(txn, other_id, f"suspended: {track_id} was activated")

    def _wake(self, txn: Transaction, track: TrackDoc) -> TrackDoc:
        """A paused track about to become active, brought back from its last checkpoint
        if its files changed behind conductor's back."""
        if track["status"] != TrackStatus.PAUSED:
            return track
        if self.auto.bring_back(txn, track) is None:  # nothing restored
            return track
        return self.store.load(txn, track["track_id"])

    def _apply(
        self, track: TrackDoc, steps: list[tuple[TrackStatus, TrackStatus]], reason: str | None
    ) -> None:
        now = self.store.stamp()
        for source, target in steps:
            apply_transition(
                track, source.value, target.value, now=now, actor=self.store.actor, reason=reason
            )


def set_outcome(track: TrackDoc, verb: str, outcome: dict[str, Any] | None) -> None:
    """The track's outcomes as a closing verb leaves them (its result, and what the user
    said of it)."""
    outcomes = dict(track.get("outcomes") or {})
    for key in ("artifacts_created", "files_modified", "suggestions_generated", "next_tracks"):
        outcomes.setdefault(key, [])
    outcomes.setdefault("summary", "")
    outcomes.setdefault("lessons_learned", [])
    outcomes["result"] = _RESULTS[verb]
    for key, value in (outcome or {}).items():
        if value is None:
            continue
        if key == "result":
            outcomes["result"] = value
        elif key == "summary":
            outcomes["summary"] = check_text(value, "summary")
        elif key in OUTCOME_LISTS:
            outcomes[key] = [check_text(item, key) for item in value]
        else:
            raise InvalidInput(f"unknown outcome field {key!r}")
    track["outcomes"] = outcomes
