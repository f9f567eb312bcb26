"""What each track's own files say, as columns: the shape both the reading and the column
cache work in (``loading`` merges it with the registry into the frames' columns)."""

from __future__ import annotations

from itertools import repeat
from typing import Any

import numpy as np
from msgspec.structs import astuple

from ..tracks import reconstruct_history
from .reading import (
    DOC_KEYS,
    SIGNATURE_SIZE,
    STATUS_CODE,
    TIME_FIELDS,
    UNSET,
    TrackFields,
    count_checkpoints,
    count_decisions,
    list_runs,
    outcome_result,
    parse_json,
    parse_track,
    read_bytes,
    read_run,
    settled,
    signature,
    status_code,
    step_counts,
)

__all__ = ["ALL_ABSENT", "TEXT_KEYS", "Extracts", "signature_now"]

ALL_ABSENT = (1 << len(DOC_KEYS)) - 1
_NO_VALUES = (None, None, None, -1, *(None for _ in TIME_FIELDS))  # DOC_KEYS' when absent
TEXT_KEYS = frozenset(("type", "priority", *TIME_FIELDS))  # only strings are read
UNHASHABLE = (list, dict)  # what a damaged file may hold where a category is made


class Extracts:
    """One entry per track in ``tracks``, per history event in ``events``
    (``tracks["events"]`` of each track, in order) and per workflow run in ``runs``
    (likewise ``tracks["runs"]``).

    Values of ``DOC_KEYS`` are track.json's own (``status`` as a code, -1 for none),
    strings only for ``TEXT_KEYS``; bit i of ``absent`` is set when track.json lacks
    ``DOC_KEYS[i]``, for the registry entry to stand in. ``signature``: the signatures
    of the files the entry was read from, one after the other: track.json,
    decisions.json, the checkpoints and workflows folders and the run.json of each of
    ``run_dirs``. ``cacheable`` (not stored): whether an entry may go into the cache."""

    TRACK_COLUMNS = (
        "track_id",
        "signature",
        "run_dirs",
        "absent",
        *DOC_KEYS,
        "result",
        "steps",
        "steps_completed",
        "history",
        "decisions",
        "checkpoints",
        "events",
        "runs",
    )
    EVENT_COLUMNS = ("from", "to", "at", "reason", "actor")
    RUN_COLUMNS = (
        "run_id",
        "name",
        "status",
        "created_at",
        "started_at",
        "finished_at",
        "duration_ms",
        "error_type",
    )

    def __init__(
        self,
        tracks: dict[str, list[Any]] | None = None,
        events: dict[str, list[Any]] | None = None,
        runs: dict[str, list[Any]] | None = None,
        cacheable: list[bool] | None = None,
    ) -> None:
        self.tracks = tracks if tracks is not None else {k: [] for k in self.TRACK_COLUMNS}
        self.events = events if events is not None else {k: [] for k in self.EVENT_COLUMNS}
        self.runs = runs if runs is not None else {k: [] for k in self.RUN_COLUMNS}
        # what add_track read, until finish() makes columns of it
        self._rows: list[tuple[Any, ...]] = []
        self._run_rows: list[tuple[Any, ...]] = []
        self._pending: list[dict[str, Any]] = []  # the events
        self.cacheable = cacheable if cacheable is not None else [True] * len(self)

    def __len__(self) -> int:
        return len(self.tracks["track_id"]) + len(self._rows)

    # -- reading -------------------------------------------------------------------------

    def add_track(self, tracks_dir: str, track_id: str, entry: dict, horizon: int) -> None:
        """Read the files of one track (call ``finish`` after the last). Files changed
        after ``horizon`` (ns) may change again unseen: the entry is not cacheable."""
        folder = f"{tracks_dir}/{track_id}"
        data, doc_sig = read_bytes(f"{folder}/track.json")
        doc, exact = parse_track(data)
        history, kind = _history(doc, data, entry)
        self._pending.extend(history)
        decisions, decisions_sig = count_decisions(f"{folder}/context/decisions.json")
        checkpoints, checkpoints_sig = count_checkpoints(f"{folder}/checkpoints")
        run_dirs, workflows_sig = list_runs(f"{folder}/workflows")
        runs, run_sigs, runs_exact = self._add_runs(folder, run_dirs)
        sigs = [doc_sig, decisions_sig, checkpoints_sig, workflows_sig, *run_sigs]
        packed = b"".join(sigs)
        self._rows.append(  # in TRACK_COLUMNS' order
            (
                track_id,
                packed,
                run_dirs,
                *_doc_values(doc),
                kind,
                decisions,
                checkpoints,
                len(history),
                runs,
            )
        )
        self.cacheable.append(
            kind == "recorded"  # a reconstructed history depends on the registry entry
            and exact  # msgspec decoded the files: their values survive its encoding
            and runs_exact
            and len(packed) == SIGNATURE_SIZE * len(sigs)  # every signature packed
            and settled(packed, horizon)
        )

    def _add_runs(self, folder: str, run_dirs: tuple[str, ...]) -> tuple[int, list[bytes], bool]:
        """Read the runs of ``run_dirs``: how many have a row, the signatures of their
        run.json, and whether msgspec decoded them all."""
        count, sigs, exact = 0, [], True
        for name in run_dirs:
            row, sig, run_exact = read_run(f"{folder}/workflows/{name}/run.json", name)
            sigs.append(sig)
            exact = exact and run_exact
            if row is not None:
                count += 1
                self._run_rows.append(row)
        return count, sigs, exact

    def finish(self) -> Extracts:
        """Turn the rows of the added tracks into columns: a few passes over all of them
        cost less than appending to every column track after track."""
        _append_rows(self.tracks, self._rows)
        _append_rows(self.runs, self._run_rows)
        self._rows, self._run_rows = [], []
        flat, self._pending = self._pending, []
        ev = self.events
        ev["from"] += _codes([e.get("from") for e in flat])
        ev["to"] += _codes([e.get("to") for e in flat])
        ev["at"] += [at if type(at := e.get("at")) is str else None for e in flat]
        ev["reason"] += [e.get("reason") for e in flat]
        ev["actor"] += [a if type(a := e.get("actor")) not in UNHASHABLE else None for e in flat]
        return self

    # -- combining -----------------------------------------------------------------------

    def concat(self, other: Extracts) -> Extracts:
        if not len(other):
            return self
        if not len(self):
            return other
        return Extracts(
            {key: values + other.tracks[key] for key, values in self.tracks.items()},
            {key: values + other.events[key] for key, values in self.events.items()},
            {key: values + other.runs[key] for key, values in self.runs.items()},
            self.cacheable + other.cacheable,
        )

    def take(self, rows: list[int]) -> Extracts:
        """The entries of ``rows``, in that order (itself when that is all of them)."""
        if rows == list(range(len(self))):
            return self
        t = self.tracks
        events = _positions(t["events"], rows)
        runs = _positions(t["runs"], rows)
        return Extracts(
            {key: _pick(values, rows) for key, values in t.items()},
            {key: _pick(values, events) for key, values in self.events.items()},
            {key: _pick(values, runs) for key, values in self.runs.items()},
            _pick(self.cacheable, rows),
        )


def _doc_values(doc: TrackFields | None) -> tuple[Any, ...]:
    """``absent``, the values of DOC_KEYS, the outcome's result and the step counts of a
    track.json (``doc`` None: it has none)."""
    if doc is None:
        return (ALL_ABSENT, *_NO_VALUES, None, 0, 0)
    values = astuple(doc)[: len(DOC_KEYS)]  # TrackFields begins with DOC_KEYS
    absent = 0
    if UNSET in values:
        absent = sum(1 << bit for bit, value in enumerate(values) if value is UNSET)
        values = tuple(None if value is UNSET else value for value in values)
    name, type_, priority, status, *times = values
    result = outcome_result(doc.outcomes)
    return (
        absent,
        name,
        type_ if type(type_) is str else None,
        priority if type(priority) is str else None,
        status_code(status),
        *[value if type(value) is str else None for value in times],
        result if type(result) is str else None,
        *step_counts(doc.steps),
    )


def _append_rows(columns: dict[str, list[Any]], rows: list[tuple[Any, ...]]) -> None:
    if rows:
        for column, values in zip(columns.values(), zip(*rows, strict=True), strict=True):
            column += values


def _codes(values: list[Any]) -> list[int]:
    """Status codes of ``values`` (-1 for anything else), in one pass of dict lookups."""
    try:
        return list(map(STATUS_CODE.get, values, repeat(-1, len(values))))
    except TypeError:  # a list or an object where a status belongs: a damaged file
        return [status_code(value) for value in values]


def signature_now(tracks_dir: str, track_id: str, run_dirs: tuple[str, ...]) -> bytes:
    """The signatures of the files an entry was read from, as they are now, packed one
    after the other as in its ``signature``."""
    folder = f"{tracks_dir}/{track_id}"
    sigs = [
        signature(f"{folder}/track.json"),
        signature(f"{folder}/context/decisions.json"),
        signature(f"{folder}/checkpoints"),
        signature(f"{folder}/workflows"),
    ]
    sigs += [signature(f"{folder}/workflows/{name}/run.json") for name in run_dirs]
    return b"".join(sigs)


def _history(doc: TrackFields | None, data: bytes | None, entry: dict) -> tuple[list[dict], str]:
    """The track's history, and where it comes from: recorded in track.json, else
    reconstructed from its timestamps and the registry entry's, or "missing" when
    track.json cannot be read (from the entry's alone)."""
    if doc is None:
        return reconstruct_history(entry), "missing"
    history = doc.history
    if type(history) is list:
        if not set(map(type, history)) <= {dict}:  # (a loop in C)
            history = [event for event in history if type(event) is dict]
        return history, "recorded"
    # none recorded (the original tool's tracks): one from the timestamps, the entry's
    # too, so the whole document (parse_track kept only the keys read)
    full = parse_json(data)
    return reconstruct_history({**entry, **(full if type(full) is dict else {})}), "reconstructed"


def _pick(values: list[Any], positions: list[int]) -> list[Any]:
    return list(map(values.__getitem__, positions))


def _positions(counts: list[int], rows: list[int]) -> list[int]:
    """Where the values of ``rows`` are, in that order, in a column that has
    ``counts[i]`` values for entry i, entry after entry."""
    sizes = np.asarray(counts, dtype=np.int64)
    picked = np.asarray(rows, dtype=np.int64)
    chosen = sizes[picked]
    first = (np.cumsum(sizes) - sizes)[picked]  # where each chosen entry's values start
    offsets = np.cumsum(chosen) - chosen  # and where they go
    return (np.repeat(first - offsets, chosen) + np.arange(int(chosen.sum()))).tolist()
