"""The track store: what every part of the engine stands on.

It knows the root's tree and its transactions, the clock and who is acting, how a
reference becomes a track id, and how a track's files are read and written inside a
transaction. The engine's parts (lifecycle, steps, checkpoints, runs, recovery...) are
each handed this store and nothing wider.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from .errors import (
    AmbiguousTrackRef,
    CorruptFile,
    InvalidInput,
    TrackIdMismatch,
    TrackNotFound,
    track_label,
)
from .holders import hostname
from .store import files
from .store.formats import RecordingTree
from .store.paths import locate_root, slugify
from .store.registry_index import IndexedTracks
from .tracks import compute_metrics, iso, recompute_progress, reconstruct_history, registry_entry
from .vocab import Priority, TrackStatus, TrackType, parse_choice

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

    from .store.registry import RegistryDoc
    from .store.tree import Transaction
    from .tracks import TrackDoc

    Clock = Callable[[], datetime]

__all__ = ["REPAIR", "TrackStore", "default_actor"]

REPAIR = "conductor repair"
# The containers of track.json that every reader walks: checked where the file is read.
_TRACK_SHAPES = (
    ("context", dict),
    ("steps", list),
    ("history", list),
    ("progress", dict),
    ("metrics", dict),
    ("execution", dict),
)


def default_actor() -> str:
    return f"{_user()}@{hostname()}"


def _user() -> str:
    """``getpass.getuser()``'s answer, found as it finds it (the environment, then the
    password database) without importing getpass: it pulls in termios, ~1 ms a CLI call."""
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        if user := os.environ.get(name):
            return user
    import pwd

    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:  # a uid with no entry (some containers)
        return "unknown"


class TrackStore:
    """Tracks of one root as documents: resolved, read, and written in transactions."""

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        lock_timeout: float | None = None,
        clock: Clock | None = None,
        actor: str | None = None,
    ) -> None:
        self.found = locate_root(root)  # the root, and how it was found (`conductor root`)
        self.root = self.found.path
        self.tree = RecordingTree(self.root)  # a root it creates records its format
        self.tree.check_format_at_open()  # a newer format is refused, never misread
        if lock_timeout is not None:
            self.tree.lock.timeout = lock_timeout
        self._clock = clock or (lambda: datetime.now(UTC))
        self.actor = actor or default_actor()
        # The process that holds leases and runs (the CLI names its caller).
        self.holder_pid = os.getpid()

    # -- time ---------------------------------------------------------------------------

    def now(self) -> datetime:
        return self._clock()

    def stamp(self) -> str:
        return iso(self.now())

    # -- the registry -------------------------------------------------------------------

    def registry(self) -> RegistryDoc:
        return self.tree.load_registry()

    def resolve(self, ref: str | None, registry: RegistryDoc | None = None) -> str:
        """A track id from an id, a unique id prefix or an exact name; None means the
        active track."""
        registry = registry or self.registry()
        if ref is None:
            active = registry.ids(status=TrackStatus.ACTIVE)
            if active:
                return active[0]
            raise InvalidInput("no track is active: name one", hint="see `conductor list`")
        if not isinstance(ref, str) or not ref or "\x00" in ref:
            raise TrackNotFound(str(ref))
        if ref in registry.tracks:
            return ref
        named = registry.ids_named(ref)
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            raise AmbiguousTrackRef(ref, named)
        prefixed = [tid for tid in registry.tracks if tid.startswith(ref)]
        if not prefixed and not ref.startswith("track-") and slugify(ref):
            prefix = "track-" + slugify(ref, 150)  # `conductor activate oauth` or `OAuth`
            prefixed = [tid for tid in registry.tracks if tid.startswith(prefix)]
        if len(prefixed) == 1:
            return prefixed[0]
        if len(prefixed) > 1:
            raise AmbiguousTrackRef(ref, prefixed)
        raise TrackNotFound(ref)

    def entry(self, ref: str | None) -> dict[str, Any]:
        registry = self.registry()
        return registry.tracks[self.resolve(ref, registry)]

    def label(self, track_id: str) -> str:
        """The track as users name it in messages: ``'Docs refresh' (track-docs-...)``."""
        entry = self.registry().tracks.get(track_id) or {}
        name = entry.get("name")
        return track_label(track_id, name if isinstance(name, str) else None)

    def list(
        self,
        *,
        status: str | Iterable[str] | None = None,
        type: str | Iterable[str] | None = None,  # noqa: A002
        priority: str | Iterable[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Registry entries (the registry's status), newest update first; of entries
        updated in the same millisecond, the one created later comes first."""
        for value, enum, what in (
            (status, TrackStatus, "status"),
            (type, TrackType, "type"),
            (priority, Priority, "priority"),
        ):
            for item in [value] if isinstance(value, str) else value or ():
                parse_choice(enum, item, what)
        registry = self.registry()
        ids = registry.ids(status=status, type=type, priority=priority)
        if len(ids) > 16 and isinstance(registry.tracks, IndexedTracks):
            registry.tracks.decode_all()  # in one pass, not one search of the text each
        entries = [registry.tracks[track_id] for track_id in reversed(ids)]
        entries.sort(key=lambda e: str(e.get("updated_at") or ""), reverse=True)  # stable
        return entries

    def get_active(self) -> dict[str, Any] | None:
        registry = self.registry()
        active = registry.ids(status=TrackStatus.ACTIVE)
        return registry.tracks[active[0]] if active else None

    def stats(self) -> dict[str, Any]:
        registry = self.registry()
        by = {
            field: {key: len(ids) for key, ids in registry.index(field).items() if ids}
            for field in ("status", "type", "priority")
        }
        active = registry.ids(status=TrackStatus.ACTIVE)
        return {
            "total": len(registry.tracks),
            "active_track": active[0] if active else None,
            "by_status": {s.value: by["status"].get(s.value, 0) for s in TrackStatus},
            "by_type": by["type"],
            "by_priority": by["priority"],
        }

    # -- reading a track ----------------------------------------------------------------

    def track(self, ref: str | None) -> TrackDoc:
        """The full track (track.json) with the registry's status, which is the truth."""
        registry = self.registry()
        track_id = self.resolve(ref, registry)
        track = self.read_track(track_id)
        registry_status = registry.tracks[track_id].get("status")
        if track.get("status") != registry_status:
            track["track_json_status"] = track.get("status")
            track["status"] = registry_status
        track["metrics"] = compute_metrics(track, self.now())
        return track

    def read_track(self, track_id: str, txn: Transaction | None = None) -> TrackDoc:
        """track.json as it is (or as ``txn`` is about to write it)."""
        path = self.tree.track_file(track_id, "track.json")
        pending = txn.pending(path) if txn is not None else None
        if pending is not None:
            import json

            return json.loads(pending)
        read_json = files.read_json if txn is None else txn.read_json  # once per transaction
        try:
            track = read_json(path, fix=REPAIR, shape=dict)
        except FileNotFoundError:
            raise CorruptFile(str(path), "the file is missing", REPAIR) from None
        for key, shape in _TRACK_SHAPES:
            if track.get(key) is not None:
                files.require(track[key], shape, path, f"its {key!r}", REPAIR)
        if track.get("track_id") != track_id:
            # a copied folder: writing it would land in the other track's folder and entry
            raise TrackIdMismatch(str(path), track.get("track_id"), track_id, REPAIR)
        return track

    def read_list(
        self, track_id: str, name: str, txn: Transaction | None = None
    ) -> list[dict[str, Any]]:
        """A list file of the track's context (decisions.json, assumptions.json)."""
        path = self.tree.track_file(track_id, "context", name)
        pending = txn.pending(path) if txn is not None else None
        if pending is not None:
            import json

            return json.loads(pending)
        read_json = files.read_json if txn is None else txn.read_json  # once per transaction
        items = read_json(path, fix=REPAIR, default=[], shape=list)
        for number, item in enumerate(items, 1):
            files.require(item, dict, path, f"item {number}", REPAIR)
        return items

    def peek(self, txn: Transaction, track_id: str) -> TrackDoc:
        """track.json as ``txn`` sees it, to read and never change: parsed once for all
        readers until the transaction writes it again (a transition's steps each look at
        it; a long history makes each parse cost)."""
        path = self.tree.track_file(track_id, "track.json")
        source = txn.pending(path)
        seen = txn.peeked.get(path)
        if seen is None or seen[0] is not source:
            seen = txn.peeked[path] = (source, self.read_track(track_id, txn))
        return seen[1]

    def share(self, txn: Transaction, track: TrackDoc) -> None:
        """Let the transaction's readers (``peek``) use ``track`` as just saved, instead
        of parsing what it will write: for a caller that changes it no more."""
        path = self.tree.track_file(track["track_id"], "track.json")
        txn.peeked[path] = (txn.pending(path), track)

    # -- the write path -----------------------------------------------------------------

    def load(self, txn: Transaction, track_id: str) -> TrackDoc:
        """track.json for a write, brought in line with the registry (a copy of what the
        registry's status replaces is kept in backups/)."""
        track = self.read_track(track_id, txn)
        entry = txn.registry.tracks[track_id]
        if "history" not in track:
            track["history"] = reconstruct_history(track)
        registry_status = entry.get("status")
        if track.get("status") != registry_status:
            if registry_status not in TrackStatus.__members__.values():
                raise CorruptFile(
                    str(self.tree.registry.path),
                    f"track {track_id} has the unknown status {registry_status!r}",
                    REPAIR,
                )
            path = self.tree.track_file(track_id, "track.json")
            if txn.pending(path) is None:
                self.backup(txn, path, f"{track_id}-track.json")
            track.setdefault("history", []).append(
                {
                    "from": track.get("status"),
                    "to": registry_status,
                    "at": self.stamp(),
                    "reason": "track.json brought in line with the registry",
                    "actor": "conductor",
                }
            )
            track["status"] = registry_status
        return track

    def save(self, txn: Transaction, track: TrackDoc, *, touch: bool = True) -> None:
        """Write track.json and its registry entry (progress and metrics recomputed)."""
        if touch:
            track["updated_at"] = self.stamp()
        recompute_progress(track)
        track["metrics"] = compute_metrics(track, self.now())
        track_id = track["track_id"]
        txn.write_json(self.tree.track_file(track_id, "track.json"), track)
        registry = txn.registry
        registry.set_entry(track_id, registry_entry(track, registry.tracks.get(track_id)))
        active = registry.ids(status=TrackStatus.ACTIVE)
        registry.set_active(active[0] if active else None)
        registry.refresh_metadata(self.stamp())
        txn.registry_changed = True

    def backup(self, txn: Transaction, path: Path, label: str) -> Path:
        """Keep a copy of ``path`` in backups/ (written before what replaces it)."""
        stamp = self.now().astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = self.tree.backups_dir / f"{stamp}-{label}"
        counter = 1
        while target.exists() or txn.pending(target) is not None:
            target = self.tree.backups_dir / f"{stamp}-{counter}-{label}"
            counter += 1
        txn.write(target, path.read_bytes())
        return target
