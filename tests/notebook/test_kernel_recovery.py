"""When a kernel dies with a track active: its lease names the kernel and the notebook;
after a SIGKILL the next kernel shows one line and a widget under its first cell, whose
buttons resume the track in this kernel or mark it failed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conductor_nb.engine import Engine

from .real_kernel import RealKernel

WIDGET = "application/vnd.jupyter.widget-view+json"
NOTICES = "get_ipython().magics_manager.registry['TrackMagics'].kernel_recovery.notices"
NOTICE = f"notice = {NOTICES}[0]"


@pytest.fixture
def kernels(tmp_path: Path, root: Path):
    """Start kernels for notebooks (closed at the end, killed or not)."""
    started: list[RealKernel] = []

    def start(notebook: str) -> RealKernel:
        path = tmp_path / notebook
        path.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4}))
        env = {
            "IPYTHONDIR": str(tmp_path / "ipython"),
            "CONDUCTOR_ROOT": str(root),
            "JPY_SESSION_NAME": str(path),
        }
        started.append(RealKernel(env, tmp_path))
        return started[-1]

    yield start
    for kernel in started:
        kernel.close()


@pytest.fixture
def killed(kernels, root: Path, tmp_path: Path):
    """'Model training' made active in first.ipynb's kernel, which also left a run
    running in a thread, then was killed with SIGKILL."""
    engine = Engine(root)
    first = kernels("first.ipynb")
    first.out('%track create --name "Model training"\n%track activate "Model training"')
    track_id = engine.get_active()["track_id"]
    lease = engine.lease_of(track_id)
    assert (lease["kind"], lease["pid"]) == ("kernel", first.pid)
    assert lease["kernel_id"] == first.kernel_id
    assert lease["notebook"] == str(tmp_path / "first.ipynb")
    first.out(
        "import threading, conductor_nb\nstarted = threading.Event()\n"
        "def work():\n    with conductor_nb.run('epoch loop'):\n"
        "        started.set(); threading.Event().wait()\n"
        "threading.Thread(target=work, daemon=True).start(); started.wait()"
    )
    first.kill()
    return engine, track_id, lease


def notice_of(reply: dict, track_id: str, lease: dict, notebook: Path) -> None:
    """The first cell of the next kernel: the one line, then the widget."""
    stdout = [text for name, text in reply["streams"] if name == "stdout"]
    assert stdout[0].startswith(
        f"conductor: the kernel of {notebook} died with 'Model training' ({track_id}) "
        "active (last seen "
    )
    assert stdout[0].endswith(
        f"holder pid {lease['pid']} is gone): resume it here or mark it failed, below "
        f"(or %track recover {track_id})\n"
    )
    assert stdout[0].count("\n") == 1
    assert any(WIDGET in output for output in reply["outputs"])


def test_the_next_kernel_resumes_the_track(kernels, killed, tmp_path: Path) -> None:
    engine, track_id, lease = killed
    (run,) = engine.runs(track_id)
    assert engine.detect()[0]["reason"] == f"holder pid {lease['pid']} is gone"
    second = kernels("second.ipynb")
    notice_of(second.run("x = 1"), track_id, lease, tmp_path / "first.ipynb")
    assert second.run("y = 2")["streams"] == []  # shown once

    said = second.out(f"{NOTICE}\nnotice.resume_button.click()\nprint(notice.message.text)")
    assert said.startswith(f"'Model training' ({track_id}) resumed in this kernel (")
    assert f"cleared the lease of pid {lease['pid']}" in said
    taken = engine.lease_of(track_id)
    assert (taken["pid"], taken["kernel_id"]) == (second.pid, second.kernel_id)
    assert taken["notebook"] == str(tmp_path / "second.ipynb")
    assert engine.entry(track_id)["status"] == "active"
    assert engine.run(track_id, run["run_id"])["status"] == "interrupted"
    assert engine.detect() == []
    assert second.out("print(notice.resume_button.disabled, notice.fail_button.disabled)") == (
        "True True\n"
    )


def test_the_next_kernel_marks_the_track_failed(kernels, killed, tmp_path: Path) -> None:
    engine, track_id, lease = killed
    second = kernels("second.ipynb")
    notice_of(second.run("x = 1"), track_id, lease, tmp_path / "first.ipynb")
    said = second.out(f"{NOTICE}\nnotice.fail_button.click()\nprint(notice.message.text)")
    reason = f"its kernel died ({tmp_path / 'first.ipynb'}, last seen "
    assert said.startswith(f"'Model training' ({track_id}) marked failed: {reason}")
    track = engine.track(track_id)
    assert track["status"] == "failed"
    assert track["history"][-1]["reason"].startswith(reason)
    assert engine.lease_of(track_id) is None
    (run,) = engine.runs(track_id)
    assert run["status"] == "interrupted"
    assert engine.detect() == []


def test_a_live_holder_is_not_announced(kernels, root: Path) -> None:
    """A kernel still running its track: the next kernel says nothing about it."""
    first = kernels("first.ipynb")
    first.out('%track create --name "Shared"\n%track activate Shared')
    second = kernels("second.ipynb")
    reply = second.run("x = 1")
    assert (reply["streams"], reply["outputs"]) == ([], [])
    assert second.out(f"print(len({NOTICES}))") == "0\n"
