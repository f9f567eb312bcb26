"""Facts the analytics declare once: the Wilson interval (one formula for one count and
for arrays, pinned to values computed by hand), whether an archived track succeeded
(``analytics.outcomes``), one datetime unit for every DataFrame, and the layering
(the analytics never import the notebook layer)."""

from __future__ import annotations

import ast
import json
import math
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import conductor_nb
from conductor_nb import analytics
from conductor_nb.analytics.outcomes import (
    archived_outcome,
    archived_outcome_codes,
    outcome_before_archiving,
    read_archived_outcomes,
)
from conductor_nb.analytics.reading import STATUS_CODE
from conductor_nb.analytics.stats import wilson, wilson_arrays
from conductor_nb.notebook import tables

PACKAGE = Path(conductor_nb.__file__).parent

# -- the Wilson interval -------------------------------------------------------------------

# (successes, total, confidence) -> (low, high), worked out independently of the code:
# the interval is where (p^ - p)^2 = z^2 p (1 - p) / n, so its ends are the roots of
# (1 + z^2/n) p^2 - (2 p^ + z^2/n) p + p^2 = 0, with z = 1.959964 (95%) or 1.644854 (90%).
# E.g. 3 of 5: 1.768292 p^2 - 1.968292 p + 0.36 = 0, so p = 0.230724 or 0.882379.
HAND_COMPUTED = [
    (3, 5, 0.95, (0.230724, 0.882379)),
    (8, 10, 0.95, (0.490162, 0.943318)),
    (0, 10, 0.95, (0.0, 0.277533)),
    (10, 10, 0.95, (0.722467, 1.0)),
    (0, 5, 0.95, (0.0, 0.434482)),
    (1, 2, 0.95, (0.094531, 0.905469)),
    (8, 10, 0.90, (0.540793, 0.931442)),
]


@pytest.mark.parametrize(("k", "n", "confidence", "expected"), HAND_COMPUTED)
def test_wilson_interval_matches_hand_computed_values(k, n, confidence, expected) -> None:
    assert wilson(k, n, confidence) == pytest.approx(expected, abs=1e-6)


def test_the_array_interval_is_the_same_formula_as_the_scalar_one() -> None:
    """Every hand-computed case at once through ``wilson_arrays``, and a total of 0 gives
    NaN in both."""
    for confidence in (0.90, 0.95):
        cases = [case for case in HAND_COMPUTED if case[2] == confidence]
        k = np.array([case[0] for case in cases])
        n = np.array([case[1] for case in cases])
        rate, low, high = wilson_arrays(k, n, confidence)
        assert rate == pytest.approx(k / n)
        assert list(zip(low, high, strict=True)) == [
            pytest.approx(case[3], abs=1e-6) for case in cases
        ]
    rate, low, high = wilson_arrays(np.array([0]), np.array([0]))
    assert np.isnan([rate[0], low[0], high[0]]).all()
    assert all(math.isnan(v) for v in wilson(0, 0))


def test_only_stats_writes_the_wilson_formula() -> None:
    """No second Wilson formula anywhere in the package: only ``stats`` computes it."""
    hits = [
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if "(1 + z2n)" in path.read_text() or "z * z /" in path.read_text()
    ]
    assert hits == ["analytics/stats.py"]


# -- did an archived track succeed ---------------------------------------------------------

RULE = [
    # (last closed status in the history, outcomes.result, completed_at, cancelled_at)
    (("cancelled", None, True, False), "cancelled"),  # history beats a stale completed_at
    (("completed", "failed", False, True), "completed"),  # history beats the result
    (("failed", None, True, True), "failed"),
    ((None, "success", False, True), "completed"),  # then outcomes.result
    ((None, "failed", True, False), "failed"),
    ((None, "cancelled", True, False), "cancelled"),
    ((None, "bogus", True, True), "completed"),  # then completed_at, then cancelled_at
    ((None, None, False, True), "cancelled"),
    ((None, None, False, False), None),  # nothing tells
]


@pytest.mark.parametrize(("inputs", "expected"), RULE)
def test_archived_outcome_reads_history_then_result_then_timestamps(inputs, expected) -> None:
    assert archived_outcome(*inputs) == expected


def test_the_array_form_gives_the_rule_s_answers() -> None:
    """``archived_outcome_codes`` (the frames') answers every case of the rule alike."""
    last = [STATUS_CODE[c[0][0]] if c[0][0] else -1 for c in RULE]
    codes = archived_outcome_codes(
        np.array(last, dtype=np.int8),
        [c[0][1] for c in RULE],
        np.array([c[0][2] for c in RULE]),
        np.array([c[0][3] for c in RULE]),
    )
    names = [None if code < 0 else list(STATUS_CODE)[code] for code in codes]
    assert names == [expected for _, expected in RULE]


T = "2026-01-0{}T10:00:00.000Z"


def _event(to: str, day: int, source: str | None = None) -> dict:
    return {"from": source, "to": to, "at": T.format(day), "reason": None, "actor": "me"}


def test_outcome_before_archiving_from_track_json_and_registry_entry() -> None:
    entry = {"track_id": "track-a", "created_at": T.format(1), "completed_at": T.format(3)}
    cancelled_later = {
        "completed_at": T.format(3),
        "history": [_event("draft", 1), _event("cancelled", 4), _event("archived", 5)],
    }
    assert outcome_before_archiving(cancelled_later, entry) == "cancelled"
    unreadable_time = {"history": [{"to": "failed", "at": "yesterday"}], "cancelled_at": None}
    assert outcome_before_archiving(unreadable_time, entry) == "completed"  # the entry's
    with_result = {"history": [_event("archived", 5)], "outcomes": {"result": "failed"}}
    assert outcome_before_archiving(with_result, entry) == "failed"
    # no history recorded: one from the timestamps (the entry's where track.json has none)
    legacy = {"created_at": T.format(1), "cancelled_at": T.format(4)}
    assert outcome_before_archiving(legacy, entry) == "cancelled"
    assert outcome_before_archiving(None, entry) == "completed"  # track.json unreadable
    assert outcome_before_archiving([1, 2], {"track_id": "track-b"}) is None


def test_read_archived_outcomes_counts_from_the_files(tmp_path: Path) -> None:
    root = tmp_path / "conductor"
    docs = {
        "track-one": {"history": [_event("completed", 2), _event("archived", 3)]},
        "track-two": {"history": [_event("failed", 2), _event("cancelled", 3)]},
        "track-three": None,  # no track.json, and nothing in its entry
    }
    for track_id, doc in docs.items():
        if doc is not None:
            (root / "tracks" / track_id).mkdir(parents=True)
            (root / "tracks" / track_id / "track.json").write_text(json.dumps(doc))
    counts = read_archived_outcomes(root, [{"track_id": track_id} for track_id in docs])
    assert counts == {"completed": 1, "cancelled": 1, None: 1}


# -- one datetime unit ---------------------------------------------------------------------


def test_listing_tables_and_analytics_frames_use_one_datetime_unit(tmp_path: Path) -> None:
    entry = {
        "track_id": "track-a",
        "name": "A",
        "status": "draft",
        "type": "feature",
        "priority": "P2",
        "created_at": "2026-01-15T10:00:00.123Z",
    }
    listing = tables.tracks_frame([entry])
    frame = analytics.tracks(tmp_path / "empty", now=datetime(2026, 2, 1, tzinfo=UTC))
    assert listing["created_at"].dtype == frame["created_at"].dtype == tables.TIME_DTYPE
    assert str(listing["completed_at"].dtype) == "datetime64[us, UTC]"  # even all NaT
    assert listing["created_at"].iloc[0] == pd.Timestamp("2026-01-15T10:00:00.123Z")


# -- layers --------------------------------------------------------------------------------


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_analytics_never_import_the_notebook_layer() -> None:
    """The notebook builds on the analytics, not the other way round (charts takes its
    colours from ``conductor_nb.colours``)."""
    reaching_up = {
        path.name: sorted(name for name in _imports(path) if "notebook" in name)
        for path in (PACKAGE / "analytics").glob("*.py")
    }
    assert {name: found for name, found in reaching_up.items() if found} == {}
