"""Which notebook cells did a track's work: the cell records of a track.

While a track is active, the notebook layer (``conductor_nb.notebook.recorder``) records
every cell the kernel runs: the first 16 hex digits of the sha256 of its source, its
execution count, when it started (UTC), how long it took, whether it raised, the run of
``%%track run`` it belongs to, and the notebook path and cell id when the front end
sends them.

Storage: ``tracks/<id>/cells.jsonl``, one JSON object a line (additive: the original
tool ignores files it does not know). A record is appended with ``O_APPEND`` in a single
``write`` when its cell ends, without the root's lock or journal, like a run's metrics
(``run_records``): a crash can only tear the line being written, and the reader skips
a line that does not parse. It is not synced to disk (a cell must not wait for the
disk): a kernel that exits or dies loses nothing, a power cut may lose the latest lines.
Storage is bounded: when the file reaches ``MAX_BYTES`` (5 MB, about 20,000 cells) it
becomes ``cells.1.jsonl``, replacing the one before, so a track keeps at most 10 MB of
the most recent records. Neither file is part of a checkpoint (history, not work: a
restore does not roll it back).
"""

from __future__ import annotations

import fcntl
import json
import os

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from .trackstore import TrackStore

__all__ = [
    "CELLS_FILE",
    "MAX_BYTES",
    "ROTATED_FILE",
    "CellLog",
    "append_cell",
    "notebook_summary",
    "read_cells",
]

CELLS_FILE = "cells.jsonl"
ROTATED_FILE = "cells.1.jsonl"
MAX_BYTES = 5 * 1024 * 1024
CONSOLE = "(console)"  # where a record without a notebook path was run


def append_cell(path: Path, record: dict[str, Any], *, max_bytes: int = MAX_BYTES) -> None:
    """Append one record to ``path`` (a track's cells.jsonl), rotating it first when it
    has reached ``max_bytes``. Never creates the track's folder: a missing one raises."""
    data = (json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n").encode()
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size >= max_bytes:
            os.close(fd)
            fd = -1
            _rotate(path, max_bytes)
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        elif size and os.pread(fd, 1, size - 1) != b"\n":  # a torn line from a crash
            data = b"\n" + data
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        if fd >= 0:
            os.close(fd)


def _rotate(path: Path, max_bytes: int) -> None:
    """Make ``path`` the rotated file. Two kernels of one track may both find it full:
    the file's lock lets one rename it, and the other sees a new, small file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            now = os.stat(path)
        except FileNotFoundError:
            return
        mine = os.fstat(fd)
        if (now.st_ino, now.st_dev) == (mine.st_ino, mine.st_dev) and now.st_size >= max_bytes:
            os.replace(path, path.with_name(ROTATED_FILE))
    finally:
        os.close(fd)  # closing releases the lock


def read_cells(folder: Path) -> list[dict[str, Any]]:
    """The records of a track's folder, oldest first (the rotated file, then the
    current one); a torn or foreign line is skipped."""
    records = []
    for name in (ROTATED_FILE, CELLS_FILE):
        try:
            raw = (folder / name).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            continue
        for line in raw.splitlines():
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if isinstance(record, dict) and isinstance(record.get("sha256"), str):
                records.append(record)
    return records


def notebook_summary(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per notebook (``(console)`` for records without one): how many distinct cells
    (by cell id, else by source hash), how many runs of them, their time in seconds,
    how many raised, and the latest start; the notebook with most time first."""
    groups: dict[str, dict[str, Any]] = {}
    for record in records:
        name = record.get("notebook") or CONSOLE
        group = groups.setdefault(
            name,
            {"notebook": name, "cells": set(), "runs": 0, "seconds": 0.0, "raised": 0, "last": ""},
        )
        group["cells"].add(record.get("cell_id") or record.get("sha256"))
        group["runs"] += 1
        group["seconds"] += float(record.get("duration_ms") or 0) / 1000
        group["raised"] += bool(record.get("raised"))
        started = record.get("started_at")
        if isinstance(started, str) and started > group["last"]:
            group["last"] = started
    rows = [
        {
            **group,
            "cells": len(group["cells"]),
            "seconds": round(group["seconds"], 3),
            "last": group["last"] or None,
        }
        for group in groups.values()
    ]
    return sorted(rows, key=lambda row: (-row["seconds"], row["notebook"]))


class CellLog:
    """The cell records of the tracks in a store (read-only: the notebook writes them)."""

    def __init__(self, store: TrackStore) -> None:
        self.store = store
        self.tree = store.tree

    def path(self, track_id: str) -> Path:
        return self.tree.track_file(track_id, CELLS_FILE)

    def cells(self, ref: str | None) -> list[dict[str, Any]]:
        """The cells recorded for the track, oldest first, each with its ``track_id``."""
        track_id = self.store.resolve(ref)
        folder = self.tree.track_dir(track_id)
        return [{**record, "track_id": track_id} for record in read_cells(folder)]
