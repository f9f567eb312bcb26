"""One re-entrant writer lock per root, shared with the original tool's lock file.

Two locks are taken, always in the same order:

1. ``tracks/.conductor.lock``, held with ``fcntl.flock`` (an OS lock, so a killed
   process never leaves it held; the same lock the ``filelock`` package takes, which
   earlier versions used): it orders our own processes. Waiting polls until the deadline.
2. ``tracks/track-registry.lock``, the original Node.js tool's protocol: created
   exclusively, holding ``{"pid":..,"timestamp":..}``. While we hold it the original
   tool waits. A leftover is stale when its pid is dead on this host or its mtime is
   more than 30 s old (the original tool's own rule), or it is still empty 2 s after its
   creation (its writer was killed before writing it), so a crash never blocks for long.

   It is made as a hard link to the first lock's file, which its holder has just
   rewritten in place with that content: a link is as exclusive as ``O_CREAT|O_EXCL``
   and the file is whole before its name appears, while creating and deleting a file
   each time costs ~100 us of file-system work (most of a status change's locking).
   The original tool reads only the file's mtime, fresh from the rewrite; our own
   processes read its pid, and only while they hold the first lock. Where a file system
   has no hard links, the file is created and written as the original tool does.

The lock is re-entrant within a process: nested ``with lock:`` blocks (an
``activate --force`` that pauses another track first) never wait on themselves.

The first writer of a new root creates ``tracks/`` to lock it. If it wrote nothing (a
failed command), ``discard_on_release`` makes the release remove what the acquire
created: the OS lock file is unlinked while still held, then the folders if empty. A
process that meanwhile locked the unlinked file sees that the path no longer names the
file it holds, and locks again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from ..errors import LockTimeout
from . import files

__all__ = [
    "DEFAULT_TIMEOUT",
    "EMPTY_STALE_AFTER",
    "INTEROP_NAME",
    "OS_LOCK_NAME",
    "POLL_INTERVAL",
    "STALE_AFTER",
    "TIMEOUT_ENV",
    "RootLock",
    "default_timeout",
    "lock_for",
    "pid_alive",
]

DEFAULT_TIMEOUT = 5.0
TIMEOUT_ENV = "CONDUCTOR_LOCK_TIMEOUT"
STALE_AFTER = 30.0
# A lock file is written right after it is created: one still empty after this long
# lost its writer between the two steps (a SIGKILL while creating it).
EMPTY_STALE_AFTER = 2.0
POLL_INTERVAL = 0.02

INTEROP_NAME = "track-registry.lock"
OS_LOCK_NAME = ".conductor.lock"

_instances: dict[str, RootLock] = {}
_instances_guard = threading.Lock()


def default_timeout() -> float:
    raw = os.environ.get(TIMEOUT_ENV)
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        return max(0.0, float(raw))
    except ValueError:
        return DEFAULT_TIMEOUT


def lock_for(tracks_dir: Path) -> RootLock:
    """The process-wide lock of a tracks folder (one object per folder, so re-entrancy
    holds across every Conductor opened on the same root)."""
    key = os.path.realpath(tracks_dir)
    with _instances_guard:
        lock = _instances.get(key)
        if lock is None or lock.owner_pid != os.getpid():  # a forked child starts afresh
            lock = _instances[key] = RootLock(Path(key))
        return lock


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RootLock:
    def __init__(self, tracks_dir: Path) -> None:
        self.tracks_dir = tracks_dir
        self.interop_path = tracks_dir / INTEROP_NAME
        # as text, joined once: every transaction opens both (pathlib costs per use)
        self._interop_name = os.fspath(self.interop_path)
        self._os_lock_name = os.path.join(tracks_dir, OS_LOCK_NAME)
        self._linked: tuple[int, int] | None = None  # (device, inode) of a linked interop file
        self.owner_pid = os.getpid()
        self._guard = threading.RLock()
        self._depth = 0
        self._os_fd: int | None = None  # the flock-ed descriptor of OS_LOCK_NAME
        self._interop_content: bytes | None = None
        self.timeout = default_timeout()
        self._made: list[Path] = []  # folders the current acquire created, deepest first
        self.discard_on_release = False

    @property
    def made_folders(self) -> bool:
        """Whether the current hold created the tracks folder (a new root)."""
        return bool(self._made)

    @property
    def depth(self) -> int:
        return self._depth

    def acquire(self, timeout: float | None = None) -> None:
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        if not self._guard.acquire(timeout=timeout):
            raise LockTimeout(str(self.interop_path), timeout, "another thread")
        if self._depth == 0:
            try:
                self._acquire_os_lock(deadline, timeout)
                try:
                    self._acquire_interop(deadline, timeout)
                except BaseException:
                    self._release_os_lock()
                    raise
            except BaseException:
                self._guard.release()
                raise
        self._depth += 1

    def release(self) -> None:
        if self._depth == 1:
            try:
                self._release_interop()
                if self.discard_on_release:
                    self._discard_made()
            finally:
                self.discard_on_release = False
                self._release_os_lock()
        self._depth -= 1
        self._guard.release()

    def __enter__(self) -> RootLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def refresh(self) -> None:
        """Keep the interop file fresh during a long operation (the original tool
        deletes locks whose mtime is older than 30 s)."""
        if self._depth:
            os.utime(self.interop_path)

    # -- the two locks ---------------------------------------------------------------

    def _acquire_os_lock(self, deadline: float, timeout: float) -> None:
        while True:
            self._made = _missing_folders(self.tracks_dir)
            try:
                if self._made:
                    # a new root's folders are synced in their parents: a power cut after
                    # the first write cannot lose the root
                    files.make_dirs(self.tracks_dir)
                fd = os.open(self._os_lock_name, os.O_RDWR | os.O_CREAT, 0o644)
            except (FileNotFoundError, FileExistsError):
                continue  # a first writer that wrote nothing was removing the folders
            try:
                _flock_until(fd, deadline)
            except BlockingIOError:
                os.close(fd)
                raise LockTimeout(
                    str(self.interop_path), timeout, "another conductor process"
                ) from None
            except BaseException:
                os.close(fd)
                raise
            self._os_fd = fd
            if self._holds_lock_file():
                return
            self._release_os_lock()  # it unlinked the file we locked: lock the new one

    def _release_os_lock(self) -> None:
        fd, self._os_fd = self._os_fd, None
        if fd is not None:
            os.close(fd)  # closing the only descriptor of the open file releases the flock

    def _holds_lock_file(self) -> bool:
        """Whether the OS lock file at the path is the one held."""
        if self._os_fd is None:
            return False
        try:
            return os.path.samestat(os.fstat(self._os_fd), os.stat(self._os_lock_name))
        except FileNotFoundError:
            return False

    def _discard_made(self) -> None:
        """Remove the OS lock file (still held) and the folders this hold created, when
        empty; only where a later holder can tell the file went (see the module doc)."""
        made, self._made = self._made, []
        if not made or self._os_fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._os_lock_name)
        for folder in made:
            try:
                folder.rmdir()
            except OSError:  # not empty: someone else's files are there now
                return

    def _acquire_interop(self, deadline: float, timeout: float) -> None:
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        data = f'{{"pid":{os.getpid()},"timestamp":"{stamp}"}}'.encode()  # json.dumps' compact text
        while True:
            try:
                self._create_interop(data)
            except FileExistsError:
                holder = self._break_if_stale()
                if holder is None:
                    continue
                if time.monotonic() >= deadline:
                    raise LockTimeout(str(self.interop_path), timeout, holder) from None
                time.sleep(POLL_INTERVAL)
                continue
            self._interop_content = data
            return

    def _create_interop(self, data: bytes) -> None:
        """Make the interop file with ``data``, exclusively (FileExistsError if there is
        one): the OS lock's file rewritten and linked, else a file created and written."""
        fd = self._os_fd
        assert fd is not None  # the OS lock is held
        os.pwrite(fd, data, 0)
        held = os.fstat(fd)
        if held.st_size != len(data):
            os.ftruncate(fd, len(data))
        try:
            os.link(self._os_lock_name, self._interop_name)
        except FileExistsError:
            raise
        except OSError:  # no hard links on this file system
            pass
        else:
            self._linked = (held.st_dev, held.st_ino)
            return
        fd = os.open(self._interop_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)

    def _break_if_stale(self) -> str | None:
        """Remove a stale interop lock; return None if removed (or gone), else a holder text."""
        try:
            raw = self.interop_path.read_bytes()
            age = time.time() - self.interop_path.stat().st_mtime
        except FileNotFoundError:
            return None
        pid = _lock_pid(raw)
        if pid is not None and pid == os.getpid():
            stale = True  # our own leftover: we hold the OS lock, so no thread of ours owns it
        elif not raw.strip():
            stale = age > EMPTY_STALE_AFTER
        else:
            stale = age > STALE_AFTER or (pid is not None and not pid_alive(pid))
        if not stale:
            return f"pid {pid}" if pid is not None else "an unknown process"
        # Move it aside atomically, then check we moved the stale file and not a fresh one.
        aside = self.interop_path.with_name(f"{INTEROP_NAME}.stale-{os.urandom(4).hex()}")
        try:
            os.rename(self.interop_path, aside)
        except FileNotFoundError:
            return None
        try:
            if aside.read_bytes() != raw:
                # someone else's fresh lock: put it back unless a newer one exists
                with contextlib.suppress(FileExistsError):
                    os.link(aside, self.interop_path)
        finally:
            os.unlink(aside)
        return None

    def _release_interop(self) -> None:
        """Remove the interop file if it is still ours (a holder judged stale may have
        lost it, and someone else may hold it now)."""
        linked, self._linked = self._linked, None
        if linked is not None:
            try:
                st = os.stat(self._interop_name)
            except FileNotFoundError:
                ours = False
            else:
                ours = (st.st_dev, st.st_ino) == linked
        else:
            try:
                fd = os.open(self._interop_name, os.O_RDONLY)
            except FileNotFoundError:
                fd = None
            ours = False
            if fd is not None:
                try:
                    content = self._interop_content or b""
                    ours = os.read(fd, len(content) + 1) == content
                finally:
                    os.close(fd)
        if ours:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._interop_name)
        self._interop_content = None


def _flock_until(fd: int, deadline: float) -> None:
    """An exclusive flock on ``fd``, polled until ``deadline`` (BlockingIOError past it)."""
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise
        time.sleep(POLL_INTERVAL)


def _missing_folders(folder: Path) -> list[Path]:
    """``folder`` and its ancestors that do not exist, deepest first."""
    missing = []
    while not folder.exists() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    return missing


def _lock_pid(raw: bytes) -> int | None:
    try:
        pid = json.loads(raw).get("pid")
    except (ValueError, AttributeError, RecursionError):  # not a lock we can read: no pid
        return None
    return pid if isinstance(pid, int) else None
