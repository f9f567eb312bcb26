"""``%track`` and ``%%track``: the CLI's grammar in a notebook, returning objects.

The magic parses with ``conductor_nb.commands`` (the same grammar as ``conductor``),
runs the same engine verbs, and converts an engine error once into exactly
``UsageError`` (IPython hides the traceback only for that exact type).
"""

from __future__ import annotations

import argparse
import ast
import os
import shlex
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand

from .. import commands
from ..commands import MESSAGE_KINDS, HelpRequested, Outcome
from ..engine import Engine
from ..errors import ConductorError
from ..lease_keeper import LeaseKeeper
from ..store.paths import find_root
from . import watch
from .display import Result, TrackView


def _frames():
    from . import frames  # pandas is imported on the first list, not at %load_ext

    return frames


def _panels():
    from . import analytics_panel  # ipywidgets and matplotlib: on first stats or analytics

    return analytics_panel


_COLUMNS = {
    "decisions": ["id", "timestamp", "summary", "rationale", "alternatives", "tags"],
    "assumptions": ["id", "timestamp", "statement", "status", "note"],
    "steps": ["step_id", "name", "type", "status"],
    "runs": ["run_id", "name", "status", "started_at", "finished_at", "duration_ms"],
    "artifacts": ["name", "size", "sha256", "modified_at"],
    "problems": ["kind", "track_id", "message", "fix"],
    "damage": ["checkpoint", "path", "problem"],
    "interrupted": ["type", "id", "track_id", "reason", "age_minutes"],
}
# Commands after which this kernel is the one working in the active track.
_ACTIVATING = frozenset({"activate", "resume", "switch", "recover"})


@magics_class
class TrackMagics(Magics):
    """``%track SUBCOMMAND ...`` (see ``%track help``)."""

    def __init__(self, shell=None, root: str | os.PathLike[str] | None = None) -> None:
        super().__init__(shell)
        self._root = root
        self._engines: dict[str, Engine] = {}
        self._keepers: dict[str, LeaseKeeper] = {}

    # -- engine ----------------------------------------------------------------------------

    def engine(self, root: str | None = None) -> Engine:
        """The engine of ``root`` (default: the configured root, else the one discovered
        now, so setting $CONDUCTOR_ROOT in a notebook takes effect at once)."""
        chosen = root or self._root
        resolved = Path(chosen).absolute() if chosen else find_root()
        key = str(resolved)
        engine = self._engines.get(key)
        if engine is None:
            engine = Engine(resolved)
            engine.actor = f"{engine.actor} (notebook)"
            self._engines[key] = engine
        return engine

    # -- the magic -------------------------------------------------------------------------

    @no_var_expand
    @line_cell_magic
    def track(self, line: str, cell: str | None = None) -> Any:
        """Run a conductor command: ``%track list --status paused``, ``%track show``.

        Cell forms: ``%%track decide "summary"`` (the cell is the rationale) and
        ``%%track run [--name NAME]`` (the cell runs as a workflow run of the active track).
        ``%track help COMMAND`` shows a command's options."""
        try:
            argv = shlex.split(line)
        except ValueError as exc:
            raise UsageError(f"%track: {exc}") from None
        try:
            if cell is not None and argv[:1] == ["run"]:
                return self._run_cell(argv[1:], cell)
            ns = commands.parse(argv, prog="%track")
            if cell is not None:
                if ns.command != "decide":
                    raise UsageError("%%track takes a cell only for `decide` and `run`")
                ns.rationale = ns.rationale or cell.strip() or None
            engine = self.engine(ns.root)
            outcome = commands.execute(engine, ns)
        except HelpRequested as help_:
            print(help_.text, end="")
            return None
        except ConductorError as err:
            raise UsageError(str(err)) from None
        self._keep_leases(engine, took_over=ns.command in _ACTIVATING)
        return self._as_object(engine, outcome)

    def _run_cell(self, argv: list[str], cell: str) -> Any:
        """Run the cell as a workflow run of the active track; a raised exception marks
        the run failed and still reaches the user."""
        parser = argparse.ArgumentParser(prog="%%track run", add_help=False, exit_on_error=False)
        parser.add_argument("--name", default="notebook cell")
        parser.add_argument("--track-id", "--track", dest="track_id")
        parser.add_argument("--root")
        try:
            ns, extra = parser.parse_known_args(argv)
        except argparse.ArgumentError as exc:
            raise UsageError(f"%%track run: {exc}") from None
        if extra:
            raise UsageError(f"%%track run: unrecognised {' '.join(extra)}")
        engine = self.engine(ns.root)
        run = engine.create_run(ns.track_id, ns.name)
        track_id = run["track_id"]
        engine.set_run_status(track_id, run["run_id"], "running")
        try:
            value = self._execute(cell)
        except BaseException as exc:
            engine.set_run_status(
                track_id, run["run_id"], "failed", error_type=type(exc).__name__, message=str(exc)
            )
            raise
        engine.set_run_status(track_id, run["run_id"], "completed")
        return value

    def _execute(self, cell: str) -> Any:
        """Run the cell in the user's namespace; the value of a final expression is
        returned (and so displayed), as for an ordinary cell."""
        tree = ast.parse(self.shell.transform_cell(cell), filename="<%%track run>")
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        namespace = self.shell.user_ns
        exec(compile(tree, "<%%track run>", "exec"), namespace)
        if last is None:
            return None
        return eval(compile(ast.Expression(last.value), "<%%track run>", "eval"), namespace)

    # -- results ---------------------------------------------------------------------------

    def _as_object(self, engine: Engine, outcome: Outcome) -> Any:
        kind, data = outcome.kind, outcome.data
        if kind == "entries":
            return _frames().tracks_frame(data)
        if kind == "track" and data is not None and outcome.extra.get("panel"):
            return self.panel(engine, data["track_id"])
        if kind == "track":
            return None if data is None else self.view(engine, data["track_id"])
        if kind == "board":
            from .board import Board  # ipywidgets: on the first board or panel

            filters = outcome.extra["filters"]
            return Board(engine, **filters, after_action=self._after_action(engine))
        if kind in _COLUMNS:
            return _frames().records_frame(data, _COLUMNS[kind])
        if kind == "checkpoints":
            rows = [
                {
                    **m,
                    "files": m["metadata"].get("file_count"),
                    "bytes": m["metadata"].get("size_bytes"),
                }
                for m in data
            ]
            columns = ["checkpoint_id", "created_at", "kind", "pinned", "files", "bytes", "reason"]
            return _frames().records_frame(rows, columns)
        if kind == "stats":
            archived = engine.list(status="archived")
            completed = sum(1 for entry in archived if entry.get("completed_at"))
            return _panels().StatsSummary(data, archived_completed=completed)
        if kind == "analytics":
            return _panels().AnalyticsPanel(outcome.extra["analytics"], data)
        if kind in MESSAGE_KINDS and outcome.message:
            return Result(outcome.message, data)
        if kind == "actions":
            return Result("\n".join(data) or str(outcome.message), data)
        return data

    def panel(self, engine: Engine, ref: str | None):
        """The live widget panel of a track (``%track show``)."""
        from .panel import TrackPanel

        return TrackPanel(engine, ref, after_action=self._after_action(engine))

    def _after_action(self, engine: Engine):
        """What a widget calls after a change: the kernel takes the lease of a track a
        widget made active, as the magic does."""

        def after(verb: str) -> None:
            self._keep_leases(engine, took_over=verb in _ACTIVATING)

        return after

    def view(self, engine: Engine, ref: str | None) -> TrackView:
        track = engine.track(ref)
        track_id = track["track_id"]
        return TrackView(
            track,
            decisions=engine.decisions(track_id),
            runs=engine.runs(track_id),
            checkpoints=engine.checkpoints(track_id),
        )

    # -- leases: the kernel holds the track it made active ---------------------------------

    def _keep_leases(self, engine: Engine, *, took_over: bool) -> None:
        """This kernel holds the lease of a track it made active, until that track stops
        being active; merely looking at tracks takes no lease."""
        active = engine.get_active()
        active_id = active["track_id"] if active else None
        for track_id in list(self._keepers):
            if track_id != active_id:
                self._keepers.pop(track_id).release()
        if took_over and active_id and active_id not in self._keepers:
            self._keepers[active_id] = LeaseKeeper(engine.leases, active_id)

    def close(self) -> None:
        """Stop the heartbeats, give back the leases and stop live widgets' polling (on
        unload)."""
        watch.stop_watcher()
        for keeper in self._keepers.values():
            try:
                keeper.release()
            except ConductorError:
                continue
        self._keepers.clear()

    def announce_interrupted(self) -> None:
        """One line when interrupted work is found (at load)."""
        engine = self.engine()
        if not engine.tree.registry.path.exists():
            return
        try:
            found = engine.detect()
        except ConductorError as err:
            print(f"conductor: {err}")
            return
        if found:
            first = found[0]
            command = (
                f"%track recover {first['id']}"
                if first["type"] == "track"
                else f"%track recover --track-id {first['track_id']} --run-id {first['id']}"
            )
            more = f" (and {len(found) - 1} more: %track detect)" if len(found) > 1 else ""
            what = f"{first['type']} {first['id']} ({first['reason']})"
            print(f"conductor: interrupted {what}: {command}{more}")
