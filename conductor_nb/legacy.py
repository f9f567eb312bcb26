"""The original tool's snapshots (``<root>/context/snapshots/snap-*.json.gz``): listed and
readable beside our checkpoints. They hold no track data (see the original tool's notes),
so they can be read but not restored; a track is linked to one through its
``last_checkpoint``."""

from __future__ import annotations

import re

from .errors import CorruptFile, InvalidInput
from .store import files

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from .trackstore import TrackStore

__all__ = ["SNAPSHOT_RE", "LegacySnapshots", "read_snapshot"]

SNAPSHOT_RE = re.compile(r"snap-[a-z]+-[0-9]{10,16}-[a-z0-9]{1,12}")
REPAIR = "conductor repair"
MAX_BYTES = 32 * 1024 * 1024  # a snapshot is a few KB: refuse to inflate anything huge


def read_snapshot(path: Path) -> dict[str, Any]:
    import gzip  # only where a snapshot is read (~1 ms a CLI call need not pay)

    try:
        with gzip.open(path, "rb") as raw:
            data = raw.read(MAX_BYTES + 1)
    except (OSError, EOFError) as exc:
        raise CorruptFile(str(path), f"not a readable gzip file ({exc})", REPAIR) from None
    if len(data) > MAX_BYTES:
        raise CorruptFile(str(path), f"inflates beyond {MAX_BYTES} bytes", REPAIR)
    snapshot = files.parse_json(data, path, fix=REPAIR, shape=dict)
    files.require(snapshot.get("retention") or {}, dict, path, "its retention", REPAIR)
    return snapshot


class LegacySnapshots:
    """The original tool's gzip snapshots of a store's root."""

    def __init__(self, store: TrackStore) -> None:
        self.store = store
        self.folder = store.root / "context" / "snapshots"

    def list(self, ref: str | None = None) -> list[dict[str, Any]]:
        """Summaries of the original tool's snapshots, newest first; with a track, only the
        one its last_checkpoint names."""
        names = (
            sorted(
                (
                    p.name[:-8]
                    for p in self.folder.glob("snap-*.json.gz")
                    if SNAPSHOT_RE.fullmatch(p.name[:-8])
                ),
                key=lambda n: int(n.split("-")[2]),
                reverse=True,
            )
            if self.folder.is_dir()
            else []
        )
        if ref is not None:
            linked = self.store.track(ref).get("last_checkpoint")
            names = [n for n in names if n == linked]
        summaries = []
        for name in names:
            snapshot = self.get(name)
            summaries.append(
                {
                    "checkpoint_id": name,
                    "created_at": snapshot.get("created_at"),
                    "kind": f"legacy-{snapshot.get('type', 'snapshot')}",
                    "reason": snapshot.get("description"),
                    "pinned": bool((snapshot.get("retention") or {}).get("pinned")),
                    "metadata": {
                        "file_count": 0,
                        "size_bytes": (self.folder / f"{name}.json.gz").stat().st_size,
                    },
                }
            )
        return summaries

    def get(self, snapshot_id: str) -> dict[str, Any]:
        if not isinstance(snapshot_id, str) or not SNAPSHOT_RE.fullmatch(snapshot_id):
            raise InvalidInput(f"{snapshot_id!r} is not a snapshot id (snap-<type>-<ms>-<suffix>)")
        path = self.folder / f"{snapshot_id}.json.gz"
        if not path.is_file():
            raise InvalidInput(f"no snapshot {snapshot_id} in {self.folder}")
        return read_snapshot(path)
