"""The write-ahead log: a commit made durable with one fsync.

A commit appends one *record* to ``tracks/.conductor-wal`` (the registry entries it
changed, or the whole registry when entries went away, and the full bytes of every
other file it writes, and what it deletes) and makes the log durable: that fsync is the
commit point. It then replaces the files by rename, without fsyncing them, so readers
(ours, and the original tool reading ``track-registry.json``) see the change at once,
and appends an *applied* mark (not synced either).

What a power cut can do to those unsynced replaces is undone by replaying the log. A
*log checkpoint* bounds the replay: when the log passes ``CHECKPOINT_BYTES`` it makes
what the log's records replaced durable (one ``sync``), keeps the registry's durable
text as ``tracks/.conductor-wal-base.json`` (a registry whose unsynced replacement was
torn is rebuilt from it and the records) and starts an empty log.

On the next lock (see ``recover``):

- the log was written in an earlier boot of the machine (its header keeps the boot id):
  the machine lost power or crashed since, so the registry is rebuilt from the base and
  the records, every file is written again where it is not already the last version
  the log holds (a file another program changed since is kept), everything is synced
  and the log is removed;
- in this boot, a last record without its applied mark belongs to a writer killed
  between its commit point and its mark: that record is replayed (a replay writes whole
  files and sets whole entries: doing it twice is harmless);
- a torn last frame (a writer killed while appending: it never reached its commit
  point) is cut off.

Frames are ``magic, kind, length, crc32`` then the payload, so a torn or zeroed tail
never reads as a frame. The log and the base are two more files in ``tracks/`` that the
original tool ignores.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import zlib
from pathlib import Path

from ..errors import CorruptFile
from . import files
from .paths import inside
from .registry import REGISTRY_NAME, RegistryDoc, parse

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

__all__ = [
    "BASE_NAME",
    "CHECKPOINT_BYTES",
    "LOG_NAME",
    "Record",
    "WriteAheadLog",
    "boot_id",
    "fingerprint",
]

LOG_NAME = ".conductor-wal"
BASE_NAME = ".conductor-wal-base.json"
# A log checkpoint when the log passes this size: it bounds a replay after a power cut
# (one sync of every file system, a durable copy of the registry, then an empty log).
# A replay of 1 MiB of records takes milliseconds; a checkpoint costs a sync and the
# registry's copy (~5 ms at 1,000 tracks), so it should not come every few commits
# (a track with a long history puts ~50 KB in each record).
CHECKPOINT_BYTES = 1024 * 1024
FIX = "conductor repair"

_FRAME = struct.Struct("<2sBII")  # magic, kind, payload length, crc32 of the payload
_MAGIC = b"\xc3W"
_HEADER, _RECORD, _APPLIED = 1, 2, 3
_OFFSET = struct.Struct("<Q")
_APPLIED_SIZE = _FRAME.size + _OFFSET.size

_BOOT_ID = "/proc/sys/kernel/random/boot_id"
_boot: list[str | None] = []


def boot_id() -> str | None:
    """This boot of the machine (Linux's random boot id), None where there is none: a
    log from another boot means a power cut or a crash happened since it was written."""
    if not _boot:
        try:
            with open(_BOOT_ID, encoding="ascii") as source:
                _boot.append(source.read().strip() or None)
        except OSError:
            _boot.append(None)
    return _boot[0]


def _frame(kind: int, payload: bytes) -> bytes:
    return _FRAME.pack(_MAGIC, kind, len(payload), zlib.crc32(payload)) + payload


def _frames(data: bytes) -> tuple[list[tuple[int, int, bytes]], int]:
    """Every whole frame of ``data`` as (kind, offset, payload), and where they end."""
    found, at = [], 0
    while at + _FRAME.size <= len(data):
        magic, kind, length, crc = _FRAME.unpack_from(data, at)
        end = at + _FRAME.size + length
        if magic != _MAGIC or end > len(data):
            break
        payload = data[at + _FRAME.size : end]
        if zlib.crc32(payload) != crc:
            break
        found.append((kind, at, payload))
        at = end
    return found, at


def _torn_tail(rest: bytes) -> bool:
    """Whether what follows the last whole frame is what a cut append leaves: nothing,
    zeros (the size reached the disk, not the bytes) or the start of one frame."""
    if not rest.strip(b"\0"):
        return True
    if len(rest) < _FRAME.size:
        return _MAGIC.startswith(rest[:2])
    magic, _, length, _ = _FRAME.unpack_from(rest)
    return magic == _MAGIC and len(rest) < _FRAME.size + length


class Record:
    """What one commit changes: files written and deleted (paths relative to the
    project folder), and the registry as changed entries plus its other members, or
    whole (``registry``)."""

    def __init__(
        self,
        writes: dict[str, bytes],
        deletes: list[str],
        *,
        entries: dict[str, Any] | None = None,
        top: dict[str, Any] | None = None,
        registry: bytes | None = None,
    ) -> None:
        self.writes, self.deletes = writes, deletes
        self.entries, self.top, self.registry = entries, top, registry
        # path -> ``fingerprint`` of what it was before: see ``_replay``
        self.before: dict[str, list[int] | None] = {}

    @property
    def touched(self) -> list[str]:
        return [*self.writes, *self.deletes]

    def encode(self) -> bytes:
        """A JSON line describing the record, then the bytes it names, back to back."""
        meta = {
            "writes": [[path, len(data)] for path, data in self.writes.items()],
            "deletes": self.deletes,
            "entries": self.entries,
            "top": self.top,
            "registry": None if self.registry is None else len(self.registry),
            "before": self.before,
        }
        blobs = [*self.writes.values()] + ([self.registry] if self.registry is not None else [])
        return b"".join([json.dumps(meta).encode(), b"\n", *blobs])

    @classmethod
    def decode(cls, payload: bytes) -> Record:
        end = payload.index(b"\n")
        meta = json.loads(payload[:end])
        at, writes = end + 1, {}
        for path, size in meta["writes"]:
            writes[path] = payload[at : at + size]
            at += size
        size = meta["registry"]
        registry = None if size is None else payload[at : at + size]
        record = cls(
            writes, meta["deletes"], entries=meta["entries"], top=meta["top"], registry=registry
        )
        record.before = meta["before"]
        return record

    def apply_to(self, doc: RegistryDoc | None, path: Path) -> RegistryDoc:
        """The registry ``doc`` with this record's change (``doc`` may be None only when
        the record holds the whole registry)."""
        if self.registry is not None:
            doc = parse(self.registry, path)
        assert doc is not None
        for track_id, entry in (self.entries or {}).items():
            doc.set_entry(track_id, entry)
        for key, value in (self.top or {}).items():
            doc.doc[key] = value
        return doc

    @property
    def changes_registry(self) -> bool:
        return self.registry is not None or self.entries is not None


class WriteAheadLog:
    """The log of one tracks folder. Every method but ``needs_recovery`` runs under
    the root's lock."""

    def __init__(self, tracks_dir: Path, base_dir: Path, tmp_dir: Path) -> None:
        self.tracks_dir, self.base_dir, self.tmp_dir = tracks_dir, base_dir, tmp_dir
        self.path = tracks_dir / LOG_NAME
        self.base_path = tracks_dir / BASE_NAME
        self.registry_path = tracks_dir / REGISTRY_NAME
        self._clean_signature: tuple[int, ...] | None = None

    # -- reading without the lock ----------------------------------------------------

    def needs_recovery(self) -> bool:
        """Whether a reader must take the lock and recover first (a cheap check: the
        log's header and last frame, cached by the log's stat signature)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:  # no log; a base left alone is a removal cut short
            return os.path.exists(self.base_path)
        try:
            st = os.fstat(fd)
            signature = (st.st_ino, st.st_size, st.st_mtime_ns)
            if signature == self._clean_signature:
                return False
            header, header_end = self._header(os.pread(fd, 4096, 0))
            if header is None or header.get("boot") != boot_id():
                return True
            if st.st_size != header_end:
                tail = os.pread(fd, _APPLIED_SIZE, st.st_size - _APPLIED_SIZE)
                found, _ = _frames(tail)
                if not found or found[0][0] != _APPLIED:
                    return True
            self._clean_signature = signature
            return False
        finally:
            os.close(fd)

    def unapplied(self) -> bool:
        """Whether the log ends with a record without its applied mark: a writer was
        killed between its commit point and its mark (the next lock replays it)."""
        try:
            found, _ = _frames(self.path.read_bytes())
        except FileNotFoundError:
            return False
        records = [at for kind, at, _ in found if kind == _RECORD]
        applied = {_OFFSET.unpack(p)[0] for kind, _, p in found if kind == _APPLIED}
        return bool(records) and records[-1] not in applied

    @staticmethod
    def _header(data: bytes) -> tuple[dict[str, Any] | None, int]:
        """The header of a log beginning with ``data``, and where it ends."""
        found, _ = _frames(data)  # whole frames only: the header is far under 4 KiB
        if not found or found[0][0] != _HEADER:
            return None, 0
        return json.loads(found[0][2]), _FRAME.size + len(found[0][2])

    # -- recovery ----------------------------------------------------------------------

    def recover(self) -> bool:
        """Finish what a killed writer or a power cut left (see the module doc); True
        when files were written. After a power cut the log is replayed, made durable
        and removed (the next commit starts a new one)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            files.remove_quietly(self.base_path)  # a removal cut short between the two
            return False
        found, end = _frames(data)
        if not _torn_tail(data[end:] if found else data):
            raise CorruptFile(str(self.path), f"it is damaged at byte {end}", FIX)
        if not found or found[0][0] != _HEADER:
            # a log being created: no record in it reached its commit point
            self._remove()
            return False
        header = json.loads(found[0][2])
        records = [(at, Record.decode(p)) for kind, at, p in found if kind == _RECORD]
        everything = [record for _, record in records]
        if header.get("boot") != boot_id() or boot_id() is None:
            self._replay(everything, len(everything), base=header.get("base"))
            self._sync_replaced()
            self._remove()
            return True
        applied = {_OFFSET.unpack(p)[0] for kind, _, p in found if kind == _APPLIED}
        if end < len(data):  # a torn append: its writer never reached the commit point
            fd = os.open(self.path, os.O_WRONLY)
            try:
                os.ftruncate(fd, end)
            finally:
                os.close(fd)
        if not records or records[-1][0] in applied:
            return False
        self._replay(everything, 1, base=header.get("base"))
        self._append(_frame(_APPLIED, _OFFSET.pack(records[-1][0])), sync=False)
        return True

    def _replay(self, records: list[Record], last: int, *, base: bool) -> None:
        """Write every file the ``last`` records name as they left it (the earlier ones
        tell which versions of a file are this log's). A file that is none of them was
        replaced by another program since (a ``git pull`` between a power cut and the
        next command): it is kept as it is, and said so."""
        versions = self._registry_versions(records, base)
        if len(versions) > 1 and not self._keep(self.registry_path, versions):
            self._replace(self.registry_path, versions[-1])
        for relative in dict.fromkeys(r for record in records[-last:] for r in record.touched):
            path = inside(self.base_dir, relative)
            versions = _file_versions(relative, records)
            if self._keep(path, versions):
                continue
            if versions[-1] is None:
                files.remove_quietly(path)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._replace(path, versions[-1])

    def _keep(self, path: Path, versions: list[Any]) -> bool:
        """Whether ``path`` needs no replay: it is the last version, or another
        program's (said once on stderr)."""
        try:
            current: bytes | None = path.read_bytes()
        except FileNotFoundError:
            current = None
        if current == versions[-1]:
            return True
        if any(_is_version(current, version) for version in versions):
            return False
        relative = self._relative(path)
        print(
            f"conductor: {relative} was changed by another program after a change this "
            "tree's write-ahead log holds for it; kept as it is",
            file=sys.stderr,
        )
        return True

    def _relative(self, path: Path) -> str:
        return os.path.relpath(path, self.base_dir)

    def _registry_versions(self, records: list[Record], base: bool) -> list[bytes | None]:
        """The registry's text at the log's start (the base, or no file) and after each
        record that changed it, as its writer wrote it."""
        if not any(record.changes_registry for record in records):
            return []
        text: bytes | None = None
        doc = RegistryDoc.empty()
        if base:
            try:
                text = self.base_path.read_bytes()
            except FileNotFoundError:
                raise CorruptFile(str(self.base_path), "it is missing", FIX) from None
            doc = parse(text, self.base_path)
        versions: list[Any] = [text]
        for record in records:
            if record.registry is not None:
                versions += [_Fingerprint(record.before.get(REGISTRY_NAME)), record.registry]
                doc = parse(record.registry, self.registry_path)
            elif record.entries is not None:
                versions.append(record.apply_to(doc, self.registry_path).encode_bytes())
        return versions

    # -- committing ------------------------------------------------------------------------

    def commit(self, record: Record, registry_text: bytes | None) -> None:
        """Make ``record`` durable (the commit point), then apply it."""
        if not self.path.exists():
            self._start()
        # The paths are this process's own transaction's, checked when they were made
        # (a replay, of bytes read back from disk, checks them again with ``inside``).
        for relative in record.touched:  # what each file was: a replay's guard
            if relative not in record.before:  # not known from the transaction's reads
                record.before[relative] = _fingerprint(self.base_dir / relative)
        if record.registry is not None:  # a rebuild or a repair: maybe over a file made by hand
            record.before[REGISTRY_NAME] = _fingerprint(self.registry_path)
        log = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            at = _append_to(log, _frame(_RECORD, record.encode()), sync=True)
            self._make_folders(record.writes)
            if registry_text is not None:
                self._replace(self.registry_path, registry_text)
            for relative, data in record.writes.items():
                self._replace(self.base_dir / relative, data)
            for relative in record.deletes:
                files.remove_quietly(self.base_dir / relative)
            end = _append_to(log, _frame(_APPLIED, _OFFSET.pack(at)), sync=False)
        finally:
            os.close(log)
        if end > CHECKPOINT_BYTES:
            self.checkpoint()
        else:  # applied last, under the lock: the next needs_recovery need not read it
            st = os.stat(self.path)
            self._clean_signature = (st.st_ino, st.st_size, st.st_mtime_ns)

    def _append(self, frame: bytes, *, sync: bool) -> int:
        """Append ``frame``; returns where it starts."""
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            return _append_to(fd, frame, sync=sync)
        finally:
            os.close(fd)

    def _make_folders(self, relatives: Iterable[str]) -> None:
        """Make the folders that files are about to be written in where missing (a new
        track's): a replace into a missing folder would write its temp file twice."""
        for folder in dict.fromkeys(os.path.dirname(relative) for relative in relatives):
            full = os.path.join(self.base_dir, folder)
            if not os.path.isdir(full):
                os.makedirs(full, exist_ok=True)

    def _replace(self, path: Path, data: bytes) -> None:
        try:
            files.atomic_write(path, data, tmp_dir=self.tmp_dir, sync=False)
        except FileNotFoundError:  # a new folder (a track's, a checkpoint's): make it
            path.parent.mkdir(parents=True, exist_ok=True)
            files.atomic_write(path, data, tmp_dir=self.tmp_dir, sync=False)

    # -- log checkpoints ---------------------------------------------------------------

    def checkpoint(self) -> None:
        """Make every file the log's records replaced durable, then start an empty log."""
        self._sync_replaced()
        self._start()

    def _sync_replaced(self) -> None:
        """Make durable what the log's records replaced unsynced: one ``sync`` of every
        file system rather than an fsync of each file and folder (a log names hundreds),
        so a log checkpoint costs the same whatever the log holds."""
        files.sync_all()

    def _remove(self) -> None:
        """Remove the log, then its base (a base without a log is removed on the next
        recovery); durable when this returns."""
        files.remove_quietly(self.path)
        files.remove_quietly(self.base_path)
        files.fsync_dir(self.tracks_dir)

    def _start(self) -> None:
        """Begin an empty log: the registry made durable and copied as the base (a copy,
        not a link: an editor or the original tool may rewrite the registry in place),
        then the header."""
        try:
            registry = self.registry_path.read_bytes()
        except FileNotFoundError:
            registry = None
            files.remove_quietly(self.base_path)
        if registry is not None:
            _fsync_file(self.registry_path)
            files.atomic_write(self.base_path, registry, tmp_dir=self.tmp_dir, sync_dir=False)
        header = {"format": 1, "boot": boot_id(), "base": registry is not None}
        files.atomic_write(
            self.path, _frame(_HEADER, json.dumps(header).encode()), tmp_dir=self.tmp_dir
        )

    def set_aside(self, backup: Path) -> bool:
        """Move a damaged log to ``backup`` (after syncing every file system: the files
        its records replaced are then as durable as the log was); True if it was."""
        try:
            self.recover()
            return False
        except CorruptFile:
            pass
        os.sync()
        files.make_dirs(backup.parent)
        files.atomic_write(backup, self.path.read_bytes())
        self._remove()
        return True

    def close_out(self) -> None:
        """Checkpoint and remove the log (before committing another way)."""
        if self.path.exists() and self.recover() is not None and self.path.exists():
            self.checkpoint()
            self._remove()


def _append_to(fd: int, frame: bytes, *, sync: bool) -> int:
    """Append ``frame`` to the log open at ``fd`` (with O_APPEND); returns where it starts."""
    at = os.fstat(fd).st_size
    view = memoryview(frame)
    while view:
        view = view[os.write(fd, view) :]
    if sync:
        files.fdatasync(fd)
    return at


def fingerprint(data: bytes | None) -> list[int] | None:
    """What a record keeps of a file it replaces: its size and crc32 (None: no file)."""
    return None if data is None else [len(data), zlib.crc32(data)]


def _fingerprint(path: Path) -> list[int] | None:
    try:
        return fingerprint(path.read_bytes())
    except FileNotFoundError:
        return None


def _file_versions(relative: str, records: list[Record]) -> list[Any]:
    """The versions of a file in the log: for each record that touched it, a fingerprint
    of what it found (written by us or by hand) and the bytes it left (None: deleted)."""
    versions: list[Any] = []
    for record in records:
        if relative in record.touched:
            versions += [_Fingerprint(record.before.get(relative)), record.writes.get(relative)]
    return versions


class _Fingerprint:
    """What a file was before the log touched it: durable, so only ever whole."""

    def __init__(self, fingerprint: list[int] | None) -> None:
        self.fingerprint = fingerprint

    def matches(self, data: bytes | None) -> bool:
        if data is None or self.fingerprint is None:
            return data is None and self.fingerprint is None
        return [len(data), zlib.crc32(data)] == self.fingerprint


def _is_version(current: bytes | None, version: Any) -> bool:
    """Whether ``current`` is ``version`` or what a power cut can leave of it (a write of
    the log's not yet synced: empty, cut short, or its length with blocks of zeros)."""
    if isinstance(version, _Fingerprint):
        return version.matches(current)
    if current is None or version is None:
        return current is version
    return (
        current == version
        or not current
        or version.startswith(current)
        or _partly_written(current, version)
    )


_BLOCK = 4096


def _partly_written(current: bytes, version: bytes) -> bool:
    """Whether ``current`` is ``version`` with blocks of it, or their ends, still zeros: what
    a power cut leaves of a preallocated file whose writeback had not finished."""
    if len(current) != len(version):
        return False
    return all(
        version.startswith(current[at : at + _BLOCK].rstrip(b"\0"), at)
        for at in range(0, len(current), _BLOCK)
    )


def _fsync_file(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        files.fsync(fd)
    finally:
        os.close(fd)
