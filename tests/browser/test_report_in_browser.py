"""A written HTML report opened from disk in headless Chromium: every section shows, the
charts load, the user's text shows as text and runs nothing, and the page asks for
nothing beyond its own file (it must read offline)."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_track import PAYLOAD, hostile_track

from conductor_nb.engine import Engine
from conductor_nb.report import build_report

SECTIONS = {
    "overview": "Overview",
    "criteria": "Success criteria",
    "timeline": "Timeline",
    "time-in-status": "Time per status",
    "decisions": "Decisions",
    "assumptions": "Assumptions",
    "steps": "Steps",
    "runs": "Workflow runs",
    "checkpoints": "Checkpoints",
    "artifacts": "Artifacts",
}


@pytest.fixture
def report_file(root: Path, tmp_path: Path) -> Path:
    hostile_track(root)
    target = tmp_path / "report.html"
    build_report(Engine(root)).write(target)
    return target


def test_report_file_reads_offline_and_runs_no_user_text(chromium, report_file: Path) -> None:
    sync_api, executable = chromium
    expect = sync_api.expect
    url = report_file.as_uri()
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            requested: list[str] = []
            problems: list[str] = []

            def route(r):  # anything but the report itself is recorded and refused
                if r.request.url == url:
                    r.continue_()
                else:
                    requested.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(url)
            _check_page(page, expect)
            assert requested == []  # no font, style, script or image from anywhere
            assert problems == []  # nothing refused by the page's policy, no script error
        finally:
            browser.close()


def _check_page(page, expect) -> None:
    for key, title in SECTIONS.items():
        section = page.locator(f"section#{key}")
        expect(section).to_be_visible()
        expect(section.locator("h2")).to_have_text(title)
    # the user's text is shown as text, where it would have been markup
    expect(page.locator("h1")).to_contain_text("Report " + PAYLOAD)
    expect(page.locator("#decisions td").nth(2)).to_have_text("Decision " + PAYLOAD)
    expect(page.locator("#runs")).to_contain_text("loss " + PAYLOAD + "=0.25")
    assert page.title() == "Track report: Report " + PAYLOAD
    # the charts are loaded images
    images = page.locator("figure.chart img")
    expect(images).to_have_count(3)
    sizes = images.evaluate_all("els => els.map(e => [e.complete, e.naturalWidth])")
    assert all(complete and width > 0 for complete, width in sizes), sizes
    # no script ran: no hook set, no element but the report's own, one (inert) data block
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("img:not(figure.chart img)").count() == 0
    assert page.evaluate("[...document.scripts].map(s => s.type)") == ["application/json"]
    name = page.evaluate(
        "JSON.parse(document.getElementById('conductor-report-data').textContent).track.name"
    )
    assert name == "Report " + PAYLOAD
