"""Creating tracks and changing their fields (name, goal, type, criteria, settings...)."""

from __future__ import annotations

from .errors import DuplicateName, InvalidInput
from .inputs import check_name, check_text
from .store.paths import check_relative_name, slugify
from .tracks import iso, new_track
from .vocab import CheckpointFrequency, ExecutionMode, Priority, TrackType, parse_choice

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime
    from typing import Any

    from .store.registry import RegistryDoc
    from .tracks import TrackDoc
    from .trackstore import TrackStore
    from .transitions import Transitions

__all__ = ["UPDATABLE", "Editing"]

# The fields `update` changes: the name users give -> the dotted path in track.json.
UPDATABLE: dict[str, str] = {
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
    "target_directories": "context.target_directories",
    "checkpoint_files": "context.checkpoint_files",
    "tags": "metadata.tags",
    "notes": "metadata.notes",
}
_CHOICES = {
    "type": TrackType,
    "priority": Priority,
    "mode": ExecutionMode,
    "checkpoint_frequency": CheckpointFrequency,
}
_LISTS = ("success_criteria", "target_files", "target_directories", "tags", "checkpoint_files")


class Editing:
    """Creation and field changes of the tracks in a store (a status change goes
    through ``transitions``, like the verb that leads there)."""

    def __init__(self, store: TrackStore, transitions: Transitions) -> None:
        self.store = store
        self.tree = store.tree
        self.transitions = transitions

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
    ) -> TrackDoc:
        name = check_name(name)
        track_type = parse_choice(TrackType, type, "type").value
        track_priority = parse_choice(Priority, priority, "priority").value
        goal = check_text(goal, "goal")
        description = check_text(description, "description", 1000) or None
        hooks = self.transitions.hooks.before(
            "create", name=name, type=track_type, priority=track_priority, goal=goal
        )
        with self.tree.transaction() as txn:
            existing = txn.registry.ids_named(name)
            if existing:
                raise DuplicateName(name, existing[0])
            now = self.store.now()
            track_id = self._new_id(name, now, txn.registry)
            track = new_track(
                track_id,
                name,
                type=track_type,
                priority=track_priority,
                goal=goal,
                now=iso(now),
                actor=self.store.actor,
                description=description,
                success_criteria=[check_text(c, "success criterion") for c in success_criteria],
                tags=[check_text(t, "tag", 100) for t in tags],
            )
            folder = self.tree.track_dir(track_id)
            txn.write(folder / "context" / "decisions.json", "[]")
            txn.write(folder / "context" / "assumptions.json", "[]")
            # The original tool also made empty context/artifacts/, workflows/ and
            # checkpoints/ here, which it never uses; ours are made when first written
            # (git keeps no empty folder either): three inode allocations fewer a create.
            self.store.save(txn, track, touch=False)
        hooks.after(track)
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

    def update(self, ref: str | None, field: str, value: str) -> TrackDoc:
        """Change one field, checked (the original's ``registry update`` took anything).

        ``status`` goes through the lifecycle like the matching verb would."""
        if field not in UPDATABLE:
            from .grammar import suggest  # only on a mistake

            hint = suggest(field, list(UPDATABLE))
            if not hint.startswith(": did"):
                hint = f"; updatable: {', '.join(UPDATABLE)}"
            raise InvalidInput(f"field {field!r} cannot be updated{hint}")
        if field == "status":
            return self.transitions.set_status(ref, value)
        parsed = parse_field(field, value)
        with self.tree.transaction() as txn:
            track_id = self.store.resolve(ref, txn.registry)
            track = self.store.load(txn, track_id)
            if field == "name":
                clash = [tid for tid in txn.registry.ids_named(parsed) if tid != track_id]
                if clash:
                    raise DuplicateName(parsed, clash[0])
            *parents, leaf = UPDATABLE[field].split(".")
            node = track
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = parsed
            self.store.save(txn, track)
        return track


def parse_field(field: str, value: Any) -> Any:
    """A user's value for an updatable field, checked and in the type the schema has."""
    if field == "name":
        return check_name(value)
    if field in _CHOICES:
        return parse_choice(_CHOICES[field], value, field).value
    if field == "pause_on_failure":
        text = str(value).lower()
        if text not in ("true", "false"):
            raise InvalidInput("pause_on_failure must be true or false")
        return text == "true"
    if field in _LISTS:
        items = value if isinstance(value, list) else str(value).split(",")
        items = [check_text(item.strip(), field) for item in items if item.strip()]
        if field == "checkpoint_files":  # project files: paths must stay in the project
            items = [check_relative_name(item) for item in items]
        return items
    limit = 1000 if field == "description" else 10_000
    return check_text(value, field, limit)
