"""Keeping another clone's checkpoint under the next free number.

Two clones of a root shared through git that each checkpoint one track (a pause does)
write the same ``checkpoint-NNN.json``, and git reports an add/add conflict. A manifest
is one snapshot, named in its own ``checkpoint_id`` and checksum, so no merge keeps both
at one path. ``adopt`` keeps the other side's as a new checkpoint instead: the manifest
(``git show :3:PATH > FILE``) is checked (sound, this track's, every blob it names
present: blobs are named by their sha256 and merge without conflict), then written as
the track's next checkpoint with its id and checksum made new, in one transaction.
"""

from __future__ import annotations

import os
from pathlib import Path

from .checkpoint_format import (
    blob_path,
    checkpoint_numbers,
    manifest_checksum,
    read_manifest,
)
from .errors import CorruptFile, InvalidInput

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

    from .checkpoints import Checkpoints
    from .trackstore import TrackStore

__all__ = ["CheckpointAdoption"]

_RENAMED = ("checkpoint_id", "checksum")  # what differs between a manifest and its copy


class CheckpointAdoption:
    """Checkpoints taken elsewhere, added to a track of this store."""

    def __init__(self, store: TrackStore, checkpoints: Checkpoints) -> None:
        self.store = store
        self.tree = store.tree
        self.checkpoints = checkpoints

    def adopt(self, ref: str | None, source: str | os.PathLike[str]) -> dict[str, Any]:
        """Add the checkpoint manifest in the file ``source`` (another clone's, of this
        track) as the track's next checkpoint; returns the manifest as written, with
        ``adopted_from``: the id it had. Refused, writing nothing, when the file is not a
        sound manifest of this track, a blob it names is missing, or the track already
        has that checkpoint."""
        path = Path(source).expanduser()
        manifest = _sound_manifest(path)
        with self.tree.transaction() as txn:
            track_id = self.store.resolve(ref, txn.registry)
            if manifest.get("track_id") != track_id:
                raise InvalidInput(
                    f"{path} is a checkpoint of {manifest.get('track_id')!r}, "
                    f"not of {self.store.label(track_id)}"
                )
            folder = self.checkpoints.folder(track_id)
            _refuse_missing_blobs(path, folder, manifest)
            _refuse_duplicate(path, self.checkpoints.list(track_id), manifest)
            number = max(checkpoint_numbers(folder), default=0) + 1
            adopted = {**manifest, "checkpoint_id": f"checkpoint-{number:03d}"}
            adopted["checksum"] = manifest_checksum(adopted)
            txn.write_json(folder / f"{adopted['checkpoint_id']}.json", adopted)
        return {**adopted, "adopted_from": manifest["checkpoint_id"]}


def _sound_manifest(path: Path) -> dict[str, Any]:
    """The manifest in ``path``, its shape and checksum checked."""
    import json

    try:
        claimed = json.loads(path.read_bytes()).get("checkpoint_id")
    except FileNotFoundError:
        raise InvalidInput(f"there is no file {path}") from None
    except (OSError, ValueError, AttributeError) as err:
        raise InvalidInput(f"{path} is not a checkpoint manifest ({err})") from None
    try:
        manifest = read_manifest(path, str(claimed))
    except CorruptFile as err:
        raise InvalidInput(f"{path} is not a sound checkpoint manifest: {err.reason}") from None
    if manifest.get("checksum") != manifest_checksum(manifest):
        raise InvalidInput(f"{path}: its checksum does not match its content (edited or damaged)")
    return manifest


def _refuse_missing_blobs(path: Path, folder: Path, manifest: dict[str, Any]) -> None:
    missing = [e["path"] for e in manifest["files"] if not blob_path(folder, e["sha256"]).is_file()]
    if missing:
        raise InvalidInput(
            f"{path}: the blobs of {len(missing)} of its files are not in {folder} "
            f"(first: {missing[0]}); merge the commit that holds them first"
        )


def _refuse_duplicate(path: Path, existing: list[dict[str, Any]], manifest: dict[str, Any]) -> None:
    body = {k: v for k, v in manifest.items() if k not in _RENAMED}
    for other in existing:
        if {k: v for k, v in other.items() if k not in _RENAMED} == body:
            raise InvalidInput(f"{path} is already {other['checkpoint_id']} of this track")
