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
import threading
from datetime import datetime

from .errors import InvalidInput
from .runs import hostname, lease, process_start_time
from .store import files
from .store.locking import pid_alive
from .store.paths import RUN_ID_RE
from .tracks import parse_time
from .vocab import RunStatus, TrackStatus

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

    from .engine import Engine

LEASE_FILE = "lease.json"
DEFAULT_THRESHOLD_MINUTES = 30.0


def holder_gone(holder: dict[str, Any] | None) -> str | None:
    """Why the holder of a lease is gone (None if it may still be alive)."""
    if not isinstance(holder, dict):
        return None
    if holder.get("host") != hostname():
        return None
    pid = holder.get("pid")
    if not isinstance(pid, int):
        return None
    if not pid_alive(pid):
        return f"holder pid {pid} is gone"
    started = holder.get("process_start")
    if started is not None and process_start_time(pid) not in (None, started):
        return f"pid {pid} now belongs to another process"
    return None


class RecoveryMixin:
    """Engine methods for leases, detection and take-over."""

    # -- leases ----------------------------------------------------------------------------

    def take_lease(self: Engine, ref: str | None, *, holder: str = "python") -> dict[str, Any]:
        """Record this process as the one working in the track."""
        with self.tree.transaction() as txn:
            track_id = self.resolve(ref, txn.registry)
            now = self.stamp()
            record = {
                **lease(self.holder_pid),
                "kind": holder,
                "started_at": now,
                "heartbeat_at": now,
            }
            txn.write_json(self.tree.track_file(track_id, LEASE_FILE), record)
        return record

    def renew_lease(self: Engine, ref: str | None) -> dict[str, Any] | None:
        """Refresh the heartbeat of this process's lease (None if it holds none)."""
        with self.tree.transaction() as txn:
            track_id = self.resolve(ref, txn.registry)
            record = self.lease_of(track_id)
            if record is None or not _is_mine(record):
                return None
            record["heartbeat_at"] = self.stamp()
            txn.write_json(self.tree.track_file(track_id, LEASE_FILE), record)
        return record

    def release_lease(self: Engine, ref: str | None) -> bool:
        """Drop this process's lease on the track (True if there was one)."""
        with self.tree.transaction() as txn:
            track_id = self.resolve(ref, txn.registry)
            record = self.lease_of(track_id)
            if record is None or not _is_mine(record):
                return False
            txn.delete(self.tree.track_file(track_id, LEASE_FILE))
        return True

    def lease_of(self: Engine, track_id: str) -> dict[str, Any] | None:
        record = files.read_json(
            self.tree.track_file(track_id, LEASE_FILE), fix="conductor recover", default=None
        )
        return record if isinstance(record, dict) else None

    # -- detection -------------------------------------------------------------------------

    def detect(
        self: Engine, *, threshold_minutes: float = DEFAULT_THRESHOLD_MINUTES
    ) -> list[dict[str, Any]]:
        """Active tracks and running workflow runs whose holder is gone."""
        now = self.now()
        found = []
        registry = self.registry()
        for track_id in registry.ids(status=TrackStatus.ACTIVE):
            entry = registry.tracks[track_id]
            record = self.lease_of(track_id)
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
                        "last_checkpoint": self.track(track_id).get("last_checkpoint"),
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

    def _runs_quietly(self: Engine, track_id: str) -> list[dict[str, Any]]:
        """The track's runs, with one listing for a track that has none (detect visits
        every track: at 1,000 tracks the full path checks of ``runs`` cost ~100 ms)."""
        folder = os.path.join(self.tree.tracks_dir, track_id, "workflows")  # no Path: hot loop
        try:
            names = [n for n in os.listdir(folder) if RUN_ID_RE.fullmatch(n)]
        except (FileNotFoundError, NotADirectoryError):
            return []
        return self.runs(track_id) if names else []

    # -- take-over -------------------------------------------------------------------------

    def recover_track(self: Engine, ref: str | None, *, hold: bool = False) -> dict[str, Any]:
        """Re-attach to an interrupted track: mend its files (from the last good checkpoint
        when they are unreadable, else by bringing track.json in line with the registry)
        and take over, or clear, the dead lease."""
        track_id = self.resolve(ref)
        actions: list[str] = []
        problems = [p for p in self.validate() if p.track_id == track_id]
        if any(p.kind in ("corrupt-track-file", "missing-track-file") for p in problems):
            good = self._last_good_checkpoint(track_id)
            if good is not None:
                done = self.restore_checkpoint(track_id, good)
                actions.append(
                    f"restored from {good} (the state before is {done['safety_checkpoint']})"
                )
            else:
                actions += self.repair()
        elif problems:
            actions += [a for a in self.repair() if a.startswith(track_id)]
        record = self.lease_of(track_id)
        if hold:
            self.take_lease(track_id, holder="recovered")
            actions.append("lease taken over by this process")
        elif record is not None and (holder_gone(record) or not _is_mine(record)):
            with self.tree.transaction() as txn:
                txn.delete(self.tree.track_file(track_id, LEASE_FILE))
            actions.append(f"cleared the lease of pid {record.get('pid')}")
        return {"track_id": track_id, "status": self.entry(track_id)["status"], "actions": actions}

    def recover_run(
        self: Engine, ref: str | None, run_ref: str, *, abandon: bool = False
    ) -> dict[str, Any]:
        """An interrupted run is marked interrupted and, unless abandoned, continued by this
        process (its lease taken over)."""
        track_id = self._track_of_run(ref, run_ref)
        run = self.run(track_id, run_ref)
        if run.get("status") != RunStatus.RUNNING:
            raise InvalidInput(
                f"run {run['run_id']} is {run.get('status')}, not running: nothing to recover"
            )
        previous = run.get("holder")
        self.set_run_status(track_id, run["run_id"], "interrupted", message="holder gone")
        if abandon:
            return self.run(track_id, run["run_id"]) | {"recovered": False}
        continued = self.set_run_status(track_id, run["run_id"], "running")
        with self.tree.transaction() as txn:
            continued["recovery_info"] = {
                "recovered_at": self.stamp(),
                "previous_holder": previous,
                "interrupted_at": continued.get("updated_at"),
            }
            self._write_run(txn, track_id, continued)
        return continued | {"recovered": True}

    def _track_of_run(self: Engine, ref: str | None, run_ref: str) -> str:
        if ref is not None:
            return self.resolve(ref)
        owners = []
        for track_id in self.registry().tracks:
            folder = self.tree.tracks_dir / track_id / "workflows" / str(run_ref)
            if folder.is_dir():
                owners.append(track_id)
        if len(owners) == 1:
            return owners[0]
        if not owners:
            return self.resolve(None)  # a run number of the active track
        raise InvalidInput(f"run {run_ref} exists in several tracks: name the track")

    def _last_good_checkpoint(self: Engine, track_id: str) -> str | None:
        for manifest in self.checkpoints(track_id):
            if not self.verify_checkpoint(track_id, manifest["checkpoint_id"]):
                return manifest["checkpoint_id"]
        return None


class LeaseKeeper:
    """Holds a track's lease for this process and renews it from a daemon thread."""

    def __init__(self, engine: Engine, track_id: str, *, every: float = 60.0) -> None:
        self.engine = engine
        self.track_id = track_id
        self.every = every
        self._stop = threading.Event()
        engine.take_lease(track_id, holder="python")
        self._thread = threading.Thread(target=self._beat, name="conductor-lease", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.engine.renew_lease(self.track_id)
            except Exception:
                continue

    def release(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.engine.release_lease(self.track_id)


def _is_mine(record: dict[str, Any]) -> bool:
    mine = lease()
    return record.get("pid") == mine["pid"] and record.get("host") == mine["host"]


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
