"""Atomic file writes, JSON in the original tool's format, and reads that refuse corrupt files."""

from __future__ import annotations

import contextlib
import errno
import functools
import importlib
import itertools
import json
import os
import sys
from pathlib import Path

from ..errors import CorruptFile
from .jsontext import dumps_indented

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = [
    "TMP_SUFFIX",
    "atomic_write",
    "deferred_sync",
    "dumps",
    "fdatasync",
    "fsync",
    "fsync_dir",
    "kind_of",
    "make_dirs",
    "parse_json",
    "read_json",
    "read_raw",
    "remove_quietly",
    "require",
    "sha256_hex",
    "strict_loads",
    "sync_all",
]

TMP_SUFFIX = ".conductor-tmp"
_counter = itertools.count()


def dumps(data: Any) -> str:
    """JSON as the original tool writes it: two-space indent, no final newline."""
    return dumps_indented(data)


_deferring = [0]  # > 0: inside ``deferred_sync`` (syncs are skipped, one at the end)


@contextlib.contextmanager
def deferred_sync():
    """Skip every fsync inside (this process, every thread), then sync once at the end
    (``os.sync``): bulk writes such as the demo's go at the file system's speed. The
    atomic replaces and the journal stay as they are; what is weaker is only what a
    power cut in the middle keeps (some of the latest changes may be lost, the files
    stay whole). Re-entrant."""
    _deferring[0] += 1
    try:
        yield
    finally:
        _deferring[0] -= 1
        if not _deferring[0]:
            os.sync()


def fsync(fd: int) -> None:
    """``os.fsync``, unless inside ``deferred_sync``."""
    if not _deferring[0]:
        os.fsync(fd)


_fdatasync = getattr(os, "fdatasync", os.fsync)  # macOS has no fdatasync


def fdatasync(fd: int) -> None:
    """``os.fdatasync`` (``fsync`` where there is none), unless inside ``deferred_sync``."""
    if not _deferring[0]:
        _fdatasync(fd)


def sync_all() -> None:
    """``os.sync``: every file system's pending changes made durable (Linux waits for
    them), unless inside ``deferred_sync`` (which syncs at its end)."""
    if not _deferring[0]:
        os.sync()


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    if _deferring[0]:
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(folder: Path) -> None:
    """Create ``folder`` and whatever of its ancestors is missing, durably: the parent of
    each folder made is synced, so a power cut cannot lose a folder whose files were made
    durable (their own syncs cover their names, not the folder's)."""
    made = []
    probe = folder
    while not probe.is_dir() and probe.parent != probe:
        made.append(probe)
        probe = probe.parent
    if not made:
        return
    folder.mkdir(parents=True, exist_ok=True)
    for parent in dict.fromkeys(each.parent for each in made):
        fsync_dir(parent)


def atomic_write(
    path: Path,
    content: str | bytes,
    *,
    tmp_dir: Path | None = None,
    sync_dir: bool = True,
    sync: bool = True,
) -> None:
    """Write ``content`` to ``path`` so a reader sees the old file or the new one, never a mix.

    Temp file, fsync, rename, then fsync the folder so the rename itself survives a
    power cut. Writers put their temp files in one ``tmp_dir`` on the same file
    system, so after a crash every leftover is found by listing that one folder.
    ``sync=False`` skips both fsyncs: for a caller that has made the content durable
    elsewhere (the write-ahead log).
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    if tmp_dir is None:
        tmp = path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")
    else:
        tmp = tmp_dir / f"{path.name}.{os.getpid()}.{next(_counter)}{TMP_SUFFIX}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        if not sync:
            _preallocate(fd, len(data))
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if sync:
            fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(tmp, path)
    except OSError as exc:
        os.unlink(tmp)
        if exc.errno != errno.EXDEV:
            raise
        # tmp_dir on another device
        atomic_write(path, data, tmp_dir=None, sync_dir=sync_dir, sync=sync)
        return
    if sync and sync_dir:
        fsync_dir(path.parent)


def _preallocate(fd: int, size: int) -> None:
    """Reserve a file's blocks before writing it unsynced. Without this, ext4 flushes the
    file's delayed allocation inside the rename over the old one (its ``auto_da_alloc``):
    a replace of a 5 MB registry then costs 2.9 ms rather than 0.6. A power cut can leave
    a preallocated file with some of its blocks unwritten (zeros): the write-ahead log
    knows that shape of its own writes (see ``wal._is_version``)."""
    fallocate = getattr(os, "posix_fallocate", None)  # not on macOS
    if fallocate is not None and size:
        # no room (the write then says so) or not supported: write as before
        with contextlib.suppress(OSError):
            fallocate(fd, 0, size)


def read_json(
    path: Path, *, fix: str, default: Any = FileNotFoundError, shape: type | None = None
) -> Any:
    """Parse ``path``; a missing file returns ``default`` (or raises), anything unusable
    (see ``parse_json``) raises CorruptFile naming the file and ``fix``."""
    try:
        raw = read_raw(path, fix=fix)
    except FileNotFoundError:
        if default is FileNotFoundError:
            raise
        return default
    return parse_json(raw, path, fix=fix, shape=shape)


def read_raw(path: Path | str, *, fix: str, keep: list[int] | None = None) -> bytes:
    """The bytes of ``path`` (FileNotFoundError if there is none; a folder there is a
    CorruptFile naming ``fix``). Read with bare system calls: ``Path.read_bytes`` builds a
    buffered file object and asks the terminal, the position and the size twice. With
    ``keep``, the file is left open there (its descriptor appended) for the caller."""
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        want = os.fstat(fd).st_size + 1  # one read to the end, one to see the end
        while chunk := os.read(fd, want):
            chunks.append(chunk)
            want = 1 << 16
    except IsADirectoryError:
        os.close(fd)
        raise CorruptFile(str(path), "it is a folder, not a file", fix) from None
    except BaseException:
        os.close(fd)
        raise
    if keep is None:
        os.close(fd)
    else:
        keep.append(fd)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


# One decoder for every file: strict UTF-8 in, NaN and Infinity refused.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_SHAPES = {dict: "an object", list: "a list"}


def strict_loads(text: str) -> Any:
    """``json.loads`` as every file the tool owns is decoded: NaN and Infinity refused
    (ValueError)."""
    return _DECODER.decode(text)


def parse_json(raw: bytes, path: Path | str, *, fix: str, shape: type | None = None) -> Any:
    """The one way a file the tool owns is decoded: strict UTF-8, strict JSON (no NaN or
    Infinity), nesting the decoder can take, and, with ``shape`` (dict or list), that
    type at the top. Anything else is a CorruptFile naming ``path`` and ``fix``."""
    try:
        value = _DECODER.decode(raw.decode("utf-8"))
    except RecursionError:  # json's C decoder on [[[[...]]]]
        raise CorruptFile(str(path), "it is nested too deeply", fix) from None
    except ValueError as exc:  # UnicodeDecodeError, JSONDecodeError, NaN, a huge integer
        raise CorruptFile(str(path), _short(exc), fix) from None
    if shape is not None and not isinstance(value, shape):
        raise CorruptFile(str(path), f"it is not {_SHAPES[shape]} but {kind_of(value)}", fix)
    return value


def kind_of(value: Any) -> str:
    """What a JSON value is, for messages: 'an object', 'a list', 'text', 'null'..."""
    if isinstance(value, dict | list):
        return "an object" if isinstance(value, dict) else "a list"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    return "text" if isinstance(value, str) else "a number"


def require(value: Any, shape: type | tuple[type, ...], path: Path | str, what: str, fix: str):
    """``value`` (the ``what`` of the file at ``path``) if it is of ``shape``, else a
    CorruptFile: the check where a value read from disk is first used."""
    if isinstance(value, shape) and not (isinstance(value, bool) and shape is int):
        return value
    raise CorruptFile(str(path), f"{what} is {kind_of(value)}", fix)


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 120 else text[:117] + "..."


# Up to this size, until hashlib is loaded, data is hashed by CPython's own sha256: a CLI
# call hashes a few small files (a pause's checkpoint, a resume's diff), and loading
# hashlib (OpenSSL) costs ~2.5 ms against ~0.1 ms of slower hashing per 32 KiB.
_SMALL_HASH = 256 * 1024


def sha256_hex(data: bytes) -> str:
    """The hex sha256 of ``data``."""
    if len(data) <= _SMALL_HASH and "hashlib" not in sys.modules:
        return _builtin_sha256()(data).hexdigest()
    import hashlib

    return hashlib.sha256(data).hexdigest()


@functools.cache
def _builtin_sha256() -> Callable[[bytes], Any]:
    """CPython's built-in sha256 (``_sha2`` from 3.12, ``_sha256`` before), or hashlib's
    where a build leaves it out."""
    for module in ("_sha2", "_sha256"):
        with contextlib.suppress(ImportError):
            return importlib.import_module(module).sha256
    import hashlib

    return hashlib.sha256


def remove_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
