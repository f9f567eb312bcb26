"""The engine: every user verb as one method, one lock, one all-or-nothing change.

It works on plain dicts (the JSON on disk), so it starts fast and keeps every field
it does not know; ``conductor_nb.Conductor`` wraps it and returns pydantic models.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from . import lifecycle
from .checkpoints import CheckpointsMixin
from .context import ContextMixin
from .errors import (
    ActiveTrackExists,
    AmbiguousTrackRef,
    CorruptFile,
    DuplicateName,
    InvalidInput,
    InvalidTransition,
    TrackIdMismatch,
    TrackNotFound,
)
from .legacy import LegacySnapshotsMixin
from .maintenance import MaintenanceMixin
from .recovery import RecoveryMixin
from .runs import RunsMixin, hostname
from .store import files
from .store.paths import check_relative_name, find_root, inside, slugify
from .store.registry import RegistryDoc
from .store.tree import Transaction, Tree
from .tracks import (
    Track,
    apply_transition,
    compute_metrics,
    iso,
    new_track,
    parse_time,
    recompute_progress,
    reconstruct_history,
    registry_entry,
)
from .vocab import (
    AssumptionStatus,
    Priority,
    StepStatus,
    StepType,
    TrackStatus,
    TrackType,
    parse_choice,
)

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any, ClassVar

REPAIR = "conductor repair"

Clock = Callable[[], datetime]


def default_actor() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{hostname()}"


def _check_name(name: str) -> str:
    if not isinstance(name, str):
        raise InvalidInput("a track name must be text")
    name = name.strip()
    if not 3 <= len(name) <= 100:
        raise InvalidInput(f"a track name must be 3 to 100 characters (got {len(name)})")
    if any(ord(ch) < 32 for ch in name):
        raise InvalidInput("a track name may not contain control characters")
    return name


def _check_text(value: str | None, what: str, limit: int = 10_000) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text")
    if "\x00" in value:
        raise InvalidInput(f"{what} may not contain NUL bytes")
    if len(value) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters")
    return value


class Engine(
    RunsMixin,
    ContextMixin,
    MaintenanceMixin,
    CheckpointsMixin,
    LegacySnapshotsMixin,
    RecoveryMixin,
):
    """Tracks of one conductor root (``<project>/.claude/conductor`` by default)."""

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        lock_timeout: float | None = None,
        clock: Clock | None = None,
        actor: str | None = None,
    ) -> None:
        self.root = Path(root).absolute() if root is not None else find_root()
        self.tree = Tree(self.root)
        if lock_timeout is not None:
            self.tree.lock.timeout = lock_timeout
        self._clock = clock or (lambda: datetime.now(UTC))
        self.actor = actor or default_actor()
        # The process that holds leases this engine takes (the CLI names its caller).
        self.holder_pid = os.getpid()

    # -- time ---------------------------------------------------------------------------

    def now(self) -> datetime:
        return self._clock()

    def stamp(self) -> str:
        return iso(self.now())

    # -- reading ------------------------------------------------------------------------

    def registry(self) -> RegistryDoc:
        return self.tree.load_registry()

    def resolve(self, ref: str | None, registry: RegistryDoc | None = None) -> str:
        """A track id from an id, a unique id prefix or an exact name; None means the
        active track."""
        registry = registry or self.registry()
        if ref is None:
            active = registry.ids(status=TrackStatus.ACTIVE)
            if active:
                return active[0]
            raise InvalidInput("no track is active: name one", hint="see `conductor list`")
        if not isinstance(ref, str) or not ref or "\x00" in ref:
            raise TrackNotFound(str(ref))
        if ref in registry.tracks:
            return ref
        named = registry.ids_named(ref)
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            raise AmbiguousTrackRef(ref, named)
        prefixed = [tid for tid in registry.tracks if tid.startswith(ref)] if ref else []
        if not prefixed and not ref.startswith("track-") and slugify(ref):
            prefix = "track-" + slugify(ref, 150)  # `conductor activate oauth` or `OAuth`
            prefixed = [tid for tid in registry.tracks if tid.startswith(prefix)]
        if len(prefixed) == 1:
            return prefixed[0]
        if len(prefixed) > 1:
            raise AmbiguousTrackRef(ref, prefixed)
        raise TrackNotFound(ref)

    def entry(self, ref: str | None) -> dict[str, Any]:
        registry = self.registry()
        return registry.tracks[self.resolve(ref, registry)]

    def list(
        self,
        *,
        status: str | Iterable[str] | None = None,
        type: str | Iterable[str] | None = None,  # noqa: A002
        priority: str | Iterable[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Registry entries (the registry's status), newest update first."""
        for value, enum, what in (
            (status, TrackStatus, "status"),
            (type, TrackType, "type"),
            (priority, Priority, "priority"),
        ):
            for item in [value] if isinstance(value, str) else value or ():
                parse_choice(enum, item, what)
        registry = self.registry()
        ids = registry.ids(status=status, type=type, priority=priority)
        entries = [registry.tracks[track_id] for track_id in ids]
        entries.sort(key=lambda e: str(e.get("updated_at") or ""), reverse=True)
        return entries

    def get_active(self) -> dict[str, Any] | None:
        registry = self.registry()
        active = registry.ids(status=TrackStatus.ACTIVE)
        return registry.tracks[active[0]] if active else None

    def track(self, ref: str | None) -> Track:
        """The full track (track.json) with the registry's status, which is the truth."""
        registry = self.registry()
        track_id = self.resolve(ref, registry)
        track = self._read_track_file(track_id)
        registry_status = registry.tracks[track_id].get("status")
        if track.get("status") != registry_status:
            track["track_json_status"] = track.get("status")
            track["status"] = registry_status
        track["metrics"] = compute_metrics(track, self.now())
        return track

    def stats(self) -> dict[str, Any]:
        registry = self.registry()
        by = {
            field: {key: len(ids) for key, ids in registry.index(field).items() if ids}
            for field in ("status", "type", "priority")
        }
        active = registry.ids(status=TrackStatus.ACTIVE)
        return {
            "total": len(registry.tracks),
            "active_track": active[0] if active else None,
            "by_status": {s.value: by["status"].get(s.value, 0) for s in TrackStatus},
            "by_type": by["type"],
            "by_priority": by["priority"],
        }

    def decisions(self, ref: str | None) -> list[dict[str, Any]]:
        return self._read_list(self.resolve(ref), "decisions.json")

    def assumptions(self, ref: str | None) -> list[dict[str, Any]]:
        return self._read_list(self.resolve(ref), "assumptions.json")

    def artifacts(self, ref: str | None) -> list[dict[str, Any]]:
        """Files under context/artifacts with size and sha256."""
        import hashlib

        folder = self.tree.track_file(self.resolve(ref), "context", "artifacts")
        found = []
        for path in sorted(folder.rglob("*")) if folder.is_dir() else ():
            if path.is_symlink() or not path.is_file():
                continue
            data = path.read_bytes()
            found.append(
                {
                    "name": path.relative_to(folder).as_posix(),
                    "size": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "modified_at": iso(datetime.fromtimestamp(path.stat().st_mtime, UTC)),
                }
            )
        return found

    # -- creating -----------------------------------------------------------------------

    def create(
        self,
        name: str,
        *,
        type: str = "feature",  # noqa: A002
        priority: str = "P2",
        goal: str = "",
        description: str | None = None,
        success_criteria: Iterable[str] = (),
        tags: Iterable[str] = (),
    ) -> Track:
        name = _check_name(name)
        track_type = parse_choice(TrackType, type, "type").value
        track_priority = parse_choice(Priority, priority, "priority").value
        goal = _check_text(goal, "goal")
        description = _check_text(description, "description", 1000) or None
        with self.tree.transaction() as txn:
            registry = txn.registry
            existing = registry.ids_named(name)
            if existing:
                raise DuplicateName(name, existing[0])
            now = self.now()
            track_id = self._new_id(name, now, registry)
            track = new_track(
                track_id,
                name,
                type=track_type,
                priority=track_priority,
                goal=goal,
                now=iso(now),
                actor=self.actor,
                description=description,
                success_criteria=[_check_text(c, "success criterion") for c in success_criteria],
                tags=[_check_text(t, "tag", 100) for t in tags],
            )
            folder = self.tree.track_dir(track_id)
            txn.write(folder / "context" / "decisions.json", "[]")
            txn.write(folder / "context" / "assumptions.json", "[]")
            self._save(txn, track, touch=False)

            def make_folders() -> None:
                for sub in ("context/artifacts", "workflows", "checkpoints"):
                    (folder / sub).mkdir(parents=True, exist_ok=True)

            txn.after_commit.append(make_folders)
        return track

    def _new_id(self, name: str, now: datetime, registry: RegistryDoc) -> str:
        slug = slugify(name)
        millis = int(now.timestamp() * 1000)
        while True:
            track_id = f"track-{slug}-{millis}" if slug else f"track-{millis}"
            if (
                track_id not in registry.tracks
                and not self.tree.tracks_dir.joinpath(track_id).exists()
            ):
                return track_id
            millis += 1

    # -- lifecycle ----------------------------------------------------------------------

    def transition(
        self,
        ref: str | None,
        verb: str,
        *,
        reason: str | None = None,
        force: bool = False,
        outcome: dict[str, Any] | None = None,
    ) -> Track:
        """Apply a lifecycle verb (ready, activate, pause, resume, complete, fail, cancel,
        archive, retry) to a track."""
        if verb not in lifecycle.ACTIONS:
            raise InvalidInput(f"unknown action {verb!r}; one of: {', '.join(lifecycle.ACTIONS)}")
        reason = _check_text(reason, "reason", 2000) or None
        with self.tree.transaction() as txn:
            track_id = self.resolve(ref, txn.registry)
            track = self._load(txn, track_id)
            steps = lifecycle.plan(track_id, track["status"], verb)
            if steps[-1][1] == TrackStatus.ACTIVE:
                self._make_room(txn, track_id, force=force)
                if track["status"] == TrackStatus.PAUSED:
                    self._bring_back(txn, track_id)
                    track = self._load(txn, track_id)
            now = self.stamp()
            for source, target in steps:
                apply_transition(
                    track, source.value, target.value, now=now, actor=self.actor, reason=reason
                )
            if verb in ("complete", "fail", "cancel"):
                self._set_outcome(track, verb, outcome)
            self._save(txn, track)
            if verb == "pause":
                self._auto_checkpoint(txn, track_id, kind="pause", reason=f"paused: {reason or ''}")
            else:
                self._after_change(txn, track_id)
        return self._read_track_file(track_id)

    def _make_room(self, txn: Transaction, track_id: str, *, force: bool) -> None:
        """Enforce the single active track before ``track_id`` becomes active."""
        others = [tid for tid in txn.registry.ids(status=TrackStatus.ACTIVE) if tid != track_id]
        if others and not force:
            raise ActiveTrackExists(others[0], track_id)
        for other_id in others:
            self._suspend(txn, other_id, f"suspended: {track_id} was activated")

    def _suspend(self, txn: Transaction, track_id: str, reason: str) -> None:
        """Pause an active track and checkpoint it (the seed's suspension)."""
        track = self._load(txn, track_id)
        apply_transition(
            track,
            TrackStatus.ACTIVE.value,
            TrackStatus.PAUSED.value,
            now=self.stamp(),
            actor=self.actor,
            reason=reason,
        )
        self._save(txn, track)
        self._auto_checkpoint(txn, track_id, kind="suspend", reason=reason)

    def switch(self, to: str, *, reason: str | None = None) -> Track:
        """Pause the active track and activate ``to``, as one all-or-nothing change."""
        reason = _check_text(reason, "reason", 2000) or None
        with self.tree.transaction() as txn:
            target_id = self.resolve(to, txn.registry)
            target = self._load(txn, target_id)
            if target["status"] == TrackStatus.ACTIVE:
                raise InvalidInput(f"track {target_id} is already active")
            steps = lifecycle.plan(target_id, target["status"], "activate")
            for other_id in txn.registry.ids(status=TrackStatus.ACTIVE):
                self._suspend(txn, other_id, reason or f"switched to {target_id}")
            if target["status"] == TrackStatus.PAUSED:
                self._bring_back(txn, target_id)
                target = self._load(txn, target_id)
            now = self.stamp()
            for source, status in steps:
                apply_transition(
                    target, source.value, status.value, now=now, actor=self.actor, reason=reason
                )
            self._save(txn, target)
            self._after_change(txn, target_id)
        return self._read_track_file(target_id)

    @staticmethod
    def _set_outcome(track: Track, verb: str, outcome: dict[str, Any] | None) -> None:
        result = {"complete": "success", "fail": "failed", "cancel": "cancelled"}[verb]
        outcomes = dict(track.get("outcomes") or {})
        outcomes.setdefault("artifacts_created", [])
        outcomes.setdefault("files_modified", [])
        outcomes.setdefault("suggestions_generated", [])
        outcomes.setdefault("next_tracks", [])
        outcomes.setdefault("summary", "")
        outcomes.setdefault("lessons_learned", [])
        outcomes["result"] = result
        for key, value in (outcome or {}).items():
            if value is None:
                continue
            if key == "result":
                outcomes["result"] = value
            elif key == "summary":
                outcomes["summary"] = _check_text(value, "summary")
            elif key in (
                "artifacts_created",
                "files_modified",
                "next_tracks",
                "lessons_learned",
                "suggestions_generated",
            ):
                outcomes[key] = [_check_text(item, key) for item in value]
            else:
                raise InvalidInput(f"unknown outcome field {key!r}")
        track["outcomes"] = outcomes

    # -- editing ------------------------------------------------------------------------

    UPDATABLE: ClassVar[dict[str, str]] = {
        "name": "name",
        "description": "description",
        "goal": "context.goal",
        "type": "type",
        "priority": "priority",
        "status": "status",
        "mode": "execution.mode",
        "checkpoint_frequency": "execution.checkpoint_frequency",
        "pause_on_failure": "execution.pause_on_failure",
        "success_criteria": "context.success_criteria",
        "target_files": "context.target_files",
        "checkpoint_files": "context.checkpoint_files",
        "tags": "metadata.tags",
        "notes": "metadata.notes",
    }

    def update(self, ref: str | None, field: str, value: str) -> Track:
        """Change one field, checked (the original's ``registry update`` took anything).

        ``status`` goes through the lifecycle like the matching verb would."""
        if field not in self.UPDATABLE:
            raise InvalidInput(
                f"field {field!r} cannot be updated; updatable: {', '.join(self.UPDATABLE)}"
            )
        if field == "status":
            return self._update_status(ref, value)
        parsed = self._parse_field(field, value)
        with self.tree.transaction() as txn:
            track_id = self.resolve(ref, txn.registry)
            track = self._load(txn, track_id)
            if field == "name":
                clash = [tid for tid in txn.registry.ids_named(parsed) if tid != track_id]
                if clash:
                    raise DuplicateName(parsed, clash[0])
            *parents, leaf = self.UPDATABLE[field].split(".")
            node = track
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = parsed
            self._save(txn, track)
        return track

    def _update_status(self, ref: str | None, value: str) -> Track:
        """``update --field status`` runs the verb that leads there (``ready`` -> ready...)."""
        target = parse_choice(TrackStatus, value, "status")
        entry = self.entry(ref)
        current = TrackStatus(entry["status"])
        verbs = [v for v in lifecycle.VERBS_FROM[current] if lifecycle.ACTIONS[v].target == target]
        if not verbs:
            raise InvalidTransition(
                entry["track_id"],
                current,
                f"set status {target.value} on",
                lifecycle.VERBS_FROM[current],
            )
        return self.transition(entry["track_id"], verbs[0])

    @staticmethod
    def _parse_field(field: str, value: Any) -> Any:
        from .vocab import CheckpointFrequency, ExecutionMode

        if field == "name":
            return _check_name(value)
        if field == "type":
            return parse_choice(TrackType, value, "type").value
        if field == "priority":
            return parse_choice(Priority, value, "priority").value
        if field == "mode":
            return parse_choice(ExecutionMode, value, "mode").value
        if field == "checkpoint_frequency":
            return parse_choice(CheckpointFrequency, value, "checkpoint_frequency").value
        if field == "pause_on_failure":
            text = str(value).lower()
            if text not in ("true", "false"):
                raise InvalidInput("pause_on_failure must be true or false")
            return text == "true"
        if field in ("success_criteria", "target_files", "tags", "checkpoint_files"):
            items = value if isinstance(value, list) else str(value).split(",")
            items = [_check_text(item.strip(), field) for item in items if item.strip()]
            if field == "checkpoint_files":  # project files: paths must stay in the project
                items = [check_relative_name(item) for item in items]
            return items
        limit = 1000 if field == "description" else 10_000
        return _check_text(value, field, limit)

    # -- decisions and assumptions ------------------------------------------------------

    def decide(
        self,
        ref: str | None,
        summary: str,
        *,
        rationale: str | None = None,
        alternatives: Iterable[str] = (),
        tags: Iterable[str] = (),
    ) -> dict[str, Any]:
        summary = _check_text(summary, "summary", 1000).strip()
        if not summary:
            raise InvalidInput("a decision needs a summary")
        with self.tree.transaction() as txn:
            track_id = self.resolve(ref, txn.registry)
            track = self._load(txn, track_id)
            items = self._read_list(track_id, "decisions.json", txn)
            decision = {
                "id": f"decision-{_next_number(items, 'decision-')}",
                "timestamp": self.stamp(),
                "summary": summary,
            }
            if rationale:
                decision["rationale"] = _check_text(rationale, "rationale")
            decision["alternatives"] = [_check_text(a, "alternative") for a in alternatives]
            decision["tags"] = [_check_text(t, "tag", 100) for t in tags]
            decision["actor"] = self.actor
            items.append(decision)
            txn.write_json(self.tree.track_file(track_id, "context", "decisions.json"), items)
            self._save(txn, track)
        return decision

    def assume(
        self, ref: str | None, statement: str, *, status: str = "open", note: str | None = None
    ) -> dict[str, Any]:
        statement = _check_text(statement, "assumption", 1000).strip()
        if not statement:
            raise InvalidInput("an assumption needs a statement")
        status = parse_choice(AssumptionStatus, status, "assumption status").value
        with self.tree.transaction() as txn:
            track_id = self.resolve(ref, txn.registry)
            track = self._load(txn, track_id)
            items = self._read_list(track_id, "assumptions.json", txn)
            assumption = {
                "id": f"assumption-{_next_number(items, 'assumption-')}",
                "timestamp": self.stamp(),
                "statement": statement,
                "status": status,
            }
            if note:
                assumption["note"] = _check_text(note, "note")
            assumption["actor"] = self.actor
            items.append(assumption)
            txn.write_json(self.tree.track_file(track_id, "context", "assumptions.json"), items)
            self._save(txn, track)
        return assumption

    def set_assumption(
        self, ref: str | None, assumption_id: str, status: str, *, note: str | None = None
    ) -> dict[str, Any]:
        status = parse_choice(AssumptionStatus, status, "assumption status").value
        with self.tree.transaction() as txn:
            track_id = self.resolve(ref, txn.registry)
            track = self._load(txn, track_id)
            items = self._read_list(track_id, "assumptions.json", txn)
            found = next((a for a in items if a.get("id") == assumption_id), None)
            if found is None:
                raise InvalidInput(f"track {track_id} has no assumption {assumption_id!r}")
            found["status"] = status
            found["updated_at"] = self.stamp()
            if note:
                found["note"] = _check_text(note, "note")
            txn.write_json(self.tree.track_file(track_id, "context", "assumptions.json"), items)
            self._save(txn, track)
        return found

    # -- artifacts ----------------------------------------------------------------------

    def add_artifact(
        self,
        ref: str | None,
        name: str,
        *,
        data: bytes | str | None = None,
        source: str | os.PathLike[str] | None = None,
    ) -> dict[str, Any]:
        """Store a file under the track's context/artifacts (from bytes or a file)."""
        import hashlib

        relative = check_relative_name(name)
        if (data is None) == (source is None):
            raise InvalidInput("give an artifact's content either as data or as a source file")
        if source is not None:
            try:
                payload = Path(source).read_bytes()
            except OSError as exc:
                raise InvalidInput(f"cannot read {source}: {exc.strerror}") from None
        else:
            payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        with self.tree.transaction() as txn:
            track_id = self.resolve(ref, txn.registry)
            track = self._load(txn, track_id)
            folder = self.tree.track_file(track_id, "context", "artifacts")
            target = inside(folder, *relative.split("/"))
            for parent in target.relative_to(folder).parents:
                if (folder / parent).is_file():
                    raise InvalidInput(f"artifact {relative!r}: {parent.as_posix()!r} is a file")
            if target.exists():
                if target.is_dir():
                    raise InvalidInput(f"artifact {relative!r} is a folder")
                self._backup(txn, target, f"{track_id}-artifact-{relative.replace('/', '_')}")
            txn.write(target, payload)
            self._save(txn, track)
        return {
            "name": relative,
            "size": len(payload),
            "sha256": hashlib.sha256(payload).hexdigest(),
        }

    # -- steps --------------------------------------------------------------------------

    def add_step(
        self,
        ref: str | None,
        name: str,
        *,
        type: str = "action",  # noqa: A002
        description: str | None = None,
    ) -> dict[str, Any]:
        name = _check_text(name, "step name", 100).strip()
        if not name:
            raise InvalidInput("a step needs a name")
        step_type = parse_choice(StepType, type, "step type").value
        with self.tree.transaction() as txn:
            track_id = self.resolve(ref, txn.registry)
            track = self._load(txn, track_id)
            self._refuse_closed(track, "add steps to")
            steps = track.setdefault("steps", [])
            step = {
                "step_id": f"step-{_next_number(steps, 'step-', key='step_id')}",
                "name": name,
                "type": step_type,
                "status": StepStatus.PENDING.value,
                "order": len(steps),
            }
            if description:
                step["description"] = _check_text(description, "step description", 500)
            steps.append(step)
            self._save(txn, track)
        return step

    STEP_VERBS: ClassVar[dict[str, StepStatus]] = {
        "start": StepStatus.IN_PROGRESS,
        "complete": StepStatus.COMPLETED,
        "skip": StepStatus.SKIPPED,
        "fail": StepStatus.FAILED,
        "reopen": StepStatus.PENDING,  # undo a tick: the step is to do again
    }

    def step(
        self, ref: str | None, step_ref: str, verb: str, *, note: str | None = None
    ) -> dict[str, Any]:
        """start, complete, skip, fail or reopen a step (by id, number from 1, or exact
        name)."""
        if verb not in self.STEP_VERBS:
            raise InvalidInput(
                f"unknown step action {verb!r}; one of: {', '.join(self.STEP_VERBS)}"
            )
        with self.tree.transaction() as txn:
            track_id = self.resolve(ref, txn.registry)
            track = self._load(txn, track_id)
            self._refuse_closed(track, "change steps of")
            step = _find_step(track, step_ref)
            now = self.stamp()
            timing = step.setdefault("timing", {})
            target = self.STEP_VERBS[verb]
            if step.get("status") == target:
                raise InvalidInput(f"step {step['step_id']} is already {target.value}")
            step["status"] = target.value
            if target == StepStatus.IN_PROGRESS:
                timing["started_at"] = now
            elif target == StepStatus.PENDING:
                for key in ("started_at", "completed_at", "actual_duration_ms"):
                    timing.pop(key, None)
                step.pop("error", None)
            else:
                timing["completed_at"] = now
                started = parse_time(timing.get("started_at"))
                if started is not None:
                    elapsed = (parse_time(now) - started).total_seconds()
                    timing["actual_duration_ms"] = max(0, int(elapsed * 1000))
            if note:
                step["notes"] = _check_text(note, "note", 2000)
            if target == StepStatus.FAILED:
                step["error"] = {
                    "message": note or "failed",
                    "occurred_at": now,
                    "recoverable": True,
                }
                execution = track.get("execution") or {}
                if track["status"] == TrackStatus.ACTIVE and execution.get(
                    "pause_on_failure", True
                ):
                    apply_transition(
                        track,
                        TrackStatus.ACTIVE.value,
                        TrackStatus.PAUSED.value,
                        now=now,
                        actor=self.actor,
                        reason=f"step {step['step_id']} failed",
                    )
            self._save(txn, track)
            if target in (StepStatus.COMPLETED, StepStatus.SKIPPED):
                self._step_checkpoint(txn, track_id, step)
            self._after_change(txn, track_id)
        return step

    @staticmethod
    def _refuse_closed(track: Track, what: str) -> None:
        closed = (TrackStatus.COMPLETED, TrackStatus.CANCELLED, TrackStatus.ARCHIVED)
        if track["status"] in closed:
            raise InvalidInput(f"cannot {what} track {track['track_id']}: it is {track['status']}")

    # -- the write path -----------------------------------------------------------------

    def _read_track_file(self, track_id: str, txn: Transaction | None = None) -> Track:
        path = self.tree.track_file(track_id, "track.json")
        pending = txn.pending(path) if txn is not None else None
        if pending is not None:
            import json

            return json.loads(pending)
        try:
            track = files.read_json(path, fix=REPAIR)
        except FileNotFoundError:
            raise CorruptFile(str(path), "the file is missing", REPAIR) from None
        if not isinstance(track, dict):
            raise CorruptFile(str(path), "it is not a JSON object", REPAIR)
        if track.get("track_id") != track_id:
            # a copied folder: writing it would land in the other track's folder and entry
            raise TrackIdMismatch(str(path), track.get("track_id"), track_id, REPAIR)
        return track

    def _read_list(
        self, track_id: str, name: str, txn: Transaction | None = None
    ) -> list[dict[str, Any]]:
        path = self.tree.track_file(track_id, "context", name)
        pending = txn.pending(path) if txn is not None else None
        if pending is not None:
            import json

            return json.loads(pending)
        items = files.read_json(path, fix=REPAIR, default=[])
        if not isinstance(items, list):
            raise CorruptFile(str(path), "it is not a JSON list", REPAIR)
        return items

    def _load(self, txn: Transaction, track_id: str) -> Track:
        """track.json for a write, brought in line with the registry (a copy of what the
        registry's status replaces is kept in backups/)."""
        track = self._read_track_file(track_id, txn)
        entry = txn.registry.tracks[track_id]
        if "history" not in track:
            track["history"] = reconstruct_history(track)
        registry_status = entry.get("status")
        if track.get("status") != registry_status:
            if registry_status not in TrackStatus.__members__.values():
                raise CorruptFile(
                    str(self.tree.registry.path),
                    f"track {track_id} has the unknown status {registry_status!r}",
                    REPAIR,
                )
            path = self.tree.track_file(track_id, "track.json")
            if txn.pending(path) is None:
                self._backup(txn, path, f"{track_id}-track.json")
            track.setdefault("history", []).append(
                {
                    "from": track.get("status"),
                    "to": registry_status,
                    "at": self.stamp(),
                    "reason": "track.json brought in line with the registry",
                    "actor": "conductor",
                }
            )
            track["status"] = registry_status
        return track

    def _save(self, txn: Transaction, track: Track, *, touch: bool = True) -> None:
        if touch:
            track["updated_at"] = self.stamp()
        recompute_progress(track)
        track["metrics"] = compute_metrics(track, self.now())
        track_id = track["track_id"]
        txn.write_json(self.tree.track_file(track_id, "track.json"), track)
        registry = txn.registry
        registry.set_entry(track_id, registry_entry(track, registry.tracks.get(track_id)))
        active = registry.ids(status=TrackStatus.ACTIVE)
        registry.set_active(active[0] if active else None)
        registry.refresh_metadata(self.stamp())
        txn.registry_changed = True

    def _backup(self, txn: Transaction, path: Path, label: str) -> Path:
        """Keep a copy of ``path`` in backups/ (written before what replaces it)."""
        stamp = self.now().astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = self.tree.backups_dir / f"{stamp}-{label}"
        counter = 1
        while target.exists() or txn.pending(target) is not None:
            target = self.tree.backups_dir / f"{stamp}-{counter}-{label}"
            counter += 1
        txn.write(target, path.read_bytes())
        return target


def _next_number(items: list[dict[str, Any]], prefix: str, *, key: str = "id") -> int:
    highest = 0
    for item in items:
        value = str(item.get(key, "")) if isinstance(item, dict) else ""
        if value.startswith(prefix) and value[len(prefix) :].isdigit():
            highest = max(highest, int(value[len(prefix) :]))
    return highest + 1


def _find_step(track: Track, step_ref: str) -> dict[str, Any]:
    steps = [s for s in track.get("steps", []) if isinstance(s, dict)]
    for step in steps:
        if step.get("step_id") == step_ref:
            return step
    if str(step_ref).isdigit() and 1 <= int(step_ref) <= len(steps):
        return steps[int(step_ref) - 1]
    named = [s for s in steps if s.get("name") == step_ref]
    if len(named) == 1:
        return named[0]
    raise InvalidInput(f"track {track['track_id']} has no step {step_ref!r}")
