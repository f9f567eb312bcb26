"""The track index, ``tracks/track-registry.json``, in the original tool's format.

Reads are cached and the cache is checked against the file's stat signature on
every access, never a timer. The process keeps the cached file open, so its inode
cannot be reused by another file: when the path still names that inode with the
same size and mtime, it is the same content (every writer, ours and the original
tool's, replaces the file by rename).

Writes encode only what changed: each entry's indented JSON is kept as a fragment
and the file is re-assembled from fragments, byte-identical to
``json.dumps(doc, indent=2)`` (the original tool's formatting).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import CorruptFile, RegistryMissing
from ..vocab import TrackStatus
from . import files

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

__all__ = ["REBUILD", "REGISTRY_NAME", "RegistryDoc", "RegistryFile", "parse", "track_folders"]

REGISTRY_NAME = "track-registry.json"
REBUILD = "conductor rebuild"


def _indent(text: str, spaces: str) -> str:
    return text.replace("\n", "\n" + spaces)


def _encode(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


class RegistryDoc:
    """A parsed registry with indexes by status, type, priority and name."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.tracks: dict[str, dict[str, Any]] = doc["tracks"]
        self._fragments: dict[str, str] = {}
        self._index: dict[str, dict[str, dict[str, None]]] | None = None
        self._names: dict[str, list[str]] | None = None

    @classmethod
    def empty(cls) -> RegistryDoc:
        return cls(
            {
                "version": "1.0",
                "active_track": None,
                "tracks": {},
                "metadata": {
                    "total_tracks": 0,
                    "active_count": 0,
                    "completed_count": 0,
                    "last_updated": None,
                },
            }
        )

    # -- reading ------------------------------------------------------------------

    @property
    def active_track(self) -> str | None:
        value = self.doc.get("active_track")
        return value if isinstance(value, str) else None

    def entry(self, track_id: str) -> dict[str, Any] | None:
        return self.tracks.get(track_id)

    def ids(self, *, status=None, type=None, priority=None) -> list[str]:  # noqa: A002
        """Ids in registry order, filtered through the indexes (each filter may be a set)."""
        selected: set[str] | None = None
        for field, wanted in (("status", status), ("type", type), ("priority", priority)):
            if wanted is None:
                continue
            values = [wanted] if isinstance(wanted, str) else list(wanted)
            index = self.index(field)
            matched: set[str] = set()
            for value in values:
                matched.update(index.get(str(value), ()))
            selected = matched if selected is None else selected & matched
        if selected is None:
            return list(self.tracks)
        if len(selected) <= 1:  # nothing to order: skip the walk over every track
            return [track_id for track_id in selected if track_id in self.tracks]
        return [track_id for track_id in self.tracks if track_id in selected]

    def index(self, field: str) -> dict[str, dict[str, None]]:
        if self._index is None:
            self._index = {"status": {}, "type": {}, "priority": {}}
            for track_id, entry in self.tracks.items():
                self._add_to_index(track_id, entry)
        return self._index[field]

    def count(self, status: str) -> int:
        return len(self.index("status").get(status, ()))

    def ids_named(self, name: str) -> list[str]:
        if self._names is None:
            self._names = {}
            for track_id, entry in self.tracks.items():
                self._names.setdefault(str(entry.get("name")), []).append(track_id)
        return list(self._names.get(name, ()))

    # -- changing -----------------------------------------------------------------

    def set_entry(self, track_id: str, entry: dict[str, Any]) -> None:
        old = self.tracks.get(track_id)
        if self._index is not None and old is not None:
            for field, index in self._index.items():
                index.get(str(old.get(field)), {}).pop(track_id, None)
        if self._names is not None:
            if old is not None:
                self._names.get(str(old.get("name")), []).remove(track_id)
            self._names.setdefault(str(entry.get("name")), []).append(track_id)
        self.tracks[track_id] = entry
        self._fragments.pop(track_id, None)
        if self._index is not None:
            self._add_to_index(track_id, entry)

    def set_active(self, track_id: str | None) -> None:
        self.doc["active_track"] = track_id

    def _add_to_index(self, track_id: str, entry: dict[str, Any]) -> None:
        assert self._index is not None
        for field, index in self._index.items():
            index.setdefault(str(entry.get(field)), {})[track_id] = None

    def refresh_metadata(self, now: str) -> None:
        """Counts recomputed from the entries, so they can never drift."""
        metadata = self.doc.get("metadata")
        if not isinstance(metadata, dict):
            metadata = self.doc["metadata"] = {}
        metadata["total_tracks"] = len(self.tracks)
        metadata["active_count"] = self.count(TrackStatus.ACTIVE)
        metadata["completed_count"] = self.count(TrackStatus.COMPLETED)
        metadata["last_updated"] = now

    def encode(self) -> str:
        """The file's text, equal to ``json.dumps(self.doc, indent=2)``."""
        # One join over a flat list (members and track fragments share the ",\n"
        # separator): each intermediate string of a multi-MB registry would cost as much
        # as the join itself in fresh pages (27 ms instead of 1.5 ms at 10,000 tracks).
        parts: list[str] = []
        for key, value in self.doc.items():
            head = f"  {json.dumps(key, ensure_ascii=False)}: "
            if key == "tracks" and isinstance(value, dict) and value:
                cached = self._fragments
                fragments = [cached.get(tid) or self._fragment(tid) for tid in value]
                fragments[0] = head + "{\n" + fragments[0]
                fragments[-1] += "\n  }"
                parts += fragments
            else:
                parts.append(head + _indent(_encode(value), "  "))
        if not parts:
            return "{}"
        parts[0] = "{\n" + parts[0]
        parts[-1] += "\n}"
        return ",\n".join(parts)

    def _fragment(self, track_id: str) -> str:
        fragment = self._fragments.get(track_id)
        if fragment is None:
            key = json.dumps(track_id, ensure_ascii=False)
            fragment = f"    {key}: {_indent(_encode(self.tracks[track_id]), '    ')}"
            self._fragments[track_id] = fragment
        return fragment


def parse(raw: bytes, path: Path) -> RegistryDoc:
    doc = files.parse_json(raw, path, fix=REBUILD, shape=dict)
    if not isinstance(doc.get("tracks"), dict):
        raise CorruptFile(str(path), "it has no 'tracks' object", REBUILD)
    for key, entry in doc["tracks"].items():
        # an entry, and its progress (read by every listing), must be objects
        if type(entry) is not dict or type(entry.get("progress", _NONE)) not in _PROGRESS:
            what = "progress" if type(entry) is dict else "entry"
            raise CorruptFile(str(path), f"the {what} of {key!r} is not an object", REBUILD)
    return RegistryDoc(doc)


_NONE = None
_PROGRESS = (dict, type(None))


class RegistryFile:
    """The registry file of one tracks folder, with its stat-validated cache."""

    def __init__(self, tracks_dir: Path) -> None:
        self.tracks_dir = tracks_dir
        self.path = tracks_dir / REGISTRY_NAME
        self._guard = threading.Lock()
        self._doc: RegistryDoc | None = None
        self._fd: int | None = None  # keeps the cached inode alive (see module docstring)
        self._signature: tuple[int, ...] | None = None

    def load(self) -> RegistryDoc:
        """The current registry: the cached one if the file is unchanged, else re-read."""
        with self._guard:
            try:
                st = os.stat(self.path)
            except FileNotFoundError:
                self._forget()
                if any(track_folders(self.tracks_dir)):
                    raise RegistryMissing(str(self.path)) from None
                self._doc = RegistryDoc.empty()
                return self._doc
            if self._doc is not None and _signature(st) == self._signature:
                return self._doc
            return self._read()

    def _read(self) -> RegistryDoc:
        self._forget()
        fd = os.open(self.path, os.O_RDONLY)
        try:
            st = os.fstat(fd)
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            doc = parse(b"".join(chunks), self.path)
        except BaseException:
            os.close(fd)
            raise
        self._fd, self._signature, self._doc = fd, _signature(st), doc
        return doc

    def adopt(self, doc: RegistryDoc) -> None:
        """After our own write of ``doc`` (under the lock): cache it without re-reading."""
        with self._guard:
            self._forget()
            fd = os.open(self.path, os.O_RDONLY)
            self._fd, self._signature, self._doc = fd, _signature(os.fstat(fd)), doc

    def invalidate(self) -> None:
        with self._guard:
            self._forget()

    def _forget(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._fd = self._signature = self._doc = None

    def __del__(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)


def _signature(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def track_folders(tracks_dir: Path) -> Iterator[str]:
    try:
        entries: Iterable[os.DirEntry[str]] = os.scandir(tracks_dir)
    except FileNotFoundError:
        return
    with entries:  # type: ignore[union-attr]
        for entry in entries:
            if entry.name.startswith("track-") and entry.is_dir(follow_symlinks=False):
                yield entry.name
