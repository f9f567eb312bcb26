"""The engine: every user verb of one root as one method, one lock, one all-or-nothing
change.

It is composed of parts that each own one thing and are handed only what they use: a
``TrackStore`` (resolving, reading and writing track documents in transactions) and,
where they build on each other, the parts below them. The engine itself holds no
logic: each verb is a part's method, under the name the CLI, the magic and the
``Conductor`` API have always called it.

It works on plain dicts (the JSON on disk), so it starts fast and keeps every field
it does not know; ``conductor_nb.Conductor`` wraps it and returns pydantic models.
"""

from __future__ import annotations

import functools

from .artifacts import Artifacts
from .assumption_checks import AssumptionChecks
from .autocheckpoints import AutoCheckpoints
from .bundles import Bundles
from .checkpoint_adoption import CheckpointAdoption
from .checkpoints import Checkpoints
from .conflicts import Conflicts
from .context import ProjectContext
from .dependencies import Dependencies
from .editing import UPDATABLE, Editing
from .estimates import Estimates
from .leases import Leases
from .legacy import LegacySnapshots
from .maintenance import Maintenance
from .migrating import Migrations
from .notes import Notes
from .planning import Planning
from .provenance import CellLog
from .recovery import Recovery
from .run_records import RunRecords
from .runs import Runs
from .steps import STEP_VERBS, Steps
from .subtracks import Subtracks
from .templating import Templating
from .trackstore import TrackStore
from .transitions import Transitions

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    import os
    from collections.abc import Callable
    from datetime import datetime
    from pathlib import Path
    from typing import Any

    from .store.paths import FoundRoot
    from .store.tree import Tree

__all__ = ["Engine"]


def _verb(part: str, method: Callable[..., Any]) -> Callable[..., Any]:
    """An engine method that is ``part``'s ``method`` (its signature and docstring too)."""
    name = method.__name__

    @functools.wraps(method)
    def verb(self: Engine, *args: Any, **kwargs: Any) -> Any:
        return getattr(getattr(self, part), name)(*args, **kwargs)

    return verb


class Engine:
    """Tracks of one conductor root (``<project>/.claude/conductor`` by default)."""

    UPDATABLE = UPDATABLE
    STEP_VERBS = STEP_VERBS

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        lock_timeout: float | None = None,
        clock: Callable[[], datetime] | None = None,
        actor: str | None = None,
    ) -> None:
        store = TrackStore(root, lock_timeout=lock_timeout, clock=clock, actor=actor)
        self.store = store
        self.workflows = Runs(store)
        self.run_records = RunRecords(store, self.workflows)
        self.checkpointing = Checkpoints(store, self.workflows)
        self.adoption = CheckpointAdoption(store, self.checkpointing)  # another clone's
        auto = AutoCheckpoints(store, self.checkpointing)
        self.assumption_checks = AssumptionChecks(store)  # a kernel sets its ``evaluate``
        self.transitions = Transitions(store, auto, checks=self.assumption_checks)
        self.editing = Editing(store, self.transitions)
        self.subtracks = Subtracks(store)
        self.templating = Templating(store, self.editing, self.subtracks)
        self.steps = Steps(store, auto)
        self.estimates = Estimates(store, self.templating, self.steps)
        self.notes = Notes(store)
        self.artifact_files = Artifacts(store)
        self.context = ProjectContext(store, self.artifact_files)
        self.legacy = LegacySnapshots(store)
        self.leases = Leases(store)
        self.links = Dependencies(store)
        self.overlaps = Conflicts(self.links)
        self.planning = Planning(store, self.links)
        self.cell_log = CellLog(store)
        self.bundles = Bundles(store, self.transitions.hooks)  # an import creates
        self.maintenance = Maintenance(store, self.transitions)
        self.migrations = Migrations(store, self.checkpointing, self.maintenance)
        self.recovery = Recovery(
            store,
            runs=self.workflows,
            checkpoints=self.checkpointing,
            leases=self.leases,
            maintenance=self.maintenance,
        )

    # -- what every part shares ---------------------------------------------------------

    @property
    def root(self) -> Path:
        return self.store.root

    @property
    def found_root(self) -> FoundRoot:
        """The root and how it was found (option, environment, ancestor, default)."""
        return self.store.found

    @property
    def tree(self) -> Tree:
        return self.store.tree

    @property
    def actor(self) -> str:
        return self.store.actor

    @actor.setter
    def actor(self, value: str) -> None:
        self.store.actor = value

    @property
    def holder_pid(self) -> int:
        """The process that holds the leases and runs this engine takes (the CLI names
        its caller)."""
        return self.store.holder_pid

    @holder_pid.setter
    def holder_pid(self, pid: int) -> None:
        self.store.holder_pid = pid

    now = _verb("store", TrackStore.now)
    stamp = _verb("store", TrackStore.stamp)

    # -- reading ------------------------------------------------------------------------

    registry = _verb("store", TrackStore.registry)
    resolve = _verb("store", TrackStore.resolve)
    entry = _verb("store", TrackStore.entry)
    list = _verb("store", TrackStore.list)
    get_active = _verb("store", TrackStore.get_active)
    track = _verb("store", TrackStore.track)
    stats = _verb("store", TrackStore.stats)
    decisions = _verb("notes", Notes.decisions)
    assumptions = _verb("notes", Notes.assumptions)
    artifacts = _verb("artifact_files", Artifacts.list)

    # -- creating and editing -----------------------------------------------------------

    create = _verb("editing", Editing.create)
    update = _verb("editing", Editing.update)
    decide = _verb("notes", Notes.decide)
    assume = _verb("notes", Notes.assume)
    set_assumption = _verb("notes", Notes.set_assumption)
    define_check = _verb("assumption_checks", AssumptionChecks.define_check)
    check_assumptions = _verb("assumption_checks", AssumptionChecks.check_assumptions)
    approve_check = _verb("assumption_checks", AssumptionChecks.approve_check)
    add_artifact = _verb("artifact_files", Artifacts.add)
    add_step = _verb("steps", Steps.add)
    step = _verb("steps", Steps.change)

    # -- templates and sub-tracks -------------------------------------------------------

    templates = _verb("templating", Templating.list)
    template = _verb("templating", Templating.get)
    create_track = _verb("templating", Templating.create)  # from a template, under a parent
    set_parent = _verb("subtracks", Subtracks.set_parent)
    family = _verb("subtracks", Subtracks.family)
    tree_list = _verb("subtracks", Subtracks.tree_list)

    # -- estimates and forecasts --------------------------------------------------------

    set_estimate = _verb("estimates", Estimates.set)  # a track's or a step's
    create_estimated = _verb("estimates", Estimates.create)  # a new track with its estimate
    add_estimated_step = _verb("estimates", Estimates.add_step)
    forecast = _verb("estimates", Estimates.forecast)

    # -- lifecycle ----------------------------------------------------------------------

    transition = _verb("transitions", Transitions.transition)
    switch = _verb("transitions", Transitions.switch)

    # -- project and track context ------------------------------------------------------

    project_config = _verb("context", ProjectContext.project_config)
    configure_project = _verb("context", ProjectContext.configure_project)
    configure_context = _verb("context", ProjectContext.configure_track)
    effective_context = _verb("context", ProjectContext.effective)

    # -- dependencies between tracks, and what to do next -------------------------------

    depend = _verb("links", Dependencies.depend)
    dependencies = _verb("links", Dependencies.dependencies)
    waiting = _verb("links", Dependencies.waiting)
    dependency_graph = _verb("links", Dependencies.graph)
    conflicts = _verb("overlaps", Conflicts.find)
    next_tracks = _verb("planning", Planning.propose)

    # -- workflow runs ------------------------------------------------------------------

    runs = _verb("workflows", Runs.list)
    run = _verb("workflows", Runs.get)
    create_run = _verb("workflows", Runs.create)
    set_run_status = _verb("workflows", Runs.set_status)
    heartbeat = _verb("workflows", Runs.heartbeat)
    log_metrics = _verb("run_records", RunRecords.log)
    run_metrics = _verb("run_records", RunRecords.metrics)
    log_params = _verb("run_records", RunRecords.log_params)
    add_run_artifact = _verb("run_records", RunRecords.add_artifact)
    cells = _verb("cell_log", CellLog.cells)  # notebook cells recorded for the track

    # -- checkpoints --------------------------------------------------------------------

    checkpoints = _verb("checkpointing", Checkpoints.list)
    checkpoint = _verb("checkpointing", Checkpoints.get)
    create_checkpoint = _verb("checkpointing", Checkpoints.create)
    verify_checkpoint = _verb("checkpointing", Checkpoints.verify)
    diff_checkpoints = _verb("checkpointing", Checkpoints.diff)
    restore_checkpoint = _verb("checkpointing", Checkpoints.restore)
    prune_checkpoints = _verb("checkpointing", Checkpoints.prune)
    adopt_checkpoint = _verb("adoption", CheckpointAdoption.adopt)  # after a git add/add
    legacy_snapshots = _verb("legacy", LegacySnapshots.list)
    legacy_snapshot = _verb("legacy", LegacySnapshots.get)

    # -- checking and mending -----------------------------------------------------------

    validate = _verb("maintenance", Maintenance.validate)
    repair = _verb("maintenance", Maintenance.repair)
    rebuild = _verb("maintenance", Maintenance.rebuild)
    migrate = _verb("migrations", Migrations.migrate)  # the newest format (store.formats)

    # -- leases and recovery ------------------------------------------------------------

    take_lease = _verb("leases", Leases.take)
    renew_lease = _verb("leases", Leases.renew)
    release_lease = _verb("leases", Leases.release)
    lease_of = _verb("leases", Leases.of)
    detect = _verb("recovery", Recovery.detect)
    recover_track = _verb("recovery", Recovery.track)
    recover_run = _verb("recovery", Recovery.run)

    # -- bundles: tracks moved between roots ----------------------------------------------

    export_bundle = _verb("bundles", Bundles.export_bundle)
    import_bundle = _verb("bundles", Bundles.import_bundle)
