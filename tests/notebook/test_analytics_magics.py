"""%track stats and %track analytics in an in-process shell: a compact summary and an
analytics panel (ipywidgets) with stable text reprs and escaped HTML."""

from __future__ import annotations

import ipywidgets as widgets

from conductor_nb.notebook.analytics_panel import (
    AnalyticsPanel,
    StatsSummary,
    key_figures_html,
)

XSS = "<img src=x onerror=alert(1)>"


def _history(track) -> None:
    for name in ("First done", "Second done", "Archived done"):
        track(f'create --name "{name}" --type bugfix')
        track(f'activate "{name}"')
        track("complete")
    track('archive "Archived done"')
    track('create --name "Gave up"')
    track('cancel "Gave up"')
    track('create --name "Broken one"')
    track('activate "Broken one"')
    track("fail")
    track('create --name "Still going"')
    track('activate "Still going"')


def test_stats_is_a_compact_summary_with_the_success_rate(track) -> None:
    """3 completed (one of them archived), 1 failed, 1 cancelled: success 3/5 with its
    Wilson interval [23%, 88%]; the registry's counts stay in .data."""
    _history(track)
    stats = track("stats")
    assert isinstance(stats, StatsSummary)
    data = stats.data
    assert (data["completed"], data["failed"], data["cancelled"], data["closed"]) == (3, 1, 1, 5)
    assert data["open"] == 1 and data["total"] == 6
    assert data["success_rate"] == 0.6
    assert round(data["ci_low"], 4) == 0.2307 and round(data["ci_high"], 4) == 0.8824
    assert data["by_status"]["archived"] == 1
    text = repr(stats)
    assert text.startswith("Stats(6 tracks: 1 open, 3 completed, 1 failed, 1 cancelled;")
    assert "success 60% of 5 closed [23%, 88%]" in text
    assert "<table>" in stats._repr_html_()


def test_stats_on_a_fresh_root_has_no_rate(track) -> None:
    track('create --name "Only draft"')
    stats = track("stats")
    assert stats.data["success_rate"] is None and "none closed yet" in repr(stats)
    assert "no closed tracks yet" in stats._repr_html_()


def test_analytics_returns_a_panel_of_figures_and_charts(track) -> None:
    """A VBox: the key figures (HTML) and a Tab of PNG charts; the repr is short and
    stable; .analytics gives every frame."""
    _history(track)
    panel = track("analytics --as-of 2030-01-01T00:00Z")
    assert isinstance(panel, AnalyticsPanel) and isinstance(panel, widgets.VBox)
    figures, tabs = panel.children
    assert isinstance(figures, widgets.HTML) and "Track analytics" in figures.value
    assert isinstance(tabs, widgets.Tab)
    assert list(tabs.titles) == [
        "Durations",
        "Success",
        "Throughput",
        "Cumulative flow",
        "Timeline",
    ]
    assert all(
        isinstance(image, widgets.Image) and image.value[:8] == b"\x89PNG\r\n\x1a\n"
        for image in tabs.children
    )
    assert repr(panel) == "AnalyticsPanel(6 tracks, success 60% [23%, 88%], 5 charts)"
    assert len(repr(panel)) < 110  # ipywidgets cuts longer text reprs
    assert panel.summary["completed"] == 3 and panel.summary["as_of"].startswith("2030-01-01")
    assert len(panel.analytics.tracks()) == 6


def test_analytics_panel_on_an_empty_root(track, root) -> None:
    (root / "tracks").mkdir(parents=True)  # a root with no tracks (a missing one is an error)
    panel = track("analytics")
    assert repr(panel) == "AnalyticsPanel(0 tracks, none closed, 0 charts)"


def test_key_figures_escape_user_text() -> None:
    summary = {
        "projects": [XSS, "other"],
        "as_of": "2026-03-01T00:00:00+00:00",
        "tracks": 1,
        "open": 1,
        "wip": 1,
        "closed": 0,
        "median_lead_days": None,
        "median_cycle_days": None,
        "median_active_days": None,
        "completed_last_4_weeks": 0,
        "overruns": 0,
        "overruns_open": 0,
        "runs": 0,
        "run_failure_rate": None,
        "top_path": XSS,
    }
    html = key_figures_html(summary)
    assert XSS not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
