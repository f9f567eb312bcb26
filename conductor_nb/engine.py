"""The engine: every user verb of one root as one method, one lock, one all-or-nothing
change.

It is composed of parts that each own one thing and are handed only what they use: a
``TrackStore`` (resolving, reading and writing track documents in transactions) and,
where they build on each other, the parts below them. The engine itself holds no
logic: each verb is a part's method, under the name the CLI, the magic and the
``Conductor`` API have always called it.

It works on plain dicts (the JSON on disk), so it starts fast and keeps every field
it does not know; ``conductor_nb.Conductor`` wraps it and returns pydantic models.

Parts are made, and their modules imported, on first use: a CLI call imports the few
its command needs, not the thirty the engine has (a third of a short command's time).
"""

from __future__ import annotations

import functools
import threading
from importlib import import_module

from .editing import UPDATABLE
from .steps import STEP_VERBS
from .trackstore import TrackStore

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

_making = threading.RLock()  # one instance of each part, even when threads race to it


class _Part:
    """An engine attribute holding one part, made on first use: ``where`` is
    ``module:Class``, ``needs`` the engine attributes its constructor takes (a dotted
    name reaches into another part), ``named`` those it takes by keyword."""

    def __init__(self, where: str, *needs: str, **named: str) -> None:
        self.where, self.needs, self.named = where, needs, named

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, engine: Engine | None, owner: type) -> Any:
        if engine is None:
            return self
        with _making:
            made = engine.__dict__.get(self.name)
            if made is None:  # the instance's dict answers every later lookup
                made = _load(self.where)(
                    *(_attribute(engine, need) for need in self.needs),
                    **{key: _attribute(engine, need) for key, need in self.named.items()},
                )
                engine.__dict__[self.name] = made
        return made


class _Verb:
    """An engine method that is ``part``'s method ``name``, with its signature and
    docstring; resolved, and put in its place, on first use."""

    def __init__(self, part: str, name: str) -> None:
        self.part, self.method = part, name

    def __set_name__(self, owner: type, name: str) -> None:
        self.owner, self.name = owner, name

    def __get__(self, engine: Engine | None, owner: type) -> Any:
        part = self.owner.__dict__.get(self.part)
        part_class = _load(part.where) if isinstance(part, _Part) else TrackStore
        verb = _verb(self.part, getattr(part_class, self.method))
        setattr(self.owner, self.name, verb)
        return verb if engine is None else verb.__get__(engine, owner)


def _load(where: str) -> Any:
    module, _, name = where.partition(":")
    return getattr(import_module(f"{__package__}.{module}"), name)


def _attribute(engine: Engine, dotted: str) -> Any:
    found: Any = engine
    for name in dotted.split("."):
        found = getattr(found, name)
    return found


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
        self.store = TrackStore(root, lock_timeout=lock_timeout, clock=clock, actor=actor)

    # -- the parts, each handed only what it uses ---------------------------------------

    workflows = _Part("runs:Runs", "store")
    run_records = _Part("run_records:RunRecords", "store", "workflows")
    checkpointing = _Part("checkpoints:Checkpoints", "store", "workflows")
    adoption = _Part("checkpoint_adoption:CheckpointAdoption", "store", "checkpointing")
    auto_checkpoints = _Part("autocheckpoints:AutoCheckpoints", "store", "checkpointing")
    # a kernel sets its ``evaluate``
    assumption_checks = _Part("assumption_checks:AssumptionChecks", "store")
    transitions = _Part(
        "transitions:Transitions", "store", "auto_checkpoints", checks="assumption_checks"
    )
    editing = _Part("editing:Editing", "store", "transitions")
    subtracks = _Part("subtracks:Subtracks", "store")
    templating = _Part("templating:Templating", "store", "editing", "subtracks")
    steps = _Part("steps:Steps", "store", "auto_checkpoints")
    estimates = _Part("estimates:Estimates", "store", "templating", "steps")
    notes = _Part("notes:Notes", "store")
    artifact_files = _Part("artifacts:Artifacts", "store")
    context = _Part("context:ProjectContext", "store", "artifact_files")
    legacy = _Part("legacy:LegacySnapshots", "store")
    leases = _Part("leases:Leases", "store")
    links = _Part("dependencies:Dependencies", "store")
    overlaps = _Part("conflicts:Conflicts", "links")
    planning = _Part("planning:Planning", "store", "links")
    cell_log = _Part("provenance:CellLog", "store")
    bundles = _Part("bundles:Bundles", "store", "transitions.hooks")  # an import creates
    maintenance = _Part("maintenance:Maintenance", "store", "transitions")
    migrations = _Part("migrating:Migrations", "store", "checkpointing", "maintenance")
    recovery = _Part(
        "recovery:Recovery",
        "store",
        runs="workflows",
        checkpoints="checkpointing",
        leases="leases",
        maintenance="maintenance",
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

    now = _Verb("store", "now")
    stamp = _Verb("store", "stamp")

    # -- reading ------------------------------------------------------------------------

    registry = _Verb("store", "registry")
    resolve = _Verb("store", "resolve")
    entry = _Verb("store", "entry")
    list = _Verb("store", "list")
    get_active = _Verb("store", "get_active")
    track = _Verb("store", "track")
    stats = _Verb("store", "stats")
    decisions = _Verb("notes", "decisions")
    assumptions = _Verb("notes", "assumptions")
    artifacts = _Verb("artifact_files", "list")

    # -- creating and editing -----------------------------------------------------------

    create = _Verb("editing", "create")
    update = _Verb("editing", "update")
    decide = _Verb("notes", "decide")
    assume = _Verb("notes", "assume")
    set_assumption = _Verb("notes", "set_assumption")
    define_check = _Verb("assumption_checks", "define_check")
    check_assumptions = _Verb("assumption_checks", "check_assumptions")
    approve_check = _Verb("assumption_checks", "approve_check")
    add_artifact = _Verb("artifact_files", "add")
    add_step = _Verb("steps", "add")
    step = _Verb("steps", "change")

    # -- templates and sub-tracks -------------------------------------------------------

    templates = _Verb("templating", "list")
    template = _Verb("templating", "get")
    create_track = _Verb("templating", "create")  # from a template, under a parent
    set_parent = _Verb("subtracks", "set_parent")
    family = _Verb("subtracks", "family")
    tree_list = _Verb("subtracks", "tree_list")

    # -- estimates and forecasts --------------------------------------------------------

    set_estimate = _Verb("estimates", "set")  # a track's or a step's
    create_estimated = _Verb("estimates", "create")  # a new track with its estimate
    add_estimated_step = _Verb("estimates", "add_step")
    forecast = _Verb("estimates", "forecast")

    # -- lifecycle ----------------------------------------------------------------------

    transition = _Verb("transitions", "transition")
    switch = _Verb("transitions", "switch")

    # -- project and track context ------------------------------------------------------

    project_config = _Verb("context", "project_config")
    configure_project = _Verb("context", "configure_project")
    configure_context = _Verb("context", "configure_track")
    effective_context = _Verb("context", "effective")

    # -- dependencies between tracks, and what to do next -------------------------------

    depend = _Verb("links", "depend")
    dependencies = _Verb("links", "dependencies")
    waiting = _Verb("links", "waiting")
    dependency_graph = _Verb("links", "graph")
    conflicts = _Verb("overlaps", "find")
    next_tracks = _Verb("planning", "propose")

    # -- workflow runs ------------------------------------------------------------------

    runs = _Verb("workflows", "list")
    run = _Verb("workflows", "get")
    create_run = _Verb("workflows", "create")
    set_run_status = _Verb("workflows", "set_status")
    heartbeat = _Verb("workflows", "heartbeat")
    log_metrics = _Verb("run_records", "log")
    run_metrics = _Verb("run_records", "metrics")
    log_params = _Verb("run_records", "log_params")
    add_run_artifact = _Verb("run_records", "add_artifact")
    cells = _Verb("cell_log", "cells")  # notebook cells recorded for the track

    # -- checkpoints --------------------------------------------------------------------

    checkpoints = _Verb("checkpointing", "list")
    checkpoint = _Verb("checkpointing", "get")
    create_checkpoint = _Verb("checkpointing", "create")
    verify_checkpoint = _Verb("checkpointing", "verify")
    diff_checkpoints = _Verb("checkpointing", "diff")
    restore_checkpoint = _Verb("checkpointing", "restore")
    prune_checkpoints = _Verb("checkpointing", "prune")
    adopt_checkpoint = _Verb("adoption", "adopt")  # after a git add/add
    legacy_snapshots = _Verb("legacy", "list")
    legacy_snapshot = _Verb("legacy", "get")

    # -- checking and mending -----------------------------------------------------------

    validate = _Verb("maintenance", "validate")
    repair = _Verb("maintenance", "repair")
    rebuild = _Verb("maintenance", "rebuild")
    migrate = _Verb("migrations", "migrate")  # the newest format (store.formats)

    # -- leases and recovery ------------------------------------------------------------

    take_lease = _Verb("leases", "take")
    renew_lease = _Verb("leases", "renew")
    release_lease = _Verb("leases", "release")
    lease_of = _Verb("leases", "of")
    detect = _Verb("recovery", "detect")
    recover_track = _Verb("recovery", "track")
    recover_run = _Verb("recovery", "run")

    # -- bundles: tracks moved between roots ----------------------------------------------

    export_bundle = _Verb("bundles", "export_bundle")
    import_bundle = _Verb("bundles", "import_bundle")
