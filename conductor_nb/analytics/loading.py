"""Read a conductor root into flat columns, fast: the registry and every track.json are
parsed with ``json`` directly (not through pydantic), and only the fields the frames need
are kept, so the documents themselves are dropped as soon as they are read.

No pandas here: the columns are plain lists (statuses as small integer codes) that
``frames`` turns into DataFrames in a few vectorised steps.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from ..store.paths import RUN_ID_RE, TRACK_ID_RE, find_root, project_dir
from ..tracks import reconstruct_history
from ..vocab import TrackStatus

STATUSES: tuple[str, ...] = tuple(s.value for s in TrackStatus)
STATUS_CODE: dict[str | None, int] = {s: i for i, s in enumerate(STATUSES)}
CHECKPOINT_NAME_RE = re.compile(r"checkpoint-\d+\.json")
_DECODER = json.JSONDecoder()

# Timestamps of track.json kept for tracks whose history does not tell (legacy, damaged).
TIME_FIELDS = (
    "created_at",
    "updated_at",
    "started_at",
    "completed_at",
    "failed_at",
    "cancelled_at",
)
TRACK_FIELDS = (
    "track_id",
    "name",
    "type",
    "priority",
    "status",
    *TIME_FIELDS,
    "result",
    "history",
    "steps",
    "steps_completed",
    "decisions",
    "checkpoints",
)
EVENT_FIELDS = ("counts", "from", "to", "at", "reason", "actor")
RUN_FIELDS = (
    "track",
    "run_id",
    "name",
    "status",
    "created_at",
    "started_at",
    "finished_at",
    "duration_ms",
    "error_type",
)


class RawRoot:
    """One root's columns: ``tracks`` (one entry per track, registry order), ``events``
    (one per history event, grouped by track in history order; ``counts``: how many
    each track has) and ``runs`` (``track``: the run's track's position in ``tracks``)."""

    def __init__(self, root: Path, project: str) -> None:
        self.root = root
        self.project = project
        self.tracks: dict[str, list[Any]] = {name: [] for name in TRACK_FIELDS}
        self.events: dict[str, list[Any]] = {name: [] for name in EVENT_FIELDS}
        self.runs: dict[str, list[Any]] = {name: [] for name in RUN_FIELDS}

    def __len__(self) -> int:
        return len(self.tracks["track_id"])


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


def _read_bytes(path: str) -> bytes | None:
    """The file's bytes, or None. os.open/os.read: the file object of open() costs more
    than the read itself, 10,000 times over."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        data = os.read(fd, 1 << 20)
        if len(data) == 1 << 20:  # a large file: the rest of it
            chunks = [data]
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            data = b"".join(chunks)
        return data
    except OSError:
        return None
    finally:
        os.close(fd)


def _parse(data: bytes | None) -> Any:
    """Parsed JSON, or None when missing or broken (analytics reads what it can)."""
    if data is None:
        return None
    try:
        return _DECODER.decode(data.decode())  # json.loads less its encoding sniffing
    except ValueError:  # not UTF-8 (or not JSON): json.loads knows the other encodings
        try:
            return json.loads(data)
        except ValueError:
            return None


def _read(path: str) -> Any:
    return _parse(_read_bytes(path))


def read_root(root: Path, project: str) -> RawRoot:
    raw = RawRoot(root, project)
    tracks_dir = f"{root}/tracks"
    registry = _read(f"{tracks_dir}/track-registry.json")
    entries = registry.get("tracks") if isinstance(registry, dict) else None
    if not isinstance(entries, dict):
        return raw
    t, rn = raw.tracks, raw.runs
    code = STATUS_CODE
    flat: list[dict[str, Any]] = []  # every history event, track after track
    owner: list[int] = []  # how many events each track has
    for track_id, entry in entries.items():
        if type(entry) is not dict or not TRACK_ID_RE.fullmatch(str(track_id)):
            continue
        folder = f"{tracks_dir}/{track_id}"
        doc = _read(f"{folder}/track.json")
        if type(doc) is not dict:
            doc, source = {}, "missing"
        history = doc.get("history")
        if type(history) is list:
            source = "recorded"
            if not all(type(event) is dict for event in history):
                history = [event for event in history if isinstance(event, dict)]
        elif doc:
            history, source = reconstruct_history({**entry, **doc}), "reconstructed"
        else:
            history = reconstruct_history(entry)
        position = len(owner)
        owner.append(len(history))
        flat.extend(history)
        t["track_id"].append(track_id)
        for key in ("name", "type", "priority"):
            t[key].append(doc.get(key, entry.get(key)))
        t["status"].append(code.get(entry.get("status", doc.get("status")), -1))
        for key in TIME_FIELDS:
            value = doc.get(key, entry.get(key))
            t[key].append(value if type(value) is str else None)
        outcomes = doc.get("outcomes")
        t["result"].append(outcomes.get("result") if type(outcomes) is dict else None)
        t["history"].append(source)
        steps = doc.get("steps")
        if type(steps) is list and steps:
            t["steps"].append(len(steps))
            t["steps_completed"].append(
                sum(1 for s in steps if type(s) is dict and s.get("status") == "completed")
            )
        else:
            t["steps"].append(0)
            t["steps_completed"].append(0)
        data = _read_bytes(f"{folder}/context/decisions.json")
        decisions = _parse(data) if data and data != b"[]" else None
        t["decisions"].append(len(decisions) if type(decisions) is list else 0)
        t["checkpoints"].append(_count_checkpoints(f"{folder}/checkpoints"))
        _read_runs(f"{folder}/workflows", position, rn)
    ev = raw.events
    ev["counts"] = owner
    ev["from"] = [code.get(e.get("from"), -1) for e in flat]
    ev["to"] = [code.get(e.get("to"), -1) for e in flat]
    ev["at"] = [at if type(at := e.get("at")) is str else None for e in flat]
    ev["reason"] = [e.get("reason") for e in flat]
    ev["actor"] = [e.get("actor") for e in flat]
    return raw


def _count_checkpoints(folder: str) -> int:
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    return sum(1 for name in names if CHECKPOINT_NAME_RE.fullmatch(name))


def _read_runs(folder: str, position: int, rn: dict[str, list[Any]]) -> None:
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return
    for name in names:
        if not RUN_ID_RE.fullmatch(name):
            continue
        run = _read(f"{folder}/{name}/run.json")
        if not isinstance(run, dict):
            continue
        rn["track"].append(position)
        rn["run_id"].append(run.get("run_id", name))
        for key in ("name", "status", "created_at", "started_at", "finished_at"):
            value = run.get(key)
            rn[key].append(value if isinstance(value, str) else None)
        duration = run.get("duration_ms")
        ok = isinstance(duration, int | float) and not isinstance(duration, bool)
        rn["duration_ms"].append(float(duration) if ok else None)
        outcome = run.get("outcome")
        rn["error_type"].append(outcome.get("error_type") if isinstance(outcome, dict) else None)
