"""``Conductor``: the Python API for notebooks and scripts. Every method is one engine
verb (same validation, same lock) and returns a pydantic model instead of a dict."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .engine import Engine
from .errors import CorruptFile
from .maintenance import Problem
from .models import (
    Artifact,
    Assumption,
    Decision,
    RegistryEntry,
    Run,
    Step,
    Track,
)
from .tracking import TrackedRun

__all__ = ["Conductor"]

M = TypeVar("M", bound=BaseModel)


def _as(model: type[M], data: dict[str, Any], where: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise CorruptFile(where, f"{field}: {first['msg']}", "conductor validate") from None


def _track(data: dict[str, Any]) -> Track:
    return _as(Track, data, f"track {data.get('track_id')}")


class Conductor:
    """Tracks of one root. ``Conductor()`` finds the root like the CLI does
    ($CONDUCTOR_ROOT, else ``[tool.conductor] root`` of the nearest pyproject.toml, else
    the nearest ``.claude/conductor``); ``root=`` names one.

    A track can be named by id, unique id prefix or exact name; where the track is
    optional, None means the active track.
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        lock_timeout: float | None = None,
        clock: Callable[[], datetime] | None = None,
        actor: str | None = None,
    ) -> None:
        self.engine = Engine(root, lock_timeout=lock_timeout, clock=clock, actor=actor)

    def __repr__(self) -> str:
        return f"Conductor(root={str(self.root)!r})"

    @property
    def root(self) -> Path:
        return self.engine.root

    # -- reading -------------------------------------------------------------------------

    def get(self, track: str | None = None) -> Track:
        return _track(self.engine.track(track))

    def active(self) -> Track | None:
        entry = self.engine.get_active()
        return self.get(entry["track_id"]) if entry else None

    def list(
        self,
        *,
        status: str | Iterable[str] | None = None,
        type: str | Iterable[str] | None = None,  # noqa: A002
        priority: str | Iterable[str] | None = None,
    ) -> list[RegistryEntry]:
        entries = self.engine.list(status=status, type=type, priority=priority)
        return [_as(RegistryEntry, e, f"registry entry {e.get('track_id')}") for e in entries]

    def stats(self) -> dict[str, Any]:
        return self.engine.stats()

    def decisions(self, track: str | None = None) -> list[Decision]:
        return [_as(Decision, d, "decisions.json") for d in self.engine.decisions(track)]

    def assumptions(self, track: str | None = None) -> list[Assumption]:
        return [_as(Assumption, a, "assumptions.json") for a in self.engine.assumptions(track)]

    def artifacts(self, track: str | None = None) -> list[Artifact]:
        return [_as(Artifact, a, "artifacts") for a in self.engine.artifacts(track)]

    def runs(self, track: str | None = None) -> list[Run]:
        return [_as(Run, r, "run.json") for r in self.engine.runs(track)]

    def context(self, track: str | None = None) -> dict[str, Any]:
        """The effective context: project rules, stack and agents resolved for the track."""
        return self.engine.effective_context(track)

    # -- lifecycle -----------------------------------------------------------------------

    def create(
        self,
        name: str | None = None,
        *,
        type: str | None = None,  # noqa: A002
        priority: str | None = None,
        goal: str | None = None,
        description: str | None = None,
        success_criteria: Iterable[str] = (),
        tags: Iterable[str] = (),
        template: str | None = None,
        variables: dict[str, str] | None = None,
        parent: str | None = None,
    ) -> Track:
        """A new draft track (type feature and priority P2 unless given); ``template``
        fills what is not given (``variables``: its ``{{KEY}}`` values), ``parent`` makes
        it a sub-track."""
        data = self.engine.create_track(
            name,
            template=template,
            variables=variables,
            parent=parent,
            type=type,
            priority=priority,
            goal=goal,
            description=description,
            success_criteria=success_criteria,
            tags=tags,
        )
        return _track(data)  # as the verb wrote it: no second read

    def set_parent(self, track: str | None, parent: str | None) -> Track:
        """Make ``track`` a sub-track of ``parent`` (None: a top-level track again)."""
        return self.get(self.engine.set_parent(track, parent)["track_id"])

    def _transition(self, track: str | None, verb: str, **kwargs: Any) -> Track:
        return _track(self.engine.transition(track, verb, **kwargs))  # as read back

    def ready(self, track: str | None = None) -> Track:
        return self._transition(track, "ready")

    def activate(self, track: str, *, force: bool = False) -> Track:
        """Make ``track`` the active one; with ``force`` the current active track is paused."""
        return self._transition(track, "activate", force=force)

    def pause(self, track: str | None = None, *, reason: str | None = None) -> Track:
        return self._transition(track, "pause", reason=reason)

    def resume(self, track: str, *, force: bool = False) -> Track:
        return self._transition(track, "resume", force=force)

    def complete(
        self,
        track: str | None = None,
        *,
        summary: str | None = None,
        lessons_learned: Iterable[str] | None = None,
        artifacts_created: Iterable[str] | None = None,
        files_modified: Iterable[str] | None = None,
        next_tracks: Iterable[str] | None = None,
    ) -> Track:
        outcome = {
            "summary": summary,
            "lessons_learned": list(lessons_learned) if lessons_learned is not None else None,
            "artifacts_created": list(artifacts_created) if artifacts_created is not None else None,
            "files_modified": list(files_modified) if files_modified is not None else None,
            "next_tracks": list(next_tracks) if next_tracks is not None else None,
        }
        return self._transition(track, "complete", outcome=outcome)

    def fail(self, track: str | None = None, *, reason: str | None = None) -> Track:
        return self._transition(track, "fail", reason=reason)

    def cancel(self, track: str, *, reason: str | None = None) -> Track:
        """Cancel ``track``; refused while one of its sub-tracks is open (cancel those
        first: the refusal names them)."""
        return self._transition(track, "cancel", reason=reason)

    def archive(self, track: str) -> Track:
        """Archive a completed or cancelled track; refused while a sub-track is open."""
        return self._transition(track, "archive")

    def retry(self, track: str) -> Track:
        """A failed track goes back to draft."""
        return self._transition(track, "retry")

    def switch(self, to: str, *, reason: str | None = None) -> Track:
        """Pause the active track and activate ``to`` (all or nothing)."""
        data = self.engine.switch(to, reason=reason)
        return self.get(data["track_id"])

    def update(self, track: str | None, field: str, value: Any) -> Track:
        data = self.engine.update(track, field, value)
        return self.get(data["track_id"])

    # -- dependencies between tracks (``conductor_nb.dependencies``) ----------------------

    def depend(
        self,
        track: str | None,
        *,
        on: str | None = None,
        related: str | None = None,
        remove: bool = False,
    ) -> dict[str, Any]:
        """``track`` waits on ``on`` (or is related to ``related``); ``remove`` undoes it.
        Returns what it waits on, blocks and relates to."""
        return self.engine.depend(track, on=on, related=related, remove=remove)

    def next(self) -> dict[str, Any]:
        """What to work on next: the proposal, the ranking, and what waits (see
        ``conductor_nb.planning``)."""
        return self.engine.next_tracks()

    def conflicts(self) -> list[dict[str, Any]]:
        """Pairs of open tracks whose target files or folders overlap."""
        return self.engine.conflicts()

    def dependencies(self, track: str | None = None) -> dict[str, Any]:
        """What ``track`` waits on (each with its status and whether it is done), the
        tracks it blocks and its related tracks; ``waiting_on``: the ids not done."""
        return self.engine.dependencies(track)

    def dependency_graph(self, *, closed: bool = False) -> dict[str, Any]:
        """The open tracks' dependencies (``closed``: every track's) as ``nodes`` and
        ``edges`` (``from`` waits on ``to``)."""
        return self.engine.dependency_graph(closed=closed)

    # -- templates and sub-tracks (``conductor_nb.templates``, ``.hierarchy``) -------------

    def templates(self) -> list[dict[str, Any]]:
        """Every template (built-in and the project's): name, origin, type, step count,
        file, and the problem of one that cannot be used."""
        return self.engine.templates()

    def template(self, name: str, variables: dict[str, str] | None = None) -> dict[str, Any]:
        """The template ``name`` with its ``{{KEY}}`` filled from ``variables``."""
        return self.engine.template(name, variables)

    def family(self, track: str | None = None) -> dict[str, Any]:
        """A track's parent, ancestors, sub-tracks (registry entries) and family progress."""
        return self.engine.family(track)

    def tree(
        self,
        *,
        status: str | Iterable[str] | None = None,
        type: str | Iterable[str] | None = None,  # noqa: A002
        priority: str | Iterable[str] | None = None,
    ) -> list[dict[str, Any]]:
        """``list`` in tree order: sub-tracks under their parent, each entry with its
        ``depth``, ``parent_track`` and ``family_progress``."""
        return self.engine.tree_list(status=status, type=type, priority=priority)

    # -- bundles, git and hooks (``conductor_nb.bundles``, ``.gitmerge``, ``.hooks``) -------

    def export_bundle(
        self,
        tracks: str | Iterable[str],
        path: str | os.PathLike[str],
        *,
        checkpoints: bool = False,
    ) -> dict[str, Any]:
        """Write ``tracks`` (ids, prefixes or names) to the bundle file ``path`` (their
        checkpoints too with ``checkpoints``); returns what was written."""
        return self.engine.export_bundle(tracks, path, checkpoints=checkpoints)

    def import_bundle(self, path: str | os.PathLike[str]) -> dict[str, Any]:
        """Add the tracks of a bundle file to this root, all or none (``renamed``: ids
        that were in use, ``paused``: tracks that came in active). It runs the create
        hooks: a pre-create hook that refuses stops the whole import."""
        return self.engine.import_bundle(path)

    def git_setup(self) -> list[str]:
        """Install the git merge drivers for this root in its clone (``conductor
        git-setup``); one line per thing done or found done."""
        from .gitmerge.install import git_setup

        return git_setup(self.root)

    def hooks(self, *, trust: bool = False) -> dict[str, Any]:
        """The root's hooks.json: its hooks, timeout and whether this machine trusts it
        (``trust``: record it as trusted here first)."""
        from .hooks import hooks_report

        return hooks_report(self.root, trust=trust)

    # -- estimates and forecasts (``conductor_nb.estimates``, ``.forecast``) ---------------

    def estimate(
        self, track: str | None, duration: str | int | None, *, step: str | None = None
    ) -> dict[str, Any]:
        """Set how long ``track`` (or one of its steps) should take: ``"90m"``, ``"12h"``,
        ``"3d"``, ``"1w"`` or minutes; None or ``"none"`` removes it."""
        return self.engine.set_estimate(track, duration, step=step)

    def forecast(self, track: str | None = None) -> dict[str, Any]:
        """When ``track`` will be done: expected finish, low, high and the basis (what
        ``conductor forecast --json`` prints)."""
        return self.engine.forecast(track)

    # -- context -------------------------------------------------------------------------

    def decide(
        self,
        summary: str,
        *,
        track: str | None = None,
        rationale: str | None = None,
        alternatives: Iterable[str] = (),
        tags: Iterable[str] = (),
    ) -> Decision:
        data = self.engine.decide(
            track, summary, rationale=rationale, alternatives=alternatives, tags=tags
        )
        return _as(Decision, data, "decisions.json")

    def assume(
        self,
        statement: str,
        *,
        track: str | None = None,
        status: str = "open",
        check: tuple[str, str] | None = None,
        check_timeout: float | None = None,
    ) -> Assumption:
        """Record an assumption; ``check``: how it checks itself, as (kind, what) with kind
        one of ``file``, ``package``, ``expr``, ``command`` (``conductor assume --check-*``)."""
        definition = None
        if check is not None:
            kind, value = check
            definition = self.engine.define_check(kind, value, timeout=check_timeout)
        data = self.engine.assume(track, statement, status=status, check=definition)
        return _as(Assumption, data, "assumptions")

    def check_assumptions(self, *, track: str | None = None) -> list[dict[str, Any]]:
        """Run the checks of a track's assumptions; one row per checked assumption."""
        return self.engine.check_assumptions(track)

    def approve_check(self, assumption_id: str, *, track: str | None = None) -> dict[str, Any]:
        """Approve on this machine a check that arrived from elsewhere (a bundle, a merge)."""
        return self.engine.approve_check(track, assumption_id)

    def set_assumption(
        self, assumption_id: str, status: str, *, track: str | None = None, note: str | None = None
    ) -> Assumption:
        data = self.engine.set_assumption(track, assumption_id, status, note=note)
        return _as(Assumption, data, "assumptions.json")

    def add_artifact(
        self,
        name: str,
        *,
        track: str | None = None,
        data: bytes | str | None = None,
        source: str | os.PathLike[str] | None = None,
    ) -> dict[str, Any]:
        return self.engine.add_artifact(track, name, data=data, source=source)

    def add_step(
        self,
        name: str,
        *,
        track: str | None = None,
        type: str = "action",  # noqa: A002
        description: str | None = None,
    ) -> Step:
        data = self.engine.add_step(track, name, type=type, description=description)
        return _as(Step, data, "track.json steps")

    def step(
        self, step: str, action: str, *, track: str | None = None, note: str | None = None
    ) -> Step:
        """start, complete, skip, fail or reopen a step (by id, number from 1, or name)."""
        return _as(Step, self.engine.step(track, step, action, note=note), "track.json steps")

    # -- runs ----------------------------------------------------------------------------

    def create_run(
        self, name: str | None = None, *, track: str | None = None, workflow: str | None = None
    ) -> Run:
        return _as(Run, self.engine.create_run(track, name, workflow=workflow), "run.json")

    def run(
        self,
        name: str = "run",
        *,
        track: str | None = None,
        workflow: str | None = None,
        heartbeat_every: float = 60.0,
    ) -> TrackedRun:
        """A new run of ``track`` (default: the active one) for a ``with`` block: running
        inside it, then completed, failed or interrupted (see ``conductor_nb.tracking``)."""
        return TrackedRun(
            self.engine, name, track=track, workflow=workflow, heartbeat_every=heartbeat_every
        )

    def start_run(self, run: str, *, track: str | None = None) -> Run:
        """Start an existing pending run (``create_run``)."""
        return _as(Run, self.engine.set_run_status(track, run, "running"), "run.json")

    def heartbeat(self, run: str, *, track: str | None = None) -> Run:
        return _as(Run, self.engine.heartbeat(track, run), "run.json")

    def finish_run(
        self,
        run: str,
        *,
        track: str | None = None,
        ok: bool = True,
        error_type: str | None = None,
        message: str | None = None,
    ) -> Run:
        status = "completed" if ok else "failed"
        data = self.engine.set_run_status(
            track, run, status, error_type=error_type, message=message
        )
        return _as(Run, data, "run.json")

    # -- checkpoints -----------------------------------------------------------------------

    def checkpoint(
        self, *, track: str | None = None, reason: str = "manual checkpoint", pinned: bool = False
    ) -> dict[str, Any]:
        """Snapshot the whole track; returns the manifest (checkpoint_id, files, metadata)."""
        return self.engine.create_checkpoint(track, reason=reason, pinned=pinned)

    def checkpoints(self, track: str | None = None) -> list[dict[str, Any]]:
        """The track's checkpoint manifests, newest first."""
        return self.engine.checkpoints(track)

    def verify(self, checkpoint: str = "last", *, track: str | None = None) -> list[dict[str, str]]:
        """Damage found in a checkpoint (an empty list when it is intact)."""
        return self.engine.verify_checkpoint(track, checkpoint)

    def diff(
        self, older: str, newer: str | None = None, *, track: str | None = None
    ) -> dict[str, Any]:
        """Files added, removed, changed and decisions added since ``older``."""
        return self.engine.diff_checkpoints(track, older, newer)

    def restore(self, checkpoint: str, *, track: str | None = None) -> dict[str, Any]:
        """Restore the track from a checkpoint (the state it replaces is checkpointed)."""
        return self.engine.restore_checkpoint(track, checkpoint)

    def prune(self, *, track: str | None = None, keep: int = 10) -> dict[str, Any]:
        return self.engine.prune_checkpoints(track, keep=keep)

    def adopt_checkpoint(
        self, manifest: str | os.PathLike[str], *, track: str | None = None
    ) -> dict[str, Any]:
        """Keep another clone's checkpoint manifest (the file ``manifest``, e.g. the other
        side of a git add/add conflict) as the track's next checkpoint."""
        return self.engine.adopt_checkpoint(track, manifest)

    # -- recovery --------------------------------------------------------------------------

    def detect(self, *, threshold_minutes: float = 30.0) -> list[dict[str, Any]]:
        """Active tracks and running runs whose holder is gone."""
        return self.engine.detect(threshold_minutes=threshold_minutes)

    def recover(
        self, track: str | None = None, *, run: str | None = None, abandon: bool = False
    ) -> dict[str, Any]:
        """Re-attach to an interrupted track (or, with ``run``, workflow run)."""
        if run is not None:
            return self.engine.recover_run(track, run, abandon=abandon)
        return self.engine.recover_track(track, hold=True)

    def hold(self, track: str | None = None, *, every: float = 60.0):
        """Hold the track's lease from this process, renewed in the background; call
        ``.release()`` on the result when done (scripts that work in a track for long)."""
        from .lease_keeper import LeaseKeeper

        return LeaseKeeper(self.engine.leases, self.engine.resolve(track), every=every)

    # -- maintenance ---------------------------------------------------------------------

    def validate(self) -> list[Problem]:
        return self.engine.validate()

    def repair(self) -> list[str]:
        return self.engine.repair()

    def rebuild(self) -> list[str]:
        return self.engine.rebuild()
