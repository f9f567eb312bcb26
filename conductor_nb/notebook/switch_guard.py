"""The switch as a kernel makes it (``%track switch`` and the widgets' switch buttons).

Before the engine's switch (which pauses the active track and checkpoints it, all or
nothing), the kernel checks two things:

- **a run of this kernel still running refuses the switch**: the ``%%track run`` cell
  that is executing, a run opened with ``conductor_nb.run()`` and not closed, or one
  going on in a thread: any run of the active track that is ``running`` and held by this
  kernel's process. Its work would land in a paused track.
- **unsaved notebooks are a warning** (one line; the switch goes ahead). A notebook is
  unsaved when its file is older than the last cell known to have run in it. The
  notebooks looked at are this kernel's (``__session__``, the path Jupyter gives its
  kernel) and the ``.ipynb`` files the active track registers (``checkpoint_files``,
  which its checkpoint copies, and ``target_files``). The last cell run in a notebook is
  the later of: the last cell this kernel finished (for its own notebook), and the last
  cell recorded for the track in it (``%track cells``). Asking the Jupyter server whether
  a notebook is dirty would need its URL and token, which a kernel does not have.

Then the switch says what it did, naming the checkpoint of the track it paused
(``conductor_nb.switch_report``).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import commands
from ..errors import InvalidInput, track_label
from ..holders import hostname
from ..provenance import read_cells
from ..switch_report import SwitchReport
from ..tracking import current_run
from ..tracks import parse_time
from ..vocab import RunStatus

__all__ = ["SwitchGuard", "kernel_notebook"]


def kernel_notebook(shell: Any) -> Path | None:
    """The notebook this kernel runs, as a path (None in a console). Jupyter gives the
    kernel its absolute path; a relative one is taken from the working directory, which
    Jupyter sets to the notebook's folder."""
    user_ns = getattr(shell, "user_ns", None) or {}
    name = user_ns.get("__session__") or os.environ.get("JPY_SESSION_NAME")
    if not isinstance(name, str) or not name.endswith(".ipynb"):
        return None
    path = Path(name)
    if path.is_absolute():
        return path
    here = Path.cwd() / path.name
    return here if here.exists() else Path.cwd() / path


class SwitchGuard:
    """Checks a switch asked for in this kernel (see the module's doc)."""

    def __init__(self, magics: Any) -> None:
        self.magics = magics
        self.shell: Any = None
        self.last_cell_ended: float | None = None  # time.time() when the last cell ended

    def register(self, shell: Any) -> None:
        self.shell = shell
        shell.events.register("post_run_cell", self._cell_ended)

    def unregister(self) -> None:
        with contextlib.suppress(ValueError, AttributeError):
            self.shell.events.unregister("post_run_cell", self._cell_ended)

    def _cell_ended(self, result: Any = None) -> None:
        self.last_cell_ended = time.time()

    # -- the switch ----------------------------------------------------------------------------

    def execute(self, engine: Any, ns: Any) -> commands.Outcome:
        """``%track switch``: checked, done by the command, and its line printed (the
        magic shows the track it activated)."""
        for line in self.check(engine):
            print(f"conductor: warning: {line}", file=sys.stderr)
        outcome = commands.execute(engine, ns)
        print(outcome.message)
        return outcome

    def switch(self, engine: Any, track_id: str, reason: str | None = None) -> str:
        """A widget's switch: the same checks; the line its message shows."""
        warnings = self.check(engine)
        report = SwitchReport(engine)
        track = engine.switch(track_id, reason=reason)
        return "; ".join([report.describe(track, by_name=True), *warnings])

    def check(self, engine: Any) -> list[str]:
        """Refuse while a run of this kernel is running; the warnings for unsaved
        notebooks (none: nothing to say)."""
        active = engine.get_active()
        if active is None:
            return []
        track = engine.track(active["track_id"])
        self._refuse_while_running(engine, track)
        return self._unsaved(engine, track)

    def _refuse_while_running(self, engine: Any, track: dict[str, Any]) -> None:
        label = track_label(track["track_id"], track.get("name"))
        for run in self._open_runs(engine, track["track_id"]):
            raise InvalidInput(
                f"cannot switch: run {run.get('run_id')} {run.get('name')!r} of {label} is "
                "still running in this kernel; switch once its cell (or thread) has finished"
            )

    def _open_runs(self, engine: Any, track_id: str) -> list[dict[str, Any]]:
        """Runs of this kernel still open: those in memory (this cell's ``%%track run``,
        this thread's ``conductor_nb.run``), then the track's running runs this process
        holds (a thread's, a block left open)."""
        found = [
            {"run_id": run.run_id, "name": run.name}
            for run in (self.magics.cell_run, current_run())
            if run is not None and run._open and run.track_id == track_id
        ]
        me, host = engine.holder_pid, hostname()
        for run in engine.runs(track_id):
            holder = run.get("holder") or {}
            if (
                run.get("status") == RunStatus.RUNNING
                and holder.get("pid") == me
                and holder.get("host") == host
            ):
                found.append(run)
        return found

    # -- unsaved notebooks ---------------------------------------------------------------------

    def _unsaved(self, engine: Any, track: dict[str, Any]) -> list[str]:
        last_ran = self._last_cells(engine, track)
        late = []
        for path, ran in sorted(last_ran.items()):
            try:
                saved = path.stat().st_mtime
            except OSError:
                continue  # not saved at all yet, or moved: nothing to compare
            if saved < ran:
                late.append(f"{path.name} (last saved {_clock(saved)}, before its last cell ran)")
        if not late:
            return []
        label = track_label(track["track_id"], track.get("name"))
        return [
            f"unsaved changes in {', '.join(late)}: save to keep them (the checkpoint of "
            f"{label} has the file as last saved)"
        ]

    def _last_cells(self, engine: Any, track: dict[str, Any]) -> dict[Path, float]:
        """Each notebook looked at, and when a cell last ended in it (seconds)."""
        last: dict[Path, float] = {}
        mine = kernel_notebook(self.shell)
        if mine is not None and self.last_cell_ended is not None:
            last[mine.resolve()] = self.last_cell_ended
        registered = _registered_notebooks(engine, track)
        if not registered:
            return last
        for record in read_cells(engine.tree.track_dir(track["track_id"])):
            name, started = record.get("notebook"), parse_time(record.get("started_at"))
            if not isinstance(name, str) or started is None:
                continue
            path = Path(name).resolve()
            if path not in registered:
                continue
            ended = started.timestamp() + float(record.get("duration_ms") or 0) / 1000
            last[path] = max(last.get(path, 0.0), ended)
        return last


def _registered_notebooks(engine: Any, track: dict[str, Any]) -> set[Path]:
    context = track.get("context") or {}
    names = [*(context.get("checkpoint_files") or []), *(context.get("target_files") or [])]
    return {
        (engine.tree.base / name).resolve()
        for name in names
        if isinstance(name, str) and name.endswith(".ipynb")
    }


def _clock(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%H:%M:%S UTC")
