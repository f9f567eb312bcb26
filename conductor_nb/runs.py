"""Workflow runs inside a track: ``<track>/workflows/run-NNN-<slug>/run.json``."""

from __future__ import annotations

import os

from .errors import CorruptFile, InvalidInput
from .holders import process_record
from .store import files
from .store.paths import RUN_ID_RE, slugify
from .tracks import iso, parse_time
from .vocab import FINISHED_STATUSES
from .vocab import RunStatus as R

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from .store.tree import Transaction
    from .trackstore import TrackStore

RUN_TRANSITIONS: dict[R, frozenset[R]] = {
    R.PENDING: frozenset({R.RUNNING, R.FAILED}),
    R.RUNNING: frozenset({R.COMPLETED, R.FAILED, R.INTERRUPTED}),
    R.INTERRUPTED: frozenset({R.RUNNING, R.FAILED}),
    R.COMPLETED: frozenset(),
    R.FAILED: frozenset(),
}

__all__ = ["RUN_TRANSITIONS", "Runs", "read_run", "run_record"]


def read_run(path: Path, run_id: str, *, default: Any = FileNotFoundError) -> dict[str, Any]:
    """A run.json: an object whose run_id is its folder's name, else a CorruptFile."""
    run = files.read_json(path, fix="conductor repair", default=default, shape=dict)
    if run is not default and run.get("run_id") != run_id:
        raise CorruptFile(
            str(path), f"its run_id is {run.get('run_id')!r}, not {run_id}", "conductor repair"
        )
    return run


def run_record(
    run_id: str,
    track_id: str,
    name: str,
    now: str,
    *,
    workflow: str | None = None,
    status: str = R.PENDING.value,
    outcome: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A new run.json, every field of the run schema present."""
    return {
        "run_id": run_id,
        "track_id": track_id,
        "name": name,
        "workflow": workflow,
        "status": status,
        "created_at": now,
        "updated_at": now,
        "started_at": None,
        "finished_at": None,
        "heartbeat_at": None,
        "duration_ms": None,
        "outcome": outcome,
        "holder": None,
    }


class Runs:
    """Workflow runs of the tracks in a store."""

    def __init__(self, store: TrackStore) -> None:
        self.store = store
        self.tree = store.tree

    def list(self, ref: str | None) -> list[dict[str, Any]]:
        track_id = self.store.resolve(ref)
        folder = self.tree.track_file(track_id, "workflows")
        found = []
        for name in sorted(os.listdir(folder)) if folder.is_dir() else ():
            if RUN_ID_RE.fullmatch(name):
                run = read_run(folder / name / "run.json", name, default=None)
                if run is not None:
                    found.append(run)
        return found

    def get(self, ref: str | None, run_ref: str) -> dict[str, Any]:
        track_id = self.store.resolve(ref)
        return self.read(track_id, self.resolve(track_id, run_ref))

    def create(
        self, ref: str | None, name: str | None = None, *, workflow: str | None = None
    ) -> dict[str, Any]:
        label = (name or "run").strip() or "run"
        if len(label) > 100 or "\x00" in label:
            raise InvalidInput("a run name must be 1 to 100 characters")
        with self.tree.transaction() as txn:
            track_id = self.store.resolve(ref, txn.registry)
            track = self.store.load(txn, track_id)
            if track["status"] in FINISHED_STATUSES:
                raise InvalidInput(f"track {track_id} is {track['status']}: it takes no new runs")
            folder = self.tree.track_file(track_id, "workflows")
            numbers = [
                int(n.split("-")[1])
                for n in (os.listdir(folder) if folder.is_dir() else ())
                if RUN_ID_RE.fullmatch(n)
            ]
            run_id = f"run-{max(numbers, default=0) + 1:03d}-{slugify(label, 40) or 'run'}"
            now = self.store.stamp()
            run = run_record(run_id, track_id, label, now, workflow=workflow)
            run_dir = folder / run_id
            txn.write_json(run_dir / "run.json", run)
            self.store.save(txn, track)

            def make_folders() -> None:
                for sub in ("artifacts", "reasoning"):
                    (run_dir / sub).mkdir(parents=True, exist_ok=True)

            txn.after_commit.append(make_folders)
        return run

    def set_status(
        self,
        ref: str | None,
        run_ref: str,
        status: str,
        *,
        error_type: str | None = None,
        message: str | None = None,
    ) -> dict[str, Any]:
        """Move a run to running, completed, failed or interrupted."""
        try:
            target = R(status)
        except ValueError:
            raise InvalidInput(
                f"run status must be one of: {', '.join(s.value for s in R)} (got {status!r})"
            ) from None
        with self.tree.transaction() as txn:
            track_id = self.store.resolve(ref, txn.registry)
            run_id = self.resolve(track_id, run_ref)
            run = self.read(track_id, run_id, txn)
            current = R(run.get("status", R.PENDING))
            if target not in RUN_TRANSITIONS[current]:
                allowed = ", ".join(s.value for s in RUN_TRANSITIONS[current]) or "none"
                raise InvalidInput(
                    f"run {run_id} is {current.value}; it can go to: {allowed} (not {target.value})"
                )
            now = self.store.now()
            run["status"] = target.value
            run["updated_at"] = iso(now)
            if target == R.RUNNING:
                run["started_at"] = run.get("started_at") or iso(now)
                run["heartbeat_at"] = iso(now)
                run["holder"] = {**process_record(self.store.holder_pid), "since": iso(now)}
            elif target in (R.COMPLETED, R.FAILED):
                run["finished_at"] = iso(now)
                started = parse_time(run.get("started_at"))
                if started is not None:
                    run["duration_ms"] = max(0, int((now - started).total_seconds() * 1000))
                outcome: dict[str, Any] = {"result": target.value}
                if error_type:
                    outcome["error_type"] = error_type
                if message:
                    outcome["message"] = message[:2000]
                run["outcome"] = outcome
                run["holder"] = None
            self.write(txn, track_id, run)
            self.store.save(txn, self.store.load(txn, track_id))
        return run

    def heartbeat(self, ref: str | None, run_ref: str) -> dict[str, Any]:
        with self.tree.transaction() as txn:
            track_id = self.store.resolve(ref, txn.registry)
            run_id = self.resolve(track_id, run_ref)
            run = self.read(track_id, run_id, txn)
            if run.get("status") != R.RUNNING:
                raise InvalidInput(f"run {run_id} is {run.get('status')}, not running")
            run["heartbeat_at"] = self.store.stamp()
            self.write(txn, track_id, run)
        return run

    # -- helpers ------------------------------------------------------------------------

    def resolve(self, track_id: str, run_ref: str) -> str:
        folder = self.tree.track_file(track_id, "workflows")
        names = [
            n for n in (os.listdir(folder) if folder.is_dir() else ()) if RUN_ID_RE.fullmatch(n)
        ]
        if run_ref in names:
            return run_ref
        if str(run_ref).isdigit():
            matches = [n for n in names if int(n.split("-")[1]) == int(run_ref)]
        else:
            matches = [n for n in names if n.startswith(str(run_ref))]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise InvalidInput(f"{self.store.label(track_id)} has no run {run_ref!r}")
        raise InvalidInput(f"{run_ref!r} matches several runs: {', '.join(matches)}")

    def read(self, track_id: str, run_id: str, txn: Transaction | None = None) -> dict[str, Any]:
        import json

        path = self.tree.track_file(track_id, "workflows", run_id, "run.json")
        pending = txn.pending(path) if txn is not None else None
        if pending is not None:
            return json.loads(pending)
        run = read_run(path, run_id, default=None)
        if run is None:
            raise InvalidInput(f"run {run_id} of track {track_id} has no run.json")
        return run

    def write(self, txn: Transaction, track_id: str, run: dict[str, Any]) -> None:
        path = self.tree.track_file(track_id, "workflows", run["run_id"], "run.json")
        txn.write_json(path, run)
