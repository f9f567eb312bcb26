"""The guarded switch in a real kernel: ``%track switch`` (and a widget's switch button)
is refused while a run of this kernel is running (a thread's, a ``conductor_nb.run()``
left open, the ``%%track run`` cell it is in), warns when the notebook has changes not
saved since a cell ran, and names the checkpoint it took of the track it paused."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from conductor_nb.engine import Engine
from conductor_nb.notebook.recorder import utc_stamp
from conductor_nb.provenance import CELLS_FILE, append_cell

from .real_kernel import RealKernel

THREAD_RUN = """
import threading, conductor_nb
started, go = threading.Event(), threading.Event()
def work():
    with conductor_nb.run("background load"):
        started.set()
        go.wait()
worker = threading.Thread(target=work)
worker.start()
started.wait()
"""


@pytest.fixture
def setup(tmp_path: Path, root: Path):
    """A root with 'Alpha' active and 'Beta' paused, and a kernel for a notebook whose
    file exists (saved before any cell ran)."""
    engine = Engine(root)
    alpha = engine.create("Alpha")["track_id"]
    beta = engine.create("Beta")["track_id"]
    engine.transition(beta, "activate")
    engine.switch(alpha)  # Beta paused, Alpha active
    notebook = tmp_path / "work" / "analysis.ipynb"
    notebook.parent.mkdir()
    notebook.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4}))
    env = {
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "CONDUCTOR_ROOT": str(root),
        "JPY_SESSION_NAME": str(notebook),
    }
    kernel = RealKernel(env, tmp_path)
    kernel.out("%track show")  # the kernel has loaded the extension and run a cell
    try:
        yield engine, kernel, alpha, beta, notebook
    finally:
        kernel.close()


def status(engine: Engine, track_id: str) -> str:
    return engine.entry(track_id)["status"]


def refused(reply: dict) -> str:
    """The one UsageError line of a refused cell."""
    assert (reply["status"], reply["ename"], reply["traceback"]) == ("error", "UsageError", [])
    (line,) = [text for name, text in reply["streams"] if name == "stderr"]
    assert line.count("\n") == 1
    return line


def saved_now(notebook: Path) -> None:
    """The front end saved the notebook: its file is newer than every cell so far."""
    now = time.time()
    os.utime(notebook, (now, now))


def test_a_running_thread_run_refuses_the_switch_then_it_goes_ahead(setup) -> None:
    engine, kernel, alpha, beta, notebook = setup
    kernel.out(THREAD_RUN)
    (run,) = [r for r in engine.runs(alpha) if r["status"] == "running"]
    line = refused(kernel.run("%track switch Beta"))
    assert line == (
        f"UsageError: cannot switch: run {run['run_id']} 'background load' of 'Alpha' "
        f"({alpha}) is still running in this kernel; switch once its cell (or thread) has "
        "finished\n"
    )
    assert (status(engine, alpha), status(engine, beta)) == ("active", "paused")

    kernel.out("go.set(); worker.join()")
    before = {p.name for p in (engine.tree.track_dir(alpha) / "checkpoints").glob("*.json")}
    saved_now(notebook)
    reply = kernel.run("%track switch Beta")
    assert reply["status"] == "ok"
    checkpoint = engine.track(alpha)["last_checkpoint"]
    assert f"{checkpoint}.json" not in before  # a new one, taken by the switch
    assert reply["streams"] == [
        (
            "stdout",
            f"switched to {beta}; paused 'Alpha' ({alpha}) with checkpoint {checkpoint}\n",
        )
    ]
    assert (status(engine, alpha), status(engine, beta)) == ("paused", "active")
    assert engine.checkpoint(alpha, checkpoint)["kind"] == "suspend"


def test_a_run_left_open_and_the_run_cell_itself_refuse(setup) -> None:
    engine, kernel, alpha, beta, _ = setup
    kernel.out('import conductor_nb\nleft = conductor_nb.run("left open")\nleft.__enter__()')
    assert "'left open' of 'Alpha'" in refused(kernel.run("%track switch Beta"))
    kernel.out("left.__exit__(None, None, None)")

    inside = kernel.run(
        '%%track run --name inside\nget_ipython().run_line_magic("track", "switch Beta")'
    )
    assert "'inside' of 'Alpha'" in refused(inside)
    assert (status(engine, alpha), status(engine, beta)) == ("active", "paused")
    runs = {r["name"]: r["status"] for r in engine.runs(alpha)}
    assert runs == {"left open": "completed", "inside": "failed"}


def test_unsaved_notebook_is_a_warning_and_the_switch_goes_ahead(setup) -> None:
    engine, kernel, alpha, beta, notebook = setup
    saved_now(notebook)
    quiet = kernel.run("%track switch Beta")
    assert [name for name, _ in quiet["streams"]] == ["stdout"]  # saved: no warning

    # The switch cell above ran after the last save: the notebook now has unsaved output.
    back = kernel.run("%track switch Alpha")
    assert back["status"] == "ok"
    streams = dict(back["streams"])  # one line on each
    warning, said = streams["stderr"], streams["stdout"]
    assert warning.count("\n") == 1
    assert warning.startswith("conductor: warning: unsaved changes in analysis.ipynb (last saved ")
    assert warning.endswith(
        f"UTC, before its last cell ran): save to keep them (the checkpoint of 'Beta' "
        f"({beta}) has the file as last saved)\n"
    )
    assert said.startswith(f"switched to {alpha}; paused 'Beta' ({beta}) with checkpoint ")
    assert status(engine, alpha) == "active"


def test_a_widget_switch_button_is_guarded_the_same_way(setup) -> None:
    """The board's switch (offered when activating while another track is active) goes
    through the same guard: refused in its message line while a run is going on, and
    naming the checkpoint once it switches."""
    engine, kernel, alpha, beta, notebook = setup
    kernel.out(THREAD_RUN)
    kernel.out("board = %track board")
    first = kernel.out(f"print(board.switch({beta!r}), board.message.text)")
    assert first.startswith("False cannot switch: run ")
    assert status(engine, alpha) == "active"
    kernel.out("go.set(); worker.join()")
    saved_now(notebook)
    second = kernel.out(f"print(board.switch({beta!r}), board.message.text)")
    checkpoint = engine.track(alpha)["last_checkpoint"]
    assert second == (
        f"True switched to Beta; paused 'Alpha' ({alpha}) with checkpoint {checkpoint}\n"
    )
    lease = engine.lease_of(beta)  # the kernel holds the track its widget made active
    assert (lease["pid"], lease["kind"]) == (kernel.pid, "kernel")
    assert (lease["kernel_id"], lease["notebook"]) == (kernel.kernel_id, str(notebook))


def test_a_registered_notebook_run_after_its_save_is_warned_about(magics, tmp_path) -> None:
    """A notebook the track registers (checkpoint_files) whose recorded cells ran after
    its file was saved: the switch warns, then takes the checkpoint (which copies it)."""
    engine = magics.engine()
    alpha = engine.create("Alpha")["track_id"]
    beta = engine.create("Beta")["track_id"]
    engine.transition(alpha, "activate")
    other = tmp_path / "nb" / "other.ipynb"
    other.parent.mkdir()
    other.write_text("{}")
    engine.update(alpha, field="checkpoint_files", value="nb/other.ipynb")
    ran = time.time()
    record = {
        "started_at": utc_stamp(ran),
        "duration_ms": 20.0,
        "sha256": "0123456789abcdef",
        "notebook": str(other),
    }
    append_cell(engine.tree.track_dir(alpha) / CELLS_FILE, record)

    os.utime(other, (ran - 60, ran - 60))  # saved a minute before that cell
    (warning,) = magics.switch_guard.check(engine)
    assert warning.startswith("unsaved changes in other.ipynb (last saved ")
    os.utime(other, (ran + 1, ran + 1))  # saved after it
    assert magics.switch_guard.check(engine) == []

    os.utime(other, (ran - 60, ran - 60))
    said = magics.switch_guard.switch(engine, beta)
    checkpoint = engine.track(alpha)["last_checkpoint"]
    assert said.startswith(f"switched to Beta; paused 'Alpha' ({alpha}) with checkpoint ")
    assert said.endswith(f"; {warning}") and checkpoint in said
    files = {f["path"] for f in engine.checkpoint(alpha, checkpoint)["files"]}
    assert "project/nb/other.ipynb" in files


def test_a_terminal_ipython_names_the_commands_instead_of_buttons(
    ip, magics, root, capsys, monkeypatch
):
    """Outside a kernel (no widgets) the notice of a dead kernel's track is the line
    alone, with the commands; it waits for the next cell and shows once."""
    import subprocess

    engine = magics.engine()
    track_id = engine.create("Left behind")["track_id"]
    engine.transition(track_id, "activate")
    gone = subprocess.Popen(["sleep", "60"])
    gone.kill()
    gone.wait()  # a pid no process has any more
    engine.holder_pid = gone.pid
    engine.take_lease(track_id, holder="kernel", details={"kernel_id": "k-1", "notebook": None})
    ip.extension_manager.unload_extension("conductor_nb")
    monkeypatch.setenv("CONDUCTOR_ROOT", str(root))
    capsys.readouterr()
    ip.extension_manager.load_extension("conductor_nb")
    from conductor_nb.notebook.extension import _loaded

    assert capsys.readouterr().out == ""  # not at load: under the next cell
    ip.run_cell("x = 1")
    line = capsys.readouterr().out
    assert line.startswith(
        f"conductor: the kernel of kernel k-1 died with 'Left behind' ({track_id}) active"
    )
    assert line.endswith(
        f"holder pid {gone.pid} is gone): %track recover {track_id} resumes it here, "
        f"%track fail {track_id} fails it\n"
    )
    assert _loaded[id(ip)].kernel_recovery.notices == []
    ip.run_cell("x = 2")
    assert "conductor:" not in capsys.readouterr().out
