"""Handcrafted bundles for the import tests: tar archives compressed with zstd, built
entry by entry (so a test can put in what `conductor export` never would), and a
byte-for-byte picture of a root to show that a refused import changed nothing."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import zstandard


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest(files: dict[str, bytes], track_ids: list[str], **overrides) -> bytes:
    """A manifest vouching for ``files`` (archive name -> bytes)."""
    doc = {
        "format": "conductor-bundle",
        "version": 1,
        "created_at": "2026-11-30T12:00:00.000Z",
        "tracks": [{"track_id": track_id} for track_id in track_ids],
        "files": [{"path": n, "sha256": sha(d), "size": len(d)} for n, d in files.items()],
        **overrides,
    }
    return json.dumps(doc, indent=2).encode()


def regular(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def special(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, bytes]:
    """A member that is not a regular file: a link, a device, a fifo."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, b""


def write(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    """The members, in order, as a zstd-compressed tar at ``path``."""
    with (
        open(path, "wb") as raw,
        zstandard.ZstdCompressor().stream_writer(raw, closefd=False) as packed,
        tarfile.open(fileobj=packed, mode="w|", format=tarfile.PAX_FORMAT) as tar,
    ):
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def write_with_bomb(
    path: Path, before: list[tuple[tarfile.TarInfo, bytes]], bomb_bytes: int
) -> Path:
    """``before``, then a pax header block claiming ``bomb_bytes`` of zeros (which do
    follow: they compress to almost nothing). A reader that believed the header would
    hold them all in memory."""
    header = tarfile.TarInfo("PaxHeader/bomb")
    header.type = tarfile.XHDTYPE
    header.size = bomb_bytes
    body = io.BytesIO()
    with tarfile.open(fileobj=body, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in before:
            tar.addfile(info, io.BytesIO(data))
        members_end = tar.offset  # what follows (the end-of-archive blocks) is left out
    with (
        open(path, "wb") as raw,
        zstandard.ZstdCompressor(level=1).stream_writer(raw, closefd=False) as packed,
    ):
        packed.write(body.getvalue()[:members_end])
        packed.write(header.tobuf(format=tarfile.USTAR_FORMAT))
        chunk = bytes(1 << 20)
        for _ in range(bomb_bytes // len(chunk) + 1):
            packed.write(chunk)
    return path


def picture(folder: Path) -> dict[str, bytes | str | None]:
    """Every folder, file (its bytes) and link (its target) under ``folder``."""
    found: dict[str, bytes | str | None] = {}
    if not folder.exists():
        return found
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        for name in dirnames + filenames:
            path = here / name
            key = path.relative_to(folder).as_posix()
            if path.is_symlink():
                found[key] = "-> " + os.readlink(path)
            elif path.is_dir():
                found[key] = None
            else:
                found[key] = path.read_bytes()
    return found
