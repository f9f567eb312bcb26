"""Who holds a lease or a running workflow run: a process on a host.

A holder record is ``{"pid", "host", "process_start"}``; the process start time tells a
live holder from a new process that reused its pid.
"""

from __future__ import annotations

import os

from .store.locking import pid_alive

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

__all__ = ["holder_gone", "hostname", "is_this_process", "process_record", "process_start_time"]


def hostname() -> str:
    """This host's name (os.uname: the socket module costs 5 ms of CLI start-up)."""
    return os.uname().nodename


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), to tell a live
    process from a new one that reused its pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return fields[19].decode()
    except (OSError, IndexError):
        return None


def process_record(pid: int | None = None) -> dict[str, Any]:
    """The holder record of this process (or of ``pid``), on this host."""
    pid = os.getpid() if pid is None else pid
    return {"pid": pid, "host": hostname(), "process_start": process_start_time(pid)}


def is_this_process(record: dict[str, Any]) -> bool:
    mine = process_record()
    return record.get("pid") == mine["pid"] and record.get("host") == mine["host"]


def holder_gone(holder: dict[str, Any] | None) -> str | None:
    """Why the holder of a lease is gone (None if it may still be alive)."""
    if not isinstance(holder, dict):
        return None
    if holder.get("host") != hostname():
        return None
    pid = holder.get("pid")
    if not isinstance(pid, int):
        return None
    if not pid_alive(pid):
        return f"holder pid {pid} is gone"
    started = holder.get("process_start")
    if started is not None and process_start_time(pid) not in (None, started):
        return f"pid {pid} now belongs to another process"
    return None
