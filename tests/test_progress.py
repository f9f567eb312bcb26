"""Progress of long work: the parts report it (``progress=``), the CLI draws a bar on
stderr only on a terminal and never with --json or into a pipe; the demo defers its
syncs to one at the end."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from conductor_nb import analytics
from conductor_nb.analytics.demo import generate
from conductor_nb.engine import Engine
from conductor_nb.progress import Bars, counted
from conductor_nb.store import files
from conductor_nb.store.paths import ROOT_ENV


def cli(*args: str, stderr_tty: bool) -> tuple[str, str, int]:
    """Run ``conductor ARGS`` with stdout a pipe and stderr a pseudo-terminal of 100
    columns (or a pipe): (stdout, stderr, exit code)."""
    env = {k: v for k, v in os.environ.items() if k != ROOT_ENV}
    command = [sys.executable, "-m", "conductor_nb.cli", *args]
    if not stderr_tty:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        return done.stdout, done.stderr, done.returncode
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    process = subprocess.Popen(
        command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    stdout, _ = process.communicate(timeout=120)
    return stdout.decode(), b"".join(chunks).decode(errors="replace"), process.returncode


def test_a_terminal_shows_a_bar_on_stderr_and_stdout_stays_clean(tmp_path: Path) -> None:
    out, err, code = cli("demo", "--tracks", "120", "--root", str(tmp_path / "r"), stderr_tty=True)
    assert code == 0, err
    assert err.startswith("\rdemo tracks:   0%|")
    # counts, then [elapsed<time left, rate] once there is a rate to go by
    assert re.search(r"demo tracks: +\d+%\|.*\| [1-9]\d*/120 \[\d\d:\d\d<\d\d:\d\d, ", err), err
    assert err.endswith("\r")  # the finished bar is wiped
    assert out.startswith("made 120 demo tracks") and "\r" not in out and "%|" not in out


@pytest.mark.parametrize(("json_flag", "tty"), [(True, True), (False, False)])
def test_json_and_pipes_get_no_bar(tmp_path: Path, json_flag: bool, tty: bool) -> None:
    flags = ["--json"] if json_flag else []
    args = ["demo", "--tracks", "12", "--root", str(tmp_path / "r"), *flags]
    out, err, code = cli(*args, stderr_tty=tty)
    assert code == 0, err
    assert err == ""
    if json_flag:
        assert json.loads(out)["tracks"] == 12


def test_bars_show_counts_and_close_when_done(capsys: pytest.CaptureFixture[str]) -> None:
    bars = Bars(file=sys.stdout)
    assert list(counted(bars, "items", iter(["a", "b", "c"]))) == ["a", "b", "c"]
    shown = capsys.readouterr().out
    assert "items:" in shown and "0/3" in shown
    assert bars._bar is None  # closed at 3/3
    bars("nothing to do", 0, 0)  # no bar for empty work
    assert capsys.readouterr().out == "" and bars._bar is None


def _reports() -> tuple[list[tuple[str, int, int]], object]:
    seen: list[tuple[str, int, int]] = []
    return seen, lambda what, done, total: seen.append((what, done, total))


def _check(seen: list[tuple[str, int, int]], what: str, total: int) -> None:
    """``what`` was reported from 0 to ``total``, in order."""
    steps = [(done, n) for w, done, n in seen if w == what]
    assert steps == [(done, total) for done in range(total + 1)], seen


def test_the_long_operations_report_progress(tmp_path: Path) -> None:
    seen, progress = _reports()
    generate(tmp_path / "r", tracks=8, seed=3, progress=progress)
    _check(seen, "demo tracks", 8)
    engine = Engine(tmp_path / "r")
    track_id = engine.list()[0]["track_id"]
    seen.clear()
    manifest = engine.create_checkpoint(track_id, progress=progress)
    files_count = manifest["metadata"]["file_count"]
    _check(seen, "checkpoint files", files_count)
    seen.clear()
    assert engine.verify_checkpoint(track_id, manifest["checkpoint_id"], progress=progress) == []
    _check(seen, f"verify {manifest['checkpoint_id']}", files_count)
    seen.clear()
    engine.restore_checkpoint(track_id, manifest["checkpoint_id"], progress=progress)
    assert [w for w, done, _ in seen if done == 0] == [
        f"verify {manifest['checkpoint_id']}",
        "checkpoint files",
        "read back files",
    ]
    seen.clear()
    engine.prune_checkpoints(track_id, keep=1, progress=progress)
    assert seen[0][:2] == ("prune blobs", 0) and seen[-1][1] == seen[-1][2]
    seen.clear()
    engine.rebuild(progress=progress)
    _check(seen, "rebuild: tracks", 8)
    seen.clear()
    analytics.load(tmp_path / "r", cache=False, progress=progress)
    _check(seen, "read tracks", 8)


def test_the_demo_syncs_once_at_the_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside ``deferred_sync`` no file or folder is fsynced; ``os.sync`` runs once."""
    calls = {"fsync": 0, "sync": 0}
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        calls["fsync"] += 1
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "sync", lambda: calls.__setitem__("sync", calls["sync"] + 1))
    monkeypatch.setattr(files, "_fdatasync", fsync)
    generate(tmp_path / "r", tracks=5, seed=2)
    assert calls["sync"] == 1
    assert calls["fsync"] == 0
    Engine(tmp_path / "r").create("After the demo")
    assert calls["fsync"] > 0  # ordinary changes sync again
