"""The format versions of a root and the steps between them.

Each step upgrades a tree from format N to N+1. Its ``plan`` reads the tree through a
``TreeReader`` and returns the files it would change (``FileChange``: the new content
and, field by field, what differs), without writing anything: a dry run shows the plans
of every step, a real run applies them in one transaction (``migrating``). A later
change of format adds one step at the end of ``STEPS``.

Format 1 is the original tool's layout as that tool writes it. Format 2 keeps the same
files and fields and makes them canonical, as this code's own writes leave them (see
``canonical_tracks``); the original tool still reads it.
"""

from __future__ import annotations

import copy
from collections import namedtuple

from .tracks import recompute_progress, reconstruct_history, registry_entry
from .vocab import TrackStatus

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from .store.tree import Transaction
    from .trackstore import TrackStore

__all__ = [
    "ALIGNED_FIELDS",
    "BROUGHT_IN_LINE",
    "STEPS",
    "FileChange",
    "Step",
    "TreeReader",
    "canonical_tracks",
    "field_changes",
    "steps_from",
]

# The track.json fields the registry is the truth of (the storage's promise).
ALIGNED_FIELDS = ("status", "name", "type", "priority")
BROUGHT_IN_LINE = "track.json brought in line with the registry"  # as TrackStore.load says


class Step(namedtuple("Step", "source target description plan")):
    """From format ``source`` to ``target`` (one more): ``plan(reader)`` returns the
    ``FileChange`` list of what it would change."""

    __slots__ = ()


class FileChange(namedtuple("FileChange", "path content fields backup")):
    """One file a step changes: its new JSON ``content``, the ``fields`` that differ
    (see ``field_changes``), and whether a copy of the old file goes to backups/ first."""

    __slots__ = ()


class TreeReader:
    """The tree's JSON as a step sees it: what the steps before it planned to write,
    else what the open transaction (a real run) will write, else the disk.

    Every document it returns is a copy the step may change."""

    def __init__(self, store: TrackStore, txn: Transaction | None = None) -> None:
        self.store = store
        self.txn = txn
        self.registry_path = store.tree.registry.path
        self.planned: dict[Path, Any] = {}  # what the steps before would write

    def stamp(self) -> str:
        return self.store.stamp()

    def registry(self) -> dict[str, Any]:
        if self.registry_path in self.planned:
            return copy.deepcopy(self.planned[self.registry_path])
        source = self.txn.registry if self.txn is not None else self.store.tree.registry.load()
        return copy.deepcopy(source.doc)

    def track_path(self, track_id: str) -> Path:
        return self.store.tree.track_file(track_id, "track.json")

    def track(self, track_id: str) -> dict[str, Any]:
        path = self.track_path(track_id)
        if path in self.planned:
            return copy.deepcopy(self.planned[path])
        return self.store.read_track(track_id, self.txn)  # parsed anew: a copy already

    def plan(self, changes: list[FileChange]) -> None:
        """Let the next step read what this one would write."""
        for change in changes:
            self.planned[change.path] = change.content


def field_changes(before: Any, after: Any, field: str = "") -> list[dict[str, Any]]:
    """What differs from ``before`` to ``after``, field by field: objects are compared
    key by key (``progress.steps_status``), a list that only grew is an ``append`` of its
    new items; ``change`` is ``add``, ``set``, ``append`` or ``remove``."""
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in [*before, *(k for k in after if k not in before)]:
            name = f"{field}.{key}" if field else key
            if key not in after:
                found.append(_change(name, "remove", before[key], None))
            elif key not in before:
                found.append(_change(name, "add", None, after[key]))
            else:
                found += field_changes(before[key], after[key], name)
        return found
    if before == after and type(before) is type(after):
        return []
    if isinstance(before, list) and isinstance(after, list) and after[: len(before)] == before:
        return [_change(field, "append", None, after[len(before) :])]
    return [_change(field, "set", before, after)]


def _change(field: str, change: str, before: Any, after: Any) -> dict[str, Any]:
    return {"field": field, "change": change, "before": before, "after": after}


# -- format 1 -> 2 ---------------------------------------------------------------------------


def canonical_tracks(reader: TreeReader) -> list[FileChange]:
    """Every track.json and the registry as this code's own writes leave them:

    - track.json gets a ``history`` when it has none, reconstructed from its timestamps
      (what the first write of ours, and every analytics read, does);
    - its ``status``, ``name``, ``type`` and ``priority`` say what the registry says
      (the registry is the truth); a status change is recorded in its history and the
      old file kept in backups/, as every write of ours does;
    - its ``progress`` is recomputed from its steps (the per-status ``steps_status``);
    - each registry entry gains what its track.json says (started_at, completed_at,
      last_checkpoint, the progress counters), keeping its own created_at and
      updated_at and every other field; the registry's counts and active track agree
      with the entries.

    Every other field is kept as it is, unknown ones included."""
    registry = reader.registry()
    before_registry = copy.deepcopy(registry)
    changes = []
    for track_id, entry in registry["tracks"].items():
        track = reader.track(track_id)
        canonical = _canonical_track(track, entry, reader.stamp())
        fields = field_changes(track, canonical)
        if fields:
            status_changed = any(f["field"] == "status" for f in fields)
            path = reader.track_path(track_id)
            changes.append(FileChange(path, canonical, fields, status_changed))
        registry["tracks"][track_id] = _mirrored_entry(canonical, entry)
    _recount(registry, reader.stamp(), before_registry)
    fields = field_changes(before_registry, registry)
    if fields:
        changes.append(FileChange(reader.registry_path, registry, fields, False))
    return changes


def _canonical_track(track: dict[str, Any], entry: dict[str, Any], now: str) -> dict[str, Any]:
    canonical = copy.deepcopy(track)
    if "history" not in canonical:
        canonical["history"] = reconstruct_history(canonical)
    for field in ALIGNED_FIELDS:
        if canonical.get(field) == entry.get(field):
            continue
        if field == "status":
            canonical.setdefault("history", []).append(
                {
                    "from": canonical.get("status"),
                    "to": entry.get("status"),
                    "at": now,
                    "reason": BROUGHT_IN_LINE,
                    "actor": "conductor",
                }
            )
        canonical[field] = entry.get(field)
    recompute_progress(canonical)
    return canonical


def _mirrored_entry(track: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """The registry entry with what track.json says (as every write of ours leaves it),
    keeping the entry's own timestamps (the original tool's registry-only updates move
    them alone) and every field the track does not have."""
    mirrored = registry_entry(track, entry)
    for key, value in entry.items():
        if key in ("created_at", "updated_at") or key not in mirrored:
            mirrored[key] = value
    return mirrored


def _recount(registry: dict[str, Any], now: str, before: dict[str, Any]) -> None:
    """The registry's counts and active track from its entries; ``last_updated`` stamped
    only when something else in it changed."""
    entries = registry["tracks"].values()
    active = [e.get("track_id") for e in entries if e.get("status") == TrackStatus.ACTIVE]
    registry["active_track"] = active[0] if active else None
    metadata = registry.get("metadata")
    if not isinstance(metadata, dict):
        metadata = registry["metadata"] = {}
    metadata["total_tracks"] = len(registry["tracks"])
    metadata["active_count"] = len(active)
    metadata["completed_count"] = sum(
        1 for e in entries if e.get("status") == TrackStatus.COMPLETED
    )
    if registry != before:
        metadata["last_updated"] = now


STEPS: tuple[Step, ...] = (
    Step(
        1,
        2,
        "track.json and the registry in canonical form: history, status agreeing with the "
        "registry, progress recomputed, registry entries and counts in line",
        canonical_tracks,
    ),
)


def steps_from(version: int) -> list[Step]:
    """The steps that bring a tree of format ``version`` to the newest one."""
    return [step for step in STEPS if step.source >= version]
