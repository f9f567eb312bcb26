"""The track index, ``tracks/track-registry.json``, in the original tool's format.

Reads are cached and the cache is checked against the file's stat signature on
every access, never a timer. The process keeps the cached file open, so its inode
cannot be reused by another file: when the path still names that inode with the
same size and mtime, it is the same content (every writer, ours and the original
tool's, replaces the file by rename).

Writes encode only what changed. A parsed registry keeps the bytes it was read from
(or last wrote); the next text copies the tracks object from them and encodes only the
entries ``set_entry`` replaced or added, plus the small top-level members, so a change to
one entry of 10,000 costs a few copies of the file's bytes instead of 10,000 encodes. The
result is ``json.dumps(doc, indent=2)`` (the original tool's formatting) when the bytes
were: the copy is used only where the tracks object is laid out as that formatting lays it
out (each entry starting its own line at its depth, one per key), else every entry is
encoded, as a file someone reformatted by hand is. Spacing changed by hand *inside* an
entry is kept until that entry changes.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Iterator
from json.encoder import encode_basestring
from pathlib import Path

from ..errors import CorruptFile, LockTimeout, RegistryMissing
from ..vocab import TrackStatus
from . import files
from .closing import close_later
from .jsontext import dumps_indented
from .locking import lock_for
from .registry_index import (
    Index,
    IndexedTracks,
    entry_span,
    index_at_exit,
    index_path,
    member_texts,
    parent_text,
    read_index,
    text_of,
    write_index,
)

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

__all__ = ["REBUILD", "REGISTRY_NAME", "RegistryDoc", "RegistryFile", "parse", "track_folders"]

REGISTRY_NAME = "track-registry.json"
REBUILD = "conductor rebuild"


def _indent(text: str, spaces: str) -> str:
    return text.replace("\n", "\n" + spaces)


def _encode(value: Any) -> str:
    return dumps_indented(value)


class _TextBuffers:
    """Two buffers a registry's texts are joined into in turn. A new text is spliced from
    the last one, which must stay as it is while it is read; the one before that is free.
    Joining into fresh bytes instead cost more than the join: the allocator hands a
    multi-hundred-KB block back to the system when it is freed, and the next one is
    page-faulted in again (~75 faults, ~0.2 ms a transition at 1,000 tracks)."""

    def __init__(self) -> None:
        self._pair = [bytearray(), bytearray()]

    def join(self, pieces: list[bytes | memoryview]) -> bytes | bytearray:
        buffer = self._pair[0]
        if not buffer:  # this buffer's first text: one copy (growing it zeroes it first)
            buffer = self._pair[0] = bytearray().join(pieces)
            self._pair.reverse()
            return buffer
        total = sum(map(len, pieces))
        try:
            if len(buffer) < total:
                buffer.extend(bytes(total - len(buffer)))
            at = 0
            for piece in pieces:
                buffer[at : at + len(piece)] = piece
                at += len(piece)
            del buffer[total:]
        except BufferError:  # still exported (a memoryview of it is alive): not reusable
            return b"".join(pieces)
        self._pair.reverse()  # the next text is joined into the other one
        return buffer


class RegistryDoc:
    """A parsed registry with indexes by status, type, priority and name."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.tracks: dict[str, dict[str, Any]] = doc["tracks"]
        # the text read or last encoded (see the module doc): bytes as read, then one of
        # this doc's two buffers (see _TextBuffers)
        self._source: bytes | bytearray | None = None
        self._buffers = _TextBuffers()
        self._source_count = 0  # how many entries it has
        # where its tracks object is, once known to be laid out for splicing (our own text)
        self._source_span: tuple[int, int] | None = None
        self._changed: dict[str, None] = {}  # entries of the source replaced since
        # where the source has the entries last written (a search of a 5 MB text costs
        # a millisecond; the same track is often changed again)
        self._at: dict[str, int] = {}
        self._written: dict[str, int] = {}  # the same, in the text being encoded
        self._added: dict[str, None] = {}  # entries the source does not have
        # field -> value -> ids, built per field on first use (a write needs only status)
        self._index: dict[str, dict[str, dict[str, None]]] = {}
        self._names: dict[str, list[str]] | None = None
        self._name_scans = 0  # lookups answered by a scan (see ids_named)

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
        if self._lazy_status_only(status) and type is None and priority is None:
            return self.tracks.ids_with_status(status)  # one command's one question
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
        index = self._index.get(field)
        if index is None and field == "status" and isinstance(self.tracks, IndexedTracks):
            index = self._index[field] = {}  # known without decoding an entry
            for track_id, status in self.tracks.statuses.items():
                index.setdefault(status, {})[track_id] = None
        if index is None:
            index = self._index[field] = {}
            for track_id, entry in self.tracks.items():
                value = entry.get(field)
                index.setdefault(value if type(value) is str else str(value), {})[track_id] = None
        return index

    def _lazy_status_only(self, status: object) -> bool:
        """Whether statuses are answered from an index file's (the status index not built:
        a command asks once or twice, cheaper than building it)."""
        indexed = isinstance(self.tracks, IndexedTracks)
        return indexed and isinstance(status, str) and "status" not in self._index

    def count(self, status: str) -> int:
        if self._lazy_status_only(status):
            return self.tracks.count_status(status)
        return len(self.index("status").get(status, ()))

    def ids_named(self, name: str) -> list[str]:
        if isinstance(self.tracks, IndexedTracks):
            return self.tracks.ids_named(name)
        if self._names is None and self._name_scans < 2:  # one lookup (a CLI call): a scan
            self._name_scans += 1  # costs a third of building the index
            return [tid for tid, entry in self.tracks.items() if str(entry.get("name")) == name]
        if self._names is None:
            self._names = {}
            for track_id, entry in self.tracks.items():
                self._names.setdefault(str(entry.get("name")), []).append(track_id)
        return list(self._names.get(name, ()))

    # -- changing -----------------------------------------------------------------

    def set_entry(self, track_id: str, entry: dict[str, Any]) -> None:
        old = self.tracks.get(track_id)
        if old is not None:
            for field, index in self._index.items():
                index.get(str(old.get(field)), {}).pop(track_id, None)
        if self._names is not None:
            if old is not None:
                self._names.get(str(old.get("name")), []).remove(track_id)
            self._names.setdefault(str(entry.get("name")), []).append(track_id)
        self.tracks[track_id] = entry
        if track_id not in self._added:
            (self._changed if old is not None else self._added)[track_id] = None
        self._add_to_index(track_id, entry)

    def pending_changes(self) -> dict[str, dict[str, Any]] | None:
        """The entries set since the text was read or last encoded, in order; None when
        the next text is not the source with them spliced in (no source, or an entry
        went away): then only the whole text describes the change."""
        if self._source is None or len(self.tracks) != self._source_count + len(self._added):
            return None
        return {track_id: self.tracks[track_id] for track_id in (*self._changed, *self._added)}

    def set_active(self, track_id: str | None) -> None:
        self.doc["active_track"] = track_id

    def _add_to_index(self, track_id: str, entry: dict[str, Any]) -> None:
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
        return self.encode_bytes().decode("utf-8")

    def encode_bytes(self) -> bytes:
        """The file's text as UTF-8, to keep."""
        return bytes(self.text_to_write())

    def text_to_write(self) -> bytes | bytearray:
        """The file's text as UTF-8, to write now: it is one of this doc's two buffers,
        rewritten by the encoding after next (``encode_bytes`` gives a copy to keep). It
        becomes the source the next text is spliced from."""
        pieces: list[bytes | memoryview] = []
        span = None
        self._written = {}
        for key, value in self.doc.items():
            pieces.append(b",\n  " if pieces else b"{\n  ")
            pieces.append(_dumps(key).encode() + b": ")
            if key == "tracks" and isinstance(value, dict | IndexedTracks) and span is None:
                tracks = self._tracks_pieces()
                start = sum(map(len, pieces))
                span = (start, start + sum(map(len, tracks)))
                pieces += tracks
            else:
                pieces.append(_indent(_encode(value), "  ").encode())
        pieces.append(b"\n}" if pieces else b"{}")
        text = self._buffers.join(pieces)
        self._source, self._source_count, self._source_span = text, len(self.tracks), span
        if isinstance(self.tracks, IndexedTracks) and span is not None:
            self.tracks.rebase(text, span)
        self._at = {} if span is None else {k: v + span[0] for k, v in self._written.items()}
        self._changed.clear()
        self._added.clear()
        return text

    def _tracks_pieces(self) -> list[bytes | memoryview]:
        if not self.tracks:
            return [b"{}"]
        spliced = self._splice()
        if spliced is not None:
            return spliced
        if isinstance(self.tracks, IndexedTracks):
            self.tracks.decode_all()  # every entry is encoded from the old text
        pieces: list[bytes | memoryview] = [b"{\n"]
        for track_id in self.tracks:
            pieces += (self._fragment(track_id), b",\n")
        pieces[-1] = b"\n  }"
        return pieces

    def _splice(self) -> list[bytes | memoryview] | None:
        """The tracks object as the source's bytes with the changed entries replaced and
        the added ones appended; None when the source is not laid out for it."""
        source, span = self._source, self._source_span
        if span is None and source is not None:  # a text we read: check it once
            span = _tracks_span(source)
            # one line at the entry depth per entry: the layout holds, no key is repeated
            if span is not None and source.count(b'\n    "', *span) != self._source_count:
                span = None
            self._source_span = span
        if span is None or source is None:
            return None
        if len(self.tracks) != self._source_count + len(self._added):
            return None  # an entry went away some other way than set_entry: encode all
        start, end = span
        if end - start == 2:  # "{}": nothing to copy
            return None
        found = []
        for track_id in self._changed:
            at = entry_span(source, track_id, start, end, self._at.get(track_id))
            if at is None:
                return None
            found.append((at, track_id))
        view = memoryview(source)
        pieces: list[bytes | memoryview] = []
        copied, length = start, 0
        for (entry_start, entry_end), track_id in sorted(found):
            pieces.append(view[copied:entry_start])
            length += entry_start - copied
            self._written[track_id] = length
            pieces.append(fragment := self._fragment(track_id))
            length += len(fragment)
            copied = entry_end
        pieces.append(view[copied : end - 4])  # up to the closing "\n  }"
        length += end - 4 - copied
        for track_id in self._added:
            self._written[track_id] = length + 2
            pieces += (b",\n", fragment := self._fragment(track_id))
            length += 2 + len(fragment)
        pieces.append(b"\n  }")
        return pieces

    def entries_json(self, entries: list[dict[str, Any]]) -> bytes | None:
        """``dumps_indented(entries)`` as UTF-8, for entries of this registry as it was
        read or last written, cut from that text: listing 10,000 costs two copies rather
        than an encode. None when the text cannot tell (laid out otherwise, holding
        escapes, or changed since)."""
        texts = self._entry_texts()
        if texts is None:
            return None
        ids = {id(entry): track_id for track_id, entry in self.tracks.items()}
        pieces: list[bytes | memoryview] = [b"[\n  "]
        for entry in entries:
            track_id = ids.get(id(entry))
            if track_id is None:  # not an entry of this registry
                return None
            pieces += (texts[track_id], b",\n  ")
        if not entries:
            return b"[]"
        pieces[-1] = b"\n]"
        return b"".join(pieces)

    def _entry_texts(self) -> dict[str, memoryview] | None:
        tracks = self.tracks
        if self._changed or self._added or self.pending_changes() is None:
            return None
        if isinstance(tracks, IndexedTracks):
            return tracks.texts()  # a text this code wrote (its index says so)
        source = self._source
        span = self._source_span or _tracks_span(source)
        # escapes are where encoders differ (\u00e9 or é): a text with any is encoded
        if span is None or source.find(b"\\", *span) >= 0:
            return None
        return member_texts(source, span, list(tracks))

    def make_index(self, signature: tuple[int, ...]) -> Index | None:
        """The index of the text last read or written (``signature``: its file's), when
        that text is laid out for splicing."""
        source, span = self._source, self._source_span
        if source is None or self.pending_changes() is None or self._changed or self._added:
            return None  # changed since: the text is not the file's
        if span is None:
            span = _tracks_span(source)
            if span is None or source.count(b'\n    "', *span) != self._source_count:
                return None
        tracks = self.tracks
        if isinstance(tracks, IndexedTracks):
            return Index(signature, span, *tracks.index_fields())
        statuses = [text_of(entry.get("status")) for entry in tracks.values()]
        names = [str(entry.get("name")) for entry in tracks.values()]
        parents = [parent_text(entry) for entry in tracks.values()]
        return Index.of(signature, span, list(tracks), statuses, names, parents)

    def _fragment(self, track_id: str) -> bytes:
        entry = _indent(_encode(self.tracks[track_id]), "    ")
        return f"    {_dumps(track_id)}: {entry}".encode()


def _dumps(key: str) -> str:
    return encode_basestring(key)


_TRACKS_KEY = b'\n  "tracks": '


def _tracks_span(source: bytes) -> tuple[int, int] | None:
    """Where the tracks object's value is in ``source`` if laid out as json.dumps(indent=2)
    lays it out (members at two spaces, its closing brace alone on a line at two spaces)."""
    at = source.find(_TRACKS_KEY)
    if at < 0:
        return None
    start = at + len(_TRACKS_KEY)
    if source.startswith(b"{}", start):
        return start, start + 2
    end = source.find(b"\n  }", start)
    if not source.startswith(b"{\n", start) or end < 0:
        return None
    return start, end + 4


def from_index(raw: bytes, index: Index, path: Path) -> RegistryDoc | None:
    """The registry of ``raw`` with its tracks known from ``index`` (see registry_index);
    None when the index does not fit the text."""
    start, end = index.span
    if not 0 < start < end <= len(raw) or raw[start : start + 1] + raw[end - 1 : end] != b"{}":
        return None
    doc = files.parse_json(raw[:start] + b"{}" + raw[end:], path, fix=REBUILD, shape=dict)
    if doc.get("tracks") != {}:
        return None
    doc["tracks"] = IndexedTracks(raw, index, path)
    registry = RegistryDoc(doc)
    registry._source, registry._source_count = raw, len(index.statuses)
    registry._source_span = index.span
    return registry


def parse(raw: bytes, path: Path) -> RegistryDoc:
    doc = files.parse_json(raw, path, fix=REBUILD, shape=dict)
    if not isinstance(doc.get("tracks"), dict):
        raise CorruptFile(str(path), "it has no 'tracks' object", REBUILD)
    for key, entry in doc["tracks"].items():
        # an entry, and its progress (read by every listing), must be objects
        if type(entry) is not dict or type(entry.get("progress", _NONE)) not in _PROGRESS:
            what = "progress" if type(entry) is dict else "entry"
            raise CorruptFile(str(path), f"the {what} of {key!r} is not an object", REBUILD)
    registry = RegistryDoc(doc)
    registry._source, registry._source_count = raw, len(registry.tracks)
    return registry


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
            raw = os.read(fd, st.st_size + 1)  # one read, no join (5 MB at 10,000 tracks)
            if len(raw) != st.st_size:  # a short read, or a writer that does not rename
                chunks = [raw]
                while chunk := os.read(fd, 1 << 20):
                    chunks.append(chunk)
                raw = b"".join(chunks)
            index = read_index(index_path(self.tracks_dir), _signature(st))
            doc = from_index(raw, index, self.path) if index is not None else None
            if doc is None:
                doc = parse(raw, self.path)
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
        index_at_exit(self)  # the next process reads it without decoding it whole

    def write_index(self) -> None:
        """Index the registry this process last read or wrote, if it is still the file's
        and the root's lock is free (never waited for: an index is a cache)."""
        with self._guard:
            doc, signature = self._doc, self._signature
        if doc is None or signature is None or _signature(os.stat(self.path)) != signature:
            return
        index = doc.make_index(signature)
        if index is None:
            return
        lock = lock_for(self.tracks_dir)
        try:
            lock.acquire(timeout=0)
        except LockTimeout:
            return
        try:
            if _signature(os.stat(self.path)) == signature:  # nobody wrote it meanwhile
                write_index(index_path(self.tracks_dir), index)
        finally:
            lock.release()

    def invalidate(self) -> None:
        with self._guard:
            self._forget()

    def _forget(self) -> None:
        if self._fd is not None:
            close_later(self._fd)
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
