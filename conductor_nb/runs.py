"""Workflow runs inside a track: ``<track>/workflows/run-NNN-<slug>/run.json``."""

from __future__ import annotations

import os

from .errors import InvalidInput
from .store import files
from .store.paths import RUN_ID_RE, slugify
from .tracks import iso, parse_time
from .vocab import RunStatus as R
from .vocab import TrackStatus

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

    from .engine import Engine
    from .store.tree import Transaction

RUN_TRANSITIONS: dict[R, frozenset[R]] = {
    R.PENDING: frozenset({R.RUNNING, R.FAILED}),
    R.RUNNING: frozenset({R.COMPLETED, R.FAILED, R.INTERRUPTED}),
    R.INTERRUPTED: frozenset({R.RUNNING, R.FAILED}),
    R.COMPLETED: frozenset(),
    R.FAILED: frozenset(),
}

CLOSED = (TrackStatus.COMPLETED, TrackStatus.CANCELLED, TrackStatus.ARCHIVED)


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), to tell a live
    process from a new one that reused its pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return fields[19].decode()
    except (OSError, IndexError):
        return None


def lease(pid: int | None = None) -> dict[str, Any]:
    """Who holds a run or a track: this process (or ``pid``), on this host."""
    pid = os.getpid() if pid is None else pid
    return {"pid": pid, "host": hostname(), "process_start": process_start_time(pid)}


def hostname() -> str:
    """This host's name (os.uname: the socket module costs 5 ms of CLI start-up)."""
    return os.uname().nodename


class RunsMixin:
    """Engine methods for workflow runs."""

    def runs(self: Engine, ref: str | None) -> list[dict[str, Any]]:
        track_id = self.resolve(ref)
        folder = self.tree.track_file(track_id, "workflows")
        found = []
        for name in sorted(os.listdir(folder)) if folder.is_dir() else ():
            if RUN_ID_RE.fullmatch(name):
                run = files.read_json(
                    folder / name / "run.json", fix="conductor repair", default=None
                )
                if isinstance(run, dict):
                    found.append(run)
        return found

    def run(self: Engine, ref: str | None, run_ref: str) -> dict[str, Any]:
        track_id = self.resolve(ref)
        return self._read_run(track_id, self._resolve_run(track_id, run_ref))

    def create_run(
        self: Engine, ref: str | None, name: str | None = None, *, workflow: str | None = None
    ) -> dict[str, Any]:
        label = (name or "run").strip() or "run"
        if len(label) > 100 or "\x00" in label:
            raise InvalidInput("a run name must be 1 to 100 characters")
        with self.tree.transaction() as txn:
            track_id = self.resolve(ref, txn.registry)
            track = self._load(txn, track_id)
            if track["status"] in CLOSED:
                raise InvalidInput(f"track {track_id} is {track['status']}: it takes no new runs")
            folder = self.tree.track_file(track_id, "workflows")
            numbers = [
                int(n.split("-")[1])
                for n in (os.listdir(folder) if folder.is_dir() else ())
                if RUN_ID_RE.fullmatch(n)
            ]
            run_id = f"run-{max(numbers, default=0) + 1:03d}-{slugify(label, 40) or 'run'}"
            now = self.stamp()
            run = {
                "run_id": run_id,
                "track_id": track_id,
                "name": label,
                "workflow": workflow,
                "status": R.PENDING.value,
                "created_at": now,
                "updated_at": now,
                "started_at": None,
                "finished_at": None,
                "heartbeat_at": None,
                "duration_ms": None,
                "outcome": None,
                "holder": None,
            }
            run_dir = folder / run_id
            txn.write_json(run_dir / "run.json", run)
            self._save(txn, track)

            def make_folders() -> None:
                for sub in ("artifacts", "reasoning"):
                    (run_dir / sub).mkdir(parents=True, exist_ok=True)

            txn.after_commit.append(make_folders)
        return run

    def set_run_status(
        self: Engine,
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
            track_id = self.resolve(ref, txn.registry)
            run_id = self._resolve_run(track_id, run_ref)
            run = self._read_run(track_id, run_id, txn)
            current = R(run.get("status", R.PENDING))
            if target not in RUN_TRANSITIONS[current]:
                allowed = ", ".join(s.value for s in RUN_TRANSITIONS[current]) or "none"
                raise InvalidInput(
                    f"run {run_id} is {current.value}; it can go to: {allowed} (not {target.value})"
                )
            now = self.now()
            run["status"] = target.value
            run["updated_at"] = iso(now)
            if target == R.RUNNING:
                run["started_at"] = run.get("started_at") or iso(now)
                run["heartbeat_at"] = iso(now)
                run["holder"] = {**lease(self.holder_pid), "since": iso(now)}
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
            self._write_run(txn, track_id, run)
            self._save(txn, self._load(txn, track_id))
        return run

    def heartbeat(self: Engine, ref: str | None, run_ref: str) -> dict[str, Any]:
        with self.tree.transaction() as txn:
            track_id = self.resolve(ref, txn.registry)
            run_id = self._resolve_run(track_id, run_ref)
            run = self._read_run(track_id, run_id, txn)
            if run.get("status") != R.RUNNING:
                raise InvalidInput(f"run {run_id} is {run.get('status')}, not running")
            run["heartbeat_at"] = self.stamp()
            self._write_run(txn, track_id, run)
        return run

    # -- helpers ------------------------------------------------------------------------

    def _resolve_run(self: Engine, track_id: str, run_ref: str) -> str:
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
            raise InvalidInput(f"track {track_id} has no run {run_ref!r}")
        raise InvalidInput(f"{run_ref!r} matches several runs: {', '.join(matches)}")

    def _read_run(
        self: Engine, track_id: str, run_id: str, txn: Transaction | None = None
    ) -> dict[str, Any]:
        import json

        path = self.tree.track_file(track_id, "workflows", run_id, "run.json")
        pending = txn.pending(path) if txn is not None else None
        if pending is not None:
            return json.loads(pending)
        run = files.read_json(path, fix="conductor repair", default=None)
        if not isinstance(run, dict):
            raise InvalidInput(f"run {run_id} of track {track_id} has no readable run.json")
        return run

    def _write_run(self: Engine, txn: Transaction, track_id: str, run: dict[str, Any]) -> None:
        path = self.tree.track_file(track_id, "workflows", run["run_id"], "run.json")
        txn.write_json(path, run)
