"""A track's metrics (active time, pauses) come from its history; each save resumes the
scan of the same track's history where the last one ended, and must give what a full
scan gives, whatever was appended, edited, cut or damaged in between."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from conductor_nb import tracks
from conductor_nb.tracks import TrackStatus, active_intervals, compute_metrics

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
STATUSES = [s.value for s in TrackStatus]


def reference_metrics(track: dict, now: datetime) -> dict:
    """compute_metrics as a plain full scan (the code before the scan was resumable)."""
    metrics = dict(track.get("metrics") or {})
    started = tracks.parse_time(track.get("started_at"))
    if started is not None:
        status = track.get("status")
        end = tracks._end_time(track) if status not in ("active", "paused") else None
        metrics["total_duration_ms"] = max(0, int(((end or now) - started).total_seconds() * 1000))
    active_ms = sum((b - a).total_seconds() for a, b in active_intervals(track, now)) * 1000
    metrics["active_duration_ms"] = max(0, int(active_ms))
    history = track.get("history", [])
    pauses = sum(1 for e in history if isinstance(e, dict) and e.get("to") == "paused")
    if not history and track.get("paused_at"):
        pauses = 1
    metrics["pause_count"] = pauses
    return metrics


def _at(minutes: int) -> str:
    return (NOW - timedelta(minutes=minutes)).isoformat(timespec="milliseconds")


events = st.one_of(
    st.builds(
        lambda to, minutes: {"from": "x", "to": to, "at": _at(minutes)},
        st.sampled_from(STATUSES),
        st.integers(0, 10_000),
    ),
    st.builds(lambda to: {"to": to, "at": "not a time"}, st.sampled_from(STATUSES)),
    st.builds(lambda to: {"to": to}, st.sampled_from(STATUSES)),
    st.sampled_from([None, "damaged", 3, ["a", "list"]]),
)
edits = st.one_of(
    st.tuples(st.just("append"), st.lists(events, min_size=1, max_size=4)),
    st.tuples(st.just("replace"), st.integers(0, 50), events),
    st.tuples(st.just("retime"), st.integers(0, 50), st.integers(0, 10_000)),
    st.tuples(st.just("cut"), st.integers(0, 50)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(edits, max_size=25), st.sampled_from(["track-a", "track-b", None]))
def test_resumed_scans_give_what_a_full_scan_gives(steps, track_id) -> None:
    track = {"track_id": track_id, "status": "active", "started_at": _at(20_000), "history": []}
    for step in steps:
        history = track["history"]
        if step[0] == "append":
            history.extend(step[1])
        elif step[0] == "replace" and history:
            history[step[1] % len(history)] = step[2]
        elif step[0] == "retime" and history and isinstance(history[step[1] % len(history)], dict):
            history[step[1] % len(history)]["at"] = _at(step[2])  # edited in place
        elif step[0] == "cut":
            del history[step[1] :]
        assert compute_metrics(track, NOW) == reference_metrics(track, NOW)


def test_a_track_without_history_counts_from_its_timestamps() -> None:
    track = {"track_id": "track-c", "status": "paused", "started_at": _at(90), "paused_at": _at(30)}
    assert compute_metrics(track, NOW) == reference_metrics(track, NOW)
    assert compute_metrics(track, NOW)["pause_count"] == 1


def test_a_long_history_is_scanned_once_then_only_its_new_events(monkeypatch) -> None:
    """Saving a track with a long history reads only the events added since its last save
    (a full scan reads the time of each of its 500)."""
    history = [{"to": "active" if k % 2 else "paused", "at": _at(5000 - k)} for k in range(500)]
    track = {"track_id": "track-long", "status": "active", "history": history}
    compute_metrics(track, NOW)
    history.append({"to": "paused", "at": _at(1)})
    parse = tracks.parse_time
    read: list[object] = []
    monkeypatch.setattr(tracks, "parse_time", lambda value: read.append(value) or parse(value))
    metrics = compute_metrics(track, NOW)
    assert _at(1) in read and len(read) <= 3
    monkeypatch.undo()
    assert metrics == reference_metrics(track, NOW)
