"""The checkpoint format: content-addressed, zstd-compressed blobs shared by all
checkpoints of a track, and a checksummed manifest per checkpoint.

    <track>/checkpoints/blobs/ab/<sha256>.zst      one blob per distinct file content
    <track>/checkpoints/checkpoint-NNN.json        manifest (the seed's checkpoint fields)
    <track>/checkpoints/stat-cache.json            path -> (size, mtime, inode) -> sha256

A manifest lists every file of the track (track.json, context, workflow runs) with its
sha256 and size; ``checksum`` is the sha256 of the manifest's canonical JSON without
that field. Blobs are written before their manifest and never change, so a checkpoint
that was reported created is complete. The stat cache lets a checkpoint of an unchanged
track skip reading its files; a file modified within the last two seconds is always
re-read (the "racy" window of coarse file-system clocks).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from .errors import ConductorError, CorruptFile, PathOutsideRoot
from .store import files
from .store.paths import check_relative_name, inside

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

    from .store.tree import Transaction

__all__ = [
    "CHECKPOINTS_DIR",
    "CHECKPOINT_RE",
    "FORMAT",
    "LEVEL",
    "LIFECYCLE_KEYS",
    "PINNED_KINDS",
    "PROJECT_PREFIX",
    "RACY_SECONDS",
    "RUN_FILE_RE",
    "UNSNAPSHOTTED",
    "blob_path",
    "canonical",
    "checkpoint_numbers",
    "compressor",
    "manifest_checksum",
    "project_files",
    "project_path",
    "read_blob",
    "read_manifest",
    "restored_track_json",
    "safe_relative",
    "track_files",
]

FORMAT = 1
CHECKPOINT_RE = re.compile(r"checkpoint-([0-9]{3,})")
RUN_FILE_RE = re.compile(r"workflows/[^/]+/run\.json")
CHECKPOINTS_DIR = "checkpoints"
RACY_SECONDS = 2.0
LEVEL = 3
# Top-level track.json keys that describe where the track is in its lifecycle: a restore
# brings back the work (context, steps, runs), never an older lifecycle.
LIFECYCLE_KEYS = (
    "status",
    "history",
    "started_at",
    "ready_at",
    "paused_at",
    "pause_reason",
    "resumed_at",
    "completed_at",
    "failed_at",
    "failure_reason",
    "cancelled_at",
    "cancel_reason",
    "archived_at",
    "outcomes",
    "metrics",
    "last_checkpoint",
    "last_checkpoint_at",
)
REPAIR = "conductor repair"
PINNED_KINDS = frozenset({"milestone"})
PROJECT_PREFIX = "project/"  # manifest prefix of project files a track registers
# Per-process state and the notebook cells' history (conductor_nb.provenance), not the
# track's work: never snapshotted, never restored (a restore keeps the history).
UNSNAPSHOTTED = frozenset({"lease.json", "cells.jsonl", "cells.1.jsonl"})


def canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def manifest_checksum(manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    return "sha256:" + files.sha256_hex(canonical(body))


def compressor():
    import zstandard  # imported where used: the CLI's other commands never pay for it

    return zstandard.ZstdCompressor(level=LEVEL)


def read_blob(path: Path, size: int) -> bytes:
    """Decompress a blob, refusing one that holds more than the ``size`` its manifest
    declares (a decompression bomb) or less (damage)."""
    import zstandard

    try:
        with open(path, "rb") as raw, zstandard.ZstdDecompressor().stream_reader(raw) as reader:
            data = reader.read(size + 1) if size else reader.read(1)
            while len(data) <= size:
                more = reader.read(size + 1 - len(data))
                if not more:
                    break
                data += more
    except FileNotFoundError:
        raise CorruptFile(str(path), "the blob is missing", "conductor checkpoint verify") from None
    except zstandard.ZstdError as exc:
        raise CorruptFile(
            str(path), f"not a valid zstd blob ({exc})", "conductor checkpoint verify"
        ) from None
    if len(data) > size:
        raise CorruptFile(
            str(path), f"holds more than the {size} bytes declared", "conductor checkpoint verify"
        )
    if len(data) < size:
        raise CorruptFile(
            str(path), f"holds {len(data)} bytes, {size} declared", "conductor checkpoint verify"
        )
    return data


def read_manifest(path: Path, checkpoint_id: str) -> dict[str, Any]:
    """A checkpoint's manifest, its shape checked where the readers use it (the id, the
    file entries, the metadata, the decisions); anything else is a CorruptFile. Whether its
    checksum and blobs hold is ``verify``'s question."""
    manifest = files.read_json(path, fix=REPAIR, shape=dict)
    if manifest.get("checkpoint_id") != checkpoint_id:
        found = manifest.get("checkpoint_id")
        raise CorruptFile(str(path), f"its checkpoint_id is {found!r}, not {checkpoint_id}", REPAIR)
    metadata = files.require(manifest.get("metadata"), dict, path, "its metadata", REPAIR)
    for key in ("file_count", "size_bytes"):
        files.require(metadata.get(key), int, path, f"its metadata.{key}", REPAIR)
    entries = files.require(manifest.get("files"), list, path, "its files", REPAIR)
    for number, entry in enumerate(entries, 1):
        files.require(entry, dict, path, f"file entry {number}", REPAIR)
        for key, shape in _ENTRY_SHAPES:
            files.require(entry.get(key), shape, path, f"file entry {number}'s {key}", REPAIR)
    for key in ("decisions", "workflow_states", "artifacts_snapshot"):
        items = files.require(manifest.get(key, []), list, path, f"its {key}", REPAIR)
        for item in items:
            files.require(item, dict, path, f"an item of its {key}", REPAIR)
    return manifest


_ENTRY_SHAPES = (("path", str), ("sha256", str), ("size", int), ("blob_sha256", str))


def blob_path(folder: Path, sha: str) -> Path:
    """Where the blob of content ``sha`` lives in a track's checkpoints ``folder``."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha):
        raise CorruptFile(sha, "not a sha256", "conductor checkpoint verify")
    return folder / "blobs" / sha[:2] / f"{sha}.zst"


def checkpoint_numbers(folder: Path) -> list[int]:
    """The numbers of the checkpoints in a track's checkpoints ``folder``."""
    names = os.listdir(folder) if folder.is_dir() else ()
    return [int(n[11:-5]) for n in names if CHECKPOINT_RE.fullmatch(n[:-5])]


def project_path(base: Path, relative: str) -> Path:
    """Where a manifest path ``project/<path>`` lives: inside the project, or refused."""
    return inside(base, *relative[len(PROJECT_PREFIX) :].split("/"))


def project_files(
    base: Path, track: dict[str, Any], txn: Transaction | None
) -> list[tuple[str, Path]]:
    """Files of the project the track registers (``context.checkpoint_files``, e.g. the
    notebooks it works in), as ``project/<path>``; missing ones are skipped."""
    found = []
    for name in (track.get("context") or {}).get("checkpoint_files") or []:
        try:
            path = project_path(base, PROJECT_PREFIX + check_relative_name(name))
        except ConductorError:
            continue  # validated when registered; an edited track.json is not trusted
        if (txn is not None and txn.pending(path) is not None) or (
            path.is_file() and not path.is_symlink()
        ):
            found.append((PROJECT_PREFIX + name, path))
    return found


def track_files(track_dir: Path, txn: Transaction | None) -> list[tuple[str, Path]]:
    """Every regular file of the track except its checkpoints (sorted, '/' separated),
    plus files this transaction is about to create."""
    found: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(track_dir):
        here = Path(dirpath)
        if here == track_dir:
            dirnames[:] = [d for d in dirnames if d != CHECKPOINTS_DIR]
            filenames = [f for f in filenames if f not in UNSNAPSHOTTED]
        dirnames[:] = [d for d in dirnames if not (here / d).is_symlink()]
        for name in filenames:
            path = here / name
            if path.is_symlink() or not path.is_file():
                continue  # a symlink may point anywhere: never follow it into a snapshot
            found[path.relative_to(track_dir).as_posix()] = path
    if txn is not None:
        for path in txn.writes:
            try:
                relative = path.relative_to(track_dir).as_posix()
            except ValueError:
                continue
            if not relative.startswith(CHECKPOINTS_DIR + "/") and relative not in UNSNAPSHOTTED:
                found[relative] = path
    return sorted(found.items())


def safe_relative(value: Any) -> str:
    """A manifest path may name nothing outside the track, nor its checkpoints."""
    if not isinstance(value, str):
        raise PathOutsideRoot(f"manifest path {value!r} is not text")
    relative = check_relative_name(value)
    if relative == CHECKPOINTS_DIR or relative.startswith(CHECKPOINTS_DIR + "/"):
        raise PathOutsideRoot(f"manifest path {value!r} points into the checkpoints")
    return relative


def restored_track_json(
    snapshot: bytes | None, current: dict[str, Any] | None, status: str
) -> bytes:
    """The checkpoint's track.json with the current lifecycle (status, history, ...):
    byte for byte the checkpoint's when the lifecycle has not moved since."""
    if snapshot is None:
        raise CorruptFile("checkpoint", "it holds no track.json", "conductor checkpoint verify")
    # a checkpoint may hold a track.json that was already unreadable when it was taken
    where, fix = "the checkpoint's track.json", "conductor checkpoints"  # restore another
    restored = files.parse_json(snapshot, where, fix=fix, shape=dict)
    if current is None:
        current = {**restored, "status": status}
    changed = False
    for key in LIFECYCLE_KEYS:
        if restored.get(key) != current.get(key):
            changed = True
            if key in current:
                restored[key] = current[key]
            else:
                restored.pop(key, None)
    if not changed:
        return snapshot
    restored["updated_at"] = current.get("updated_at", restored.get("updated_at"))
    return files.dumps(restored).encode("utf-8")
