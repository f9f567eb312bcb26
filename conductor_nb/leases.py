"""Leases: ``<track>/lease.json`` records which process works in a track, with a
heartbeat, so a crash can be told from work still going on."""

from __future__ import annotations

from .holders import is_this_process, process_record
from .store import files

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

    from .trackstore import TrackStore

__all__ = ["LEASE_FILE", "Leases"]

LEASE_FILE = "lease.json"


class Leases:
    """Leases on the tracks of a store, held by the store's ``holder_pid``."""

    def __init__(self, store: TrackStore) -> None:
        self.store = store
        self.tree = store.tree

    def take(
        self, ref: str | None, *, holder: str = "python", details: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Record this process as the one working in the track (``details``: what else
        tells its holder apart, such as a kernel's id and notebook)."""
        with self.tree.transaction() as txn:
            track_id = self.store.resolve(ref, txn.registry)
            now = self.store.stamp()
            record = {
                **process_record(self.store.holder_pid),
                "kind": holder,
                **(details or {}),
                "started_at": now,
                "heartbeat_at": now,
            }
            txn.write_json(self.tree.track_file(track_id, LEASE_FILE), record)
        return record

    def renew(self, ref: str | None) -> dict[str, Any] | None:
        """Refresh the heartbeat of this process's lease (None if it holds none)."""
        with self.tree.transaction() as txn:
            track_id = self.store.resolve(ref, txn.registry)
            record = self.of(track_id)
            if record is None or not is_this_process(record):
                return None
            record["heartbeat_at"] = self.store.stamp()
            txn.write_json(self.tree.track_file(track_id, LEASE_FILE), record)
        return record

    def release(self, ref: str | None) -> bool:
        """Drop this process's lease on the track (True if there was one)."""
        with self.tree.transaction() as txn:
            track_id = self.store.resolve(ref, txn.registry)
            record = self.of(track_id)
            if record is None or not is_this_process(record):
                return False
            txn.delete(self.tree.track_file(track_id, LEASE_FILE))
        return True

    def clear(self, track_id: str) -> None:
        """Remove the track's lease, whoever holds it (its holder is gone)."""
        with self.tree.transaction() as txn:
            txn.delete(self.tree.track_file(track_id, LEASE_FILE))

    def of(self, track_id: str) -> dict[str, Any] | None:
        """The track's lease record, if it has one (a damaged one is a CorruptFile)."""
        path = self.tree.track_file(track_id, LEASE_FILE)
        return files.read_json(path, fix="conductor repair", default=None, shape=dict)
