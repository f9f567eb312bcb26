"""The closer thread (``store.closing``): descriptors handed to it are closed, and it takes
no signal, so a Ctrl+C interrupts the main thread's wait rather than landing on it."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

from conductor_nb.store.closing import close_later


def _closer() -> threading.Thread:
    return next(t for t in threading.enumerate() if t.name == "conductor-close")


def _blocked_signals(thread: threading.Thread) -> int:
    """The thread's blocked-signal mask, as Linux reports it."""
    status = Path(f"/proc/{os.getpid()}/task/{thread.native_id}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("SigBlk:"))
    return int(line.split()[1], 16)


def _wait_closed(fd: int) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.fstat(fd)
        except OSError:
            return True
        time.sleep(0.01)
    return False


def test_a_handed_descriptor_is_closed_by_a_thread_that_takes_no_signal(tmp_path: Path):
    fd = os.open(tmp_path / "file", os.O_WRONLY | os.O_CREAT, 0o644)
    close_later(fd)
    assert _wait_closed(fd)
    mask = _blocked_signals(_closer())
    for blocked in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM):
        assert mask & (1 << (blocked - 1)), blocked
    assert not _blocked_signals(threading.main_thread()) & (1 << (signal.SIGINT - 1))
