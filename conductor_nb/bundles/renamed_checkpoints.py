"""Checkpoints of an imported track whose id changed: each manifest names the track, and
its blobs of track.json and run.json name it too. Those are rewritten (new blobs beside
the old ones, the manifest's entries and checksum updated), so a restore in the new
root brings back a track that is still itself."""

from __future__ import annotations

import io
import json
import re

from ..checkpoint_format import compressor, manifest_checksum
from ..store import files
from .idmap import rewrite_file

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

__all__ = ["rename_in_checkpoints"]

_MANIFEST_RE = re.compile(r"checkpoints/checkpoint-[0-9]{3,}\.json")
_INDEX = "checkpoints/blobs/index.json"


def rename_in_checkpoints(track_files: dict[str, bytes], mapping: dict[str, str]) -> None:
    """Rewrite, in ``track_files`` (relative path -> bytes), every checkpoint that names
    a renamed track. Anything unreadable is left as it is (``verify`` names it)."""
    index = _json_object(track_files.get(_INDEX))
    for relative in sorted(track_files):
        if not _MANIFEST_RE.fullmatch(relative):
            continue
        manifest = _json_object(track_files[relative])
        if manifest is None:
            continue
        was_sound = manifest.get("checksum") == manifest_checksum(manifest)
        changed = manifest.get("track_id") in mapping
        if changed:
            manifest["track_id"] = mapping[manifest["track_id"]]
        for entry in manifest.get("files") or []:
            if isinstance(entry, dict):
                changed |= _rewrite_entry(track_files, entry, mapping, index)
        if not changed:
            continue
        _recount(manifest)
        if was_sound:  # a damaged manifest stays damaged: it is not ours to vouch for
            manifest["checksum"] = manifest_checksum(manifest)
        track_files[relative] = files.dumps(manifest).encode("utf-8")
    if index is not None and _INDEX in track_files:
        track_files[_INDEX] = json.dumps(index).encode("utf-8")


def _rewrite_entry(
    track_files: dict[str, bytes],
    entry: dict[str, Any],
    mapping: dict[str, str],
    index: dict[str, Any] | None,
) -> bool:
    path, sha, size = entry.get("path"), entry.get("sha256"), entry.get("size")
    if not isinstance(path, str) or not isinstance(sha, str) or not isinstance(size, int):
        return False
    blob = track_files.get(f"checkpoints/blobs/{sha[:2]}/{sha}.zst")
    content = _unpack(blob, size) if blob is not None else None
    if content is None:
        return False
    renamed = rewrite_file(path, content, mapping)
    if renamed == content:
        return False
    new_sha = files.sha256_hex(renamed)
    packed = compressor().compress(renamed)
    track_files[f"checkpoints/blobs/{new_sha[:2]}/{new_sha}.zst"] = packed
    entry.update(
        sha256=new_sha,
        size=len(renamed),
        blob_sha256=files.sha256_hex(packed),
        stored_size=len(packed),
    )
    if index is not None:
        index[new_sha] = entry["blob_sha256"]
    return True


def _unpack(blob: bytes, size: int) -> bytes | None:
    """The blob's content if it holds exactly ``size`` bytes (read no further: a blob
    may be a decompression bomb)."""
    import zstandard

    try:
        with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(blob)) as reader:
            data = reader.read(size + 1)
            while len(data) <= size and (more := reader.read(size + 1 - len(data))):
                data += more
    except zstandard.ZstdError:
        return None
    return data if len(data) == size else None


def _recount(manifest: dict[str, Any]) -> None:
    metadata = manifest.get("metadata")
    entries = [e for e in manifest.get("files") or [] if isinstance(e, dict)]
    if not isinstance(metadata, dict):
        return
    for key, field in (("size_bytes", "size"), ("stored_bytes", "stored_size")):
        values = [e.get(field) for e in entries]
        if key in metadata and all(isinstance(v, int) for v in values):
            metadata[key] = sum(values)


def _json_object(data: bytes | None) -> dict[str, Any] | None:
    if data is None:
        return None
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
