"""A crash-state explorer: record the file operations a verb makes, then rebuild every
state a power cut could leave on disk and check that recovery makes each one the tree
before the verb or the tree after it (ALICE: Pillai et al., OSDI 2014).

A SIGKILL loses nothing the process handed to the kernel, so the kill tests cannot see a
missing fsync. A power cut (or a kernel crash) can: what is on disk then depends on what
was made durable, which is what this module models.

Recording
---------
While the verb runs in this process, ``Recorder`` wraps the os calls the store makes
(``open`` with O_CREAT/O_TRUNC, ``write``, ``ftruncate``/``truncate``,
``posix_fallocate`` (recorded as a truncate to the size it reaches), ``fsync`` and
``fdatasync`` of a file or of a folder, ``sync``, ``replace``/``rename``, ``link``, ``unlink``/
``remove``, ``mkdir``, ``rmdir``; pathlib goes through them, and the store writes no
file through the builtin ``open``). Only paths inside the recorded folder count, and the
two lock files (``.conductor.lock``, ``track-registry.lock``) are left out: they hold
no state. Each file is known by an inode number (an fd names the inode it was opened on,
a rename moves the inode), so a write lands on the file whatever it is called by then.

The model of the file system (what a crash may keep)
----------------------------------------------------
The state before the verb is durable. The machine stops after any number k of the
recorded operations (k = 0 .. all of them); operations after the k-th never happened.
Of the first k, each is either persisted or lost, under these rules and no others:

1. Operations are of two kinds. *Data* operations change a file's bytes (a write, a
   truncation). *Entry* operations change a folder's entries (create, rename, link,
   unlink, mkdir, rmdir); a create makes an empty file under its name.
2. ``fsync`` of a file persists every earlier data operation on that file (not its
   name). ``fsync`` of a folder persists every earlier entry operation on a name in that
   folder (a rename is in both folders: either one's fsync persists it). ``sync``
   persists every earlier operation of every kind. Nothing else
   persists anything: no operation is durable because a later one is.
3. A file's data operations that are not yet persisted persist in order: a prefix of
   them, and the last one of that prefix, if it is a write, may be kept whole, cut to
   its first half, or as zeros of its length (the size reached the disk, the bytes did
   not). A lost create leaves no file; a persisted one with lost data an empty file.
4. Entry operations not yet persisted persist in any order, except that an operation
   on a name (the source or target of a rename included) persists only if every
   earlier operation on that same name did (a rename of a temp file cannot outlive the
   temp file's creation). A folder whose mkdir was lost hides everything inside it.
5. Data and entries are independent: a rename may persist while the file's data does
   not (the classic empty file after a power cut), and the reverse.
6. Each operation is atomic apart from rule 3's partial writes (a rename is all or
   nothing). Crashes during recovery are not explored.
7. A power cut is followed by a reboot: recovery runs with another boot id than the
   verb did (the write-ahead log tells a replay after a power cut by it).

What is compared
----------------
Recovery runs on each state materialised in a fresh folder: a fresh ``Engine``,
``validate`` (whose registry read finishes or drops a journal the verb left), then the
tree is read back. Its *logical tree* is every regular file with its bytes and the set
of track folders (``tracks/track-*``, which ``validate`` reads as tracks), leaving out
the lock files and the temp folder ``tracks/.conductor-tmp`` (recovery empties it;
nothing reads it). The logical tree must be exactly the one before the verb or the one
after it, and ``validate`` must report what it reported on that tree (nothing, for
every verb but repair's "before"). Other empty folders are not compared: they hold
nothing and a later writer fills them.

States are told apart by their content (two crashes that leave the same bytes are one
state), with the temp folder's content left out of that identity (recovery only deletes
it). Every state is checked when a verb has at most ``limit`` crash states counted
before that merging; beyond, ``limit`` of them are drawn with the run's seed (printed).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from conductor_nb.engine import Engine
from conductor_nb.store import files as store_files
from conductor_nb.store import locking, wal
from conductor_nb.store import tree as tree_module

DIR = -1  # an entry that is a folder (files are inode numbers >= 0)
LOCK_NAMES = (".conductor.lock", "track-registry.lock")
ROOT_PARTS = (".claude", "conductor")
TMP_PARTS = ".claude/conductor/tracks/.conductor-tmp"
DATA_KINDS = ("write", "truncate")
ENTRY_KINDS = ("create", "rename", "link", "unlink", "mkdir", "rmdir")
CHECKPOINT_FILE = re.compile(r"checkpoint-[0-9]{3,}\.json")
BLOB_FILE = re.compile(r"(?P<folder>.+/checkpoints)/blobs/[0-9a-f]{2}/(?P<sha>[0-9a-f]{64})\.zst")
_WRITING = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def is_lock(relative: str) -> bool:
    name = relative.rpartition("/")[2]
    return name in LOCK_NAMES or name.startswith("track-registry.lock.")


def in_tmp(relative: str) -> bool:
    return relative == TMP_PARTS or relative.startswith(TMP_PARTS + "/")


def short(relative: str | None) -> str:
    """A path as reports show it: from the root, a temp file as tmp:<its target's name>."""
    text = str(relative)
    text = text.removeprefix("/".join(ROOT_PARTS) + "/")
    if text.startswith("tracks/.conductor-tmp/"):
        name = text.rpartition("/")[2].split(".")
        return "tmp:" + ".".join(name[:2] if name[0] else name[:3])
    return text


@dataclass(frozen=True)
class Op:
    """One recorded operation (paths relative to the recorded folder)."""

    index: int
    kind: str  # create write truncate fsync fsync-dir sync rename link unlink mkdir rmdir
    path: str
    target: str | None = None  # of a rename or link
    ino: int | None = None  # of a file operation
    offset: int = 0
    data: bytes = b""  # of a write
    size: int = 0  # of a truncate

    @property
    def names(self) -> tuple[str, ...]:
        return (self.path,) if self.target is None else (self.path, self.target)

    @property
    def folders(self) -> set[str]:
        return {name.rpartition("/")[0] for name in self.names}

    def describe(self) -> str:
        if self.kind in ("rename", "link"):
            return f"#{self.index} {self.kind} {short(self.path)} -> {short(self.target)}"
        if self.kind == "write":
            return f"#{self.index} write {len(self.data)} B to {short(self.path)}"
        return f"#{self.index} {self.kind} {short(self.path)}"


@dataclass
class Image:
    """A file system's durable content: entries (path -> inode, or DIR) and file bytes."""

    entries: dict[str, int]
    data: dict[int, bytes]

    @classmethod
    def read(cls, world: Path) -> Image:
        entries: dict[str, int] = {}
        data: dict[int, bytes] = {}
        for dirpath, dirnames, filenames in os.walk(world):
            here = Path(dirpath)
            for name in dirnames:
                entries[(here / name).relative_to(world).as_posix()] = DIR
            for name in filenames:
                relative = (here / name).relative_to(world).as_posix()
                if not is_lock(relative):
                    entries[relative] = len(data)
                    data[len(data)] = (here / name).read_bytes()
        return cls(entries, data)

    def visible(self) -> tuple[dict[str, bytes], set[str]]:
        """Files and folders reachable from the top (every parent folder present)."""
        files, dirs = {}, set()
        for path in sorted(self.entries, key=lambda p: p.count("/")):
            parent = path.rpartition("/")[0]
            if parent and parent not in dirs:
                continue
            if self.entries[path] == DIR:
                dirs.add(path)
            else:
                files[path] = self.data.get(self.entries[path], b"")
        return files, dirs


class Recorder:
    """Records the file operations under ``world`` while active (see the module doc)."""

    CALLS = (
        "open",
        "write",
        "close",
        "fsync",
        "fdatasync",
        "replace",
        "rename",
        "link",
        "unlink",
        "remove",
        "mkdir",
        "rmdir",
        "truncate",
        "ftruncate",
        "posix_fallocate",
        "sync",
    )

    def __init__(self, world: Path, before: Image, *, drop: Callable[[Op], bool] | None = None):
        self.world = os.path.realpath(world)
        self.entries = dict(before.entries)  # names as the process sees them now
        self.next_ino = max(before.data, default=-1) + 1
        self.ops: list[Op] = []
        self.fds: dict[int, list] = {}  # fd -> [path, inode or DIR, offset]
        self.drop = drop
        self._saved: dict[str, Callable] = {}

    # -- bookkeeping ----------------------------------------------------------------------

    def relative(self, path) -> str | None:
        full = os.path.abspath(os.fspath(path))
        if full == self.world:
            return ""  # the world folder itself: its fsync makes its top-level entries durable
        if not full.startswith(self.world + os.sep):
            return None
        relative = full[len(self.world) + 1 :]
        return None if is_lock(relative) else relative

    def add(self, kind: str, path: str, **fields) -> None:
        op = Op(len(self.ops) + 1, kind, path, **fields)
        if self.drop is not None and self.drop(op):
            return
        self.ops.append(op)

    # -- the wrapped calls -------------------------------------------------------------------

    def open(self, real, path, flags, mode=0o777, *, dir_fd=None):
        where = self.relative(path) if dir_fd is None else None
        existed = where is not None and where in self.entries
        fd = real(path, flags, mode, dir_fd=dir_fd)
        if where is None:
            return fd
        if flags & os.O_DIRECTORY or self.entries.get(where) == DIR:
            self.fds[fd] = [where, DIR, 0]
            return fd
        if not existed:
            if not flags & _WRITING:
                return fd
            ino = self.entries[where] = self.next_ino
            self.next_ino += 1
            self.add("create", where, ino=ino)
        ino = self.entries[where]
        if existed and flags & os.O_TRUNC:
            self.add("truncate", where, ino=ino, size=0)
        self.fds[fd] = [where, ino, os.fstat(fd).st_size if flags & os.O_APPEND else 0]
        return fd

    def write(self, real, fd, data):
        written = real(fd, data)
        known = self.fds.get(fd)
        if known is not None and known[1] != DIR:
            where, ino, offset = known
            self.add("write", where, ino=ino, offset=offset, data=bytes(data[:written]))
            known[2] = offset + written
        return written

    def close(self, real, fd):
        self.fds.pop(fd, None)
        return real(fd)

    def fsync(self, real, fd):
        result = real(fd)
        known = self.fds.get(fd)
        if known is not None:
            if known[1] == DIR:
                self.add("fsync-dir", known[0])
            else:
                self.add("fsync", known[0], ino=known[1])
        return result

    fdatasync = fsync

    def replace(self, real, src, dst, **kwargs):
        result = real(src, dst, **kwargs)
        source, target = self.relative(src), self.relative(dst)
        if source is not None and target is not None:
            assert self.entries.get(source) != DIR, "the model has no folder renames"
            self.entries[target] = self.entries.pop(source)
            self.add("rename", source, target=target)
        return result

    rename = replace

    def link(self, real, src, dst, **kwargs):
        result = real(src, dst, **kwargs)
        source, target = self.relative(src), self.relative(dst)
        if source is not None and target is not None:
            self.entries[target] = self.entries[source]
            self.add("link", source, target=target)
        return result

    def unlink(self, real, path, *, dir_fd=None):
        result = real(path, dir_fd=dir_fd)
        where = self.relative(path)
        if where is not None:
            self.entries.pop(where, None)
            self.add("unlink", where)
        return result

    remove = unlink

    def mkdir(self, real, path, mode=0o777, *, dir_fd=None):
        result = real(path, mode, dir_fd=dir_fd)
        where = self.relative(path)
        if where is not None:
            self.entries[where] = DIR
            self.add("mkdir", where)
        return result

    def rmdir(self, real, path, *, dir_fd=None):
        result = real(path, dir_fd=dir_fd)
        where = self.relative(path)
        if where is not None:
            self.entries.pop(where, None)
            self.add("rmdir", where)
        return result

    def sync(self, real):
        result = real()
        self.add("sync", "")  # every earlier change of every file system is durable
        return result

    def truncate(self, real, path, length):
        result = real(path, length)
        where = self.relative(path) if not isinstance(path, int) else None
        if where is not None:
            self.add("truncate", where, ino=self.entries[where], size=length)
        return result

    def ftruncate(self, real, fd, length):
        result = real(fd, length)
        known = self.fds.get(fd)
        if known is not None and known[1] != DIR:
            self.add("truncate", known[0], ino=known[1], size=length)
        return result

    def posix_fallocate(self, real, fd, offset, length):
        result = real(fd, offset, length)
        known = self.fds.get(fd)
        if known is not None and known[1] != DIR:  # its blocks read as zeros: a truncate
            self.add("truncate", known[0], ino=known[1], size=os.fstat(fd).st_size)
        return result

    @contextlib.contextmanager
    def active(self) -> Iterator[Recorder]:
        def wrap(name: str, real: Callable) -> Callable:
            method = getattr(self, name)
            return lambda *args, **kwargs: method(real, *args, **kwargs)

        self._saved = {name: getattr(os, name) for name in self.CALLS}
        for name, real in self._saved.items():
            setattr(os, name, wrap(name, real))
        # store/files.py may keep os.fdatasync in a name of its own, taken at import
        captured = getattr(store_files, "_fdatasync", None)
        if captured is not None:
            store_files._fdatasync = lambda fd: os.fdatasync(fd)
        try:
            yield self
        finally:
            for name, real in self._saved.items():
                setattr(os, name, real)
            if captured is not None:
                store_files._fdatasync = captured


# -- the crash states -----------------------------------------------------------------------


@dataclass
class Crash:
    """One crash state: the first ``k`` operations happened; of their entry operations,
    those in ``lost`` did not reach the disk; ``data`` is each changed file's bytes (with
    a label saying what of its unsynced writes was lost, '' when nothing was)."""

    k: int
    lost: list[Op]
    data: dict[int, tuple[bytes, str]]

    def describe(self, trace: list[Op]) -> str:
        where = trace[self.k - 1].describe() if self.k else "before the first operation"
        parts = [f"crash after {where}"]
        if self.lost:
            parts.append("lost: " + ", ".join(op.describe() for op in self.lost))
        labels = [label for _, label in self.data.values() if label]
        if labels:
            parts.append("; ".join(labels))
        return "; ".join(parts)


def _apply_data(content: bytes, op: Op, mode: str = "whole") -> bytes:
    if op.kind == "truncate":
        return content[: op.size] + b"\0" * max(0, op.size - len(content))
    data = op.data
    if mode == "half":
        data = data[: len(data) // 2]
    elif mode == "zeros":
        data = b"\0" * len(data)
    padded = content + b"\0" * max(0, op.offset - len(content))
    return padded[: op.offset] + data + padded[op.offset + len(data) :]


class Prefix:
    """What the model allows after the first ``k`` operations of ``trace``."""

    def __init__(self, before: Image, trace: list[Op], k: int) -> None:
        self.k = k
        ops = trace[:k]
        synced_dirs: dict[str, int] = {}  # folder -> index of its last fsync
        synced_files: dict[int, int] = {}
        synced_all = 0  # index of the last sync of everything
        for op in ops:
            if op.kind == "fsync-dir":
                synced_dirs[op.path] = op.index
            elif op.kind == "fsync":
                synced_files[op.ino] = op.index
            elif op.kind == "sync":
                synced_all = op.index
        self.entry_ops = [op for op in ops if op.kind in ENTRY_KINDS]
        latest: dict[str, int] = {}
        self.deps: dict[int, set[int]] = {}
        for op in self.entry_ops:
            self.deps[op.index] = {latest[n] for n in op.names if n in latest}
            latest.update(dict.fromkeys(op.names, op.index))
        forced = {
            op.index
            for op in self.entry_ops
            if synced_all > op.index
            or any(synced_dirs.get(folder, 0) > op.index for folder in op.folders)
        }
        for op in reversed(self.entry_ops):  # what a persisted operation needs persists too
            if op.index in forced:
                forced |= self.deps[op.index]
        self.forced = forced
        self.free = [op for op in self.entry_ops if op.index not in forced]
        self.choices: dict[int, list[tuple[bytes, str]]] = {}
        for ino in {op.ino for op in ops if op.kind in DATA_KINDS}:
            mine = [op for op in ops if op.kind in DATA_KINDS and op.ino == ino]
            content = before.data.get(ino, b"")
            durable = [op for op in mine if op.index < max(synced_files.get(ino, 0), synced_all)]
            for op in durable:
                content = _apply_data(content, op)
            self.choices[ino] = self._data_choices(content, mine[len(durable) :])

    @staticmethod
    def _data_choices(content: bytes, unsynced: list[Op]) -> list[tuple[bytes, str]]:
        """Rule 3: a prefix of the unsynced data operations, the last one whole, cut or
        zeros; labelled with what was lost ('' when nothing was)."""
        if not unsynced:
            return [(content, "")]
        choices = []
        for count in range(len(unsynced) + 1):
            lost = unsynced[count:]
            label = "" if not lost else f"data of {lost[0].describe()} and after lost"
            choices.append((content, label))
            if count == len(unsynced):
                break
            op = unsynced[count]
            if op.kind == "write" and op.data:
                for mode in ("half", "zeros"):
                    kept = f"{op.describe()} kept as {mode}"
                    if count + 1 < len(unsynced):
                        kept += f", later data lost from {unsynced[count + 1].describe()}"
                    choices.append((_apply_data(content, op, mode), kept))
            content = _apply_data(content, op)
        return choices

    def persisted_sets(self) -> Iterator[set[int]]:
        """Every set of free entry operations rule 4 allows to persist."""
        chosen: set[int] = set()

        def walk(i: int) -> Iterator[set[int]]:
            if i == len(self.free):
                yield chosen
                return
            yield from walk(i + 1)
            op = self.free[i]
            if self.deps[op.index] <= self.forced | chosen:
                chosen.add(op.index)
                yield from walk(i + 1)
                chosen.discard(op.index)

        yield from walk(0)

    def random_set(self, rng: random.Random) -> set[int]:
        chosen: set[int] = set()
        for op in self.free:
            if self.deps[op.index] <= self.forced | chosen and rng.random() < 0.5:
                chosen.add(op.index)
        return chosen

    def crashes(self) -> Iterator[Crash]:
        inos = sorted(self.choices)
        for persisted in self.persisted_sets():
            lost = [op for op in self.free if op.index not in persisted]
            yield from self._with_data(lost, inos, {})

    def _with_data(self, lost, inos, picked) -> Iterator[Crash]:
        if not inos:
            yield Crash(self.k, lost, dict(picked))
            return
        for choice in self.choices[inos[0]]:
            picked[inos[0]] = choice
            yield from self._with_data(lost, inos[1:], picked)
        picked.pop(inos[0], None)

    def random_crash(self, rng: random.Random) -> Crash:
        persisted = self.random_set(rng)
        lost = [op for op in self.free if op.index not in persisted]
        return Crash(self.k, lost, {ino: rng.choice(c) for ino, c in self.choices.items()})


def crash_image(before: Image, trace: list[Op], crash: Crash) -> Image:
    """The disk a crash leaves: the before image with the persisted operations applied."""
    lost = {op.index for op in crash.lost}
    entries = dict(before.entries)
    for op in trace[: crash.k]:
        if op.kind not in ENTRY_KINDS or op.index in lost:
            continue
        if op.kind == "create":
            entries[op.path] = op.ino
        elif op.kind == "mkdir":
            entries[op.path] = DIR
        elif op.kind in ("unlink", "rmdir"):
            entries.pop(op.path, None)
        elif op.kind == "rename":
            entries[op.target] = entries.pop(op.path)
        elif op.kind == "link":
            entries[op.target] = entries[op.path]
    data = dict(before.data)
    data.update({ino: content for ino, (content, _) in crash.data.items()})
    return Image(entries, data)


# -- checking the states ----------------------------------------------------------------------


@dataclass
class Logical:
    """What a tree must agree on (see "What is compared" in the module doc)."""

    files: dict[str, bytes]
    tracks: set[str]
    problems: list[tuple[str, str | None, str]]

    def same_tree(self, other: Logical) -> bool:
        return self.files == other.files and self.tracks == other.tracks

    def differences(self, other: Logical) -> str:
        missing = sorted(set(other.files) - set(self.files))
        extra = sorted(set(self.files) - set(other.files))
        changed = sorted(
            p for p in set(self.files) & set(other.files) if self.files[p] != other.files[p]
        )
        parts = [
            f"{what}: {', '.join(short(p) for p in paths[:4])}{' ...' if len(paths) > 4 else ''}"
            for what, paths in (("missing", missing), ("extra", extra), ("changed", changed))
            if paths
        ]
        if self.tracks != other.tracks:
            parts.append(f"track folders {sorted(self.tracks ^ other.tracks)}")
        return "; ".join(parts) or "the same"


@contextlib.contextmanager
def rebooted() -> Iterator[None]:
    """This process as if the machine had restarted since the verb ran (rule 7)."""
    saved = list(wal._boot)
    wal._boot[:] = ["the boot after a power cut"]
    try:
        yield
    finally:
        wal._boot[:] = saved


def read_logical(world: Path) -> Logical:
    """Recover (a fresh engine's validate, after a reboot) and read back the logical
    tree of ``world``."""
    root = world.joinpath(*ROOT_PARTS)
    engine = Engine(root)
    try:
        with rebooted():
            found = engine.validate()
        problems = [(p.kind, p.track_id, p.message.replace(str(world), "<world>")) for p in found]
    finally:
        _forget(engine)
    files, tracks = {}, set()
    for dirpath, dirnames, filenames in os.walk(world):
        here = Path(dirpath)
        for name in filenames:
            relative = (here / name).relative_to(world).as_posix()
            if not is_lock(relative) and not in_tmp(relative):
                files[relative] = (here / name).read_bytes()
        if here == root / "tracks":
            tracks = {name for name in dirnames if name.startswith("track-")}
    return Logical(_without_unused_blobs(files), tracks, problems)


def _without_unused_blobs(files: dict[str, bytes]) -> dict[str, bytes]:
    """``files`` less the checkpoint blobs no manifest of their track names: a checkpoint
    writes its blobs (content-addressed, never changed) before the transaction that
    commits its manifest, so a crash before the commit leaves them as unused garbage
    that nothing reads (a later checkpoint of the same content reuses them)."""
    used: dict[str, set[str]] = {}
    for path, content in files.items():
        folder, _, name = path.rpartition("/")
        if folder.endswith("/checkpoints") and CHECKPOINT_FILE.fullmatch(name):
            try:
                entries = json.loads(content)["files"]
                shas = {entry["sha256"] for entry in entries}
            except (ValueError, KeyError, TypeError):
                continue  # a damaged manifest names nothing: validate reports it
            used.setdefault(folder, set()).update(shas)
    kept = {}
    for path, content in files.items():
        match = BLOB_FILE.fullmatch(path)
        if match and match["sha"] not in used.get(match["folder"], ()):
            continue
        kept[path] = content
    return kept


def _forget(engine: Engine) -> None:
    """Drop the process-wide caches of a root about to be deleted (and their open fds)."""
    key = os.path.realpath(engine.tree.tracks_dir)
    engine.tree.registry.invalidate()
    tree_module._registries.pop(key, None)
    locking._instances.pop(key, None)


def materialise(image: Image, folder: Path) -> None:
    files, dirs = image.visible()
    for path in sorted(dirs):
        (folder / path).mkdir(parents=True, exist_ok=True)
    for path, content in files.items():
        (folder / path).write_bytes(content)


@dataclass
class Report:
    """What an exploration found, per verb."""

    verb: str
    operations: int
    counted: int  # crash states before merging equal ones (or drawn, when sampled)
    sampled: bool
    seed: int
    distinct: int = 0
    recovered: dict[str, int] = field(default_factory=lambda: {"before": 0, "after": 0})
    broken: list[tuple[str, str]] = field(default_factory=list)  # (state, what is wrong)

    def summary(self) -> str:
        how = (
            f"{self.counted} drawn with seed {self.seed}" if self.sampled else f"all {self.counted}"
        )
        return (
            f"{self.verb}: {self.operations} operations, {how} crash states, "
            f"{self.distinct} distinct: {self.recovered['before']} recover to the tree before, "
            f"{self.recovered['after']} to the tree after, {len(self.broken)} broken"
        )

    def explain(self, most: int = 5) -> str:
        lines = [self.summary()]
        for state, problem in self.broken[:most]:
            lines += [f"  - {state}", f"      {problem}"]
        return "\n".join(lines)


def explore(
    world: Path,
    verb: Callable[[], object],
    *,
    name: str,
    seed: int,
    limit: int = 10_000,
    drop: Callable[[Op], bool] | None = None,
) -> Report:
    """Run ``verb`` (which changes the tree under ``world``) under the recorder, then
    check every crash state the model allows (a seeded sample of ``limit`` beyond)."""
    before_image = Image.read(world)
    scratch = Path(tempfile.mkdtemp(prefix="crash-states-"))
    try:
        before = _reference(before_image, scratch / "before")
        recorder = Recorder(world, before_image, drop=drop)
        with recorder.active():
            verb()
        after_image = Image.read(world)
        trace = recorder.ops
        _check_trace(before_image, trace, after_image)
        after = _reference(after_image, scratch / "after")
        crashes, sampled = _crashes(before_image, trace, seed, limit)
        report = Report(name, len(trace), len(crashes), sampled, seed)
        seen: dict[tuple, str] = {}
        for crash in crashes:
            image = crash_image(before_image, trace, crash)
            returned = crash.k == len(trace)  # the verb had returned: only "after" will do
            key = (_identity(image), returned)
            if key in seen:
                continue
            seen[key] = description = crash.describe(trace)
            folder = scratch / f"state-{len(seen)}"
            problem = _check(image, folder, before, after, returned=returned)
            if problem in report.recovered:
                report.recovered[problem] += 1
            else:
                report.broken.append((description, problem))
        report.distinct = len(seen)
        return report
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _check_trace(before: Image, trace: list[Op], after: Image) -> None:
    """The trace replayed in full must give the tree the verb left: else the recorder
    missed an operation (a call it does not wrap) and its crash states would be wrong."""
    everything = Prefix(before, trace, len(trace))
    crash = Crash(len(trace), [], {ino: c[-1] for ino, c in everything.choices.items()})
    replayed = crash_image(before, trace, crash).visible()
    if replayed != after.visible():
        files, dirs = replayed
        real_files, real_dirs = after.visible()
        wrong = sorted(p for p in set(files) | set(real_files) if files.get(p) != real_files.get(p))
        raise AssertionError(
            f"the recorded operations do not replay to the tree the verb left: files "
            f"{wrong[:5]}, folders {sorted(dirs ^ real_dirs)[:5]}"
        )


def _reference(image: Image, folder: Path) -> Logical:
    """The logical tree of an image, read the way every crash state is."""
    materialise(image, folder)
    try:
        return read_logical(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _crashes(before: Image, trace: list[Op], seed: int, limit: int) -> tuple[list[Crash], bool]:
    prefixes = [Prefix(before, trace, k) for k in range(len(trace) + 1)]
    crashes: list[Crash] = []
    for prefix in prefixes:
        for crash in prefix.crashes():
            crashes.append(crash)
            if len(crashes) > limit:
                break
        if len(crashes) > limit:
            break
    else:
        return crashes, False
    rng = random.Random(seed)
    return [rng.choice(prefixes).random_crash(rng) for _ in range(limit)], True


def _identity(image: Image) -> tuple:
    files, dirs = image.visible()
    return (
        frozenset((p, c) for p, c in files.items() if not in_tmp(p)),
        frozenset(d for d in dirs if not in_tmp(d) or d == TMP_PARTS),
    )


def _check(image: Image, folder: Path, before: Logical, after: Logical, *, returned: bool) -> str:
    """What is wrong with a crash state after recovery, or which tree it recovered to
    ("before" or "after")."""
    materialise(image, folder)
    try:
        try:
            got = read_logical(folder)
        except Exception as exc:  # recovery itself failed on this state
            return f"recovery raised {type(exc).__name__}: {exc}"
        if returned and got.same_tree(before) and not got.same_tree(after):
            return "the verb had returned, yet its change is lost: the tree before it"
        for name, reference in (("after", after), ("before", before)):
            if got.same_tree(reference):
                if got.problems != reference.problems:
                    return f"the tree {name} the verb, but validate reports {got.problems}"
                return name
        return (
            f"neither before nor after: vs after {got.differences(after)}; "
            f"vs before {got.differences(before)}"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
