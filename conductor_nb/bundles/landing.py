"""Landing a verified bundle in a root: every track in one transaction, ids already in
use renamed (and the references to them), an active track paused."""

from __future__ import annotations

import json

from ..store import files
from ..store.paths import inside
from ..tracks import apply_transition, reconstruct_history, registry_entry
from ..vocab import TrackStatus
from .idmap import new_ids, rewrite_file
from .renamed_checkpoints import rename_in_checkpoints

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

    from ..store.tree import Transaction
    from ..trackstore import TrackStore
    from .reading import Bundle

__all__ = ["IMPORT_PAUSE", "land"]

IMPORT_PAUSE = "imported while active: one track is active at a time"


def land(store: TrackStore, txn: Transaction, bundle: Bundle) -> dict[str, Any]:
    """Write every track of ``bundle`` with ``txn``; returns what landed where."""
    registry = txn.registry
    tracks_dir = store.tree.tracks_dir
    ids = bundle.expected.track_ids
    millis = int(store.now().timestamp() * 1000)

    def taken(track_id: str) -> bool:  # an entry, or a folder the registry does not list
        return track_id in registry.tracks or (tracks_dir / track_id).exists()

    mapping = new_ids(ids, taken, millis)
    landed, paused = [], []
    for old in ids:
        new = mapping.get(old, old)
        contents = bundle.tracks[old]
        if mapping:
            for relative, data in contents.items():
                contents[relative] = rewrite_file(relative, data, mapping)
            rename_in_checkpoints(contents, mapping)
        entry, was_active = _entry(store, contents, bundle.expected.registry_entries[old], mapping)
        if was_active:
            paused.append(new)
        folder = store.tree.track_dir(new)
        for relative, data in contents.items():
            txn.write(inside(folder, *relative.split("/")), data)
        registry.set_entry(new, entry)
        landed.append({"track_id": new, "name": entry.get("name"), "status": entry["status"]})
    active = registry.ids(status=TrackStatus.ACTIVE)
    registry.set_active(active[0] if active else None)
    registry.refresh_metadata(store.stamp())
    txn.registry_changed = True
    return {"tracks": landed, "renamed": mapping, "paused": paused}


def _entry(
    store: TrackStore,
    contents: dict[str, bytes],
    exported: dict[str, Any] | None,
    mapping: dict[str, str],
) -> tuple[dict[str, Any], bool]:
    """The track's registry entry: the one it had where it was exported (its fields,
    unknown ones included, and its status: the registry's word), with renamed ids
    followed; an active track is paused, in track.json too (then True)."""
    track = json.loads(contents["track.json"])
    known = exported is not None and exported.get("status") in TrackStatus.__members__.values()
    # an entry without a status the lifecycle knows is made from track.json (as rebuild does)
    entry = dict(exported) if known else registry_entry(track, exported)
    entry["track_id"] = entry["path"] = track["track_id"]  # the folder it lands in
    parent = entry.get("parent_track")
    if isinstance(parent, str) and parent in mapping:
        entry["parent_track"] = mapping[parent]
    if entry.get("status") != TrackStatus.ACTIVE:
        return entry, False
    entry["status"] = TrackStatus.PAUSED.value
    if track.get("status") == TrackStatus.ACTIVE:
        stamp = store.stamp()
        if "history" not in track:  # as the engine's own writes do (TrackStore.load)
            track["history"] = reconstruct_history(track)
        apply_transition(
            track, "active", "paused", now=stamp, actor=store.actor, reason=IMPORT_PAUSE
        )
        track["updated_at"] = entry["updated_at"] = stamp
        contents["track.json"] = files.dumps(track).encode("utf-8")
    return entry, True
