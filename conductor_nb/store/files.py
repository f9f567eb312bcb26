"""Atomic file writes, JSON in the original tool's format, and reads that refuse corrupt files."""

from __future__ import annotations

import contextlib
import errno
import itertools
import json
import os
from pathlib import Path

from ..errors import CorruptFile

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

__all__ = ["TMP_SUFFIX", "atomic_write", "dumps", "fsync_dir", "read_json", "remove_quietly"]

TMP_SUFFIX = ".conductor-tmp"
_counter = itertools.count()


def dumps(data: Any) -> str:
    """JSON as the original tool writes it: two-space indent, no final newline."""
    return json.dumps(data, indent=2, ensure_ascii=False)


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(
    path: Path, content: str | bytes, *, tmp_dir: Path | None = None, sync_dir: bool = True
) -> None:
    """Write ``content`` to ``path`` so a reader sees the old file or the new one, never a mix.

    Temp file, fsync, rename, then fsync the folder so the rename itself survives a
    power cut. Writers put their temp files in one ``tmp_dir`` on the same file
    system, so after a crash every leftover is found by listing that one folder.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    if tmp_dir is None:
        tmp = path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")
    else:
        tmp = tmp_dir / f"{path.name}.{os.getpid()}.{next(_counter)}{TMP_SUFFIX}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(tmp, path)
    except OSError as exc:
        os.unlink(tmp)
        if exc.errno != errno.EXDEV:
            raise
        atomic_write(path, data, tmp_dir=None, sync_dir=sync_dir)  # tmp_dir on another device
        return
    if sync_dir:
        fsync_dir(path.parent)


def read_json(path: Path, *, fix: str, default: Any = FileNotFoundError) -> Any:
    """Parse ``path``; a missing file returns ``default`` (or raises), a broken one CorruptFile."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if default is FileNotFoundError:
            raise
        return default
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptFile(str(path), _short(exc), fix) from exc


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 120 else text[:117] + "..."


def remove_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
