"""A track's artifacts: files under ``context/artifacts`` with their size and sha256."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from .errors import InvalidInput
from .store import files
from .store.paths import check_relative_name, inside
from .tracks import iso

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    import os
    from typing import Any

    from .trackstore import TrackStore

__all__ = ["Artifacts"]


class Artifacts:
    """Artifacts of the tracks in a store."""

    def __init__(self, store: TrackStore) -> None:
        self.store = store
        self.tree = store.tree

    def list(self, ref: str | None) -> list[dict[str, Any]]:
        """Files under context/artifacts with size and sha256."""
        folder = self.tree.track_file(self.store.resolve(ref), "context", "artifacts")
        found = []
        for path in sorted(folder.rglob("*")) if folder.is_dir() else ():
            if path.is_symlink() or not path.is_file():
                continue
            data = path.read_bytes()
            found.append(
                {
                    "name": path.relative_to(folder).as_posix(),
                    "size": len(data),
                    "sha256": files.sha256_hex(data),
                    "modified_at": iso(datetime.fromtimestamp(path.stat().st_mtime, UTC)),
                }
            )
        return found

    def add(
        self,
        ref: str | None,
        name: str,
        *,
        data: bytes | str | None = None,
        source: str | os.PathLike[str] | None = None,
    ) -> dict[str, Any]:
        """Store a file under the track's context/artifacts (from bytes or a file); one
        it replaces is kept in backups/."""
        relative = check_relative_name(name)
        payload = _payload(data, source)
        with self.tree.transaction() as txn:
            track_id = self.store.resolve(ref, txn.registry)
            track = self.store.load(txn, track_id)
            folder = self.tree.track_file(track_id, "context", "artifacts")
            target = inside(folder, *relative.split("/"))
            for parent in target.relative_to(folder).parents:
                if (folder / parent).is_file():
                    raise InvalidInput(f"artifact {relative!r}: {parent.as_posix()!r} is a file")
            if target.exists():
                if target.is_dir():
                    raise InvalidInput(f"artifact {relative!r} is a folder")
                self.store.backup(txn, target, f"{track_id}-artifact-{relative.replace('/', '_')}")
            txn.write(target, payload)
            self.store.save(txn, track)
        return {
            "name": relative,
            "size": len(payload),
            "sha256": files.sha256_hex(payload),
        }


def _payload(data: bytes | str | None, source: str | os.PathLike[str] | None) -> bytes:
    if (data is None) == (source is None):
        raise InvalidInput("give an artifact's content either as data or as a source file")
    if source is not None:
        try:
            return Path(source).read_bytes()
        except OSError as exc:
            raise InvalidInput(f"cannot read {source}: {exc.strerror}") from None
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)
