"""The registry's index: what a command needs of 10,000 entries without decoding them.

A process that wrote the registry leaves, when it exits, a small index of it in
``tracks/.conductor-cache/registry-index``: the file's stat signature, where its tracks
object lies, each entry's id, status and name in order (each list one string, joined by
``SEP``: marshal reads three strings far faster than 30,000), and the parents set. The
next process whose registry still has that signature (the same inode, size, mtime and
ctime: nobody has written it since, for every writer replaces it by rename and a change
in place moves its mtime) takes the ids, statuses and names from the index and decodes
an entry only when it reads it: ``show`` of one track or a ``pause`` decode one entry,
not 10,000.
The text was written by this code, so it is known to be valid and laid out as the
original tool lays it out (what splicing needs). A registry with any other signature
(written by the original tool or by hand, replayed after a crash, damaged) is decoded
whole, as before, and damage is reported as before.

The index is a cache: nothing is lost without it, it is never synced, a damaged or
foreign one (checked by its header and checksum before it is read) is ignored.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import marshal
import os
import sys
import zlib
from collections.abc import Iterator, MutableMapping
from json.encoder import encode_basestring
from pathlib import Path

from ..errors import ConductorError, CorruptFile
from . import files

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "INDEX_NAME",
    "SEP",
    "Index",
    "IndexedTracks",
    "entry_span",
    "index_at_exit",
    "index_path",
    "member_key",
    "member_texts",
    "parent_text",
    "read_index",
    "text_of",
    "write_index",
]

INDEX_NAME = "registry-index"
CACHE_FOLDER = ".conductor-cache"
# marshal's format is the interpreter's: another version's index is not read
_MAGIC = f"conductor registry index 3 py{sys.version_info[0]}.{sys.version_info[1]}\n".encode()
_REBUILD = "conductor rebuild"

# Joins the names in an index file (and the ids and statuses): marshal makes one string
# of each list far faster than it makes thousands. Never in a name this code indexes.
SEP = "\x00"


class Index:
    """What an index holds: each entry's status by id (in the registry's order), the
    names joined by ``SEP`` (split only when a name is looked up: a create checks one
    name, a listing none), and the parents that are text."""

    def __init__(
        self,
        signature: tuple[int, ...],
        span: tuple[int, int],
        statuses: dict[str, str],
        names: str,
        parents: dict[str, str],
    ) -> None:
        self.signature = tuple(signature)
        self.span = (int(span[0]), int(span[1]))
        self.statuses = statuses
        self.names = names
        self.parents = parents

    @classmethod
    def of(
        cls,
        signature: tuple[int, ...],
        span: tuple[int, int],
        ids: list[str],
        statuses: list[str],
        names: list[str],
        parents: list[str | None],
    ) -> Index:
        """The index of these fields, in the registry's order."""
        return cls(
            signature,
            span,
            dict(zip(ids, statuses, strict=True)),
            SEP.join(names),
            {tid: parent for tid, parent in zip(ids, parents, strict=True) if parent is not None},
        )


def index_path(tracks_dir: Path) -> Path:
    return tracks_dir / CACHE_FOLDER / INDEX_NAME


def read_index(path: Path, signature: tuple[int, ...]) -> Index | None:
    """The index of the registry with ``signature``; None when there is none for it."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    body = raw[len(_MAGIC) + 4 :]
    if not raw.startswith(_MAGIC) or raw[len(_MAGIC) : len(_MAGIC) + 4] != _crc(body):
        return None
    try:
        index = _decoded(*marshal.loads(body))
    except (ValueError, EOFError, TypeError, IndexError):
        return None
    if index is None or index.signature != signature:
        return None
    return index


def _decoded(signature, span, count, ids, statuses, names, parents) -> Index | None:
    """The index of a file's fields, checked: they are what this code writes, or None."""
    texts = (ids, statuses, names)
    if type(count) is not int or not all(type(each) is str for each in texts):
        return None
    if count == 0:
        return Index(signature, span, {}, "", {}) if texts == ("", "", "") else None
    if any(each.count(SEP) != count - 1 for each in texts) or type(parents) is not dict:
        return None
    by_id = dict(zip(ids.split(SEP), statuses.split(SEP), strict=True))
    if len(by_id) != count or not all(
        type(parent) is str and track_id in by_id for track_id, parent in parents.items()
    ):
        return None
    return Index(signature, span, by_id, names, parents)


def write_index(path: Path, index: Index) -> None:
    """Write the index over the last one, in place and unsynced; the caller holds the
    root's lock. The header and checksum make a torn one (read while it is written, or
    left by a power cut) an ignored one, so it needs no temp file and rename: those
    allocate an inode and free one on every write, the dearest part of a write on a file
    system that freed many inodes lately."""
    statuses = index.statuses
    texts = (SEP.join(statuses), SEP.join(statuses.values()), index.names)
    if any(text.count(SEP) != max(len(statuses) - 1, 0) for text in texts):
        return  # a text holds SEP (never one this code makes): no index, a full read
    body = marshal.dumps((index.signature, index.span, len(statuses), *texts, index.parents))
    data = memoryview(_MAGIC + _crc(body) + body)
    path.parent.mkdir(exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        written = 0
        while written < len(data):
            written += os.pwrite(fd, data[written:], written)
        os.ftruncate(fd, len(data))
    finally:
        os.close(fd)


def _crc(body: bytes) -> bytes:
    return zlib.crc32(body).to_bytes(4, "big")


# Entries decoded one at a time (each a search of the text) before the rest are decoded
# in one pass: a verb reads a few; a walk over every entry reads them all.
_ONE_BY_ONE = 16


class IndexedTracks(MutableMapping):
    """The tracks object of a registry text known from its index: ids, statuses and names
    without decoding; an entry decoded (and kept) when it is first read; set and deleted
    like a dict. ``decode_all`` decodes the rest in one go (a listing reads them all)."""

    def __init__(self, source: bytes, index: Index, path: Path) -> None:
        self.source = source
        self.span = index.span
        self.path = path
        self.statuses = index.statuses
        # names stay one text and parents the few that are set (a command reads one name
        # or none) until one is looked up by id or an entry changes
        self._names_text, self._parents_set = index.names, index.parents
        self._names: dict[str, str] | None = None
        self._parents: dict[str, str | None] | None = None
        self._entries: dict[str, dict[str, Any]] = {}
        self._all = False  # every entry is in _entries
        self._decoded_one_by_one = 0
        self._edited = False  # an entry was set or deleted: the source no longer says all

    @property
    def names(self) -> dict[str, str]:
        """Each entry's name, as text."""
        if self._names is None:
            names = self._names_text.split(SEP) if self.statuses else []
            self._names = dict(zip(self.statuses, names, strict=True))
        return self._names

    @property
    def parents(self) -> dict[str, str | None]:
        """Each entry's parent_track, when it is text."""
        if self._parents is None:
            self._parents = {track_id: self._parents_set.get(track_id) for track_id in self}
        return self._parents

    def ids_named(self, name: str) -> list[str]:
        if self._names is None and not self._text_may_name(name):
            return []  # the usual answer, found without splitting the names
        return [track_id for track_id, known in self.names.items() if known == name]

    def _text_may_name(self, name: str) -> bool:
        """Whether the names text may hold ``name``: no indexed name holds SEP, so each
        sits between two in the text with one at each end."""
        return SEP in name or f"{SEP}{name}{SEP}" in f"{SEP}{self._names_text}{SEP}"

    def count_status(self, status: str) -> int:
        return list(self.statuses.values()).count(status)

    def ids_with_status(self, status: str) -> list[str]:
        if not self.count_status(status):
            return []
        return [track_id for track_id, known in self.statuses.items() if known == status]

    def index_fields(self) -> tuple[dict[str, str], str, dict[str, str]]:
        """Statuses by id, names joined and the parents set: what an index holds."""
        names = self._names_text if self._names is None else SEP.join(self._names.values())
        if self._parents is None:
            parents = self._parents_set
        else:
            parents = {key: value for key, value in self._parents.items() if value is not None}
        return self.statuses, names, parents

    def rebase(self, source: bytes, span: tuple[int, int]) -> None:
        """The text was rewritten (by splicing: undecoded entries are byte for byte as
        they were, elsewhere)."""
        self.source, self.span = source, span
        self._edited = False

    def texts(self) -> dict[str, memoryview] | None:
        """Each entry's text cut from the source (see ``member_texts``), by id; None once
        an entry was set or deleted."""
        return None if self._edited else member_texts(self.source, self.span, list(self))

    # -- the mapping ------------------------------------------------------------------

    def __getitem__(self, track_id: str) -> dict[str, Any]:
        entry = self._entries.get(track_id)
        if entry is None:
            if track_id not in self.statuses:
                raise KeyError(track_id)
            self._decoded_one_by_one += 1
            if self._decoded_one_by_one > _ONE_BY_ONE:  # a walk over them all: decode once
                self.decode_all()
                return self._entries[track_id]
            entry = self._entries[track_id] = self._decode(track_id)
        return entry

    @property
    def decoded(self) -> int:
        """How many entries have been decoded from the text (a walk over all: every one)."""
        return len(self.statuses) if self._all else self._decoded_one_by_one

    def __setitem__(self, track_id: str, entry: dict[str, Any]) -> None:
        self.names, self.parents  # noqa: B018  (as dicts before the ids change)
        self._entries[track_id] = entry
        self._edited = True
        status, name = entry.get("status"), entry.get("name")
        self.statuses[track_id], self.names[track_id] = text_of(status), str(name)
        self.parents[track_id] = parent_text(entry)

    def __delitem__(self, track_id: str) -> None:
        self.names, self.parents  # noqa: B018  (as dicts before the ids change)
        del self.statuses[track_id]
        del self.names[track_id]
        del self.parents[track_id]
        self._entries.pop(track_id, None)
        self._edited = True

    def __iter__(self) -> Iterator[str]:
        return iter(self.statuses)

    def __len__(self) -> int:
        return len(self.statuses)

    def __contains__(self, track_id: object) -> bool:
        return track_id in self.statuses

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        import copy

        return copy.deepcopy(dict(self.items()), memo)

    def items(self):
        return self._as_dict().items()

    def values(self):
        return self._as_dict().values()

    def _as_dict(self) -> dict[str, dict[str, Any]]:
        self.decode_all()
        return {track_id: self._entries[track_id] for track_id in self.statuses}

    # -- decoding ---------------------------------------------------------------------

    def decode_all(self) -> None:
        if self._all:
            return
        start, end = self.span
        decoded = files.parse_json(self.source[start:end], self.path, fix=_REBUILD, shape=dict)
        for track_id in self.statuses:
            if track_id not in self._entries:
                if track_id not in decoded:
                    raise CorruptFile(str(self.path), f"it has no entry {track_id!r}", _REBUILD)
                self._entries[track_id] = _checked(decoded[track_id], track_id, self.path)
        self._all = True

    def _decode(self, track_id: str) -> dict[str, Any]:
        start, end = self.span
        found = entry_span(self.source, track_id, start, end)
        if found is None:
            raise CorruptFile(str(self.path), f"it has no entry {track_id!r}", _REBUILD)
        key_end = found[0] + len(member_key(track_id)) - 1  # the member starts after its "\n"
        value = files.parse_json(self.source[key_end : found[1]], self.path, fix=_REBUILD)
        return _checked(value, track_id, self.path)


def member_texts(
    source: bytes, span: tuple[int, int], ids: list[str]
) -> dict[str, memoryview] | None:
    """Each entry's value as an item of a list at the top of a document laid out as
    ``json.dumps(indent=2)`` lays it out (views of one copy of the tracks object at
    ``span`` of ``source``, a text that decoded), by id; None unless the object is laid
    out that way with one member per id, in order (then the caller encodes them)."""
    start, end = span
    laid_out = source.startswith(b'{\n    "', start) and source.startswith(b"\n  }", end - 4)
    if not ids or not laid_out:
        return None
    # members at four spaces become items at two: every line break in the tracks
    # object is the layout's (JSON strings hold none), each followed by 4 or more spaces
    body = source[start + 7 : end - 4].replace(b"\n  ", b"\n")
    view = memoryview(body)
    # each id as JSON encodes it, unquoted: one call, split where no encoded text can
    # hold the separator (a quote inside a string is escaped)
    keys = json.dumps(ids, ensure_ascii=False)[2:-2].encode().split(b'", "')
    texts: dict[str, memoryview] = {}
    at = 0  # past the member's opening quote
    for track_id, key in zip(ids, keys, strict=True):
        if at < 0 or not body.startswith(key + b'": ', at):
            return None
        # the next member starts on a line at two spaces now: deeper lines have more
        following = body.find(b',\n  "', at)
        texts[track_id] = view[at + len(key) + 3 : following if following >= 0 else len(body)]
        at = following + 5 if following >= 0 else -1
    return texts if at < 0 else None


def member_key(track_id: str) -> bytes:
    """How the member of ``track_id`` starts in the tracks object, from its line break."""
    return b"\n    " + encode_basestring(track_id).encode() + b": "


def entry_span(
    source: bytes, track_id: str, start: int, end: int, hint: int | None = None
) -> tuple[int, int] | None:
    """Where the member of ``track_id`` (key and value) is in the tracks object (``hint``:
    where it was last written, checked before the whole object is searched)."""
    key = member_key(track_id)
    if hint is not None and start < hint < end and source.startswith(key, hint - 1):
        at = hint - 1
    else:
        at = source.find(key, start, end)
    if at < 0:
        return None
    following = source.find(b',\n    "', at, end)
    return at + 1, following if following >= 0 else end - 4


def text_of(value: Any) -> str:
    """A field's value as the indexes key it."""
    return value if type(value) is str else str(value)


def parent_text(entry: dict[str, Any]) -> str | None:
    parent = entry.get("parent_track")
    return parent if isinstance(parent, str) else None


def _checked(entry: Any, track_id: str, path: Path) -> dict[str, Any]:
    if type(entry) is not dict or type(entry.get("progress")) not in (dict, type(None)):
        what = "progress" if type(entry) is dict else "entry"
        raise CorruptFile(str(path), f"the {what} of {track_id!r} is not an object", _REBUILD)
    return entry


# -- leaving an index behind ----------------------------------------------------------------

_pending: dict[str, Any] = {}  # registry file path -> its RegistryFile, to index at exit


def index_at_exit(registry_file: Any) -> None:
    """Have ``registry_file``'s current registry indexed when this process exits."""
    if not _pending:
        atexit.register(_write_pending)
    _pending[str(registry_file.path)] = registry_file


def _write_pending() -> None:
    """At exit: index each registry this process knows, when nobody has written it since
    and its lock is free now (never waited for: an index is only a cache)."""
    for registry_file in list(_pending.values()):
        with contextlib.suppress(ConductorError, OSError, ValueError):
            registry_file.write_index()
    _pending.clear()
