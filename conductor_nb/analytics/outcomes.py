"""Did an archived track succeed? One rule, ``archived_outcome``, that the frames,
``%track stats`` and its summary all apply.

Archiving keeps no outcome of its own (a completed or a cancelled track can be archived),
so the rule reads what the track recorded, most trusted first:

1. its history: the last closed status (completed, failed, cancelled) it entered, at a
   readable time; the history orders events, so a stale ``completed_at`` left on a track
   that was later cancelled does not count;
2. else ``outcomes.result`` in track.json (success, failed or cancelled);
3. else its timestamps: ``completed_at``, then ``cancelled_at``;
4. else nothing tells: None (counted neither as a success nor as a failure).

A registry entry has no history and no outcomes, so ``%track stats`` reads the track.json
of each archived track (``read_archived_outcomes``), the entry standing in for the keys
track.json lacks and a history made from their timestamps when it records none: what the
frames read (``loading``, ``extracts``).

No pandas here; numpy only for the frames' arrays.
"""

from __future__ import annotations

import functools
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from itertools import product, repeat
from typing import Any

from ..tracks import parse_time, reconstruct_history
from .reading import STATUS_CODE, parse_json, read_bytes

__all__ = [
    "OUTCOMES",
    "RESULT_OUTCOMES",
    "archived_outcome",
    "archived_outcome_codes",
    "outcome_before_archiving",
    "read_archived_outcomes",
]

OUTCOMES = ("completed", "failed", "cancelled")
# outcomes.result in track.json, as the status it stands for
RESULT_OUTCOMES = {"success": "completed", "failed": "failed", "cancelled": "cancelled"}


def archived_outcome(
    last_closed: str | None, result: Any, completed_at: bool, cancelled_at: bool
) -> str | None:
    """The outcome an archived track had: ``last_closed`` (the last closed status its
    history entered), else ``result`` (outcomes.result), else ``completed_at`` /
    ``cancelled_at`` (whether it has a readable one); None when none of them tells."""
    if last_closed in OUTCOMES:
        return last_closed
    if type(result) is str and result in RESULT_OUTCOMES:
        return RESULT_OUTCOMES[result]
    if completed_at:
        return "completed"
    if cancelled_at:
        return "cancelled"
    return None


def outcome_before_archiving(track: Any, entry: Mapping[str, Any]) -> str | None:
    """``archived_outcome`` of a parsed track.json (anything but a dict: unreadable) and
    its registry entry, reading them as the frames do."""
    doc = track if type(track) is dict else None
    merged = {**entry, **(doc or {})}  # track.json's values, the entry's where it has none
    history = doc.get("history") if doc is not None else None
    if type(history) is not list:
        history = reconstruct_history(merged)
    last_closed = None
    for event in history:
        if type(event) is dict and event.get("to") in OUTCOMES and _readable(event.get("at")):
            last_closed = event["to"]
    outcomes = doc.get("outcomes") if doc is not None else None
    return archived_outcome(
        last_closed,
        outcomes.get("result") if type(outcomes) is dict else None,
        _readable(merged.get("completed_at")),
        _readable(merged.get("cancelled_at")),
    )


def _readable(value: Any) -> bool:
    """Whether ``value`` is a time (ISO 8601, as the frames' parser reads it too)."""
    return type(value) is str and parse_time(value) is not None


def read_archived_outcomes(
    root: str | os.PathLike[str], entries: Iterable[Mapping[str, Any]]
) -> Counter[str | None]:
    """How many of these archived tracks (registry entries of ``root``) ended in each
    outcome (None: unknown), from their track.json files."""
    counts: Counter[str | None] = Counter()
    for entry in entries:
        data, _ = read_bytes(f"{os.fspath(root)}/tracks/{entry.get('track_id')}/track.json")
        counts[outcome_before_archiving(parse_json(data), entry)] += 1
    return counts


# -- the same rule over arrays, for the frames -------------------------------------------

_LAST_CLOSED = (None, *OUTCOMES)
_RESULTS = (None, *RESULT_OUTCOMES)


@functools.cache
def _table() -> Any:
    """``archived_outcome``'s answer (a status code, -1 for None) for every combination
    of its inputs, indexed by their positions in _LAST_CLOSED, _RESULTS and two flags."""
    import numpy as np

    table = np.full((len(_LAST_CLOSED), len(_RESULTS), 2, 2), -1, dtype=np.int8)
    for (i, last), (j, result), completed, cancelled in product(
        enumerate(_LAST_CLOSED), enumerate(_RESULTS), (0, 1), (0, 1)
    ):
        outcome = archived_outcome(last, result, bool(completed), bool(cancelled))
        table[i, j, completed, cancelled] = -1 if outcome is None else STATUS_CODE[outcome]
    return table


def archived_outcome_codes(
    last_closed: Any, results: list[Any], completed_at: Any, cancelled_at: Any
) -> Any:
    """``archived_outcome`` over arrays: ``last_closed`` status codes (-1: none), the
    ``results`` (str or None), and boolean arrays; status codes out (-1: none tells)."""
    import numpy as np

    by_code = np.zeros(len(STATUS_CODE) + 1, dtype=np.intp)  # status code + 1 -> position
    for position, name in enumerate(OUTCOMES, start=1):
        by_code[STATUS_CODE[name] + 1] = position
    last = by_code[np.asarray(last_closed, dtype=np.intp) + 1]
    by_result = {name: position for position, name in enumerate(_RESULTS) if name}
    result = np.fromiter(map(by_result.get, results, repeat(0)), np.intp, len(results))
    completed = np.asarray(completed_at, dtype=np.intp)
    cancelled = np.asarray(cancelled_at, dtype=np.intp)
    return _table()[last, result, completed, cancelled]
