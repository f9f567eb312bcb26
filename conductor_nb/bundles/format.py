"""The bundle format: tracks of one root in one zstd-compressed tar archive.

    manifest.json                 the first entry: format, version, created_at, the
                                  root's format (``store.formats``), the tracks (with their
                                  registry entries) and the sha256 and size of every other
                                  entry
    tracks/<track-id>/<path>      every file of every track: track.json, context/,
                                  workflows/, and checkpoints/ when asked for

Every entry is a regular file; a reader trusts nothing in the archive that the manifest
does not vouch for (see ``reading``).
"""

from __future__ import annotations

import re

from ..errors import ConductorError, InvalidInput
from ..store.formats import CURRENT_FORMAT, ORIGINAL_FORMAT
from ..store.paths import TRACK_ID_RE, check_relative_name

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "FORMAT",
    "IMPORT_LIMIT",
    "LEVEL",
    "MANIFEST_NAME",
    "MAX_MANIFEST_BYTES",
    "NEVER_BUNDLED",
    "VERSION",
    "BundleRefused",
    "Expected",
    "check_manifest",
    "entry_name",
]

FORMAT = "conductor-bundle"
VERSION = 1
MANIFEST_NAME = "manifest.json"
LEVEL = 3  # zstd level: fast, and most of a track is JSON that packs well at any level
MAX_MANIFEST_BYTES = 64 << 20
# What one import may hold, uncompressed: every file is held in memory until the
# transaction commits, so a bundle claiming more is refused before anything is read.
IMPORT_LIMIT = 1 << 30
_SHA_RE = re.compile(r"[0-9a-f]{64}")
# A track's files that describe the machine they were written on: a lease names a
# process there, the stat cache its inodes. Never exported, refused on import.
NEVER_BUNDLED = frozenset({"lease.json", "checkpoints/stat-cache.json"})


class BundleRefused(InvalidInput):
    """A bundle that import does not trust: nothing of it was written."""

    def __init__(self, bundle: str, what: str) -> None:
        super().__init__(f"{bundle}: refused, {what}; nothing was imported")


def entry_name(track_id: str, relative: str) -> str:
    """The archive name of a track's file."""
    return f"tracks/{track_id}/{relative}"


class Expected:
    """What the manifest vouches for: each entry's (sha256, size) by name, the tracks in
    order, and their registry entries as the exporting root had them."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[str, int]] = {}
        self.track_ids: list[str] = []
        self.registry_entries: dict[str, dict[str, Any] | None] = {}

    @property
    def total(self) -> int:
        return sum(size for _, size in self.entries.values())


def check_manifest(manifest: dict[str, Any], bundle: str, limit: int) -> Expected:
    """The manifest's promises, every one checked; anything else is a BundleRefused."""

    def refuse(what: str) -> BundleRefused:
        return BundleRefused(bundle, f"its manifest {what}")

    if manifest.get("format") != FORMAT:
        raise refuse(f"is not a {FORMAT} manifest (format {manifest.get('format')!r})")
    version = manifest.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise refuse(f"has no usable version ({version!r})")
    if version > VERSION:
        raise refuse(f"is version {version}: made by a newer conductor_nb (this one reads 1)")
    _check_root_format(manifest.get("root_format", ORIGINAL_FORMAT), refuse)
    expected = Expected()
    tracks = manifest.get("tracks")
    if not isinstance(tracks, list) or not tracks:
        raise refuse("lists no tracks")
    for item in tracks:
        track_id = item.get("track_id") if isinstance(item, dict) else None
        if not isinstance(track_id, str) or not TRACK_ID_RE.fullmatch(track_id):
            raise refuse(f"names an unusable track id ({track_id!r})")
        if track_id in expected.registry_entries:
            raise refuse(f"lists the track {track_id} twice")
        entry = item.get("registry_entry")
        expected.track_ids.append(track_id)
        expected.registry_entries[track_id] = entry if isinstance(entry, dict) else None
    _check_entries(manifest.get("files"), expected, refuse)
    for track_id in expected.track_ids:
        if entry_name(track_id, "track.json") not in expected.entries:
            raise refuse(f"lists no track.json for {track_id}")
    if expected.total > limit:
        raise refuse(
            f"declares {expected.total} bytes, more than the {limit} bytes an import takes"
        )
    return expected


def _check_root_format(version: Any, refuse: Any) -> None:
    """The format of the root the tracks come from (``store.formats``): tracks of a newer
    format than this code knows are refused, not misread."""
    if not isinstance(version, int) or isinstance(version, bool) or version < ORIGINAL_FORMAT:
        raise refuse(f"has no usable root_format ({version!r})")
    if version > CURRENT_FORMAT:
        raise refuse(
            f"says its tracks are in format {version}; this conductor_nb reads up to format "
            f"{CURRENT_FORMAT} (upgrade conductor_nb: pip install -U conductor_nb)"
        )


def _check_entries(files: Any, expected: Expected, refuse: Any) -> None:
    if not isinstance(files, list):
        raise refuse("has no list of files")
    for item in files:
        if not isinstance(item, dict):
            raise refuse(f"has a file entry that is not an object ({item!r})")
        name, sha, size = item.get("path"), item.get("sha256"), item.get("size")
        if not isinstance(name, str) or _track_of(name) not in expected.registry_entries:
            raise refuse(f"lists {name!r}, which is not a file of one of its tracks")
        if name.split("/", 2)[2] in NEVER_BUNDLED:
            raise refuse(f"lists {name!r}, which describes another machine")
        if name in expected.entries:
            raise refuse(f"lists {name!r} twice")
        if not isinstance(sha, str) or not _SHA_RE.fullmatch(sha):
            raise refuse(f"gives {name!r} no usable sha256")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise refuse(f"gives {name!r} no usable size")
        expected.entries[name] = (sha, size)


def _track_of(name: str) -> str | None:
    """The track id of an archive name ``tracks/<id>/<relative>``, or None when the name
    is anything else (another folder, '..', an absolute path, a control character)."""
    parts = name.split("/", 2)
    if len(parts) != 3 or parts[0] != "tracks" or not TRACK_ID_RE.fullmatch(parts[1]):
        return None
    try:
        if check_relative_name(parts[2]) != parts[2]:  # a backslash: not our spelling
            return None
    except ConductorError:
        return None
    return parts[1]
