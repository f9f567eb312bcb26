"""The JupyterLab extension in a real JupyterLab, driven by headless Chromium: the status
bar shows the active track and follows a change made from a terminal, the sidebar's
transition buttons reach track.json (asking first where the notebook's board asks), and
a track's name is shown as text, never as HTML."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conductor_nb.engine import Engine
from conductor_nb.store.paths import ROOT_ENV

from .labserver import open_notebook, running_lab

EVIL = '<img src=x onerror="window.__pwned=1">'
PWNED = "() => window.__pwned === undefined"  # the name never ran as HTML


@pytest.fixture
def lab(tmp_path_factory, chromium):
    """JupyterLab over a new root where "Alpha" is active and the track named ``EVIL``
    is ready. (``chromium`` first: without a browser there is no point starting a
    server.)"""
    base = tmp_path_factory.mktemp("lab-extension")
    root = base / "tracks-root"
    engine = Engine(root)
    ids = {name: engine.create(name=name, type="feature")["track_id"] for name in ("Alpha", EVIL)}
    engine.transition("Alpha", "activate")
    engine.add_step("Alpha", "sketch the plan")
    engine.transition(ids[EVIL], "ready")
    with running_lab(base, {ROOT_ENV: str(root)}) as server:
        server.tracks_root, server.ids = root, ids
        yield server


def status_on_disk(lab, track_id: str) -> str:
    track = json.loads((lab.tracks_root / "tracks" / track_id / "track.json").read_text())
    return track["status"]


def conductor(lab, *args: str) -> None:
    """A command typed in a terminal: another process than the server."""
    env = dict(os.environ, **{ROOT_ENV: str(lab.tracks_root)})
    done = subprocess.run(
        [sys.executable, "-m", "conductor_nb.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def eventually(page, condition, tenths: int = 30) -> bool:
    """Whether ``condition()`` holds within ``tenths`` tenths of a second."""
    for _ in range(tenths):
        if condition():
            return True
        page.wait_for_timeout(100)
    return condition()


def wait_for(page, condition) -> None:
    """Until ``condition()`` holds (a click went through the server to the files), 30 s
    cap."""
    assert eventually(page, condition, 300), "the click did not reach the files"


def wait_for_disk(page, lab, track_id: str, status: str) -> None:
    wait_for(page, lambda: status_on_disk(lab, track_id) == status)


def run_command(page, label: str, ran) -> None:
    """Run a command from the palette (Ctrl+Shift+C, its label, Enter), as a user does,
    until ``ran()`` says it ran. The palette closes whenever the page moves the focus (a
    panel being restored; on a busy machine that goes on for seconds, even between the
    label showing and Enter): then it is opened again."""
    timeout_error = importlib.import_module("playwright.sync_api").TimeoutError
    palette = page.locator(".lm-CommandPalette")
    field = palette.locator("input")
    chosen = palette.locator(".lm-CommandPalette-item.lm-mod-active .lm-CommandPalette-itemLabel")
    for _ in range(10):
        if not field.is_visible():
            page.keyboard.press("Control+Shift+c")
        if not eventually(page, field.is_visible):
            continue
        try:
            field.fill(label, timeout=3_000)
            if not eventually(page, lambda: chosen.all_text_contents() == [label]):
                continue
            field.press("Enter", timeout=3_000)
        except timeout_error:  # the palette closed under the hand
            continue
        field.wait_for(state="hidden")
        if eventually(page, ran, 100):
            return
    raise AssertionError(f"the palette did not run {label!r}")


@contextlib.contextmanager
def lab_page(browser, url: str | None, shot: Path):
    """A page (at ``url``); its screenshot is saved as ``shot`` if the test fails there."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        if url is not None:
            page.goto(url)
        yield page
    except Exception:
        page.screenshot(path=shot, full_page=True)
        raise
    finally:
        page.close()


def cancel_asks_first(expect, page, lab, sidebar) -> None:
    """cancel asks first, with a reason (as the notebook's board does); then the board's
    status filter shows the cancelled track alone."""
    alpha = lab.ids["Alpha"]
    row = sidebar.locator(".conductor-nb-row", has_text="Alpha")
    expect(row.locator(".conductor-nb-meta")).to_have_text("paused · 0/1 steps")
    row.get_by_role("button", name="cancel", exact=True).click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text("cancel Alpha?")
    assert status_on_disk(lab, alpha) == "paused"  # nothing happens before the answer
    dialog.locator("input").fill("not needed any more")
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    wait_for_disk(page, lab, alpha, "cancelled")
    expect(row.locator(".conductor-nb-meta")).to_contain_text("cancelled")

    sidebar.get_by_label("cancelled", exact=True).click()
    expect(sidebar.locator(".conductor-nb-summary")).to_have_text("1 of 2 tracks")
    expect(sidebar.locator(".conductor-nb-row-name")).to_have_text(["Alpha"])
    sidebar.get_by_label("cancelled", exact=True).click()
    expect(sidebar.locator(".conductor-nb-summary")).to_have_text("2 of 2 tracks")


def test_status_bar_and_sidebar_follow_the_tracks(chromium, browser, lab, tmp_path: Path):
    expect = chromium[0].expect
    evil = lab.ids[EVIL]
    url = f"{lab.url}/lab?reset&token={lab.token}"
    with lab_page(browser, url, tmp_path / "lab-extension-failed.png") as page:
        item = page.locator(".conductor-nb-status")
        expect(item).to_contain_text("Alpha · active · 0/1 steps", timeout=90_000)

        # A terminal switches tracks: the item follows, no reload.
        conductor(lab, "switch", "--to", evil, "--reason", "from the terminal")
        expect(item).to_contain_text(f"{EVIL} · active", timeout=30_000)
        assert page.evaluate(PWNED)

        item.click()  # opens the sidebar
        sidebar = page.locator("#conductor-nb-sidebar")
        expect(sidebar).to_be_visible()
        expect(sidebar.locator(".conductor-nb-active-name")).to_have_text(EVIL)
        active_row = sidebar.locator(".conductor-nb-row-active")
        expect(active_row.locator(".conductor-nb-row-name")).to_have_text([EVIL])  # outlined
        expect(sidebar.locator(".conductor-nb-summary")).to_have_text("2 of 2 tracks")

        # Steps and decisions of the active track, as the terminal records them.
        conductor(lab, "step", "add", "write <the> parser")
        conductor(lab, "decide", "Use <b>PEG</b>")
        expect(sidebar.locator(".conductor-nb-step")).to_contain_text(["write <the> parser"])
        expect(sidebar.locator(".conductor-nb-decision")).to_have_text(["Use <b>PEG</b>"])
        expect(item).to_contain_text(f"{EVIL} · active · 0/1 steps (0%)")

        cancel_asks_first(expect, page, lab, sidebar)

        # pause does not ask.
        active = sidebar.locator(".conductor-nb-active")
        active.get_by_role("button", name="pause", exact=True).click()
        wait_for_disk(page, lab, evil, "paused")
        expect(item).to_have_text("Conductor: no active track", timeout=30_000)
        expect(sidebar.locator(".conductor-nb-message")).to_have_text(f"{EVIL} is now paused")

        # The name was text everywhere: no image element, no script run.
        expect(page.locator("img[src='x']")).to_have_count(0)
        assert page.evaluate(PWNED)
        page.screenshot(path=tmp_path / "lab-extension.png", full_page=True)


def test_palette_commands_ask_where_the_board_asks(chromium, browser, lab, tmp_path: Path):
    """pause and resume run at once; checkpoint asks for its reason; switch track asks
    which track, then confirms the switch (with a reason)."""
    expect = chromium[0].expect
    engine = Engine(lab.tracks_root)
    alpha, evil = lab.ids["Alpha"], lab.ids[EVIL]
    url = f"{lab.url}/lab?reset&token={lab.token}"
    with lab_page(browser, url, tmp_path / "lab-palette-failed.png") as page:
        item = page.locator(".conductor-nb-status")
        expect(item).to_contain_text("Alpha · active", timeout=90_000)

        run_command(page, "Conductor: checkpoint", page.locator(".jp-Dialog").is_visible)
        dialog = page.locator(".jp-Dialog")
        expect(dialog).to_contain_text("Checkpoint Alpha?")
        dialog.locator("input").fill("before lunch")
        dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
        wait_for(page, lambda: "before lunch" in [c["reason"] for c in engine.checkpoints(alpha)])

        run_command(page, "Conductor: pause", lambda: status_on_disk(lab, alpha) == "paused")
        wait_for_disk(page, lab, alpha, "paused")
        expect(item).to_have_text("Conductor: no active track", timeout=30_000)
        # the one paused track: no question
        run_command(page, "Conductor: resume", lambda: status_on_disk(lab, alpha) == "active")
        wait_for_disk(page, lab, alpha, "active")
        expect(item).to_contain_text("Alpha · active", timeout=30_000)

        run_command(page, "Conductor: switch track", page.locator(".jp-Dialog").is_visible)
        dialog = page.locator(".jp-Dialog")
        dialog.locator("select").select_option(label=f"{EVIL} (ready)")
        dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
        expect(dialog).to_contain_text(
            f"Alpha is active. Pause it (with a checkpoint) and switch to {EVIL}?"
        )
        assert status_on_disk(lab, evil) == "ready"  # nothing happens before the answer
        dialog.locator("input").fill("the other one first")
        dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
        wait_for_disk(page, lab, evil, "active")
        assert status_on_disk(lab, alpha) == "paused"
        expect(item).to_contain_text(f"{EVIL} · active", timeout=30_000)
        assert page.evaluate(PWNED)


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory, chromium):
    """Notebook 7 over a root where "Delta" is active, with a notebook to open."""
    base = tmp_path_factory.mktemp("notebook7-extension")
    root = base / "tracks-root"
    engine = Engine(root)
    delta = engine.create(name="Delta", type="feature")["track_id"]
    engine.transition(delta, "activate")
    with running_lab(base, {ROOT_ENV: str(root)}, app="notebook") as server:
        kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
        notebook = {"cells": [], "metadata": {"kernelspec": kernel}, "nbformat": 4}
        (server.root / "empty.ipynb").write_text(json.dumps({**notebook, "nbformat_minor": 5}))
        server.tracks_root, server.delta = root, delta
        yield server


def test_the_sidebar_works_in_notebook_7(chromium, browser, notebook7, tmp_path: Path):
    """Notebook 7 has no status bar: the board is a left sidebar there, opened from the
    palette."""
    expect = chromium[0].expect
    with lab_page(browser, None, tmp_path / "notebook7-failed.png") as page:
        open_notebook(page, notebook7, "empty.ipynb")  # the page settled: its kernel is idle
        sidebar = page.locator("#conductor-nb-sidebar")
        run_command(page, "Conductor: show the board", sidebar.is_visible)
        expect(sidebar).to_be_visible()
        expect(sidebar.locator(".conductor-nb-active-name")).to_have_text("Delta")
        sidebar.locator(".conductor-nb-active").get_by_role("button", name="pause").click()
        wait_for_disk(page, notebook7, notebook7.delta, "paused")
        expect(sidebar.locator(".conductor-nb-message")).to_have_text("Delta is now paused")
        expect(sidebar.locator(".conductor-nb-active")).to_contain_text("No track is active.")
