"""The column cache: every track's extracts (``Extracts``) in one file,
``<root>/tracks/.conductor-cache/analytics-v1.json.zst``, so reading a root again decodes
only the tracks whose files changed.

An entry is reused only while the signatures of all the files it was read from are
unchanged (``loading``). The file is zstd-compressed JSON with a checksum, written
atomically; on reading, its format, version and status vocabulary, the type of every
value (msgspec checks them while decoding) and the consistency of the columns are
checked. Anything else (missing, damaged, foreign, from another version) is ignored and
rewritten: the cache can make reading faster, never wrong, and never makes it fail.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any

import msgspec
import zstandard

from ..store import files
from ..store.paths import RUN_ID_RE
from .extracts import ALL_ABSENT, Extracts
from .reading import SIGNATURE_SIZE, STATUSES

__all__ = ["FOLDER", "NAME", "VERSION", "load", "path_of", "save"]

FOLDER = ".conductor-cache"
VERSION = 1
NAME = f"analytics-v{VERSION}.json.zst"  # a new version writes a new file: never fight
FORMAT = "conductor_nb analytics columns"
MAX_BYTES = 1 << 30  # what a declared size may be before it is believed
LEFTOVER_SECONDS = 60


class _Tracks(msgspec.Struct, forbid_unknown_fields=True):
    track_id: list[str]
    signature: list[bytes]
    run_dirs: list[tuple[str, ...]]
    absent: list[int]
    name: list[Any]
    type: list[str | None]
    priority: list[str | None]
    status: list[int]
    created_at: list[str | None]
    updated_at: list[str | None]
    started_at: list[str | None]
    completed_at: list[str | None]
    failed_at: list[str | None]
    cancelled_at: list[str | None]
    result: list[str | None]
    history: list[str]
    steps: list[int]
    steps_completed: list[int]
    decisions: list[int]
    checkpoints: list[int]
    events: list[int]
    runs: list[int]


class _Events(msgspec.Struct, forbid_unknown_fields=True):
    from_: list[int] = msgspec.field(name="from")
    to: list[int]
    at: list[str | None]
    reason: list[Any]
    actor: list[Any]


class _Runs(msgspec.Struct, forbid_unknown_fields=True):
    run_id: list[Any]
    name: list[str | None]
    status: list[str | None]
    created_at: list[str | None]
    started_at: list[str | None]
    finished_at: list[str | None]
    duration_ms: list[float | None]
    error_type: list[Any]


class _File(msgspec.Struct, forbid_unknown_fields=True):
    format: str
    version: int
    statuses: list[str]
    tracks: _Tracks
    events: _Events
    runs: _Runs


_DECODE = msgspec.json.Decoder(_File).decode
_ENCODE = msgspec.json.Encoder().encode


def path_of(tracks_dir: str | os.PathLike[str]) -> Path:
    return Path(tracks_dir) / FOLDER / NAME


def load(tracks_dir: str | os.PathLike[str]) -> Extracts | None:
    """The cached extracts, or None when there are none that can be trusted."""
    try:
        with open(path_of(tracks_dir), "rb") as stream:
            compressed = stream.read()
        if not 0 < zstandard.frame_content_size(compressed) <= MAX_BYTES:
            return None  # unknown (not written by us) or implausible
        doc = _DECODE(zstandard.ZstdDecompressor().decompress(compressed))
        if doc.format != FORMAT or doc.version != VERSION or tuple(doc.statuses) != STATUSES:
            return None
        extracts = Extracts(
            {name: getattr(doc.tracks, name) for name in Extracts.TRACK_COLUMNS},
            {name: getattr(doc.events, _field(name)) for name in Extracts.EVENT_COLUMNS},
            {name: getattr(doc.runs, name) for name in Extracts.RUN_COLUMNS},
        )
        return extracts if _consistent(extracts) else None
    except Exception:  # whatever is wrong with it, the files are there to read
        return None


def save(tracks_dir: str | os.PathLike[str], extracts: Extracts) -> None:
    """Write the cache (atomically); quietly nothing when it cannot be written (a
    read-only root, a full disk: the next reading reads the files again)."""
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "statuses": list(STATUSES),
        "tracks": extracts.tracks,
        "events": extracts.events,
        "runs": extracts.runs,
    }
    path = path_of(tracks_dir)
    try:
        data = zstandard.ZstdCompressor(level=1, write_checksum=True).compress(_ENCODE(doc))
        if not path.parent.is_dir():
            path.parent.mkdir(exist_ok=True)
            # a cache is nobody's work: keep it out of version control
            files.atomic_write(path.parent / ".gitignore", "*\n", sync_dir=False)
        _remove_leftovers(path)
        files.atomic_write(path, data, sync_dir=False)  # a lost rename: a slower next time
    except Exception:  # a cache that cannot be written is only a slower next reading
        return


def _remove_leftovers(path: Path) -> None:
    """Temp files of saves killed before their rename (a minute old: not one running now)."""
    for leftover in path.parent.glob(f".{path.name}.*{files.TMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            if time.time() - leftover.stat().st_mtime > LEFTOVER_SECONDS:
                leftover.unlink()


def _field(column: str) -> str:
    return "from_" if column == "from" else column


def _consistent(extracts: Extracts) -> bool:
    """Whether the columns fit together: the same length within each table, counts that
    add up to the events and runs, codes and counts in range, well-formed names."""
    t, n = extracts.tracks, len(extracts)
    if any(len(column) != n for column in t.values()) or len(set(t["track_id"])) != n:
        return False
    sizes = zip(t["signature"], t["run_dirs"], strict=True)
    if any(len(sig) != SIGNATURE_SIZE * (4 + len(dirs)) for sig, dirs in sizes):
        return False
    counts = ("steps", "steps_completed", "decisions", "checkpoints", "events", "runs")
    if n and min(min(t[key]) for key in counts) < 0:
        return False
    if n and not (min(t["absent"]) >= 0 and max(t["absent"]) <= ALL_ABSENT):
        return False
    if not all(RUN_ID_RE.fullmatch(name) for dirs in t["run_dirs"] for name in dirs):
        return False  # names that make paths: never anything else
    if any(runs > len(dirs) for runs, dirs in zip(t["runs"], t["run_dirs"], strict=True)):
        return False
    codes = range(-1, len(STATUSES))
    if n and not (min(t["status"]) in codes and max(t["status"]) in codes):
        return False
    for table, total in ((extracts.events, sum(t["events"])), (extracts.runs, sum(t["runs"]))):
        if any(len(column) != total for column in table.values()):
            return False
    ev = extracts.events
    if ev["to"] and not all(min(ev[k]) in codes and max(ev[k]) in codes for k in ("from", "to")):
        return False
    # only recorded histories are stored (others depend on the registry entry), and no
    # actor a category cannot be made of
    return set(t["history"]) <= {"recorded"} and not set(map(type, ev["actor"])) & {list, dict}
