"""Forecasts: from a track's progress and how long completed tracks of its type took,
on a hand-moved clock; and the panel's forecast line, in-process."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from estimate_history import P10, P50, P90, build_history, started_track

from conductor_nb.forecast import forecast_text, quantile
from conductor_nb.tracks import iso


@pytest.fixture
def history(tmp_path: Path):
    return build_history(tmp_path / "root")


def test_quantiles_interpolate_between_sorted_values() -> None:
    assert quantile([2.0, 0.8, 1.2, 1.0], 0.1) == pytest.approx(P10)
    assert quantile([2.0, 0.8, 1.2, 1.0], 0.5) == pytest.approx(P50)
    assert quantile([2.0, 0.8, 1.2, 1.0], 0.9) == pytest.approx(P90)
    assert quantile([5.0], 0.9) == 5.0


def test_an_estimated_track_is_forecast_from_the_overrun_of_its_type(history) -> None:
    engine, clock = history
    started_track(engine, clock, "Target", estimate="20h")
    data = engine.forecast("Target")
    basis = data["basis"]
    assert data["forecast"] is True
    assert (basis["method"], basis["history"], basis["needed"]) == ("estimate", 4, 3)
    assert (basis["steps_done"], basis["steps_total"]) == (1, 4)
    assert basis["active_minutes"] == 180
    assert basis["ratios"] == {"low": P10, "expected": P50, "high": P90}
    # 3/4 of the 20h estimate is left, scaled by each ratio.
    left = {name: 15 * 60 * ratio for name, ratio in basis["ratios"].items()}
    assert basis["remaining_minutes"] == pytest.approx(left)
    for name, key in (("low", "low"), ("expected", "expected_finish"), ("high", "high")):
        assert data[key] == iso(clock.now + timedelta(minutes=left[name]))
    assert data["low"] < data["expected_finish"] < data["high"]
    text = forecast_text(data)
    assert text.startswith(f"'Target' ({data['track_id']}): expected to finish 2026-")
    assert "1/4 steps done, 3h active so far" in text
    assert "estimate 20h scaled by 4 completed feature tracks" in text


def test_pauses_do_not_count_as_time_spent(history) -> None:
    engine, clock = history
    engine.create_estimated("Paused one", estimate="20h")  # no steps: estimate less time spent
    engine.transition("Paused one", "ready")
    engine.transition("Paused one", "activate")
    clock.advance(hours=2)
    engine.transition("Paused one", "pause")
    clock.advance(days=3)
    engine.transition("Paused one", "resume")
    clock.advance(hours=3)
    basis = engine.forecast("Paused one")["basis"]
    assert basis["active_minutes"] == 5 * 60
    assert basis["remaining_minutes"]["expected"] == pytest.approx(20 * 60 * P50 - 5 * 60)


def test_without_an_estimate_the_durations_of_its_type_stand_in(history) -> None:
    engine, clock = history
    started_track(engine, clock, "No estimate", estimate=None)
    data = engine.forecast("No estimate")
    basis = data["basis"]
    assert (basis["method"], basis["history"], basis["estimate_minutes"]) == ("duration", 4, None)
    typical = {"low": 8 * 60 * 1.075, "expected": 11 * 60, "high": 17.6 * 60}
    assert basis["durations_minutes"] == pytest.approx(typical)
    assert basis["remaining_minutes"] == pytest.approx({k: v * 3 / 4 for k, v in typical.items()})
    assert "4 completed feature tracks took 8h 36m to 17h 36m (median 11h)" in forecast_text(data)


def test_too_little_history_says_how_much_there_is_and_how_much_is_needed(history) -> None:
    engine, clock = history
    started_track(engine, clock, "A bug", estimate="1d", type="bugfix")
    data = engine.forecast("A bug")
    assert data["forecast"] is False
    assert data["expected_finish"] is data["low"] is data["high"] is None
    assert data["reason"] == "too little history to forecast (2 bugfix tracks completed, need 3)"
    assert forecast_text(data).endswith(": " + data["reason"])
    started_track(engine, clock, "First migration", estimate="1d", type="migration")
    assert engine.forecast("First migration")["reason"].startswith(
        "too little history to forecast (0 migration tracks completed"
    )


def test_a_completed_track_has_nothing_left_to_forecast(history) -> None:
    engine, _ = history
    data = engine.forecast("Feature 1")
    assert (data["forecast"], data["reason"]) == (
        False,
        "it is completed: nothing left to forecast",
    )


def test_the_active_track_is_forecast_by_default(history) -> None:
    engine, clock = history
    track_id = started_track(engine, clock, "Target", estimate="20h")
    assert engine.forecast()["track_id"] == track_id


def test_the_panel_shows_the_forecast_line(history) -> None:
    from conductor_nb.notebook.forecast_view import forecast_html
    from conductor_nb.notebook.panel import TrackPanel

    engine, clock = history
    track_id = started_track(engine, clock, "Target <b>", estimate="20h")
    panel = TrackPanel(engine, track_id, live=False)
    try:
        data = engine.forecast(track_id)
        line = forecast_html(data)
        assert "class='conductor-forecast'" in line
        assert line in panel.header.value
        assert "expected to finish" in panel.header.value
        assert forecast_text(data, named=False) in line  # no markup in it to escape
        assert "Target <b>" not in panel.header.value  # the name is escaped
    finally:
        panel.close()


def test_the_panel_says_when_there_is_too_little_history(history) -> None:
    from conductor_nb.notebook.panel import TrackPanel

    engine, clock = history
    track_id = started_track(engine, clock, "A bug", estimate="1d", type="bugfix")
    panel = TrackPanel(engine, track_id, live=False)
    try:
        assert (
            "<b>Forecast:</b> too little history to forecast "
            "(2 bugfix tracks completed, need 3)" in panel.header.value
        )
        # A third bugfix completes: the next refresh forecasts.
        engine.transition("A bug", "complete")
        started_track(engine, clock, "Another bug", estimate="1d", type="bugfix")
        other = TrackPanel(engine, "Another bug", live=False)
        try:
            assert "expected to finish" in other.header.value
        finally:
            other.close()
    finally:
        panel.close()
