"""Reading a bundle, trusting nothing: every entry is checked against the manifest before
anything is written, and everything is read through a cap.

The decompressed stream is capped too: before the manifest is read, at what a manifest
may take; after, at what the manifest declares (plus the tar headers' share). A
decompression bomb, or a tar header that claims more than the manifest, stops at the
cap: nothing ever holds more than the manifest's total (itself capped by the import
limit), in memory or on disk.
"""

from __future__ import annotations

import os

from ..errors import CorruptFile
from ..progress import counted
from ..store import files
from .format import MANIFEST_NAME, MAX_MANIFEST_BYTES, BundleRefused, Expected, check_manifest

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from ..progress import Progress

__all__ = ["Bundle", "read_bundle"]

_BLOCK = 512
_HEADER_SHARE = 16 * _BLOCK  # what may come before the manifest: its headers
_END_SHARE = 2 * 20 * _BLOCK  # the end-of-archive blocks, padded to whole records


def _blocks(size: int) -> int:
    return -(-size // _BLOCK) * _BLOCK


def _room(entries: dict[str, tuple[str, int]]) -> int:
    """What the entries may take in the archive: each one's content, its header block,
    and a pax header (a block, and its records: the name and a few small fields)."""
    return sum(
        _blocks(size) + 2 * _BLOCK + _blocks(len(name.encode()) + 256)
        for name, (_, size) in entries.items()
    )


class Bundle:
    """A verified bundle: its manifest, and each track's files (relative path -> bytes)."""

    def __init__(self, manifest: dict[str, Any], expected: Expected) -> None:
        self.manifest = manifest
        self.expected = expected
        self.tracks: dict[str, dict[str, bytes]] = {tid: {} for tid in expected.track_ids}


class _OverCap(Exception):
    """The stream held more than the cap."""


class _Capped:
    """A read-only stream that refuses to give more than ``cap`` bytes in all."""

    def __init__(self, source: Any, cap: int) -> None:
        self.source = source
        self.cap = cap
        self.given = 0

    def read(self, size: int = -1) -> bytes:
        room = self.cap - self.given
        wanted = room + 1 if size is None or size < 0 else min(size, room + 1)
        data = self.source.read(wanted)
        self.given += len(data)
        if self.given > self.cap:
            raise _OverCap
        return data


def read_bundle(path: Path, *, limit: int, progress: Progress | None = None) -> Bundle:
    """The bundle at ``path``, verified entry by entry; a BundleRefused names the first
    entry that is wrong and what is wrong with it."""
    import tarfile

    import zstandard

    where = str(path)
    try:
        raw = open(path, "rb")  # noqa: SIM115 (closed below)
    except FileNotFoundError:
        raise BundleRefused(where, "there is no such file") from None
    except IsADirectoryError:
        raise BundleRefused(where, "it is a folder, not a bundle file") from None
    try:
        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        capped = _Capped(reader, MAX_MANIFEST_BYTES + 2 * _HEADER_SHARE + _END_SHARE)
        with tarfile.open(fileobj=capped, mode="r|") as tar:
            return _read_entries(tar, capped, where, limit, progress)
    except _OverCap:
        raise BundleRefused(where, "it holds more data than its manifest declares") from None
    except zstandard.ZstdError as exc:
        raise BundleRefused(where, f"it is not zstd-compressed or is damaged ({exc})") from None
    except (tarfile.TarError, EOFError) as exc:
        raise BundleRefused(where, f"it is not a readable tar archive ({exc})") from None
    finally:
        raw.close()


def _read_entries(tar: Any, capped: _Capped, where: str, limit: int, progress) -> Bundle:
    first = tar.next()
    if first is None:
        raise BundleRefused(where, "the archive is empty: it has no manifest")
    if first.name != MANIFEST_NAME:
        raise BundleRefused(where, f"its first entry is {first.name!r}, not {MANIFEST_NAME}")
    _check_member(first, where, seen=set())
    if first.size > MAX_MANIFEST_BYTES:
        raise BundleRefused(where, f"its {MANIFEST_NAME} is larger than {MAX_MANIFEST_BYTES}")
    try:
        raw = _content(tar, first, first.size, where)
        manifest = files.parse_json(raw, MANIFEST_NAME, fix="export it again", shape=dict)
    except CorruptFile as err:
        raise BundleRefused(where, f"its {MANIFEST_NAME} cannot be read ({err.reason})") from None
    expected = check_manifest(manifest, where, limit)
    capped.cap = capped.given + _room(expected.entries) + _END_SHARE
    bundle = Bundle(manifest, expected)
    seen = {MANIFEST_NAME}
    members = iter(tar.next, None)
    for member in counted(progress, "read bundle", members, len(expected.entries)):
        tar.members.clear()  # a stream's members are not looked at again: hold none
        _check_member(member, where, seen)
        if member.name not in expected.entries:
            raise BundleRefused(where, f"entry {member.name!r} is not in the manifest")
        sha, size = expected.entries[member.name]
        data = _content(tar, member, size, where)
        if files.sha256_hex(data) != sha:
            raise BundleRefused(where, f"entry {member.name!r} does not match its sha256")
        _, track_id, relative = member.name.split("/", 2)
        bundle.tracks[track_id][relative] = data
    missing = [name for name in expected.entries if name not in seen]
    if missing:
        raise BundleRefused(where, f"entry {missing[0]!r} is in the manifest, not in the archive")
    return bundle


def _check_member(member: Any, where: str, seen: set[str]) -> None:
    """Refuse names that leave the bundle's folders, anything but a regular file, and a
    name given twice."""
    name = member.name

    def refuse(what: str) -> BundleRefused:
        return BundleRefused(where, f"entry {name!r} {what}")

    if name.startswith(("/", "\\")) or os.path.isabs(name) or name[1:3] == ":\\":
        raise refuse("is an absolute path")
    if ".." in name.replace("\\", "/").split("/"):
        raise refuse("climbs out of its folder ('..')")
    if member.issym():
        raise refuse(f"is a symbolic link (to {member.linkname!r})")
    if member.islnk():
        raise refuse(f"is a hard link (to {member.linkname!r})")
    if member.ischr() or member.isblk():
        raise refuse("is a device file")
    if member.isfifo():
        raise refuse("is a fifo")
    if member.type not in (b"0", b"\x00"):  # REGTYPE, AREGTYPE: a plain file, not sparse
        raise refuse("is not a regular file")
    if name in seen:
        raise refuse("appears twice")
    seen.add(name)


def _content(tar: Any, member: Any, size: int, where: str) -> bytes:
    """The entry's bytes, exactly ``size`` of them: the tar header's size is checked
    against the manifest's, and the read itself never goes past it."""
    if member.size > size:
        raise BundleRefused(
            where,
            f"entry {member.name!r} holds {member.size} bytes, more than the {size} "
            "its manifest declares",
        )
    source = tar.extractfile(member)
    chunks, got = [], 0
    while got <= size:
        chunk = source.read(min(1 << 20, size + 1 - got))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    if got != size:
        raise BundleRefused(
            where, f"entry {member.name!r} holds {got} bytes, its manifest declares {size}"
        )
    return b"".join(chunks)
