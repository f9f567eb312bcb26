"""Every file and folder under a root as bytes and modification times: equal snapshots
taken before and after an operation prove it wrote nothing."""

from __future__ import annotations

from pathlib import Path


def snapshot(root: Path) -> dict[str, tuple]:
    """Each path under ``root`` (and ``root`` itself): its bytes (files), mtime and mode."""
    found = {}
    for path in [root, *sorted(root.rglob("*"))]:
        info = path.lstat()
        content = path.read_bytes() if path.is_file() and not path.is_symlink() else None
        found[str(path.relative_to(root))] = (content, info.st_mtime_ns, info.st_mode)
    return found
