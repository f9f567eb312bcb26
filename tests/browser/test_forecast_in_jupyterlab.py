"""The estimates notebook in a real JupyterLab, driven by headless Chromium: the track's
panel renders as a widget and shows its forecast line, with the interval and the basis
the history gives."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .labserver import open_notebook, run_all, running_lab

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "11-estimates-and-forecast.ipynb"


def test_the_panel_shows_the_forecast_line(chromium, tmp_path: Path) -> None:
    sync_api, executable = chromium
    expect = sync_api.expect
    root = tmp_path / "forecast-root"
    with (
        running_lab(tmp_path, {"CONDUCTOR_TOUR_ROOT": str(root)}) as lab,
        sync_api.sync_playwright() as playwright,
    ):
        shutil.copy(NOTEBOOK, lab.root / NOTEBOOK.name)
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            open_notebook(page, lab, NOTEBOOK.name)
            run_all(page)
            panel = page.locator(".jp-OutputArea-output .conductor-panel").first
            expect(panel).to_be_visible(timeout=90_000)
            line = panel.locator(".conductor-forecast")
            expect(line).to_be_visible(timeout=30_000)
            expect(line).to_contain_text("Forecast: expected to finish")
            expect(line).to_contain_text("1/4 steps done")
            expect(line).to_contain_text("estimate 20h scaled by 4 completed feature tracks")
            expect(line).to_contain_text("(actual/estimate 0.86-1.76, median 1.10)")
            # The widget's header (the static fallback has none), of the track asked for.
            expect(panel.locator(".conductor-panel-header")).to_contain_text("OAuth login")
            panel.screenshot(path=tmp_path / "forecast-panel.png")
        finally:
            browser.close()
    # The notebook worked on the root it was given, and the line says what is on disk.
    tracks = [json.loads(p.read_text()) for p in (root / "tracks").glob("*/track.json")]
    oauth = next(t for t in tracks if t["name"] == "OAuth login")
    assert oauth["estimated_duration_minutes"] == 20 * 60
    assert [s["timing"]["estimated_duration_minutes"] for s in oauth["steps"]] == [300] * 4
