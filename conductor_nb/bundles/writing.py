"""Writing a bundle: the tracks' files are hashed for the manifest, then streamed into a
tar archive compressed with zstd. The archive is written to a temp file beside the
target and renamed into place, so a failed export leaves no half-written bundle."""

from __future__ import annotations

import io
import os
from pathlib import Path

from ..checkpoint_format import CHECKPOINTS_DIR, track_files
from ..errors import InvalidInput
from ..progress import counted
from ..store import files
from .format import LEVEL, MANIFEST_NAME, NEVER_BUNDLED, entry_name

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

    from ..progress import Progress

__all__ = ["sources", "write_bundle"]


def sources(track_dir: Path, track_id: str, *, checkpoints: bool) -> list[tuple[str, Path]]:
    """(archive name, file) for every file of a track, its checkpoints when asked for
    (``track_files`` already leaves lease.json out)."""
    found = [(entry_name(track_id, rel), path) for rel, path in track_files(track_dir, None)]
    folder = track_dir / CHECKPOINTS_DIR
    if checkpoints and folder.is_dir() and not folder.is_symlink():
        for dirpath, dirnames, filenames in os.walk(folder):
            here = Path(dirpath)
            dirnames[:] = sorted(d for d in dirnames if not (here / d).is_symlink())
            for name in sorted(filenames):
                path = here / name
                relative = path.relative_to(track_dir).as_posix()
                if path.is_file() and not path.is_symlink() and relative not in NEVER_BUNDLED:
                    found.append((entry_name(track_id, relative), path))
    return found


def write_bundle(
    target: Path,
    head: dict[str, Any],
    items: list[tuple[str, Path]],
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write ``items`` to ``target`` under a manifest made of ``head`` and every item's
    sha256 and size. Returns the manifest."""
    entries = []
    for name, path in counted(progress, "hash files", items, len(items)):
        data = path.read_bytes()
        entries.append({"path": name, "sha256": files.sha256_hex(data), "size": len(data)})
    manifest = {**head, "files": entries}
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(temp, "wb") as raw:
            _write_archive(raw, manifest, items, progress)
            raw.flush()
            files.fsync(raw.fileno())
        os.replace(temp, target)
    except BaseException:
        files.remove_quietly(temp)
        raise
    return manifest


def _write_archive(raw: Any, manifest: dict[str, Any], items: list[tuple[str, Path]], progress):
    import tarfile

    import zstandard

    compressor = zstandard.ZstdCompressor(level=LEVEL)
    with (
        compressor.stream_writer(raw, closefd=False) as packed,
        tarfile.open(fileobj=packed, mode="w|", format=tarfile.PAX_FORMAT) as tar,
    ):
        _add(tar, MANIFEST_NAME, files.dumps(manifest).encode("utf-8"))
        pairs = list(zip(items, manifest["files"], strict=True))
        for (name, path), entry in counted(progress, "write bundle", pairs, len(pairs)):
            data = path.read_bytes()
            if files.sha256_hex(data) != entry["sha256"]:
                raise InvalidInput(f"{path} changed while it was exported: export again")
            _add(tar, name, data)


def _add(tar: Any, name: str, data: bytes) -> None:
    import tarfile

    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))
