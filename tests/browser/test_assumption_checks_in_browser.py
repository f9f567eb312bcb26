"""Assumptions that check themselves, in a real JupyterLab driven by headless Chromium:
the panel of a track whose check failed shows "needs attention", and a click on "check
assumptions" runs the checks (an expression in the notebook's kernel too) and writes
their evidence to disk."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from conductor_nb.engine import Engine

from .labserver import open_notebook, run_all, running_lab, write_notebook

NOTEBOOK = "assumption-checks.ipynb"
CELLS = (
    "rows = 5",
    '%track assume "enough rows" --check-expr "rows > 3"',
    "panel = %track show\npanel.tabs.selected_index = 2  # the Assumptions tab\npanel",
)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose active track has an assumption whose file check failed."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    project = tmp_path / "project"
    engine = Engine(project / ".claude" / "conductor")
    track_id = engine.create("Browser track")["track_id"]
    engine.transition(track_id, "activate")
    (project / "data.csv").write_text("a,b\n1,2\n")
    check = engine.define_check("file", "data.csv")
    engine.assume(track_id, "the data is frozen", check=check)
    (project / "data.csv").write_text("a,b\n1,3\n")
    assert engine.check_assumptions(track_id)[0]["result"] == "failed"
    return project


def assumptions(project: Path) -> list[dict]:
    (path,) = (project / ".claude" / "conductor" / "tracks").glob("*/context/assumptions.json")
    return json.loads(path.read_text(encoding="utf-8"))


def test_a_failed_check_needs_attention_and_the_button_rechecks(
    chromium, browser, project: Path, tmp_path: Path
) -> None:
    expect = chromium[0].expect
    env = {
        "CONDUCTOR_ROOT": str(project / ".claude" / "conductor"),
        "XDG_DATA_HOME": str(tmp_path / "xdg"),  # the same machine as the test
    }
    failed_at = assumptions(project)[0]["evidence"]["checked_at"]
    with running_lab(tmp_path / "lab", env) as lab:
        write_notebook(lab.root / NOTEBOOK, CELLS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            open_notebook(page, lab, NOTEBOOK)
            run_all(page)
            panel = page.locator(".jp-OutputArea-output .conductor-panel").first
            expect(panel).to_be_visible(timeout=60_000)
            marker = panel.locator(".conductor-attention")
            expect(marker).to_contain_text(
                "needs attention: assumption failed: the data is frozen", timeout=30_000
            )

            (project / "data.csv").write_text("a,b\n1,2\n")  # put back as it was
            panel.get_by_role("button", name="check assumptions").click()
            expect(panel.locator(".conductor-message")).to_contain_text(
                "2 checked: 2 hold, 0 failed", timeout=30_000
            )
            expect(marker).to_have_count(0)
            deadline = time.monotonic() + 20
            while assumptions(project)[0]["evidence"]["checked_at"] == failed_at:
                assert time.monotonic() < deadline, "the click did not reach the disk"
                time.sleep(0.1)
            frozen, rows = assumptions(project)
            assert (frozen["status"], frozen["evidence"]["holds"]) == ("validated", True)
            assert rows["check"] == {"kind": "expr", "expr": "rows > 3"}
            assert rows["evidence"] | {"checked_at": None} == {
                "holds": True,
                "expected": "true",
                "found": "True",  # evaluated in the notebook's kernel
                "checked_at": None,
            }
            page.screenshot(path=tmp_path / "assumption-checks.png", full_page=True)
        except Exception:
            page.screenshot(path=tmp_path / "assumption-checks-failed.png", full_page=True)
            raise
        finally:
            page.close()
