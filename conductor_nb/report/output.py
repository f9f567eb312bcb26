"""Writing a report where the user says: the format from the file's suffix, never over
an existing file unless asked, and never a half-written file (temp file, then a link or
a rename)."""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from ..errors import InvalidInput
from ..store import files

__all__ = ["FORMATS", "format_for", "write_new"]

FORMATS = {".html": "html", ".htm": "html", ".md": "markdown", ".markdown": "markdown"}


def format_for(path: str | os.PathLike[str]) -> str:
    """``html`` or ``markdown``, from the file name."""
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise InvalidInput(f"{os.fspath(path)}: a report is written as .html or .md")
    return fmt


def write_new(
    path: str | os.PathLike[str],
    content: str,
    *,
    force: bool = False,
    outside: str | os.PathLike[str] | None = None,
) -> Path:
    """Write ``content`` to ``path`` (relative to the working directory); an existing
    file is an error unless ``force``, and so is a path inside the folder ``outside``
    (the conductor root: its files change only through transactions). Returns the
    absolute path."""
    target = Path(path).expanduser().absolute()
    if outside is not None and target.resolve().is_relative_to(Path(outside).resolve()):
        raise InvalidInput(f"{target} is inside the conductor root {outside}: write it elsewhere")
    if target.is_dir():
        raise InvalidInput(f"{target} is a folder: name a file ending in .html or .md")
    if not target.parent.is_dir():
        raise InvalidInput(f"there is no folder {target.parent}: create it first")
    if not force and target.exists():
        raise InvalidInput(f"{target} exists: add --force to replace it")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        _write_synced(tmp, content.encode("utf-8"))
        if force:
            os.replace(tmp, target)
        else:
            _link_new(tmp, target)
        files.fsync_dir(target.parent)
    except FileExistsError:
        raise InvalidInput(f"{target} exists: add --force to replace it") from None
    except OSError as exc:
        raise InvalidInput(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return target


def _write_synced(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        files.fsync(fd)
    finally:
        os.close(fd)


def _link_new(tmp: Path, target: Path) -> None:
    """Give ``tmp`` the name ``target`` only if no file has it (a file system without
    hard links: copy into a file created exclusively)."""
    try:
        os.link(tmp, target)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        with open(target, "xb") as out:
            out.write(tmp.read_bytes())
