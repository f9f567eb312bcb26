"""conductor_nb.analytics: frames checked against hand-computed expectations (durations,
success rates and Wilson intervals, flow, overruns, paths, runs), daylight-saving
changes and time-zone offsets, tracks without history, several roots, the demo
generator and the CLI commands; the column cache (the same frames, every change seen,
damaged caches ignored) and damaged files."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import zstandard
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from conductor_nb import analytics
from conductor_nb.analytics import cache as column_cache
from conductor_nb.analytics import loading, reading
from conductor_nb.analytics.report import summary_text
from conductor_nb.cli import main
from conductor_nb.engine import Engine
from conductor_nb.errors import InvalidInput
from conductor_nb.store import files

H = pd.Timedelta(hours=1)
D = pd.Timedelta(days=1)
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def eng(root: Path, clock) -> Engine:
    return Engine(root, clock=clock)


def _complete(engine: Engine, clock, name: str, *, days: float = 1, **create) -> None:
    engine.create(name, **create)
    clock.advance(hours=1)
    engine.transition(name, "activate")
    clock.advance(days=days)
    engine.transition(name, "complete")
    clock.advance(minutes=5)


# -- durations ---------------------------------------------------------------------------


def test_two_days_active_one_paused_one_more_active_then_completed(eng, clock, root) -> None:
    """Active 2 days, paused 1, active 1 more, completed: cycle time 4 days, active time
    3 days; lead time adds the hour it waited in draft; a later `now` changes nothing."""
    eng.create("Hand timed track", type="feature")
    clock.advance(hours=1)
    eng.transition("Hand timed track", "activate")
    clock.advance(days=2)
    eng.transition(None, "pause", reason="waiting for review")
    clock.advance(days=1)
    eng.transition("Hand timed track", "resume")
    clock.advance(days=1)
    eng.transition(None, "complete")
    done = clock.now
    for later in (timedelta(0), timedelta(days=30)):
        row = analytics.tracks(root, now=done + later).iloc[0]
        assert row["cycle_time"] == 4 * D
        assert row["active_time"] == 3 * D
        assert row["time_paused"] == 1 * D
        assert row["lead_time"] == 4 * D + H
        assert row["time_draft"] == H and row["time_ready"] == pd.Timedelta(0)
        assert row["elapsed"] == 4 * D
        assert row["outcome"] == "completed" and row["pauses"] == 1 and row["retries"] == 0
        assert row["done_at"] == pd.Timestamp(done)
        assert row["history"] == "recorded"


def test_transitions_frame_has_one_row_per_history_event(eng, clock, root) -> None:
    """Each event with how long the new status lasted: until the next event, or NaT after
    the last (closed) one."""
    eng.create("Hand timed track")
    clock.advance(hours=1)
    eng.transition("Hand timed track", "activate")
    clock.advance(days=2)
    eng.transition(None, "pause", reason="waiting for review")
    clock.advance(days=1)
    eng.transition("Hand timed track", "resume")
    clock.advance(days=1)
    eng.transition(None, "complete")
    frame = analytics.transitions(root, now=clock.now)
    assert list(frame["to"]) == ["draft", "ready", "active", "paused", "active", "completed"]
    assert list(frame["from"].astype(object).fillna("-")) == [
        "-", "draft", "ready", "active", "paused", "active",
    ]  # fmt: skip
    assert list(frame["seq"]) == [0, 1, 2, 3, 4, 5]
    assert list(frame["time_in_status"][:5]) == [H, pd.Timedelta(0), 2 * D, D, D]
    assert pd.isna(frame["time_in_status"].iloc[5])
    assert frame["reason"].iloc[3] == "waiting for review"
    assert str(frame["at"].dt.tz) == "UTC"


def test_open_track_is_measured_up_to_now(eng, clock, root) -> None:
    """A track active 1 day, then paused: 2 days later its elapsed time is 3 days, its
    active time 1 day, its paused time 2 days; it has no outcome, lead or cycle time."""
    eng.create("Still open track", type="bugfix")
    eng.transition("Still open track", "activate")
    clock.advance(days=1)
    eng.transition(None, "pause")
    row = analytics.tracks(root, now=clock.now + timedelta(days=2)).iloc[0]
    assert row["elapsed"] == 3 * D and row["active_time"] == D and row["time_paused"] == 2 * D
    assert pd.isna(row["outcome"]) and pd.isna(row["cycle_time"]) and pd.isna(row["lead_time"])
    assert row["status"] == "paused"


def test_retry_counts_and_outcome_is_the_last_closed_status(eng, clock, root) -> None:
    """Failed, retried (back to draft), then completed: one retry, outcome completed, done
    at the completion, cycle time from the first activation."""
    eng.create("Second attempt track")
    eng.transition("Second attempt track", "activate")
    clock.advance(days=1)
    eng.transition(None, "fail", reason="tests keep failing")
    clock.advance(days=1)
    eng.transition("Second attempt track", "retry")
    clock.advance(days=1)
    eng.transition("Second attempt track", "activate")
    clock.advance(days=1)
    eng.transition(None, "complete")
    row = analytics.tracks(root, now=clock.now).iloc[0]
    assert row["retries"] == 1 and row["outcome"] == "completed"
    assert row["cycle_time"] == 4 * D and row["active_time"] == 2 * D
    assert row["time_failed"] == D and row["time_draft"] == D


# -- daylight saving and time zones ------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "hours"),
    [
        # Paris goes from +01:00 to +02:00 at 02:00 on 2026-03-29: noon to noon is 23 h
        (datetime(2026, 3, 28, 12, tzinfo=PARIS), datetime(2026, 3, 29, 12, tzinfo=PARIS), 23),
        # and back at 03:00 on 2026-10-25: noon to noon is 25 h
        (datetime(2026, 10, 24, 12, tzinfo=PARIS), datetime(2026, 10, 25, 12, tzinfo=PARIS), 25),
        # across the night of the change, 01:30 to 03:30 local is one hour
        (datetime(2026, 3, 29, 1, 30, tzinfo=PARIS), datetime(2026, 3, 29, 3, 30, tzinfo=PARIS), 1),
    ],
)
def test_durations_across_daylight_saving_are_exact_hours(root, clock, start, end, hours) -> None:
    """The engine runs on a Europe/Paris clock; durations are differences of UTC instants,
    so a day across a DST change is 23 or 25 hours, never 24."""
    engine = Engine(root, clock=clock)
    clock.now = start
    engine.create("Daylight saving track")
    engine.transition("Daylight saving track", "activate")
    clock.now = end
    engine.transition(None, "complete")
    row = analytics.tracks(root, now=end).iloc[0]
    assert row["cycle_time"] == pd.Timedelta(hours=hours)
    assert row["active_time"] == pd.Timedelta(hours=hours)
    assert row["started_at"] == pd.Timestamp(start).tz_convert("UTC")
    assert row["done_at"].tz is not None and str(row["done_at"].tz) == "UTC"


def test_timestamps_with_offsets_are_read_as_instants(eng, clock, root) -> None:
    """History written with offsets (+01:00, -05:00, +05:30, Z, none = UTC) gives durations
    between the instants: 09:00Z created, 09:30Z ready and active, done 24 h later."""
    eng.create("Offset track")
    path = root / "tracks" / eng.entry("Offset track")["track_id"] / "track.json"
    track = json.loads(path.read_text())
    track["status"] = "completed"
    track["history"] = [
        {"from": None, "to": "draft", "at": "2026-03-01T10:00:00+01:00"},  # 09:00Z
        {"from": "draft", "to": "ready", "at": "2026-03-01T04:30:00-05:00"},  # 09:30Z
        {"from": "ready", "to": "active", "at": "2026-03-01T15:00:00.000+05:30"},  # 09:30Z
        {"from": "active", "to": "completed", "at": "2026-03-02T09:30:00"},  # no offset: UTC
    ]
    track["created_at"] = "2026-03-01T10:00:00+01:00"
    path.write_text(files.dumps(track))
    _set_registry_status(root, track["track_id"], "completed")
    row = analytics.tracks(root, now=datetime(2026, 3, 5, tzinfo=UTC)).iloc[0]
    assert row["created_at"] == pd.Timestamp("2026-03-01T09:00Z")
    assert row["time_draft"] == pd.Timedelta(minutes=30)
    assert row["cycle_time"] == 24 * H and row["lead_time"] == 24 * H + pd.Timedelta(minutes=30)
    frame = analytics.transitions(root, now=datetime(2026, 3, 5, tzinfo=UTC))
    assert list(frame["at"].dt.strftime("%H:%M")) == ["09:00", "09:30", "09:30", "09:30"]


def _set_registry_status(root: Path, track_id: str, status: str) -> None:
    path = root / "tracks" / "track-registry.json"
    registry = json.loads(path.read_text())
    registry["tracks"][track_id]["status"] = status
    path.write_text(files.dumps(registry))


# -- tracks written by the original tool -------------------------------------------------


def _legacy_root(base: Path) -> Path:
    """A tree in the original tool's format: no history in track.json, and one registry
    entry whose track.json is gone."""
    root = base / "legacy" / "conductor"
    tracks = {
        "track-old-feature-1": {
            "name": "Old feature",
            "type": "feature",
            "status": "completed",
            "created_at": "2026-03-28T10:00:00.000Z",
            "started_at": "2026-03-28T12:00:00.000Z",
            "completed_at": "2026-03-30T12:00:00.000Z",
        },
        "track-old-bugfix-2": {
            "name": "Old bugfix",
            "type": "bugfix",
            "status": "paused",
            "created_at": "2026-03-01T00:00:00.000Z",
            "started_at": "2026-03-01T00:00:00.000Z",
            "paused_at": "2026-03-02T00:00:00.000Z",
        },
        "track-lost-file-3": {
            "name": "Lost file",
            "type": "refactor",
            "status": "draft",
            "created_at": "2026-03-03T00:00:00.000Z",
        },
    }
    entries = {}
    for track_id, fields in tracks.items():
        doc = {"track_id": track_id, "priority": "P2", "updated_at": fields["created_at"]}
        doc.update(fields)
        entries[track_id] = {**doc, "path": track_id}
        if track_id != "track-lost-file-3":
            folder = root / "tracks" / track_id
            folder.mkdir(parents=True)
            (folder / "track.json").write_text(files.dumps(doc))
    registry = {"version": "1.0", "active_track": None, "tracks": entries, "metadata": {}}
    (root / "tracks" / "track-registry.json").write_text(files.dumps(registry))
    return root


def test_tracks_without_history_get_the_durations_their_timestamps_allow(tmp_path) -> None:
    """No history: one is reconstructed from the timestamps (cycle time 2 days, lead
    time 2 days 2 h; paused for 3 days up to now); a missing track.json still gives a
    row, from the registry entry."""
    root = _legacy_root(tmp_path)
    a = analytics.load(root, now=datetime(2026, 3, 5, tzinfo=UTC))
    frame = a.tracks().set_index("track_id")
    old = frame.loc["track-old-feature-1"]
    assert old["history"] == "reconstructed"
    assert old["cycle_time"] == 2 * D and old["lead_time"] == 2 * D + 2 * H
    assert old["outcome"] == "completed"
    paused = frame.loc["track-old-bugfix-2"]
    assert paused["active_time"] == D and paused["time_paused"] == 3 * D
    assert paused["elapsed"] == 4 * D and paused["pauses"] == 1
    lost = frame.loc["track-lost-file-3"]
    assert lost["history"] == "missing" and lost["name"] == "Lost file"
    assert lost["created_at"] == pd.Timestamp("2026-03-03T00:00Z")
    assert a.summary()["reconstructed_histories"] == 3
    # the paused bugfix is 4 days in, over the bugfix range of 1-5 days? no: not yet
    assert a.overruns().empty
    later = analytics.overruns(root, now=datetime(2026, 3, 9, tzinfo=UTC))
    assert list(later["track_id"]) == ["track-old-bugfix-2"] and later["open"].item()


def test_the_original_tools_fixture_tree_loads(seed_root) -> None:
    """The Node.js tool's own tree: every track appears; the timestamps give the durations
    (user authentication: 05:19:56.350 to 05:20:06.809)."""
    a = analytics.load(seed_root, now=datetime(2026, 11, 26, tzinfo=UTC))
    frame = a.tracks().set_index("track_id")
    assert len(frame) == 9 and set(frame["history"]) == {"reconstructed"}
    auth = frame.loc["track-user-authentication-1795583994454"]
    assert auth["cycle_time"] == pd.Timedelta(seconds=10.459)
    archived = frame.loc["track-release-1-0-checklist-1795583995935"]
    assert archived["status"] == "archived" and archived["outcome"] == "completed"


# -- success rates -----------------------------------------------------------------------


@pytest.fixture
def small_history(eng, clock, root) -> Path:
    """Features: 2 completed in March, 1 completed in April (archived in May), 1 failed
    in April. Bugfixes: 1 completed and 1 cancelled in April. One feature still open."""
    clock.now = datetime(2026, 3, 2, 9, tzinfo=UTC)
    _complete(eng, clock, "Feature A", type="feature", priority="P1")
    _complete(eng, clock, "Feature B", type="feature", priority="P2")
    clock.now = datetime(2026, 4, 6, 9, tzinfo=UTC)
    _complete(eng, clock, "Feature C", type="feature", priority="P2")
    eng.create("Feature D", type="feature", priority="P1")
    eng.transition("Feature D", "activate")
    clock.advance(days=2)
    eng.transition(None, "fail", reason="too risky")
    _complete(eng, clock, "Bugfix E", type="bugfix", priority="P1")
    eng.create("Bugfix F", type="bugfix", priority="P3")
    clock.advance(days=1)
    eng.transition("Bugfix F", "cancel", reason="duplicate")
    eng.create("Feature G (open)", type="feature")
    clock.now = datetime(2026, 5, 4, 9, tzinfo=UTC)
    eng.transition("Feature C", "archive")
    return root


def test_success_rates_and_wilson_intervals_by_type(small_history) -> None:
    """feature 3/4 (an archived track counts as the completion it was), bugfix 1/2;
    intervals are the published Wilson 95% values: 3/4 -> [0.3006, 0.9544],
    1/2 -> [0.0945, 0.9055]; the open track is not counted."""
    frame = analytics.success(small_history, "type", now=datetime(2026, 5, 5, tzinfo=UTC))
    frame = frame.set_index("type")
    assert list(frame.index) == ["feature", "bugfix"]
    assert frame.loc["feature", ["completed", "failed", "cancelled", "closed"]].tolist() == [
        3, 1, 0, 4,
    ]  # fmt: skip
    assert frame.loc["bugfix", ["completed", "failed", "cancelled", "closed"]].tolist() == [
        1, 0, 1, 2,
    ]  # fmt: skip
    assert frame.loc["feature", "success_rate"] == 0.75
    assert frame.loc["feature", "ci_low"] == pytest.approx(0.3006, abs=1e-4)
    assert frame.loc["feature", "ci_high"] == pytest.approx(0.9544, abs=1e-4)
    assert frame.loc["bugfix", "success_rate"] == 0.5
    assert frame.loc["bugfix", "ci_low"] == pytest.approx(0.0945, abs=1e-4)
    assert frame.loc["bugfix", "ci_high"] == pytest.approx(0.9055, abs=1e-4)


def test_success_overall_by_month_and_by_priority(small_history) -> None:
    """Overall 4/6 -> [0.3000, 0.9032]; by month of completion (the archive in May does
    not move Feature C): March 2/2 -> [0.3424, 1], April 2/4 -> [0.1500, 0.8500]."""
    a = analytics.load(small_history, now=datetime(2026, 5, 5, tzinfo=UTC))
    overall = a.success().iloc[0]
    assert (overall["completed"], overall["closed"]) == (4, 6)
    assert overall["ci_low"] == pytest.approx(0.3000, abs=1e-4)
    assert overall["ci_high"] == pytest.approx(0.9032, abs=1e-4)
    months = a.success("month").set_index("month")
    assert list(months.index) == ["2026-03", "2026-04"]
    assert months.loc["2026-03", ["completed", "closed"]].tolist() == [2, 2]
    assert months.loc["2026-03", "ci_low"] == pytest.approx(0.3424, abs=1e-4)
    assert months.loc["2026-03", "ci_high"] == 1.0
    assert months.loc["2026-04", ["completed", "closed"]].tolist() == [2, 4]
    assert months.loc["2026-04", "ci_low"] == pytest.approx(0.1500, abs=1e-4)
    priorities = a.success("priority").set_index("priority")
    assert priorities["closed"].to_dict() == {"P1": 3, "P2": 2, "P3": 1}
    assert priorities["completed"].to_dict() == {"P1": 2, "P2": 2, "P3": 0}
    by_both = a.success(["type", "priority"])
    assert len(by_both) == 4 and by_both["closed"].sum() == 6  # feature P1, P2; bugfix P1, P3


def test_wilson_interval_edge_cases() -> None:
    assert analytics.wilson(0, 5) == pytest.approx((0.0, 0.4345), abs=1e-4)
    assert analytics.wilson(5, 5)[1] == 1.0
    low, high = analytics.wilson(0, 0)
    assert low != low and high != high  # nan: no closed tracks, no rate
    with pytest.raises(ValueError, match="between 0 and total"):
        analytics.wilson(3, 2)


# -- flow, overruns, paths, runs -----------------------------------------------------------


def test_flow_counts_statuses_at_the_end_of_each_day_and_week(eng, clock, root) -> None:
    """Monday: A and B created; Tuesday: A active; Wednesday: A completed; Thursday: B
    activated and paused. Each day's row is the state at its end."""
    clock.now = datetime(2026, 3, 2, 9, tzinfo=UTC)
    eng.create("Track A")
    eng.create("Track B")
    clock.advance(days=1)
    eng.transition("Track A", "activate")
    clock.advance(days=1)
    eng.transition("Track A", "complete")
    clock.advance(days=1)
    eng.transition("Track B", "activate")
    clock.advance(hours=2)
    eng.transition("Track B", "pause")
    a = analytics.load(root, now=datetime(2026, 3, 6, 9, tzinfo=UTC))
    daily = a.flow("D")
    assert list(daily["period"].dt.strftime("%m-%d")) == [
        "03-02",
        "03-03",
        "03-04",
        "03-05",
        "03-06",
    ]
    columns = ["draft", "ready", "active", "paused", "completed", "wip"]
    assert daily[columns].values.tolist() == [
        [2, 0, 0, 0, 0, 0],
        [1, 0, 1, 0, 0, 1],
        [1, 0, 0, 0, 1, 0],
        [0, 0, 0, 1, 1, 1],
        [0, 0, 0, 1, 1, 1],
    ]
    assert daily["arrivals"].tolist() == [2, 0, 0, 0, 0]
    assert daily["throughput"].tolist() == [0, 0, 1, 0, 0]
    weekly = a.flow("W")
    assert len(weekly) == 1 and weekly["period"].iloc[0] == pd.Timestamp("2026-03-02T00:00Z")
    assert weekly[["arrivals", "throughput", "paused", "completed"]].iloc[0].tolist() == [
        2,
        1,
        1,
        1,
    ]
    assert a.flow("M")["period"].tolist() == [pd.Timestamp("2026-03-01T00:00Z")]
    with pytest.raises(ValueError, match="freq"):
        a.flow("Q")


def test_overruns_use_the_seed_range_of_each_type_open_ones_included(eng, clock, root) -> None:
    """bugfix (1-5 days) completed in 5.5 days and one open for 6 days are overruns; a
    feature (3-14) done in 4 days and a custom track (no range) of 100 days are not."""
    _complete(eng, clock, "Quick feature", type="feature", days=4)
    _complete(eng, clock, "Slow bugfix", type="bugfix", days=5.5)
    _complete(eng, clock, "Endless custom", type="custom", days=100)
    eng.create("Open bugfix", type="bugfix")
    eng.transition("Open bugfix", "activate")
    started = clock.now
    frame = analytics.overruns(root, now=started + timedelta(days=6))
    assert list(frame["name"]) == ["Open bugfix", "Slow bugfix"]  # by ratio: 6/5, 5.5/5
    assert frame["open"].tolist() == [True, False]
    assert frame["days"].tolist() == pytest.approx([6.0, 5.5])
    assert frame["typical_high"].tolist() == [5.0, 5.0]
    assert frame["over_by_days"].tolist() == pytest.approx([1.0, 0.5])
    active = analytics.overruns(root, "active", now=started + timedelta(days=6))
    assert set(active["name"]) == {"Open bugfix", "Slow bugfix"}


def test_paths_count_lifecycles_and_their_success(eng, clock, root) -> None:
    """Two straight completions, one with a pause, one failed and retried to completion,
    one cancelled draft."""
    _complete(eng, clock, "Straight one")
    _complete(eng, clock, "Straight two")
    eng.create("Paused one")
    eng.transition("Paused one", "activate")
    eng.transition(None, "pause")
    eng.transition("Paused one", "resume")
    eng.transition(None, "complete")
    eng.create("Retried one")
    eng.transition("Retried one", "activate")
    eng.transition(None, "fail")
    eng.transition("Retried one", "retry")
    eng.transition("Retried one", "activate")
    eng.transition(None, "complete")
    eng.create("Dropped one")
    eng.transition("Dropped one", "cancel")
    a = analytics.load(root, now=clock.now)
    simple = a.paths().set_index("path")
    assert simple["tracks"].to_dict() == {
        "draft > ready > active > completed": 2,
        "draft > cancelled": 1,
        "draft > ready > active > failed > draft > ready > active > completed": 1,
        "draft > ready > active~paused > completed": 1,
    }
    assert simple["success_rate"].to_dict() == dict.fromkeys(simple.index, 1.0) | {
        "draft > cancelled": 0.0
    }
    assert simple.loc["draft > ready > active > completed", "share"] == 0.4
    exact = a.paths(simplify=False)
    assert "draft > ready > active > paused > active > completed" in set(exact["path"])


def test_runs_give_durations_and_failure_rates(eng, clock, root) -> None:
    """A feature with a 30-minute completed run and a 10-minute failed one: failure rate
    0.5, median 20 minutes; a bugfix with none."""
    eng.create("Feature with runs", type="feature")
    eng.transition("Feature with runs", "activate")
    for minutes, status in ((30, "completed"), (10, "failed")):
        run = eng.create_run(None, f"run of {minutes} minutes")
        eng.set_run_status(None, run["run_id"], "running")
        clock.advance(minutes=minutes)
        eng.set_run_status(
            None, run["run_id"], status, error_type="KeyError" * (status == "failed")
        )
    eng.decide(None, "Use the queue")
    eng.decide(None, "Keep the flag")
    eng.create("Bugfix without runs", type="bugfix")
    a = analytics.load(root, now=clock.now)
    runs = a.runs()
    assert runs["duration"].tolist() == [pd.Timedelta(minutes=30), pd.Timedelta(minutes=10)]
    assert runs["failed"].tolist() == [False, True] and runs["error_type"].iloc[1] == "KeyError"
    by_type = a.runs("type").set_index("type")
    assert list(by_type.index) == ["feature"]
    assert by_type.loc["feature", ["runs", "finished", "failed"]].tolist() == [2, 2, 1]
    assert by_type.loc["feature", "failure_rate"] == 0.5
    assert by_type.loc["feature", "duration_median"] == pd.Timedelta(minutes=20)
    tracks = a.tracks().set_index("name")
    assert tracks.loc["Feature with runs", ["runs", "runs_failed", "decisions"]].tolist() == [
        2,
        1,
        2,
    ]
    assert a.runs("track_id")["failure_rate"].tolist() == [0.5]


def test_checkpoint_count_matches_the_engine(eng, clock, root) -> None:
    eng.create("Checkpointed track")
    eng.transition("Checkpointed track", "activate")
    eng.transition(None, "pause")  # an automatic checkpoint
    eng.create_checkpoint("Checkpointed track", reason="by hand")
    expected = len(eng.checkpoints("Checkpointed track"))
    assert expected >= 2
    assert analytics.tracks(root, now=clock.now)["checkpoints"].tolist() == [expected]


# -- several roots -----------------------------------------------------------------------


def test_several_roots_give_one_frame_with_a_project_column(tmp_path, clock) -> None:
    """A list (or a dict) of roots: tracks of both, a project column, aggregates per
    project."""
    first, second = tmp_path / "alpha" / ".claude" / "conductor", tmp_path / "beta" / "cd"
    _complete(Engine(first, clock=clock), clock, "Alpha work")
    engine = Engine(second, clock=clock)
    engine.create("Beta work")
    engine.transition("Beta work", "cancel")
    a = analytics.load([first, second], now=clock.now)
    tracks = a.tracks()
    assert tracks["project"].tolist() == ["alpha", "cd"]
    rates = a.success()
    assert rates[["project", "completed", "closed"]].values.tolist() == [
        ["alpha", 1, 1],
        ["cd", 0, 1],
    ]
    assert set(a.transitions()["project"]) == {"alpha", "cd"}
    assert set(a.flow("D")["project"]) == {"alpha", "cd"}
    named = analytics.tracks({"web": first, "api": second}, now=clock.now)
    assert named["project"].tolist() == ["web", "api"]
    single = analytics.tracks(first, now=clock.now)
    assert "project" not in single.columns
    summary = a.summary()
    assert (
        summary["tracks"] == 2 and summary["closed"] == 2 and summary["projects"] == ["alpha", "cd"]
    )


def test_summary_top_path_counts_every_project(tmp_path, clock) -> None:
    """The headline path is the most common over all the roots, its share of all tracks
    (paths() keeps each project's own shares)."""
    first, second = tmp_path / "one" / "cd", tmp_path / "two" / "cd"
    _complete(Engine(first, clock=clock), clock, "Done in one")
    engine = Engine(second, clock=clock)
    _complete(engine, clock, "Done in two")
    engine.create("Dropped in two")
    engine.transition("Dropped in two", "cancel")
    summary = analytics.load([first, second], now=clock.now).summary()
    assert summary["top_path"] == "draft > ready > active > completed"
    assert summary["top_path_share"] == 0.6667  # rounded to 4 places, as every share


def test_empty_root_gives_empty_frames(tmp_path) -> None:
    a = analytics.load(tmp_path / "nothing", now=datetime(2026, 3, 1, tzinfo=UTC))
    frames = a.frames()
    flow = frames.pop("flow")
    for name, frame in frames.items():
        assert frame.empty, name
    # The flow still has its one period, the week of `now` (from Monday), holding nothing.
    counts = ["draft", "ready", "active", "paused", "completed", "failed", "cancelled"]
    counts += ["archived", "wip", "arrivals", "throughput", "failures", "cancellations"]
    assert list(flow.columns) == ["period", *counts]
    assert flow["period"].tolist() == [pd.Timestamp("2026-02-23T00:00Z")]
    assert flow[counts].values.tolist() == [[0] * len(counts)]
    summary = a.summary()
    assert summary["tracks"] == 0 and summary["success_rate"] is None
    assert "no closed tracks yet" in summary_text(summary)


def test_now_must_be_timezone_aware(root) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        analytics.load(root, now=datetime(2026, 3, 1))


# -- the CLI -----------------------------------------------------------------------------


def test_cli_analytics_prints_a_summary_and_json(small_history, capsys) -> None:
    as_of = ["--as-of", "2026-05-05T00:00Z", "--root", str(small_history)]
    assert main(["analytics", *as_of]) == 0
    text = capsys.readouterr().out
    assert text.startswith("7 tracks (1 open, 0 in progress), 24 transitions")  # 4+4+5+4+4+2+1
    assert "success 66.7% (95% CI 30.0% to 90.3%): 4 completed, 1 failed, 1 cancelled" in text
    assert main(["analytics", "--json", *as_of]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["completed"] == 4 and data["closed"] == 6 and data["open"] == 1
    assert data["as_of"] == "2026-05-05T00:00:00+00:00"
    assert main(["analytics", "--as-of", "yesterday", "--root", str(small_history)]) == 1
    assert "ISO 8601" in capsys.readouterr().err


def test_cli_demo_refuses_a_root_that_has_tracks(small_history, capsys) -> None:
    assert main(["demo", "--tracks", "3", "--root", str(small_history)]) == 1
    assert "already has tracks" in capsys.readouterr().err


# -- the demo generator ------------------------------------------------------------------


@pytest.fixture
def scratch():
    """A folder in the run's temp folder, which is in memory where the system has one
    (each engine change is fsynced; see the top-level conftest.py)."""
    folder = Path(tempfile.mkdtemp(prefix="conductor-test-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_demo_drives_realistic_lifecycles_through_the_engine(scratch) -> None:
    """40 tracks: the engine finds nothing to repair, the same seed gives the same data,
    and the lifecycles have what the analytics need: completions, failures or
    cancellations, pauses, switches, runs, spread over weeks."""
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    info = analytics.generate(scratch / "one", tracks=40, seed=3, start=start)
    assert info["tracks"] == 40
    assert info["end"] == "2026-02-04T09:00:00.000Z"  # 30 days: the shortest span
    assert Engine(scratch / "one").validate() == []
    a = analytics.load(scratch / "one", now=datetime(2026, 2, 4, 9, tzinfo=UTC))
    tracks = a.tracks()
    transitions = a.transitions()
    closed = tracks["outcome"].notna()
    assert (tracks["outcome"] == "completed").sum() > 0.6 * closed.sum() > 0
    assert (~closed).any()  # work still in progress at the end
    assert tracks["outcome"].isin(["failed", "cancelled"]).any()
    assert tracks["pauses"].sum() > 10 and tracks["runs"].sum() > 5
    assert transitions["reason"].str.startswith("switched to").any()
    assert (transitions["at"] >= pd.Timestamp(start)).all()
    assert transitions["at"].max() - transitions["at"].min() > pd.Timedelta(days=20)
    assert set(tracks["history"]) == {"recorded"}
    again = analytics.generate(scratch / "two", tracks=40, seed=3, start=start)
    assert again["engine_calls"] == info["engine_calls"]
    b = analytics.load(scratch / "two", now=datetime(2026, 2, 4, 9, tzinfo=UTC))
    pd.testing.assert_frame_equal(tracks, b.tracks())
    with pytest.raises(InvalidInput, match="already has tracks"):
        analytics.generate(scratch / "one", tracks=5)


def test_demo_command_does_not_import_pandas(scratch) -> None:
    """`conductor demo` drives the engine only; `conductor analytics` is what loads pandas."""
    code = (
        "import json, sys\nfrom conductor_nb.cli import main\n"
        f"assert main(['demo', '--tracks', '3', '--days', '5', '--root', {str(scratch)!r}]) == 0\n"
        "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = set(json.loads(out.splitlines()[-1]))
    assert not loaded & {"pandas", "matplotlib", "IPython", "ipywidgets"}
    assert "made 3 demo tracks" in out


def test_a_corrupt_track_file_still_gives_a_row(eng, clock, root) -> None:
    """A track.json that is not JSON: the track keeps its row (from the registry entry),
    marked as having no history; the other tracks are unaffected."""
    _complete(eng, clock, "Healthy track")
    eng.create("Broken track", type="bugfix")
    path = root / "tracks" / eng.entry("Broken track")["track_id"] / "track.json"
    path.write_text("{not json")
    frame = analytics.tracks(root, now=clock.now).set_index("name")
    assert frame.loc["Broken track", "history"] == "missing"
    assert frame.loc["Broken track", "type"] == "bugfix"
    assert frame.loc["Broken track", "status"] == "draft"
    assert frame.loc["Healthy track", "cycle_time"] == D


# -- the column cache ----------------------------------------------------------------------


def _all_frames(root: Path, now: datetime, *, cache: bool) -> dict[str, Any]:
    a = analytics.load(root, now=now, cache=cache)
    frames: dict[str, Any] = a.frames()
    frames.update(flow_daily=a.flow("D"), paths_exact=a.paths(simplify=False))
    frames["summary"] = a.summary()
    return frames


def _assert_same(left: dict[str, Any], right: dict[str, Any]) -> None:
    assert left.keys() == right.keys()
    for name, frame in left.items():
        if isinstance(frame, pd.DataFrame):
            pd.testing.assert_frame_equal(frame, right[name], check_exact=True, obj=name)
        else:
            assert frame == right[name], name


@pytest.fixture
def no_racy_files(monkeypatch) -> None:
    """Files the tests just wrote count as settled (the cache keeps their tracks at once,
    instead of waiting until they are two seconds old)."""
    monkeypatch.setattr(loading, "RACY_NS", 0)


def _cached_ids(root: Path) -> list[str]:
    extracts = column_cache.load(root / "tracks")
    return [] if extracts is None else list(extracts.tracks["track_id"])


def test_cached_frames_equal_uncached_ones_on_demo_data(scratch, no_racy_files) -> None:
    """Demo data (pauses, failures, retries, runs, decisions, checkpoints): the frames
    from the cache are those read from the files, to the last value and dtype."""
    start = datetime(2026, 1, 5, 9, tzinfo=UTC)
    analytics.generate(scratch / "demo", tracks=30, seed=5, start=start, days=30)
    root, now = scratch / "demo", datetime(2026, 2, 4, 9, tzinfo=UTC)
    uncached = _all_frames(root, now, cache=False)
    assert not (root / "tracks" / column_cache.FOLDER).exists()  # cache=False: no file
    cold = _all_frames(root, now, cache=True)  # reads the files, writes the cache
    assert len(_cached_ids(root)) == 30
    warm = _all_frames(root, now, cache=True)
    _assert_same(uncached, cold)
    _assert_same(uncached, warm)
    folder = root / "tracks" / column_cache.FOLDER
    assert (folder / ".gitignore").read_text() == "*\n"  # never committed by accident


def test_a_changed_track_is_read_again(eng, clock, root, no_racy_files) -> None:
    """Every kind of change behind a cache entry is seen: track.json (a transition),
    decisions.json, a new checkpoint, a new run and a finished one, a track gone from the
    registry, and an in-place rewrite that keeps the size and the modification time."""
    for name in ("Track one", "Track two", "Track three"):
        eng.create(name, type="feature")
    analytics.tracks(root, now=clock.now)  # the cache now has all three
    assert len(_cached_ids(root)) == 3
    clock.advance(hours=2)
    eng.transition("Track one", "activate")
    eng.decide("Track one", "Use the queue")
    eng.create_checkpoint("Track one", reason="by hand")
    run = eng.create_run(None, "nightly")
    clock.advance(minutes=10)
    eng.set_run_status(None, run["run_id"], "running")
    _assert_same(
        _all_frames(root, clock.now, cache=True), _all_frames(root, clock.now, cache=False)
    )
    clock.advance(minutes=20)
    eng.set_run_status(None, run["run_id"], "completed")  # run.json rewritten
    warm = _all_frames(root, clock.now, cache=True)
    _assert_same(warm, _all_frames(root, clock.now, cache=False))
    row = warm["tracks"].set_index("name").loc["Track one"]
    assert row["status"] == "active" and row["decisions"] == 1 and row["runs"] == 1
    assert warm["runs"]["duration"].tolist() == [pd.Timedelta(minutes=20)]
    # in place, same size, modification time put back: the inode's change time tells
    path = root / "tracks" / eng.entry("Track two")["track_id"] / "track.json"
    before = path.stat()
    path.write_bytes(path.read_bytes().replace(b'"Track two"', b'"Track 2!!"'))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    names = analytics.tracks(root, now=clock.now)["name"].tolist()
    assert names == ["Track one", "Track 2!!", "Track three"]
    # gone from the registry: gone from the frames, and from the cache once rewritten
    registry_path = root / "tracks" / "track-registry.json"
    registry = json.loads(registry_path.read_text())
    del registry["tracks"][eng.entry("Track three")["track_id"]]
    registry_path.write_text(files.dumps(registry))
    assert analytics.tracks(root, now=clock.now)["name"].tolist() == ["Track one", "Track 2!!"]
    assert len(_cached_ids(root)) == 2


def test_files_written_just_now_are_not_cached_yet(eng, clock, root, monkeypatch) -> None:
    """A file changed in the last seconds may change again within its timestamp's
    granularity, unseen by its signature: its track is read again until it settles."""
    eng.create("Settled track")
    eng.create("Fresh track")
    monkeypatch.setattr(loading, "RACY_NS", 0)
    analytics.tracks(root, now=clock.now)
    assert len(_cached_ids(root)) == 2
    clock.advance(hours=1)
    eng.transition("Fresh track", "activate")
    monkeypatch.setattr(loading, "RACY_NS", 3600 * 10**9)  # "recent": the last hour
    frame = analytics.tracks(root, now=clock.now).set_index("name")
    assert frame.loc["Fresh track", "status"] == "active"
    # the settled one was not read again; the fresh one was, and is not kept yet
    assert _cached_ids(root) == [eng.entry("Settled track")["track_id"]]


def test_leftovers_of_a_killed_save_are_removed(eng, clock, root, no_racy_files) -> None:
    """A save killed before its rename leaves a temp file: the next save removes it once
    it is a minute old (a younger one may be another process's save in progress)."""
    eng.create("Some track")
    analytics.tracks(root, now=clock.now)
    path = column_cache.path_of(root / "tracks")
    old = path.with_name(f".{path.name}.4242{files.TMP_SUFFIX}")
    young = path.with_name(f".{path.name}.4343{files.TMP_SUFFIX}")
    old.write_bytes(b"partial")
    young.write_bytes(b"partial")
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    eng.create("Another track")  # so the next reading saves the cache again
    analytics.tracks(root, now=clock.now)
    assert not old.exists() and young.exists()
    assert len(_cached_ids(root)) == 2


@pytest.mark.parametrize(
    "damage",
    [
        "not zstd at all",
        "truncated",
        "foreign json",
        "other version",
        "inconsistent columns",
        "path in a run name",
        "a folder instead",
    ],
)
def test_a_damaged_or_foreign_cache_is_ignored_and_rewritten(
    eng, clock, root, no_racy_files, damage
) -> None:
    """Whatever is at the cache's path, reading gives the frames of the files, and a
    sound cache replaces it (or, when it cannot be written, reading still works)."""
    _complete(eng, clock, "Finished track", type="bugfix")
    eng.create("Open track")
    expected = _all_frames(root, clock.now, cache=False)
    analytics.tracks(root, now=clock.now)
    path = column_cache.path_of(root / "tracks")
    good = zstandard.ZstdDecompressor().decompress(path.read_bytes())
    doc = json.loads(good)
    if damage == "not zstd at all":
        data = b"garbage"
    elif damage == "truncated":
        data = path.read_bytes()[:-20]
    elif damage == "foreign json":
        data = _zstd(json.dumps({"tracks": [1, 2, 3]}).encode())
    elif damage == "other version":
        data = _zstd(json.dumps({**doc, "version": 99}).encode())
    elif damage == "inconsistent columns":
        doc["events"]["to"] = doc["events"]["to"][:-1]
        data = _zstd(json.dumps(doc).encode())
    else:  # a run folder's name, with its signature: only the name is wrong
        doc["tracks"]["run_dirs"][0] = ["../../../../etc"]
        signature = base64.b64decode(doc["tracks"]["signature"][0]) + reading.MISSING
        doc["tracks"]["signature"][0] = base64.b64encode(signature).decode()
        data = _zstd(json.dumps(doc).encode())
    if damage == "a folder instead":
        path.unlink()
        path.mkdir()
    else:
        path.write_bytes(data)
    assert column_cache.load(root / "tracks") is None  # refused
    _assert_same(expected, _all_frames(root, clock.now, cache=True))
    if damage != "a folder instead":
        assert len(_cached_ids(root)) == 2  # rewritten, sound


def _zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(write_checksum=True).compress(data)


# -- damaged files -------------------------------------------------------------------------


def test_damaged_values_never_break_the_frames(eng, clock, root) -> None:
    """Lists and objects where names, statuses, results or actors belong (a damaged or
    hand-edited file) read as missing values instead of failing every frame."""
    _complete(eng, clock, "Healthy track")
    eng.create("Odd track", type="bugfix")
    track_id = eng.entry("Odd track")["track_id"]
    path = root / "tracks" / track_id / "track.json"
    track = json.loads(path.read_text())
    track["history"][0]["to"] = ["draft"]
    track["history"][0]["actor"] = {"who": "me"}
    track["type"], track["priority"] = ["bugfix"], {"p": 1}
    track["outcomes"] = {"result": ["success"]}
    path.write_text(files.dumps(track))
    registry_path = root / "tracks" / "track-registry.json"
    registry = json.loads(registry_path.read_text())
    registry["tracks"][track_id]["status"] = ["draft"]
    registry_path.write_text(files.dumps(registry))
    a = analytics.load(root, now=clock.now)
    frames = a.frames()
    row = frames["tracks"].set_index("name").loc["Odd track"]
    assert pd.isna(row["status"]) and pd.isna(row["type"]) and pd.isna(row["priority"])
    odd = frames["transitions"]["track_id"] == track_id
    assert frames["transitions"].loc[odd, "to"].isna().all()
    assert frames["transitions"].loc[odd, "actor"].isna().all()
    assert a.summary()["tracks"] == 2


def test_an_empty_track_file_gets_a_history_from_its_registry_entry(eng, clock, root) -> None:
    """track.json holding `{}`: a reconstructed history from the entry (it used to take
    the label of the track read before it, or fail when it was the first)."""
    eng.create("Empty file track")
    _complete(eng, clock, "Normal track")
    path = root / "tracks" / eng.entry("Empty file track")["track_id"] / "track.json"
    path.write_text("{}")
    frame = analytics.tracks(root, now=clock.now).set_index("name")
    assert frame.loc["Empty file track", "history"] == "reconstructed"
    assert frame.loc["Normal track", "history"] == "recorded"


def test_an_event_without_a_time_does_not_leave_its_track_counted_twice(eng, clock, root) -> None:
    """The flow moves a track out of the status of its previous event that has a time:
    an event without one in between used to leave the track in draft for ever."""
    eng.create("Gap track")
    clock.advance(days=1)
    eng.transition("Gap track", "activate")  # draft > ready > active
    path = root / "tracks" / eng.entry("Gap track")["track_id"] / "track.json"
    track = json.loads(path.read_text())
    del track["history"][1]["at"]  # the move to ready: no time
    path.write_text(files.dumps(track))
    flow = analytics.flow(root, "D", now=clock.now)
    assert flow[["draft", "ready", "active"]].iloc[-1].tolist() == [0, 0, 1]
    assert flow["arrivals"].sum() == 1


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(
    doc=st.dictionaries(
        st.sampled_from(["name", "type", "status", "history", "steps", "goal", "created_at"]),
        json_values,
        max_size=6,
    ),
    ascii_only=st.booleans(),
    encoding=st.sampled_from(["utf-8", "utf-16", "latin-1"]),
)
def test_track_files_decode_as_json_would(doc, ascii_only, encoding) -> None:
    """msgspec (fast) decodes track.json to the same values as ``json.loads``, whatever
    the file holds: NaN, lone surrogates, another encoding (or one json refuses)."""
    text = json.dumps(doc, ensure_ascii=ascii_only)
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:  # not a file anyone can write: draw another example
        data = None
    assume(data is not None)
    try:
        expected = json.loads(data)
    except ValueError:
        expected = None
    parsed, _ = reading.parse_track(data)
    if not isinstance(expected, dict):
        assert parsed is None
        return
    for key in reading.TrackFields.__struct_fields__:
        value = getattr(parsed, key)
        if key not in expected:
            assert value is reading.UNSET
        else:
            assert json.dumps(value) == json.dumps(expected[key])  # NaN == NaN here
