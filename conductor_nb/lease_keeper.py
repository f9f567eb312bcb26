"""A lease held for as long as a script or a kernel works in a track: taken at the
start, renewed from a daemon thread, released at the end."""

from __future__ import annotations

import logging
import threading

from .errors import ConductorError

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from .leases import Leases

__all__ = ["LeaseKeeper"]

log = logging.getLogger(__name__)


class LeaseKeeper:
    """Holds a track's lease for this process and renews it every ``every`` seconds."""

    def __init__(self, leases: Leases, track_id: str, *, every: float = 60.0) -> None:
        self.leases = leases
        self.track_id = track_id
        self.every = every
        self._stop = threading.Event()
        leases.take(track_id, holder="python")
        self._thread = threading.Thread(target=self._beat, name="conductor-lease", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        # A missed heartbeat is not fatal (the next one may work, and a lease goes stale
        # only after many minutes), so the thread says what it skipped and goes on.
        while not self._stop.wait(self.every):
            try:
                self.leases.renew(self.track_id)
            except (ConductorError, OSError) as exc:
                log.warning("skipped a heartbeat of the lease on %s: %s", self.track_id, exc)
            except Exception:
                log.exception("skipped a heartbeat of the lease on %s", self.track_id)

    def release(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.leases.release(self.track_id)
