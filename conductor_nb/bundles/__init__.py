"""Bundles: tracks moved between roots as one file.

``export_bundle`` writes chosen tracks (every file, checkpoints on request) to a
zstd-compressed tar archive with a manifest of checksums (``format``, ``writing``);
``import_bundle`` verifies every entry of one before writing anything (``reading``),
then lands all its tracks in one transaction or none (``landing``): an id already in
use gets a new one (``idmap``), and an active track comes in paused.

The modules that hash, compress and read archives are imported when a bundle is made
or read, so the CLI's other commands never load them.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InvalidInput, RootMissing
from ..store.formats import read_format
from ..store.paths import is_root
from .format import FORMAT, IMPORT_LIMIT, VERSION, BundleRefused

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from ..hooks import Hooks
    from ..progress import Progress
    from ..trackstore import TrackStore

__all__ = ["IMPORT_LIMIT", "BundleRefused", "Bundles"]


class Bundles:
    """Export and import of tracks (a part of the engine: handed the store, and the
    hooks an import runs as the creation of its tracks)."""

    def __init__(self, store: TrackStore, hooks: Hooks | None = None) -> None:
        from ..hooks import Hooks

        self.store = store
        self.tree = store.tree
        self.hooks = hooks or Hooks(store)

    def export_bundle(
        self,
        refs: str | Iterable[str],
        output: str | os.PathLike[str],
        *,
        checkpoints: bool = False,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Write the tracks ``refs`` names (ids, prefixes or names) to the file ``output``:
        every file of each, and their checkpoints with ``checkpoints``. ``progress``:
        reported as files are hashed and written."""
        from .writing import sources, write_bundle

        refs = [refs] if isinstance(refs, str) else list(refs)
        if not refs:
            raise InvalidInput("name at least one track to export")
        target = self._target(output)
        if not is_root(self.store.root):  # the lock would make its folders
            raise RootMissing(str(self.store.found.path), self.store.found.how())
        with self.tree.lock:  # one consistent state of every track
            registry = self.tree.load_registry()
            ids = list(dict.fromkeys(self.store.resolve(ref, registry) for ref in refs))
            items, heads = [], []
            for track_id in ids:
                self.store.read_track(track_id)  # a damaged track.json is named now
                items += sources(self.tree.track_dir(track_id), track_id, checkpoints=checkpoints)
                entry = registry.tracks[track_id]
                heads.append(
                    {
                        "track_id": track_id,
                        "name": entry.get("name"),
                        "status": entry.get("status"),
                        "registry_entry": entry,
                    }
                )
            head = {
                "format": FORMAT,
                "version": VERSION,
                "created_at": self.store.stamp(),
                "created_by": self.store.actor,
                "root_format": read_format(self.store.root),
                "checkpoints": bool(checkpoints),
                "tracks": heads,
            }
            manifest = write_bundle(target, head, items, self._keeping_lock(progress))
        return {
            "file": str(target),
            "tracks": ids,
            "files": len(items),
            "bytes": sum(entry["size"] for entry in manifest["files"]),
            "compressed_bytes": target.stat().st_size,
            "checkpoints": bool(checkpoints),
        }

    def import_bundle(
        self,
        bundle: str | os.PathLike[str],
        *,
        progress: Progress | None = None,
        limit: int = IMPORT_LIMIT,
    ) -> dict[str, Any]:
        """Add the tracks of the bundle file to this root, all or none. Every entry is
        checked against the manifest before anything is written (a BundleRefused names
        the first that is wrong); an id already in use gets a new one (``renamed``: old
        -> new), and a track that was active comes in paused (``paused``). ``limit``: the
        most bytes (uncompressed) a bundle may hold. Each track is created here, so the
        ``pre-create`` hooks may refuse the import (nothing lands) and the
        ``post-create`` hooks run for each once all are on disk."""
        from .import_hooks import create_details, run_post_hooks
        from .landing import land
        from .reading import read_bundle

        path = Path(bundle).expanduser()
        read = read_bundle(path, limit=limit, progress=progress)
        _check_track_files(read, str(path))
        hooks = self.hooks.before_each("create", create_details(read, str(path)))
        with self.tree.transaction() as txn:
            done = land(self.store, txn, read)
        run_post_hooks(self.store, hooks, done["tracks"])
        return {
            "file": str(path),
            **done,
            "files": len(read.expected.entries),
            "bytes": read.expected.total,
        }

    def _target(self, output: str | os.PathLike[str]) -> Path:
        target = Path(output).expanduser()
        if target.is_dir():
            raise InvalidInput(f"{target} is a folder: name the bundle file (e.g. tracks.tar.zst)")
        if not target.parent.is_dir():
            raise InvalidInput(f"there is no folder {target.parent} to write {target.name} in")
        root, real = os.path.realpath(self.store.root), os.path.realpath(target)
        if real == root or real.startswith(root + os.sep):  # written around the transactions
            raise InvalidInput(f"{target} is inside the root: write the bundle somewhere else")
        return target

    def _keeping_lock(self, progress: Progress | None) -> Progress:
        """``progress``, and the lock kept fresh as files go by (a long export holds it)."""

        def report(what: str, done: int, total: int) -> None:
            self.tree.lock.refresh()
            if progress is not None:
                progress(what, done, total)

        return report


_AGAIN = "export it again"


def _check_track_files(bundle: Any, where: str) -> None:
    """Each track.json is a JSON object naming its own track (else the landing would write
    one track's files under another's id)."""
    from ..errors import CorruptFile
    from ..store import files

    for track_id, contents in bundle.tracks.items():
        name = f"tracks/{track_id}/track.json"
        try:
            track = files.parse_json(contents["track.json"], name, fix=_AGAIN, shape=dict)
        except CorruptFile as err:
            raise BundleRefused(where, f"entry {name!r} cannot be read ({err.reason})") from None
        if track.get("track_id") != track_id:
            raise BundleRefused(where, f"entry {name!r} names the track {track.get('track_id')!r}")
