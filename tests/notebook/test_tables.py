"""The listing frames are built column by column for speed; each must equal the frame the
plain pandas construction gives (kept here as the reference), for any registry entries."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conductor_nb.notebook import tables
from conductor_nb.vocab import Priority, TrackStatus, TrackType


def reference_tracks_frame(entries: list[dict[str, Any]]) -> pd.DataFrame:
    """``tracks_frame`` as pandas builds it unaided: the definition the fast one must meet."""
    progress = [entry.get("progress") or {} for entry in entries]
    text = None if entries else object
    columns = {
        "track_id": pd.Series([e.get("track_id") for e in entries], dtype=text),
        "name": pd.Series([e.get("name") for e in entries], dtype=text),
        **{
            key: pd.Series([e.get(key) for e in entries], dtype=object).map(
                lambda v, dtype=dtype: v if v in dtype.categories else None
            )
            for key, dtype in (
                ("status", tables.STATUS_DTYPE),
                ("type", tables.TYPE_DTYPE),
                ("priority", tables.PRIORITY_DTYPE),
            )
        },
        "progress": pd.array([float(p.get("percentage") or 0) for p in progress], "float64"),
        "completed_steps": pd.array(
            [int(p.get("completed_steps") or 0) for p in progress], "int64"
        ),
        "total_steps": pd.array([int(p.get("total_steps") or 0) for p in progress], "int64"),
    }
    frame = pd.DataFrame(columns, columns=tables.TRACK_COLUMNS[:8])
    for key, dtype in (
        ("status", tables.STATUS_DTYPE),
        ("type", tables.TYPE_DTYPE),
        ("priority", tables.PRIORITY_DTYPE),
    ):
        frame[key] = frame[key].astype(dtype)
    for key in tables.TRACK_COLUMNS[8:]:
        frame[key] = pd.array([instant(e.get(key)) for e in entries], dtype=tables.TIME_DTYPE)
    return frame.set_index("track_id")


def instant(value: Any) -> pd.Timestamp:
    """One timestamp as pandas reads it alone, to the microsecond; NaT if it is not text."""
    if not isinstance(value, str):
        return pd.NaT
    text = re.sub(r"(\.\d{6})\d+", r"\1", value)
    parsed = pd.to_datetime(pd.Series([text]), utc=True, errors="coerce", format="ISO8601")
    return parsed.astype(tables.TIME_DTYPE)[0]


ENGINE_TIMES = st.builds(
    lambda d, frac: d.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z",
    st.datetimes(),
    st.sampled_from(["", ".5", ".123", ".123456", ".123456789"]),
)
# What else a hand-edited or foreign registry holds: other shapes of time, impossible
# dates, offsets, text and values that are not text at all.
OTHER_TIMES = st.one_of(
    st.none(),
    st.just(""),
    st.sampled_from(
        [
            "2025-11-25",
            "2025-11-25T10:15Z",
            "2025-11-25T10:15:00+02:00",
            "2025-11-25 10:15:00Z",
            "2025-02-30T10:15:00Z",
            "2025-11-25T24:00:00Z",
            "+12025-11-25T10:15:00Z",
            "2025-11-25T1:15:00Z",
            "2025-11-25T10:15:00,5Z",
            "nowZ",
            "NaT",
            "2025-11-25T10:15:00Z\n2025-11-25T10:15:00Z",
        ]
    ),
    st.text(max_size=25),
    st.integers(),
)
TIMES = st.one_of(ENGINE_TIMES, OTHER_TIMES)


def choices(enum: type) -> st.SearchStrategy:
    return st.one_of(st.sampled_from([m.value for m in enum]), st.none(), st.text(max_size=8))


ENTRIES = st.lists(
    st.fixed_dictionaries(
        {"track_id": st.text(min_size=1, max_size=12)},
        optional={
            "name": st.one_of(st.text(max_size=20), st.none()),
            "status": choices(TrackStatus),
            "type": choices(TrackType),
            "priority": choices(Priority),
            "progress": st.fixed_dictionaries(
                {},
                optional={
                    "percentage": st.one_of(st.floats(0, 100), st.none()),
                    "completed_steps": st.integers(0, 50),
                    "total_steps": st.integers(0, 50),
                },
            ),
            **dict.fromkeys(tables.TRACK_COLUMNS[8:], TIMES),
        },
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(ENTRIES)
def test_tracks_frame_equals_the_plain_pandas_frame(entries) -> None:
    pd.testing.assert_frame_equal(tables.tracks_frame(entries), reference_tracks_frame(entries))


@settings(max_examples=300, deadline=None)
@given(st.lists(TIMES, max_size=12))
def test_times_are_read_as_pandas_reads_iso_8601(values) -> None:
    expected = pd.array([instant(value) for value in values], dtype=tables.TIME_DTYPE)
    pd.testing.assert_extension_array_equal(tables._instants(values), expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-11-25T10:15:00.123Z", "2025-11-25 10:15:00.123+00:00"),
        ("2025-11-25T10:15:00+02:00", "2025-11-25 08:15:00+00:00"),
        ("2025-02-30T10:15:00Z", None),
        ("+12025-11-25T10:15:00Z", None),
        ("2263-01-01T00:00:00.123456789Z", "2263-01-01 00:00:00.123456+00:00"),
        (None, None),
        (1764065700, None),
    ],
)
def test_a_time_reads_as_its_utc_instant_or_nat(text, expected) -> None:
    (got,) = tables._instants([text])
    assert (got is pd.NaT) if expected is None else got == pd.Timestamp(expected)


def test_a_time_reads_the_same_whatever_is_read_beside_it() -> None:
    far, nanoseconds = "5938-07-01T22:07:26.123Z", "2025-11-25T10:15:00.123456789Z"
    together = tables._instants([nanoseconds, far])
    assert list(together) == [*tables._instants([nanoseconds]), *tables._instants([far])]
    assert together[1] == pd.Timestamp("5938-07-01 22:07:26.123", tz="UTC")
