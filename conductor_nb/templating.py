"""Creating tracks from templates and under parents, as one all-or-nothing change.

A template gives the type, priority, goal, success criteria, tags and steps; every
option given explicitly wins over it. The track records where it came from
(``source.type = "template"``, ``source.template_id``).
"""

from __future__ import annotations

from . import templates
from .inputs import check_text
from .vocab import StepStatus

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from .editing import Editing
    from .subtracks import Subtracks
    from .tracks import TrackDoc
    from .trackstore import TrackStore

__all__ = ["Templating"]

# create's options a template may fill, with the defaults when neither gives them.
_DEFAULTS = {"type": "feature", "priority": "P2", "goal": ""}


class Templating:
    """Templates of a store's root, and tracks created from them."""

    def __init__(self, store: TrackStore, editing: Editing, subtracks: Subtracks) -> None:
        self.store = store
        self.tree = store.tree
        self.editing = editing
        self.subtracks = subtracks

    def list(self) -> list[dict[str, Any]]:
        """Every template (name, where from, type, step count, file), by name; a broken
        one is listed with its problem rather than hiding the others."""
        rows = []
        for name, (origin, path) in sorted(templates.find(self.store.root).items()):
            row = {"name": name, "origin": origin, "file": str(path)}
            try:
                template = templates.load(self.store.root, name)
            except Exception as err:  # one broken file must not hide the others
                rows.append({**row, "type": None, "steps": None, "problem": str(err)})
                continue
            row.update(
                type=template.get("type"),
                steps=len(template.get("steps", [])),
                description=template.get("description"),
            )
            rows.append(row)
        return rows

    def get(self, name: str, variables: dict[str, str] | None = None) -> dict[str, Any]:
        """The template, its ``{{variables}}`` filled from ``variables`` (and defaults)."""
        template = templates.load(self.store.root, name)
        return templates.render(template, dict(variables or {}))

    def create(
        self,
        name: str | None,
        *,
        template: str | None = None,
        variables: dict[str, str] | None = None,
        parent: str | None = None,
        success_criteria: Iterable[str] = (),
        tags: Iterable[str] = (),
        **options: Any,
    ) -> TrackDoc:
        """A new track from ``template`` (with ``variables``) and under ``parent``;
        ``options`` (type, priority, goal, description) left None come from the template."""
        fields = self._from_template(template, name, dict(variables or {}))
        name = name or fields.pop("track_name", None)
        if not name:
            from .errors import InvalidInput

            raise InvalidInput("create needs a name (--name), or a template with a track_name")
        for key, default in _DEFAULTS.items():
            if options.get(key) is None:
                options[key] = fields.get(key, default)
        with self.tree.transaction() as txn:
            track = self.editing.create(
                name,
                success_criteria=list(success_criteria) or fields.get("success_criteria", []),
                tags=list(tags) or fields.get("tags", []),
                **options,
            )
            if not template and not parent:
                return track  # nothing to add to what create wrote
            track = self.store.load(txn, track["track_id"])
            if template:
                track["source"] = {**track.get("source", {}), "type": "template"}
                track["source"]["template_id"] = template
                track["steps"] = _steps(fields.get("steps", []))
            if parent:
                self.subtracks.link(txn, track, parent)
            self.store.save(txn, track, touch=False)
        return track

    def _from_template(
        self, template: str | None, name: str | None, variables: dict[str, str]
    ) -> dict[str, Any]:
        if not template:
            return {}
        raw = templates.load(self.store.root, template)
        if name is None and "track_name" in raw:  # the name first: {{name}} is the name
            only_name = {k: raw[k] for k in ("name", "variables", "track_name") if k in raw}
            name = templates.render(only_name, variables)["track_name"]
        variables.setdefault("name", name or "")
        fields = templates.render(raw, variables)
        fields["track_name"] = name
        return fields


def _steps(items: list[dict[str, str]]) -> list[dict[str, Any]]:
    """A template's steps as a new track's steps (pending, numbered in order)."""
    steps = []
    for order, item in enumerate(items):
        step = {
            "step_id": f"step-{order + 1}",
            "name": check_text(item["name"], "step name", 100).strip(),
            "type": item.get("type", "action"),
            "status": StepStatus.PENDING.value,
            "order": order,
        }
        if item.get("description"):
            step["description"] = check_text(item["description"], "step description", 500)
        steps.append(step)
    return steps
