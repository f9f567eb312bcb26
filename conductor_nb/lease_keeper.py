"""A lease held for as long as a script or a kernel works in a track: taken at the
start, renewed from a daemon thread (``Heartbeat``, also a tracked run's), released at
the end."""

from __future__ import annotations

import logging
import signal
import threading

from .errors import ConductorError

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .leases import Leases

__all__ = ["Heartbeat", "LeaseKeeper"]

log = logging.getLogger(__name__)


class Heartbeat:
    """Calls ``beat`` every ``every`` seconds from a daemon thread until ``stop``: the
    heartbeat of a track's lease (``LeaseKeeper``) and of a tracked run (``tracking``)."""

    def __init__(self, beat: Callable[[], object], what: str, *, every: float) -> None:
        self.beat = beat
        self.what = what
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="conductor-heartbeat", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        # Signals are for the main thread (a SIGINT must interrupt its sleep, not land here).
        signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        # A missed heartbeat is not fatal (the next one may work, and a holder goes stale
        # only after many minutes), so the thread says what it skipped and goes on.
        while not self._stop.wait(self.every):
            try:
                self.beat()
            except (ConductorError, OSError) as exc:
                log.warning("skipped a heartbeat of %s: %s", self.what, exc)
            except Exception:
                log.exception("skipped a heartbeat of %s", self.what)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)


class LeaseKeeper:
    """Holds a track's lease for this process and renews it every ``every`` seconds."""

    def __init__(
        self,
        leases: Leases,
        track_id: str,
        *,
        every: float = 60.0,
        holder: str = "python",
        details: dict[str, Any] | None = None,
    ) -> None:
        self.leases = leases
        self.track_id = track_id
        self.every = every
        leases.take(track_id, holder=holder, details=details)
        self._heartbeat = Heartbeat(
            lambda: leases.renew(track_id), f"the lease on {track_id}", every=every
        )

    def release(self) -> None:
        self._heartbeat.stop()
        self.leases.release(self.track_id)
