"""Kill points for the crash tests: a child process counts its file-system changes and
freezes right after the Nth one, and the parent SIGKILLs it there.

A kill after a random sleep lands wherever a loaded machine let the child get to, so
how many kills fall inside a transaction is luck. Counting changes makes the kill point
exact and replayable: the same N stops the same child at the same change, whatever the
load. Every state a crash can leave on disk is the state after some change (a write cut
short aside, which only shortens a temp file), so kill points after changes reach them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
# os calls that change the file system or a file's contents (pathlib and the store both
# go through them). An os.open counts only with a flag that can change something.
CHANGES = (
    "open",
    "write",
    "fsync",
    "replace",
    "rename",
    "link",
    "unlink",
    "remove",
    "mkdir",
    "rmdir",
    "truncate",
    "ftruncate",
    "utime",
)
_OPEN_CHANGES = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
STOP = "stopped after change"


def _is_change(name: str, args: tuple, kwargs: dict) -> bool:
    if name != "open":
        return True
    flags = args[1] if len(args) > 1 else kwargs["flags"]
    return bool(flags & _OPEN_CHANGES)


def _watch(on_change: Callable[[str], None]) -> Callable[[], None]:
    """Make every os call in CHANGES call ``on_change(name)`` once it has changed
    something; returns the undo."""
    saved = {name: getattr(os, name) for name in CHANGES}

    def counting(name: str, real: Callable) -> Callable:
        def wrapper(*args, **kwargs):
            result = real(*args, **kwargs)
            if _is_change(name, args, kwargs):
                on_change(name)
            return result

        return wrapper

    for name, real in saved.items():
        setattr(os, name, counting(name, real))

    def undo() -> None:
        for name, real in saved.items():
            setattr(os, name, real)

    return undo


def install(stop_at: int) -> None:
    """In the child: after the ``stop_at``-th change, print a STOP line and block until
    killed (or until the parent is gone: then exit, never linger). The child's own
    bookkeeping must use os functions saved before this call, or it would count."""
    write, read = os.write, os.read
    count = 0

    def on_change(name: str) -> None:
        nonlocal count
        count += 1
        if count == stop_at:
            write(1, f"{STOP} {count}: os.{name}\n".encode())
            read(0, 1)  # the parent kills us here; EOF means it died
            os._exit(70)

    _watch(on_change)


@dataclass
class Kill:
    """What a child printed before it was killed, and how it ended."""

    stopped: bool  # it reached its kill point (else it died or hung first)
    pid: int
    lines: list[str] = field(default_factory=list)
    returncode: int | None = None
    stderr: str = ""

    @property
    def killed_at_its_point(self) -> bool:
        return self.stopped and self.returncode == -signal.SIGKILL

    def describe(self) -> str:
        return f"exit {self.returncode}, printed {self.lines[-3:]}, stderr:\n{self.stderr[-3000:]}"


def kill_at(command: list[str], *, timeout: float = 120, env: dict | None = None) -> Kill:
    """Run ``command`` (a child that calls ``install``) and SIGKILL it once it stops at
    its kill point. A child that hangs is killed after ``timeout`` seconds (the test then
    fails: ``stopped`` is False). The child finds this module on its PYTHONPATH."""
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    with (
        tempfile.TemporaryFile() as stderr,
        subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env
        ) as child,
    ):
        watchdog = threading.Timer(timeout, child.kill)
        watchdog.start()
        lines: list[str] = []
        try:
            for raw in child.stdout:
                lines.append(raw.decode(errors="replace").rstrip("\n"))
                if lines[-1].startswith(STOP):
                    break
            child.send_signal(signal.SIGKILL)
            child.wait()
        finally:
            watchdog.cancel()
        stderr.seek(0)
        return Kill(
            stopped=bool(lines) and lines[-1].startswith(STOP),
            pid=child.pid,
            lines=lines,
            returncode=child.returncode,
            stderr=stderr.read().decode(errors="replace"),
        )


def count_changes(operation: Callable[[], object]) -> int:
    """How many changes ``operation()`` makes in this process (to size the kill range)."""
    seen: list[str] = []
    undo = _watch(seen.append)
    try:
        operation()
    finally:
        undo()
    return len(seen)
