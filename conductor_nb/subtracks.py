"""Sub-tracks of the tracks in a store: setting a track's parent, a track's family, and
every track as a tree (the rules are ``hierarchy``'s)."""

from __future__ import annotations

from .errors import InvalidInput, track_label
from .hierarchy import (
    OPEN_STATUSES,
    PARENT_FIELD,
    ancestors,
    children_of,
    family_progress,
    parent_of,
    refuse_cycle,
    tree_order,
)
from .vocab import TrackStatus

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

    from .store.tree import Transaction
    from .tracks import TrackDoc
    from .trackstore import TrackStore

__all__ = ["NO_PARENT", "Subtracks"]

NO_PARENT = "none"  # `update TRACK --parent none`: a top-level track again
_CLOSED_PARENTS = frozenset({TrackStatus.COMPLETED, TrackStatus.ARCHIVED})


class Subtracks:
    """Parents and children among the tracks of a store."""

    def __init__(self, store: TrackStore) -> None:
        self.store = store
        self.tree = store.tree

    def set_parent(self, ref: str | None, parent: str | None) -> TrackDoc:
        """Make ``parent`` (a track ref; None or "none": no parent) the track's parent."""
        with self.tree.transaction() as txn:
            track = self.store.load(txn, self.store.resolve(ref, txn.registry))
            self.link(txn, track, parent)
            self.store.save(txn, track)
        return track

    def link(self, txn: Transaction, track: TrackDoc, parent: str | None) -> None:
        """Set ``track``'s parent (not saved): refused when it would make a loop, or put
        an open track under a completed one."""
        if parent is None or parent.strip().lower() == NO_PARENT:
            track.pop(PARENT_FIELD, None)
            return
        tracks = txn.registry.tracks
        parent_id = self.store.resolve(parent, txn.registry)
        refuse_cycle(tracks, track["track_id"], parent_id)
        parent_status = tracks[parent_id].get("status")
        if parent_status in _CLOSED_PARENTS and track.get("status") in OPEN_STATUSES:
            raise InvalidInput(
                f"{track_label(parent_id, tracks[parent_id].get('name'))} is {parent_status}: "
                "it cannot take an open sub-track"
            )
        track[PARENT_FIELD] = parent_id

    def family(self, ref: str | None) -> dict[str, Any]:
        """A track's parent and ancestors (ids, nearest first), its children (registry
        entries) and its family progress (see ``hierarchy``)."""
        registry = self.store.registry()
        track_id = self.store.resolve(ref, registry)
        tracks = registry.tracks
        own = (tracks[track_id].get("progress") or {}).get("percentage") or 0
        parent = parent_of(tracks, track_id)
        return {
            "track_id": track_id,
            "parent": parent,
            "parent_entry": tracks[parent] if parent else None,
            "ancestors": ancestors(tracks, track_id),
            "children": [tracks[c] for c in children_of(tracks).get(track_id, [])],
            "family_progress": family_progress(tracks).get(track_id, own),
        }

    def tree_list(self, **filters: Any) -> list[dict[str, Any]]:
        """``list``'s entries (same filters, newest first among siblings) in tree order,
        each with its ``depth``, ``parent_track`` and ``family_progress``."""
        entries = self.store.list(**filters)
        tracks = self.store.registry().tracks
        family = family_progress(tracks)
        rows = []
        for entry, depth in tree_order(entries, tracks):
            own = (entry.get("progress") or {}).get("percentage") or 0
            rows.append(
                {
                    **entry,
                    "depth": depth,
                    PARENT_FIELD: parent_of(tracks, entry["track_id"]),
                    "family_progress": family.get(entry["track_id"], own),
                }
            )
        return rows
