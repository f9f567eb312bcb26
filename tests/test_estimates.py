"""Estimates: durations as people write them, stored in the schema's fields (track.json,
its registry entry, a step's timing), kept by the models, and compared with what the
work took by the analytics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from estimate_history import P50, RATIOS, build_history

from conductor_nb import analytics
from conductor_nb.durations import format_duration, parse_duration
from conductor_nb.engine import Engine
from conductor_nb.errors import InvalidInput
from conductor_nb.models import Registry, Track


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("90m", 90),
        ("12h", 720),
        ("3d", 3 * 1440),
        ("1w", 7 * 1440),
        ("1d 4h", 1440 + 240),
        ("1.5h", 90),
        (" 2H ", 120),
    ],
)
def test_durations_are_read_in_minutes(text: str, minutes: int) -> None:
    assert parse_duration(text) == minutes


@pytest.mark.parametrize("text", ["", "90", "3 days", "h", "12h soon", "-3d", "0m", "99999w"])
def test_a_bad_duration_is_one_line_that_shows_how_to_write_one(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_duration(text)
    message = str(caught.value)
    assert "\n" not in message
    assert repr(text.strip()) in message
    assert "90m, 12h, 3d, 1w" in message


def test_durations_are_written_in_their_two_largest_units() -> None:
    assert [format_duration(m) for m in (0, 45, 90, 720, 1440 + 240, 7 * 1440 + 1440)] == [
        "0m",
        "45m",
        "1h 30m",
        "12h",
        "1d 4h",
        "1w 1d",
    ]
    assert format_duration(None) == "-"


def _files(root: Path, track_id: str) -> tuple[dict, dict]:
    track = json.loads((root / "tracks" / track_id / "track.json").read_text())
    registry = json.loads((root / "tracks" / "track-registry.json").read_text())
    return track, registry["tracks"][track_id]


def test_track_and_step_estimates_are_stored_in_the_schema_s_fields(root: Path) -> None:
    engine = Engine(root)
    track_id = engine.create_estimated("OAuth login", estimate="3d")["track_id"]
    engine.add_estimated_step("OAuth login", "Write the callback", estimate="90m")
    track, entry = _files(root, track_id)
    assert track["estimated_duration_minutes"] == entry["estimated_duration_minutes"] == 4320
    assert track["steps"][0]["timing"] == {"estimated_duration_minutes": 90}

    engine.set_estimate("OAuth login", "12h")
    engine.set_estimate("OAuth login", "2h", step="Write the callback")
    track, entry = _files(root, track_id)
    assert track["estimated_duration_minutes"] == entry["estimated_duration_minutes"] == 720
    assert track["steps"][0]["timing"]["estimated_duration_minutes"] == 120

    # The models keep them, and a read-modify-write through them changes nothing.
    model = Track.model_validate(track)
    assert model.estimated_duration_minutes == 720
    assert model.steps[0].timing.estimated_duration_minutes == 120
    assert model.to_json_dict() == Track.model_validate(model.to_json_dict()).to_json_dict()
    assert model.to_json_dict()["estimated_duration_minutes"] == 720
    registry = Registry.model_validate_json((root / "tracks/track-registry.json").read_text())
    assert registry.tracks[track_id].estimated_duration_minutes == 720

    engine.set_estimate("OAuth login", "none")
    track, entry = _files(root, track_id)
    assert "estimated_duration_minutes" not in track
    assert "estimated_duration_minutes" not in entry


def test_an_estimate_survives_other_changes_to_the_track(root: Path) -> None:
    engine = Engine(root)
    track_id = engine.create_estimated("Keep it", estimate="1w")["track_id"]
    engine.update("Keep it", "goal", "still estimated")
    engine.transition("Keep it", "ready")
    engine.add_step("Keep it", "a step")
    track, entry = _files(root, track_id)
    assert track["estimated_duration_minutes"] == entry["estimated_duration_minutes"] == 10080
    assert track["context"]["goal"] == "still estimated"


def test_a_bad_estimate_creates_nothing(root: Path) -> None:
    engine = Engine(root)
    with pytest.raises(InvalidInput, match="not a duration"):
        engine.create_estimated("Never made", estimate="soon")
    assert not root.exists()  # not even an empty root
    engine.create("Made")
    with pytest.raises(InvalidInput, match="not a duration"):
        engine.add_estimated_step("Made", "no step", estimate="tomorrow")
    assert engine.track("Made")["steps"] == []
    with pytest.raises(InvalidInput, match="has no step '7'"):
        engine.set_estimate("Made", "1h", step="7")


def test_create_with_an_estimate_takes_the_template_and_parent_too(root: Path) -> None:
    engine = Engine(root)
    engine.create("Epic")
    track = engine.create_estimated(
        "Fix it", estimate="2d", template="bugfix", parent="Epic", priority="P0"
    )
    assert track["estimated_duration_minutes"] == 2880
    assert track["source"]["template_id"] == "bugfix" and track["steps"]
    assert track["parent_track"] == engine.resolve("Epic")
    assert track["priority"] == "P0"


def test_estimate_against_actual_by_type_and_step_type(tmp_path: Path) -> None:
    root = tmp_path / "history"
    build_history(root)
    by_type = analytics.estimates(root).set_index("type")
    assert list(by_type.columns) == ["tracks", "median_ratio", "share_over"]
    assert by_type.loc["feature", "tracks"] == len(RATIOS)
    assert by_type.loc["feature", "median_ratio"] == pytest.approx(P50)
    assert by_type.loc["feature", "share_over"] == pytest.approx(0.5)  # 1.2 and 2.0
    assert by_type.loc["bugfix", "median_ratio"] == pytest.approx(0.6)  # 6h of 10h
    assert by_type.loc["bugfix", "share_over"] == 0

    tracks = analytics.load(root).estimates("track").set_index("name")
    assert tracks.loc["Feature 4", "actual_minutes"] == 20 * 60  # its 5h pause left out
    assert sorted(tracks.loc[[f"Feature {n}" for n in (1, 2, 3, 4)], "ratio"]) == pytest.approx(
        list(RATIOS)
    )

    steps = analytics.estimates(root, "step_type").set_index("step_type")
    assert steps.loc["review", "steps"] == steps.loc["action", "steps"] == 6
    assert steps.loc["review", "median_ratio"] == pytest.approx(2.0)  # 2h of 1h
    assert steps.loc["action", "median_ratio"] == pytest.approx(0.5)
    assert (steps.loc["review", "share_over"], steps.loc["action", "share_over"]) == (1, 0)

    with pytest.raises(InvalidInput, match="one of type, step_type, track, step"):
        analytics.estimates(root, "month")


def test_the_frames_on_a_demo_root_count_only_estimated_completed_tracks(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    analytics.generate(root, tracks=40, seed=3)
    assert analytics.estimates(root).empty  # the demo estimates nothing
    engine = Engine(root)
    completed = engine.list(status="completed")
    assert len(completed) >= 6
    estimated = completed[::2]
    for entry in estimated:
        engine.set_estimate(entry["track_id"], "2d")
    frame = analytics.estimates(root, "track")
    assert sorted(frame["track_id"]) == sorted(e["track_id"] for e in estimated)
    assert (frame["estimate_minutes"] == 2880).all()
    assert list(frame["ratio"]) == pytest.approx(list(frame["actual_minutes"] / 2880), abs=1e-4)
    active = analytics.tracks(root).set_index("track_id")["active_time"]
    for row in frame.itertuples():  # the same active time the tracks frame measures
        assert row.actual_minutes == pytest.approx(
            active[row.track_id].total_seconds() / 60, abs=0.1
        )
    by_type = analytics.estimates(root)
    assert by_type["tracks"].sum() == len(estimated)
    expected = frame.groupby("type")["ratio"].median().sort_index()
    assert list(by_type.set_index("type")["median_ratio"]) == pytest.approx(list(expected))


def test_the_python_api_sets_estimates_and_forecasts(tmp_path: Path) -> None:
    from conductor_nb import Conductor

    root = tmp_path / "history"
    build_history(root)
    conductor = Conductor(root=root)
    done = conductor.estimate("Feature 1", "1d")
    assert done["estimated_duration_minutes"] == 1440
    assert conductor.get("Feature 1").estimated_duration_minutes == 1440
    assert conductor.estimate("Feature 1", 90, step="Review it")["step_id"] == "step-1"
    assert conductor.get("Feature 1").steps[0].timing.estimated_duration_minutes == 90
    assert conductor.forecast("Feature 1")["reason"] == "it is completed: nothing left to forecast"
    with pytest.raises(InvalidInput, match="at least one minute"):
        conductor.estimate("Feature 1", 0)
