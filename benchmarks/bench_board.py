"""The track board at 1,000 tracks: build and refresh in a real kernel, and the time until
JupyterLab shows it in headless Chromium (figures, not a test).

    .venv/bin/python benchmarks/bench_board.py [--tracks 1000] [--repeats 5] [--no-browser]

Baseline, measured in the same run: a naive board that makes one row of widgets (label,
progress bar, transition buttons) per track, which is what the board would cost without
its fixed pool of page rows.

1. Kernel (auto-load off, imports warmed): ``%track board`` build time; ``refresh()``
   with nothing changed; ``refresh()`` after a track changed on disk; the naive board.
2. Browser (JupyterLab + Debian's chromium): from "Run All" to the board's rows on
   screen, for ours and the naive board; and from a change written on disk by another
   process to the board showing it (the live refresh the issue asks within 2 s).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import start_new_kernel

from conductor_nb.engine import Engine

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "browser"))
import labserver  # noqa: E402  (a test helper: the isolated JupyterLab of the browser test)

NAIVE = """
import ipywidgets as widgets
from conductor_nb.engine import Engine
from conductor_nb.lifecycle import transition_verbs
def naive_board(root):
    rows = []
    for entry in Engine(root).list():
        label = widgets.HTML(f"<b>{entry['name']}</b> {entry['status']}")
        bar = widgets.IntProgress(value=int((entry.get('progress') or {}).get('percentage') or 0))
        buttons = [widgets.Button(description=v) for v in transition_verbs(entry['status'])]
        rows.append(widgets.HBox([label, bar, *buttons]))
    return widgets.VBox(rows)
"""


def build(root: Path, count: int) -> None:
    engine = Engine(root)
    types = ("feature", "bugfix", "refactor", "migration")
    for i in range(count):
        track = engine.create(f"Track number {i:04d}", type=types[i % 4], priority=f"P{i % 4}")
        if i % 5 == 1:
            engine.transition(track["track_id"], "ready")
    engine.transition("Track number 0000", "activate")


def kernel_figures(root: Path, ipython_dir: Path, repeats: int) -> dict[str, list[float]]:
    profile = ipython_dir / "profile_default"
    profile.mkdir(parents=True, exist_ok=True)
    (profile / "ipython_kernel_config.py").write_text(
        "c.InteractiveShellApp.extra_extensions = []\n"
    )
    os.environ.update(IPYTHONDIR=str(ipython_dir), CONDUCTOR_ROOT=str(root))
    km, kc = start_new_kernel(kernel_name="python3", startup_timeout=90)
    out: list[str] = []

    def run(code: str) -> None:
        reply = kc.execute_interactive(
            code,
            timeout=300,
            output_hook=lambda m: m["msg_type"] == "stream" and out.append(m["content"]["text"]),
        )
        assert reply["content"]["status"] == "ok", reply["content"]

    try:
        run(
            "%load_ext conductor_nb\n"
            "import json, subprocess, sys, time\n"
            "from conductor_nb.engine import Engine\n"
            "_b = get_ipython().run_line_magic('track', 'board'); _b.close()\n" + NAIVE
        )
        run(
            f"_times = {{'build': [], 'refresh unchanged': [], 'refresh changed': [], "
            f"'naive build': []}}\n"
            f"_other = Engine({str(root)!r})\n"
            f"for _i in range({repeats}):\n"
            "    _t = time.perf_counter(); _b = get_ipython().run_line_magic('track', 'board')\n"
            "    _times['build'].append(time.perf_counter() - _t)\n"
            "    _t = time.perf_counter(); _b.refresh()\n"
            "    _times['refresh unchanged'].append(time.perf_counter() - _t)\n"
            "    _id = _b.rows[1].track_id\n"
            "    subprocess.run([sys.executable, '-m', 'conductor_nb.cli', 'update', _id,\n"
            "                    '--field', 'goal', '--value', f'changed {_i}'],\n"
            "                   check=True, capture_output=True)\n"
            "    _t = time.perf_counter(); _b.refresh()\n"
            "    _times['refresh changed'].append(time.perf_counter() - _t)\n"
            "    _b.close()\n"
            "    _t = time.perf_counter(); _n = naive_board(_other.root)\n"
            "    _times['naive build'].append(time.perf_counter() - _t)\n"
            "    _n.close()\n"
            "print(json.dumps(_times))\n"
        )
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return json.loads(out[-1])


def browser_figures(root: Path, base: Path) -> dict[str, float]:
    from playwright.sync_api import expect, sync_playwright

    executable = labserver.chromium_path()
    if executable is None:
        raise SystemExit(labserver.INSTALL_HINT)
    figures: dict[str, float] = {}
    with labserver.running_lab(base, {"CONDUCTOR_ROOT": str(root)}) as lab:
        kernel = {"kernelspec": {"name": "python3", "display_name": "Python 3"}}
        for name, source in (
            ("board.ipynb", "%track board"),
            ("naive.ipynb", NAIVE + f"\nnaive_board({str(root)!r})"),
        ):
            nb = nbformat.v4.new_notebook(metadata=kernel)
            nb.cells = [nbformat.v4.new_code_cell(source)]
            nbformat.write(nb, lab.root / name)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, headless=True)
            for name, rows in (("board.ipynb", 20), ("naive.ipynb", None)):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                labserver.open_notebook(page, lab, name)
                started = time.perf_counter()
                labserver.run_all(page)
                if rows:  # our board: its page of rows
                    expect(page.locator(".conductor-board-row:visible")).to_have_count(
                        rows, timeout=300_000
                    )
                    label = "ours: board shown"
                else:  # the naive board: all its rows, or the error it sometimes ends in
                    outcome = page.wait_for_function(
                        """count => {
                            if (document.querySelectorAll('.widget-hbox').length >= count)
                                return 'shown';
                            const text = document.querySelector('.jp-OutputArea')?.innerText;
                            return text?.includes('javascript error') ? 'error' : false;
                        }""",
                        arg=len(Engine(root).list()),
                        polling=100,
                        timeout=300_000,
                    ).json_value()
                    label = "naive: " + (
                        "board shown" if outcome == "shown" else "FAILED, a javascript error"
                    )
                figures[f"{label} after Run All"] = time.perf_counter() - started
                if rows:
                    delays = [live_refresh(page, root) for _ in range(9)]
                    figures["live refresh, median of 9"] = statistics.median(delays)
                    figures["live refresh, slowest of 9"] = max(delays)
                page.close()
            browser.close()
    return figures


def live_refresh(page, root: Path) -> float:
    """Another process's change (a draft becomes the active track, so it moves onto the
    first page), until the board in the browser shows it."""
    from playwright.sync_api import expect

    engine = Engine(root)
    first_draft = next(e for e in engine.list() if e["status"] == "draft")
    row = page.locator(".conductor-board-row:visible", has_text=first_draft["name"])
    expect(row).to_have_count(0)  # sorted by status: drafts are off the first page
    # The kernel polls every 0.5 s: start at a random phase of its cycle, or every run
    # would start right after the poll that saw the previous change.
    time.sleep(random.uniform(0, 0.5))
    engine.transition(first_draft["track_id"], "activate", force=True)  # now first
    started = time.perf_counter()  # from the moment the change is on disk
    # Checked at every animation frame: expect() polls at 0.1, 0.35, 0.85 s... and
    # would round the figure up to those steps.
    page.wait_for_function(
        """name => [...document.querySelectorAll('.conductor-board-row')].some(
               row => row.offsetParent !== null && row.textContent.includes(name))""",
        arg=first_draft["name"],
        polling="raf",
        timeout=10_000,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-board-") as tmp:
        base = Path(tmp)
        root = base / "root"
        started = time.perf_counter()
        build(root, args.tracks)
        print(f"built {args.tracks} tracks in {time.perf_counter() - started:.1f} s")
        times = kernel_figures(root, base / "ipython", args.repeats)
        print(f"\nkernel, {args.tracks} tracks, {args.repeats} runs (median, min-max):")
        for name, values in times.items():
            ms = [v * 1000 for v in values]
            print(f"  {name:20} {statistics.median(ms):8.1f} ms  ({min(ms):.1f}-{max(ms):.1f})")
        ratio = statistics.median(times["naive build"]) / statistics.median(times["build"])
        print(f"  naive / ours build: {ratio:.1f}x")
        if not args.no_browser:
            figures = browser_figures(root, base / "lab")
            print("\nbrowser (JupyterLab 4, headless chromium), one run each:")
            for name, seconds in figures.items():
                print(f"  {name:32} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
