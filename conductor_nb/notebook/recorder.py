"""Recording the cells a kernel runs against the active track (what is stored and where:
``conductor_nb.provenance``).

IPython calls ``pre_run_cell`` before each cell and ``post_run_cell`` after it (the
extension registers both when it loads). The track is the one active when the cell
starts (else the one active when it ends: the cell that activated it), and the run is
the ``%%track run`` the cell opened, or the run open around it. Recording never stops
or breaks a cell: a record that cannot be written is one warning line on stderr, once
until a record succeeds again (a registry that cannot be read records nothing, quietly:
the commands say what is wrong with it). ``%track cells --off`` / ``--on`` switch it
for this notebook's kernel, and ``TrackMagics.provenance = False`` for the kernel (or
every kernel, in its config).
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from typing import Any

from ..errors import ConductorError
from ..provenance import CELLS_FILE, append_cell
from ..tracking import current_run

__all__ = ["CellRecorder", "utc_stamp"]

SESSION_ENV = "JPY_SESSION_NAME"  # the notebook's path, set by Jupyter for its kernels


def utc_stamp(seconds: float) -> str:
    """``seconds`` since the epoch as the store writes times (``...T09:00:00.000Z``)."""
    whole = int(seconds)
    millis = int((seconds - whole) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


class _Pending:
    """What ``pre_run_cell`` learnt about the cell that is running."""

    __slots__ = ("cell_id", "clock", "engine", "source", "started", "track_id")

    def __init__(self, engine: Any, track_id: str | None, info: Any) -> None:
        self.started = time.time()
        self.clock = time.perf_counter()
        self.engine = engine
        self.track_id = track_id
        self.source = getattr(info, "raw_cell", None) or ""
        self.cell_id = getattr(info, "cell_id", None)


class CellRecorder:
    """Records the cells of one shell for the magics' root (``magics.engine()``)."""

    def __init__(self, magics: Any) -> None:
        self.magics = magics
        self.enabled = True  # this notebook's switch: %track cells --on / --off
        self.shell: Any = None
        self._pending: _Pending | None = None
        self._warned = False

    @property
    def recording(self) -> bool:
        return self.enabled and bool(self.magics.provenance)

    def switch(self, on: bool) -> str:
        """``%track cells --on`` / ``--off``: the one line that says what now happens."""
        self.enabled = on
        if on and not self.magics.provenance:
            return "cells of this notebook are recorded once TrackMagics.provenance is True"
        return "cells of this notebook are " + ("recorded" if on else "not recorded")

    # -- the shell's events ------------------------------------------------------------------

    def register(self, shell: Any) -> None:
        self.shell = shell
        shell.events.register("pre_run_cell", self.pre_run_cell)
        shell.events.register("post_run_cell", self.post_run_cell)

    def unregister(self) -> None:
        for event, callback in (
            ("pre_run_cell", self.pre_run_cell),
            ("post_run_cell", self.post_run_cell),
        ):
            try:
                self.shell.events.unregister(event, callback)
            except (ValueError, AttributeError):
                continue

    def pre_run_cell(self, info: Any = None) -> None:
        self._pending = None
        self.magics.cell_run = None  # set by this cell's %%track run, if it has one
        if not self.recording:
            return
        try:
            engine = self.magics.engine()
            self._pending = _Pending(engine, self._active(engine), info)
        except Exception as err:  # a cell must run whatever happens here
            self._failed(err)

    def post_run_cell(self, result: Any = None) -> None:
        pending, self._pending = self._pending, None
        if pending is None or not self.recording:
            return
        try:
            self._record(pending, result)
        except Exception as err:
            self._failed(err)
        else:
            self._warned = False

    # -- recording ---------------------------------------------------------------------------

    def _active(self, engine: Any) -> str | None:
        """The active track's id; None when none is, when there is no root yet, or when
        the registry cannot be read (a damaged one: every command says so, in one line)."""
        if not engine.tree.registry.path.exists():
            return None
        try:
            active = engine.get_active()
        except ConductorError:
            return None
        return active["track_id"] if active else None

    def _record(self, pending: _Pending, result: Any) -> None:
        milliseconds = (time.perf_counter() - pending.clock) * 1000
        track_id = pending.track_id or self._active(pending.engine)
        if track_id is None:
            return
        error = getattr(result, "error_in_exec", None) or getattr(result, "error_before_exec", None)
        record = {
            "started_at": utc_stamp(pending.started),
            "duration_ms": round(milliseconds, 3),
            "execution_count": getattr(result, "execution_count", None),
            "sha256": hashlib.sha256(pending.source.encode("utf-8", "replace")).hexdigest()[:16],
            "raised": error is not None,
            "error": type(error).__name__ if error is not None else None,
            "notebook": self._notebook(),
            "cell_id": pending.cell_id,
        }
        run = self.magics.cell_run or current_run()
        if run is not None and run.run_id is not None:
            record["run_id"] = run.run_id
            if run.track_id != track_id:
                record["run_track_id"] = run.track_id
        folder = pending.engine.tree.track_dir(track_id)
        if not folder.is_dir():  # the cell removed the track (or its root): nothing to keep
            return
        append_cell(folder / CELLS_FILE, record)

    def _notebook(self) -> str | None:
        """The notebook's path as Jupyter names it (None in a console)."""
        user_ns = getattr(self.shell, "user_ns", None) or {}
        path = user_ns.get("__session__") or os.environ.get(SESSION_ENV)
        return path if isinstance(path, str) and path else None

    def _failed(self, err: BaseException) -> None:
        if self._warned:
            return
        self._warned = True
        what = str(err) or type(err).__name__
        print(
            f"conductor: this cell was not recorded ({what}); cells still run, and "
            "`%track cells --off` stops recording",
            file=sys.stderr,
        )
