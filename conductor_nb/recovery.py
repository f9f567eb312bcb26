"""Session recovery: leases on tracks and runs, finding work whose holder is gone, and
taking it over.

A lease names the process working in a track (``<track>/lease.json``) or a run (the
``holder`` of its run.json): pid, host, the process's start time (so a recycled pid is
not mistaken for the holder), when it started and its last heartbeat. Work is
*interrupted* when its holder is gone: the pid is dead on this host, or the heartbeat is
older than the threshold (30 minutes by default; the only test possible for another
host). An active track with no lease at all (activated from the CLI, which only
controls) is interrupted once it has not changed for the threshold, as in the original
tool.
"""

from __future__ import annotations

import os
from datetime import datetime

from .errors import InvalidInput
from .holders import holder_gone, is_this_process
from .store.paths import RUN_ID_RE
from .tracks import parse_time
from .vocab import RunStatus, TrackStatus

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

    from .checkpoints import Checkpoints
    from .leases import Leases
    from .maintenance import Maintenance
    from .runs import Runs
    from .trackstore import TrackStore

__all__ = ["DEFAULT_THRESHOLD_MINUTES", "Recovery"]

DEFAULT_THRESHOLD_MINUTES = 30.0


class Recovery:
    """Finding interrupted work in a store's tracks and taking it over."""

    def __init__(
        self,
        store: TrackStore,
        *,
        runs: Runs,
        checkpoints: Checkpoints,
        leases: Leases,
        maintenance: Maintenance,
    ) -> None:
        self.store = store
        self.tree = store.tree
        self.runs = runs
        self.checkpoints = checkpoints
        self.leases = leases
        self.maintenance = maintenance

    # -- detection -------------------------------------------------------------------------

    def detect(
        self, *, threshold_minutes: float = DEFAULT_THRESHOLD_MINUTES
    ) -> list[dict[str, Any]]:
        """Active tracks and running workflow runs whose holder is gone."""
        now = self.store.now()
        found = []
        registry = self.store.registry()
        for track_id in registry.ids(status=TrackStatus.ACTIVE):
            entry = registry.tracks[track_id]
            record = self.leases.of(track_id)
            if record is not None:
                reason = holder_gone(record) or _stale(
                    record.get("heartbeat_at"), now, threshold_minutes
                )
                seen = record.get("heartbeat_at")
            else:
                reason = _stale(entry.get("updated_at"), now, threshold_minutes)
                seen = entry.get("updated_at")
            if reason:
                found.append(
                    _finding("track", track_id, track_id, "active", reason, seen, now, record)
                    | {
                        "progress": (entry.get("progress") or {}).get("percentage", 0),
                        "last_checkpoint": self.store.track(track_id).get("last_checkpoint"),
                    }
                )
        for track_id in registry.tracks:
            for run in self._runs_quietly(track_id):
                if run.get("status") != RunStatus.RUNNING:
                    continue
                holder = run.get("holder")
                reason = holder_gone(holder) or _stale(
                    run.get("heartbeat_at"), now, threshold_minutes
                )
                if reason:
                    found.append(
                        _finding(
                            "run",
                            run["run_id"],
                            track_id,
                            "running",
                            reason,
                            run.get("heartbeat_at"),
                            now,
                            holder,
                        )
                        | {"name": run.get("name"), "progress": None, "last_checkpoint": None}
                    )
        return found

    def _runs_quietly(self, track_id: str) -> list[dict[str, Any]]:
        """The track's runs, with one listing for a track that has none (detect visits
        every track: at 1,000 tracks the full path checks of ``runs`` cost ~100 ms)."""
        folder = os.path.join(self.tree.tracks_dir, track_id, "workflows")  # no Path: hot loop
        try:
            names = [n for n in os.listdir(folder) if RUN_ID_RE.fullmatch(n)]
        except (FileNotFoundError, NotADirectoryError):
            return []
        return self.runs.list(track_id) if names else []

    # -- take-over -------------------------------------------------------------------------

    def track(self, ref: str | None, *, hold: bool = False) -> dict[str, Any]:
        """Re-attach to an interrupted track: mend its files (from the last good checkpoint
        when they are unreadable, else by bringing track.json in line with the registry)
        and take over, or clear, the dead lease."""
        track_id = self.store.resolve(ref)
        actions: list[str] = []
        problems = [p for p in self.maintenance.validate() if p.track_id == track_id]
        if any(p.kind in ("corrupt-track-file", "missing-track-file") for p in problems):
            good = self.checkpoints.last_good(track_id)
            if good is not None:
                done = self.checkpoints.restore(track_id, good)
                actions.append(
                    f"restored from {good} (the state before is {done['safety_checkpoint']})"
                )
            else:
                actions += self.maintenance.repair()
        elif problems:
            actions += [a for a in self.maintenance.repair() if a.startswith(track_id)]
        record = self.leases.of(track_id)
        if hold:
            self.leases.take(track_id, holder="recovered")
            actions.append("lease taken over by this process")
        elif record is not None and (holder_gone(record) or not is_this_process(record)):
            self.leases.clear(track_id)
            actions.append(f"cleared the lease of pid {record.get('pid')}")
        return {
            "track_id": track_id,
            "status": self.store.entry(track_id)["status"],
            "actions": actions,
        }

    def run(self, ref: str | None, run_ref: str, *, abandon: bool = False) -> dict[str, Any]:
        """An interrupted run is marked interrupted and, unless abandoned, continued by this
        process (its lease taken over)."""
        track_id = self._track_of_run(ref, run_ref)
        run = self.runs.get(track_id, run_ref)
        if run.get("status") != RunStatus.RUNNING:
            raise InvalidInput(
                f"run {run['run_id']} is {run.get('status')}, not running: nothing to recover"
            )
        previous = run.get("holder")
        self.runs.set_status(track_id, run["run_id"], "interrupted", message="holder gone")
        if abandon:
            return self.runs.get(track_id, run["run_id"]) | {"recovered": False}
        continued = self.runs.set_status(track_id, run["run_id"], "running")
        with self.tree.transaction() as txn:
            continued["recovery_info"] = {
                "recovered_at": self.store.stamp(),
                "previous_holder": previous,
                "interrupted_at": continued.get("updated_at"),
            }
            self.runs.write(txn, track_id, continued)
        return continued | {"recovered": True}

    def _track_of_run(self, ref: str | None, run_ref: str) -> str:
        if ref is not None:
            return self.store.resolve(ref)
        owners = []
        for track_id in self.store.registry().tracks:
            folder = self.tree.tracks_dir / track_id / "workflows" / str(run_ref)
            if folder.is_dir():
                owners.append(track_id)
        if len(owners) == 1:
            return owners[0]
        if not owners:
            return self.store.resolve(None)  # a run number of the active track
        raise InvalidInput(f"run {run_ref} exists in several tracks: name the track")


def _stale(stamp: Any, now: datetime, threshold_minutes: float) -> str | None:
    moment = parse_time(stamp)
    if moment is None:
        return None
    minutes = (now - moment).total_seconds() / 60
    if minutes >= threshold_minutes:
        return f"no heartbeat for {minutes:.0f} min"
    return None


def _finding(kind, ident, track_id, status, reason, seen, now, holder) -> dict[str, Any]:
    moment = parse_time(seen)
    age = round((now - moment).total_seconds() / 60, 1) if moment else None
    return {
        "type": kind,
        "id": ident,
        "track_id": track_id,
        "status": status,
        "reason": reason,
        "last_seen": seen,
        "age_minutes": age,
        "holder": holder,
    }
