"""The on-disk tree of one root and the all-or-nothing transactions that change it.

A transaction takes the root's lock, finishes or rolls back whatever an earlier
process left half done, collects the files to write, and commits them in one of two
ways (``commit_protocol``):

- **the write-ahead log** (the default where the system gives a boot id: Linux): one
  record appended to ``tracks/.conductor-wal`` and one fsync, then every file replaced
  without syncing (see ``wal``);
- **the journal** (elsewhere, or with ``CONDUCTOR_COMMIT=journal``), every file synced:

  1. ``tracks/.conductor-journal.json`` is written (atomically) with the full content of
     every small file to write and, if the registry changes too, a checksum of its
     new text;
  2. the registry is replaced: this is the commit point;
  3. the small files are replaced;
  4. the journal is removed.

  On the next lock, a journal whose registry checksum matches the file on disk is
  rolled forward (step 3 again: every write is a whole-file replace, so replaying is
  harmless); one whose checksum does not match never reached the commit point and is
  dropped.

Temp files all live in ``tracks/.conductor-tmp/``, so leftovers of a killed writer are
found by listing one folder.
"""

from __future__ import annotations

import binascii
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import ConductorError, CorruptFile, InvalidInput
from . import files
from .closing import close_later
from .jsontext import Reencoder
from .locking import lock_for
from .paths import check_track_id, inside, project_dir
from .registry import RegistryDoc, RegistryFile
from .wal import Record, WriteAheadLog, boot_id, fingerprint

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

__all__ = ["JOURNAL_NAME", "PROTOCOLS", "TMP_DIR_NAME", "Transaction", "Tree", "commit_protocol"]

# The JSON files this process writes again (a track.json at each of its transitions):
# what did not change since the last write is not encoded again, nor decoded when read back.
_reencoder = Reencoder()

JOURNAL_NAME = ".conductor-journal.json"
_KEEP_OPEN = 8  # files a transaction keeps open from its reads (see ``read_disk``)
TMP_DIR_NAME = ".conductor-tmp"

_registries: dict[str, RegistryFile] = {}

PROTOCOLS = ("wal", "journal")


def commit_protocol() -> str:
    """How transactions commit: ``$CONDUCTOR_COMMIT`` when set, else the write-ahead log
    where the system gives a boot id (it tells a replay after a power cut from a
    killed writer's leftovers), else the journal."""
    chosen = os.environ.get("CONDUCTOR_COMMIT")
    if chosen is None:
        return "wal" if boot_id() is not None else "journal"
    if chosen not in PROTOCOLS:
        raise InvalidInput(f"CONDUCTOR_COMMIT is {chosen!r}: use one of {', '.join(PROTOCOLS)}")
    if chosen == "wal" and boot_id() is None:
        raise InvalidInput("CONDUCTOR_COMMIT=wal needs a boot id (Linux): use journal")
    return chosen


def _registry_for(tracks_dir: Path) -> RegistryFile:
    key = os.path.realpath(tracks_dir)
    registry = _registries.get(key)
    if registry is None:
        registry = _registries[key] = RegistryFile(tracks_dir)
    return registry


class Tree:
    """Paths of a conductor root, and transactions over them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.base = project_dir(root)  # journal paths are relative to it (see checkpoints)
        self.tracks_dir = root / "tracks"
        self.tmp_dir = self.tracks_dir / TMP_DIR_NAME
        self.journal_path = self.tracks_dir / JOURNAL_NAME
        self.backups_dir = root / "backups"
        self.registry = _registry_for(self.tracks_dir)
        self.lock = lock_for(self.tracks_dir)
        self.wal = WriteAheadLog(self.tracks_dir, self.base, self.tmp_dir)
        # Track paths checked during the open transaction (a transition asks for the same
        # few several times): the check (one lstat per part) is made once per hold.
        self._checked: dict[tuple[str, ...], Path] | None = None

    # -- paths ----------------------------------------------------------------------

    def track_dir(self, track_id: str) -> Path:
        return inside(self.tracks_dir, check_track_id(track_id))

    def track_file(self, track_id: str, *parts: str) -> Path:
        checked = self._checked
        if checked is None:
            return inside(self.track_dir(track_id), *parts)
        key = (track_id, *parts)
        path = checked.get(key)
        if path is None:
            path = checked[key] = inside(self.track_dir(track_id), *parts)
        return path

    # -- reading --------------------------------------------------------------------

    def load_registry(self) -> RegistryDoc:
        # a writer died mid-commit, or the machine lost power: finish it first
        if os.path.exists(self.journal_path) or self.wal.needs_recovery():
            with self.transaction():
                pass
        return self.registry.load()

    # -- writing --------------------------------------------------------------------

    @contextmanager
    def transaction(self, *, replace_registry: RegistryDoc | None = None) -> Iterator[Transaction]:
        """Lock, recover, collect writes, commit. ``replace_registry`` starts from a new
        registry instead of loading the file (``rebuild`` of a lost or corrupt one)."""
        with self.lock:
            txn = _current.get(id(self.registry))
            if txn is not None:  # nested: join the outer transaction
                yield txn
                return
            # The first transaction under this lock, even if a bare ``with tree.lock:``
            # took it first (lock depth > 1): recover and make the temp folder.
            self._recover()
            registry = replace_registry or self.registry.load()
            txn = Transaction(self, registry)
            txn.registry_changed = txn.whole_registry = replace_registry is not None
            _current[id(self.registry)] = txn
            self._checked = {}
            try:
                yield txn
                txn.commit()
            except BaseException:
                self.registry.invalidate()  # the cached doc may hold uncommitted changes
                raise
            finally:
                self._checked = None
                del _current[id(self.registry)]
                for fd in txn.kept_open:
                    close_later(fd)
                self._discard_if_unused(txn)

    def _discard_if_unused(self, txn: Transaction) -> None:
        """A transaction that created the root and committed nothing (a failed command)
        leaves nothing behind: its temp folder goes now, the rest when the lock is
        released (see ``locking``)."""
        if self.lock.depth != 1 or not self.lock.made_folders or txn.committed:
            return
        try:
            self.tmp_dir.rmdir()
        except OSError:
            return
        self.lock.discard_on_release = True

    def _recover(self) -> None:
        """Finish or drop a commit that a killed writer (or a power cut) left, and remove
        its temp files."""
        journal = self.read_journal()
        if journal is not None:
            expected, writes, deletes = journal
            if expected is None or _registry_crc(self.registry.path) == expected:
                for path, data in writes:
                    files.make_dirs(path.parent)
                    files.atomic_write(path, data, tmp_dir=self.tmp_dir)
                for path in deletes:
                    files.remove_quietly(path)
            files.remove_quietly(self.journal_path)
            files.fsync_dir(self.tracks_dir)
            self.registry.invalidate()
        try:
            leftovers = os.listdir(self.tmp_dir)
        except FileNotFoundError:
            self.tmp_dir.mkdir(parents=True, exist_ok=True)
        else:
            for name in leftovers:
                files.remove_quietly(self.tmp_dir / name)
        if commit_protocol() == "journal":
            self.wal.close_out()  # a log another process left: made durable, then gone
        elif self.wal.needs_recovery() and self.wal.recover():  # the cheap check first
            self.registry.invalidate()

    def read_journal(self) -> tuple[str | None, list[tuple[Path, bytes]], list[Path]] | None:
        """The journal a killed writer left (None when there is none): the registry
        checksum of its commit point, the writes and the deletes. A journal that cannot
        be read is a CorruptFile: it may hold the only copy of a committed change, so it
        is never dropped here (``conductor repair`` keeps it in backups/ and says so)."""
        path, fix = self.journal_path, "conductor repair"
        journal = files.read_json(path, fix=fix, default=None, shape=dict)
        if journal is None:
            return None
        missing = [key for key in ("registry_crc", "writes", "deletes") if key not in journal]
        if missing:  # every journal we write has all three: a partial replay would be wrong
            raise CorruptFile(str(path), f"it has no {missing[0]!r}", fix)
        try:
            expected = journal["registry_crc"]
            files.require(expected, (str, type(None)), path, "its registry_crc", fix)
            writes = []
            for item in files.require(journal.get("writes"), list, path, "its writes", fix):
                files.require(item, dict, path, "a write", fix)
                where = files.require(item.get("path"), str, path, "a write's path", fix)
                text = files.require(item.get("data"), str, path, "a write's data", fix)
                data = binascii.a2b_base64(text, strict_mode=True)  # base64, as b64decode's
                writes.append((inside(self.base, where), data))
            listed = files.require(journal["deletes"], list, path, "its deletes", fix)
            deletes = [
                inside(self.base, files.require(relative, str, path, "a delete", fix))
                for relative in listed
            ]
        except (ValueError, ConductorError) as err:  # bad base64, a path outside the root
            if isinstance(err, CorruptFile):
                raise
            raise CorruptFile(str(path), f"it names an unusable write ({err})", fix) from None
        return expected, writes, deletes


_current: dict[int, Transaction] = {}  # the open transaction of each registry


class Transaction:
    """Files to write together; nothing reaches the disk before ``commit``."""

    def __init__(self, tree: Tree, registry: RegistryDoc) -> None:
        self.tree = tree
        self.registry = registry
        self.registry_changed = False
        self.whole_registry = False  # the registry was replaced, not changed entry by entry
        self.writes: dict[Path, bytes] = {}
        self.deletes: set[Path] = set()
        self.after_commit: list = []
        self.committed = False  # whether commit wrote anything
        # Documents parsed for reading only, each with the pending bytes it was parsed
        # from (None: the file on disk, which nothing changes while the lock is held).
        self.peeked: dict[Path, tuple[bytes | None, object]] = {}
        # What the files read from disk under this lock hold were (``fingerprint``; None:
        # missing): the write-ahead log's guard for a file it replaces, taken from that read.
        self.found_on_disk: dict[Path, list[int] | None] = {}
        # The first few of them, still open: a commit that replaces one then does not free
        # the old file's blocks in the caller's time (see ``closing``).
        self.kept_open: list[int] = []

    def read_disk(self, path: Path, *, fix: str) -> bytes:
        """The bytes of ``path`` on disk (FileNotFoundError if there is none), noted for
        the commit (nothing else changes them while the lock is held)."""
        keep = self.kept_open if len(self.kept_open) < _KEEP_OPEN else None
        try:
            data = files.read_raw(path, fix=fix, keep=keep)
        except FileNotFoundError:
            self.found_on_disk[path] = None
            raise
        self.found_on_disk[path] = fingerprint(data)
        return data

    def read_json(
        self, path: Path, *, fix: str, default: Any = FileNotFoundError, shape: type | None = None
    ) -> Any:
        """``files.read_json`` through ``read_disk``; a file this process wrote as it is
        now is not decoded again (see ``written_before``)."""
        try:
            raw = self.read_disk(path, fix=fix)
        except FileNotFoundError:
            if default is FileNotFoundError:
                raise
            return default
        value = self.written_before(path, raw)
        if value is None or (shape is not None and not isinstance(value, shape)):
            value = files.parse_json(raw, path, fix=fix, shape=shape)
        return value

    def written_before(self, path: Path, raw: bytes) -> Any:
        """What ``raw``, read from ``path``, decodes to when it is the text this process
        last wrote there: rebuilt from what that write kept rather than decoded again
        (a long history is copied, not parsed: see ``Reencoder.loads``); else None."""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return _reencoder.loads(str(path), text, files.strict_loads)

    def write(self, path: Path, content: str | bytes) -> None:
        self.deletes.discard(path)
        self.writes[path] = content.encode("utf-8") if isinstance(content, str) else content

    def delete(self, path: Path) -> None:
        """Remove ``path`` with the rest of the change (callers keep a copy first)."""
        self.writes.pop(path, None)
        self.deletes.add(path)

    def write_json(self, path: Path, data: object) -> None:
        self.write(path, _reencoder.dumps(str(path), data))

    def pending(self, path: Path) -> bytes | None:
        """What this transaction will write to ``path`` (so a later step reads its own writes)."""
        return self.writes.get(path)

    def commit(self) -> None:
        if not self.writes and not self.deletes and not self.registry_changed:
            return
        self.committed = True
        if commit_protocol() == "wal":
            self._commit_to_log()
        else:
            self._commit_with_journal()
        for callback in self.after_commit:
            callback()

    def _commit_to_log(self) -> None:
        tree, base = self.tree, self.tree.base
        registry_text = entries = top = whole = None
        if self.registry_changed:
            entries = None if self.whole_registry else self.registry.pending_changes()
            registry_text = self.registry.text_to_write()
            if entries is None:
                whole = registry_text
            else:
                top = {key: value for key, value in self.registry.doc.items() if key != "tracks"}
        record = Record(
            {os.path.relpath(path, base): data for path, data in self.writes.items()},
            sorted(os.path.relpath(path, base) for path in self.deletes),
            entries=entries,
            top=top,
            registry=whole,
        )
        for path, found in self.found_on_disk.items():  # what the log would read again
            if path in self.writes or path in self.deletes:
                record.before[os.path.relpath(path, base)] = found
        tree.wal.commit(record, registry_text)
        if registry_text is not None:
            tree.registry.adopt(self.registry)

    def _commit_with_journal(self) -> None:
        tree = self.tree
        registry_text = self.registry.text_to_write() if self.registry_changed else None
        if len(self.writes) + len(self.deletes) + (registry_text is not None) > 1:
            journal = {
                "registry_crc": _crc(registry_text) if registry_text is not None else None,
                "writes": [
                    {
                        "path": os.path.relpath(path, tree.base),
                        "data": binascii.b2a_base64(data, newline=False).decode("ascii"),
                    }
                    for path, data in self.writes.items()
                ],
                "deletes": sorted(os.path.relpath(path, tree.base) for path in self.deletes),
            }
            files.atomic_write(tree.journal_path, files.dumps(journal), tmp_dir=tree.tmp_dir)
        if registry_text is not None:
            files.atomic_write(tree.registry.path, registry_text, tmp_dir=tree.tmp_dir)
            tree.registry.adopt(self.registry)
        synced: set[Path] = set()
        for path, data in self.writes.items():
            files.make_dirs(path.parent)  # a new track's folder survives a power cut
            files.atomic_write(path, data, tmp_dir=tree.tmp_dir, sync_dir=False)
            synced.add(path.parent)
        for path in self.deletes:
            files.remove_quietly(path)
            synced.add(path.parent)
        for folder in synced:
            files.fsync_dir(folder)
        if os.path.exists(tree.journal_path):
            os.unlink(tree.journal_path)
            files.fsync_dir(tree.tracks_dir)


def _crc(data: bytes) -> str:
    return f"{len(data)}:{zlib.crc32(data):08x}"


def _registry_crc(path: Path) -> str | None:
    try:
        return _crc(path.read_bytes())
    except FileNotFoundError:
        return None
