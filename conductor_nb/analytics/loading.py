"""Read a conductor root into flat columns, fast: the registry and every track's files are
decoded directly (not through pydantic), and only the values the frames need are kept.

What a track's own files say (``Extracts``) is kept in a column cache on disk (``cache``)
and reused while none of those files changed, so a second reading of 10,000 tracks
decodes only the tracks that changed since. The registry is read every time: it is the
source of truth for which tracks there are and their status.

No pandas here: the columns are plain lists (statuses as small integer codes) that
``frames`` turns into DataFrames in a few vectorised steps.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..progress import counted
from ..store.formats import check_format
from ..store.paths import TRACK_ID_RE, find_root, project_dir
from . import cache as column_cache
from .extracts import TEXT_KEYS, Extracts, signature_now
from .reading import (
    DOC_KEYS,
    STATUS_CODE,
    STATUSES,
    TIME_FIELDS,
    parse_json,
    read_bytes,
    status_code,
)

__all__ = ["STATUSES", "STATUS_CODE", "RawRoot", "read_root", "resolve_sources"]

# A file changed this recently may change again within its timestamp's granularity
# without its signature changing (git's "racy" files): its track is cached later.
RACY_NS = 2_000_000_000


class RawRoot:
    """One root's columns: ``tracks`` (one entry per track, registry order), ``events``
    (one per history event, grouped by track in history order; ``counts``: how many
    each track has) and ``runs`` (``track``: the run's track's position in ``tracks``)."""

    def __init__(self, root: Path, project: str) -> None:
        self.root = root
        self.project = project
        self.tracks: dict[str, list[Any]] = {"track_id": []}
        self.events: dict[str, list[Any]] = {"counts": []}
        self.runs: dict[str, list[Any]] = {"track": []}

    def __len__(self) -> int:
        return len(self.tracks["track_id"])


# -- sources -------------------------------------------------------------------------------


def resolve_sources(
    source: Any,
) -> tuple[list[tuple[str, Path]], bool]:
    """``(project name, root)`` pairs from a root, a list of roots, a ``{name: root}`` dict
    or an Engine; the flag says whether several were asked for (a ``project`` column)."""
    if isinstance(source, dict):
        return [(str(name), _as_root(root)) for name, root in source.items()], True
    if isinstance(source, list | tuple):
        roots = [_as_root(item) for item in source]
        names = [project_dir(root).name or str(root) for root in roots]
        if len(set(names)) < len(names):  # two projects named alike: the full paths tell
            names = [str(project_dir(root)) for root in roots]
        if len(set(names)) < len(names):  # the same root twice
            names = [f"{name}#{i + 1}" for i, name in enumerate(names)]
        return list(zip(names, roots, strict=True)), True
    root = _as_root(source)
    return [(project_dir(root).name or str(root), root)], False


def _as_root(item: Any) -> Path:
    if item is None:
        return find_root()
    if not isinstance(item, str | os.PathLike):
        item = getattr(item, "root", item)  # an Engine
    if not isinstance(item, str | os.PathLike):
        item = getattr(item, "root", item)  # a Conductor (its engine's root)
    return Path(item).expanduser().absolute()


# -- a root --------------------------------------------------------------------------------


def read_root(root: Path, project: str, *, cache: bool = True, progress: Any = None) -> RawRoot:
    """The columns of one root. ``cache``: reuse and update the column cache (reading
    never fails because of it: a damaged or foreign cache is ignored and rewritten).
    ``progress``: reported as tracks are read or found unchanged."""
    check_format(root)  # a root from a newer conductor_nb is refused, never misread
    tracks_dir = f"{root}/tracks"
    with _collector_paused():
        entries = _registry_entries(tracks_dir)
        extracts = _extracts(tracks_dir, entries, cache, progress)
        return _merge(extracts, [entry for _, entry in entries], root, project)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while reading: the hundreds of thousands of objects
    made would trigger collections that find nothing (they make no cycles), at about a
    sixth of the reading time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _registry_entries(tracks_dir: str) -> list[tuple[str, dict]]:
    """(track id, entry) of every well-formed entry of the registry, in its order."""
    data, _ = read_bytes(f"{tracks_dir}/track-registry.json")
    registry = parse_json(data)
    entries = registry.get("tracks") if type(registry) is dict else None
    if type(entries) is not dict:
        return []
    return [
        (track_id, entry)
        for track_id, entry in entries.items()
        if type(entry) is dict and TRACK_ID_RE.fullmatch(track_id)
    ]


def _extracts(
    tracks_dir: str, entries: list[tuple[str, dict]], cache: bool, progress: Any = None
) -> Extracts:
    """Every track's extracts, in registry order: from the cache where the track's files
    are unchanged, read otherwise. The cache is rewritten when a track was read that it
    can keep, or when some of its entries went unused (changed or gone)."""
    horizon = time.time_ns() - RACY_NS
    cached = (column_cache.load(tracks_dir) if cache and entries else None) or Extracts()
    stored = {track_id: row for row, track_id in enumerate(cached.tracks["track_id"])}
    fresh = Extracts()
    rows: list[int] = []  # of cached + fresh
    items = entries if progress is None else counted(progress, "read tracks", entries)
    for track_id, entry in items:
        row = stored.get(track_id)
        if row is not None and _unchanged(cached, row, tracks_dir):
            rows.append(row)
        else:
            rows.append(len(cached) + len(fresh))
            fresh.add_track(tracks_dir, track_id, entry, horizon)
    extracts = cached.concat(fresh.finish()).take(rows)
    reused = len(rows) - len(fresh)
    if cache and (any(fresh.cacheable) or reused < len(cached)):
        keep = [row for row, ok in enumerate(extracts.cacheable) if ok]
        column_cache.save(tracks_dir, extracts.take(keep))
    return extracts


def _unchanged(cached: Extracts, row: int, tracks_dir: str) -> bool:
    """Whether the files entry ``row`` was read from are all as they were then."""
    t = cached.tracks
    now = signature_now(tracks_dir, t["track_id"][row], t["run_dirs"][row])
    return t["signature"][row] == now


def _merge(extracts: Extracts, entries: list[dict], root: Path, project: str) -> RawRoot:
    """The root's columns: track.json's values, or the registry entry's where it has
    none; the status is the registry's (the source of truth), else track.json's."""
    raw = RawRoot(root, project)
    t = extracts.tracks
    values = {key: t[key] for key in DOC_KEYS if key != "status"}
    if any(t["absent"]):
        values = {key: list(column) for key, column in values.items()}
        for row, bits in enumerate(t["absent"]):
            for key in _absent_keys(bits):
                value = entries[row].get(key)
                values[key][row] = value if key not in TEXT_KEYS or type(value) is str else None
    status = [
        status_code(entry["status"]) if "status" in entry else code
        for entry, code in zip(entries, t["status"], strict=True)
    ]
    raw.tracks = {
        "track_id": t["track_id"],
        "name": values["name"],
        "type": values["type"],
        "priority": values["priority"],
        "status": status,
        **{key: values[key] for key in TIME_FIELDS},
        **{key: t[key] for key in ("result", "history", "steps", "steps_completed")},
        "decisions": t["decisions"],
        "checkpoints": t["checkpoints"],
    }
    raw.events = {"counts": t["events"], **extracts.events}
    owners = np.repeat(np.arange(len(t["runs"])), np.asarray(t["runs"], dtype=np.int64))
    raw.runs = {"track": owners.tolist(), **extracts.runs}
    return raw


@functools.cache
def _absent_keys(bits: int) -> tuple[str, ...]:
    """The keys (but status) the registry entry stands in for, of an ``absent`` mask."""
    return tuple(key for i, key in enumerate(DOC_KEYS) if bits >> i & 1 and key != "status")
