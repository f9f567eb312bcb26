"""``%track`` and ``%%track``: the CLI's grammar in a notebook, returning objects.

The magic parses with ``conductor_nb.commands`` (the same grammar as ``conductor``),
runs the same engine verbs, and converts an engine error once into exactly
``UsageError`` (IPython hides the traceback only for that exact type).
"""

from __future__ import annotations

import ast
import logging
import os
import shlex
from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from traitlets import Bool, Float, Int, TraitError, Unicode, observe, validate

from .. import commands
from ..commands import MESSAGE_KINDS, HelpRequested, Outcome, OutcomeKind
from ..engine import Engine
from ..errors import ConductorError
from ..lease_keeper import LeaseKeeper
from ..progress import Bars
from ..render import compact
from ..store.paths import locate_root
from ..tracking import TrackedRun
from . import watch
from .check_eval import kernel_evaluator
from .display import Result, TrackView
from .kernel_recovery import KernelRecovery, kernel_details
from .recorder import CellRecorder
from .switch_guard import SwitchGuard

__all__ = ["CONVERTERS", "TrackMagics"]


def _tables():
    from . import tables  # pandas is imported on the first list, not at %load_ext

    return tables


def _panels():
    from . import analytics_panel  # ipywidgets and matplotlib: on first stats or analytics

    return analytics_panel


K = OutcomeKind
# Lists shown as DataFrames: kind -> columns.
_COLUMNS = {
    K.DECISIONS: ["id", "timestamp", "summary", "rationale", "alternatives", "tags"],
    K.ASSUMPTIONS: ["id", "timestamp", "statement", "status", "note"],
    K.STEPS: ["step_id", "name", "type", "status"],
    K.RUNS: ["run_id", "name", "status", "started_at", "finished_at", "duration_ms"],
    K.ARTIFACTS: ["name", "size", "sha256", "modified_at"],
    K.PROBLEMS: ["kind", "track_id", "message", "fix"],
    K.DAMAGE: ["checkpoint", "path", "problem"],
    K.INTERRUPTED: ["type", "id", "track_id", "reason", "age_minutes"],
    K.CHECKS: ["id", "statement", "check", "result", "expected", "found", "status"],
    K.TEMPLATES: ["name", "origin", "type", "steps", "description", "problem", "file"],
}
# Commands after which this kernel is the one working in the active track.
_ACTIVATING = frozenset({"activate", "resume", "switch", "recover"})


# What each setting accepts, for the one line a bad value gets.
_ACCEPTS = {
    "root": "a folder path (the conductor root or a project folder), or None",
    "refresh_interval": "seconds between live refreshes, from 0.05 to 3600",
    "live_views": "how many views stay live, a whole number from 1 to 1000",
    "progress": "True or False",
    "progress_delay": "seconds of work before a progress bar appears, from 0 to 3600",
    "provenance": "True or False",
}


@magics_class
class TrackMagics(Magics):
    """``%track SUBCOMMAND ...`` (see ``%track help``).

    Settings (``%config TrackMagics.NAME = VALUE``, or ``c.TrackMagics.NAME`` in
    ipython_config.py / ipython_kernel_config.py): see ``_ACCEPTS`` and the README."""

    root = Unicode(
        None, allow_none=True, help="the conductor root (after --root, before $CONDUCTOR_ROOT)"
    ).tag(config=True)
    refresh_interval = Float(
        watch.POLL_SECONDS, help="seconds between two looks at a live view's files"
    ).tag(config=True)
    live_views = Int(watch.MAX_LIVE, help="how many of the latest views stay live").tag(config=True)
    progress = Bool(True, help="show a progress bar during long work").tag(config=True)
    progress_delay = Float(
        1.0, help="seconds long work runs before its bar appears (quick work shows none)"
    ).tag(config=True)
    provenance = Bool(
        True, help="record the cells run while a track is active (conductor_nb.provenance)"
    ).tag(config=True)

    def __init__(self, shell=None, root: str | os.PathLike[str] | None = None, **kwargs) -> None:
        super().__init__(shell, **kwargs)
        self._root = root  # given to the constructor: counts as an option
        self._engines: dict[str, Engine] = {}
        self._keepers: dict[str, LeaseKeeper] = {}
        self.recorder = CellRecorder(self)  # registered with the shell's events at load
        self.switch_guard = SwitchGuard(self)  # %track switch and the widgets' switch
        self.kernel_recovery = KernelRecovery(self)  # tracks left active by a dead kernel
        self.cell_run: TrackedRun | None = None  # the run of the running %%track run cell
        watch.configure(interval=self.refresh_interval, max_live=self.live_views)

    # -- settings ----------------------------------------------------------------------------

    @validate("refresh_interval")
    def _check_interval(self, proposal):
        return self._within(proposal, 0.05, 3600)

    @validate("progress_delay")
    def _check_progress_delay(self, proposal):
        return self._within(proposal, 0, 3600)

    @validate("live_views")
    def _check_live_views(self, proposal):
        return self._within(proposal, 1, 1000)

    def _within(self, proposal, low: float, high: float):
        value = proposal["value"]
        if not low <= value <= high:
            raise TraitError(self._bad(proposal["trait"].name, value))
        return value

    @observe("refresh_interval", "live_views")
    def _apply_watch_settings(self, change) -> None:
        watch.configure(interval=self.refresh_interval, max_live=self.live_views)

    def _bad(self, name: str, value: Any) -> str:
        return f"TrackMagics.{name}: {value!r} is not {_ACCEPTS[name]}"

    def _load_config(self, cfg, section_names=None, traits=None) -> None:
        """Loading settings (``%config``, the kernel's config): a bad value is logged as
        one line naming the setting and what it accepts (traitlets' own message is
        longer), and dropped, so the setting keeps its value and a bad line in the
        kernel's config does not stop the extension from loading."""
        section = cfg.get(type(self).__name__, {})
        for name, value in list(section.items()):
            trait = self.traits(config=True).get(name)
            if trait is None or (value is None and trait.allow_none):
                continue  # unknown names: traitlets warns; None: allowed
            try:
                trait._validate(self, value)  # the type, then the range (@validate)
            except TraitError:
                logging.getLogger().error(self._bad(name, value))
                del section[name]
        super()._load_config(cfg, section_names=section_names, traits=traits)

    # -- engine ----------------------------------------------------------------------------

    def engine(self, root: str | None = None) -> Engine:
        """The engine of ``root`` (default: the configured root, else the one discovered
        now, so setting $CONDUCTOR_ROOT in a notebook takes effect at once)."""
        found = locate_root(root or self._root or None, configured=self.root or None)
        key = str(found.path)
        engine = self._engines.get(key)
        if engine is None:
            engine = Engine(found)
            engine.actor = f"{engine.actor} (notebook)"
            if self.shell is not None:  # expression checks run in the user's namespace
                engine.assumption_checks.evaluate = kernel_evaluator(self.shell)
            self._engines[key] = engine
        engine.store.found = found  # how it was found this time (`%track root`)
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
            ns = commands.parse(argv, prog="%track" if cell is None else "%%track", cell=cell)
            if cell is not None and ns.command == "run":  # run's cell form: the kernel runs it
                return self._run_cell(ns)
            engine = self.engine(ns.root)
            ns.progress = self._progress_bars()
            ns.recorder = self.recorder  # `%track cells --off`: this notebook's recording
            if ns.command == "switch":  # refused while this kernel's run is running
                outcome = self.switch_guard.execute(engine, ns)
            else:
                outcome = commands.execute(engine, ns)
        except HelpRequested as help_:
            print(help_.text, end="")
            return None
        except ConductorError as err:
            raise UsageError(str(err)) from None
        self._keep_leases(engine, took_over=ns.command in _ACTIVATING)
        return self._as_object(engine, outcome)

    def _progress_bars(self) -> Bars | None:
        """The notebook's progress (``TrackMagics.progress``): tqdm's widget bar, made
        only when long work reports."""
        if not self.progress:
            return None

        def notebook_bar(**options):
            from tqdm.notebook import tqdm  # ipywidgets: on the first long operation

            wanted = {k: v for k, v in options.items() if k in ("total", "desc", "leave")}
            return tqdm(**wanted, delay=self.progress_delay)

        return Bars(notebook_bar)

    def _run_cell(self, ns) -> Any:
        """Run the cell (``ns.code``, parsed with ``run``'s cell form) as a tracked run of
        the track (``conductor_nb.tracking``): running with a heartbeat while it executes,
        then completed, failed (the exception still reaches the user) or interrupted.
        Inside the cell ``conductor_nb.current_run()`` is the run, to ``.log(...)``."""
        self.cell_run = TrackedRun(self.engine(ns.root), ns.name or "run", track=ns.track_id)
        with self.cell_run:  # the cell's provenance record names this run
            return self._execute(ns.code)

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
        return CONVERTERS[outcome.kind](self, engine, outcome)

    def panel(self, engine: Engine, ref: str | None):
        """The live widget panel of a track (``%track show``)."""
        from .panel import TrackPanel

        return TrackPanel(engine, ref, after_action=self._after_action(engine))

    def _after_action(self, engine: Engine):
        """What a widget calls after a change: the kernel takes the lease of a track a
        widget made active, as the magic does."""

        def after(verb: str) -> None:
            self._keep_leases(engine, took_over=verb in _ACTIVATING)

        def guarded_switch(track_id: str, reason: str | None) -> str:
            return self.switch_guard.switch(engine, track_id, reason)

        # The widgets' switch buttons switch as %track switch does (live.LiveWidget.switch).
        after.guarded_switch = guarded_switch  # type: ignore[attr-defined]
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
            holder, details = kernel_details(self.shell)  # a kernel names itself and its notebook
            self._keepers[active_id] = LeaseKeeper(
                engine.leases, active_id, holder=holder, details=details
            )

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
        found = self.kernel_recovery.take_dead_kernels(found)  # their own notice and widget
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


# -- what the magic returns for each kind of outcome -----------------------------------------


def _track_object(magics: TrackMagics, engine: Engine, outcome: Outcome) -> Any:
    """``show``: the live panel; other commands: a view (nothing when none is active)."""
    if outcome.data is None:
        return None
    if outcome.extra.get("panel"):
        return magics.panel(engine, outcome.data["track_id"])
    return magics.view(engine, outcome.data["track_id"])


def _board(magics: TrackMagics, engine: Engine, outcome: Outcome) -> Any:
    from .board import Board  # ipywidgets: on the first board or panel

    filters = outcome.extra["filters"]
    return Board(engine, **filters, after_action=magics._after_action(engine))


def _records(magics: TrackMagics, engine: Engine, outcome: Outcome) -> Any:
    return _tables().records_frame(outcome.data, _COLUMNS[outcome.kind])


def _checkpoints(magics: TrackMagics, engine: Engine, outcome: Outcome) -> Any:
    rows = [
        {**m, "files": m["metadata"].get("file_count"), "bytes": m["metadata"].get("size_bytes")}
        for m in outcome.data
    ]
    columns = ["checkpoint_id", "created_at", "kind", "pinned", "files", "bytes", "reason"]
    return _tables().records_frame(rows, columns)


def _stats(magics: TrackMagics, engine: Engine, outcome: Outcome) -> Any:
    from ..analytics.outcomes import read_archived_outcomes  # the frames' rule

    archived = read_archived_outcomes(engine.root, engine.list(status="archived"))
    name = outcome.extra.get("active_name")
    return _panels().StatsSummary(outcome.data, archived_outcomes=archived, active_name=name)


def _message(magics: TrackMagics, engine: Engine, outcome: Outcome) -> Any:
    """A single change: its one-line message, with the data kept (the data alone when
    there is no message, as for ``run show``)."""
    return Result(outcome.message, outcome.data) if outcome.message else outcome.data


def _data(magics: TrackMagics, engine: Engine, outcome: Outcome) -> Any:
    return outcome.data


def _cells(magics: TrackMagics, engine: Engine, outcome: Outcome) -> Any:
    """``cells``: a DataFrame of the track's recorded cells; ``--on``/``--off``: a line."""
    if outcome.extra.get("switched"):
        return Result(outcome.message, None)
    from ..analytics.cell_time import frame_of  # pandas

    return frame_of(outcome.data, named=False)


def _peek(magics: TrackMagics, engine: Engine, outcome: Outcome) -> Any:
    from .peek import ReadOnlyPanel  # ipywidgets: on the first peek

    return ReadOnlyPanel(engine, outcome.data["track"]["track_id"], diff=outcome.data["diff"])


def _dependency_views():
    from . import dependency_graph  # matplotlib: on the first graph

    return dependency_graph


def _dependency_report(magics: TrackMagics, engine: Engine, outcome: Outcome) -> Any:
    """depend, conflicts, next: the text the terminal prints, with ``.data``."""
    return _dependency_views().Report(str(outcome.message), outcome.data)


def _migration(magics: TrackMagics, engine: Engine, outcome: Outcome) -> Any:
    """`migrate`: a DataFrame of the changes, one row per field (values as compact JSON)."""
    rows = [
        {**c, "before": compact(c["before"], 200), "after": compact(c["after"], 200)}
        for c in outcome.data["changes"]
    ]
    columns = ["step", "track_id", "file", "field", "change", "before", "after"]
    frame = _tables().records_frame(rows, columns)
    frame.attrs["message"] = outcome.message
    return frame


# The object of each kind of outcome (a test checks that every kind is here).
CONVERTERS: dict[OutcomeKind, Callable[[TrackMagics, Engine, Outcome], Any]] = {
    **dict.fromkeys(_COLUMNS, _records),
    **dict.fromkeys(MESSAGE_KINDS, _message),
    K.ENTRIES: lambda magics, engine, outcome: _tables().tracks_frame(outcome.data),
    K.TREE: lambda magics, engine, outcome: _tables().tree_frame(outcome.data),
    K.TRACK: _track_object,
    K.BOARD: _board,
    K.CHECKPOINTS: _checkpoints,
    K.STATS: _stats,
    K.ANALYTICS: lambda magics, engine, outcome: _panels().AnalyticsPanel(
        outcome.extra["analytics"], outcome.data
    ),
    K.ACTIONS: lambda magics, engine, outcome: Result(
        "\n".join(outcome.data) or str(outcome.message), outcome.data
    ),
    K.ENTRY: _data,
    K.DIFF: _data,
    K.CONTEXT: _data,
    K.PROJECT: _data,
    K.SCHEMA: _data,
    **dict.fromkeys((K.DEPENDENCIES, K.CONFLICTS, K.NEXT), _dependency_report),
    K.GRAPH: lambda magics, engine, outcome: _dependency_views().draw(outcome.data),
    K.CELLS: _cells,
    K.PEEK: _peek,
    K.MIGRATION: _migration,
    K.REPORT: lambda magics, engine, outcome: outcome.extra["report"],
}
