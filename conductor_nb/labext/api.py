"""What the REST endpoints answer, as plain functions of an engine and the request's
values (no HTTP here): each returns the JSON body, or raises a ``ConductorError``."""

from __future__ import annotations

import hashlib

from ..board_filter import select
from ..engine import Engine
from ..errors import InvalidInput
from ..lifecycle import ACTIONS, transition_verbs
from ..notebook.watch import stat_signature

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "TRACK_VERBS",
    "add_checkpoint",
    "add_decision",
    "add_step",
    "change_step",
    "checkpoints",
    "decisions",
    "show_track",
    "signature",
    "steps",
    "track_list",
    "transition",
]

# What POST tracks/<id>/<verb> accepts: the lifecycle verbs, and switch (pause the active
# track and activate this one, as one change).
TRACK_VERBS = (*ACTIONS, "switch")


def _values(text: str | None) -> list[str] | None:
    """A comma-separated filter (``status=active,paused``) as its values."""
    values = [v.strip() for v in (text or "").split(",") if v.strip()]
    return values or None


def _with_verbs(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, "verbs": transition_verbs(str(entry.get("status")))}


def track_list(engine: Engine, query: dict[str, str]) -> dict[str, Any]:
    """The board: registry entries passing the filters (status, type, priority: comma
    separated; search: in the name or id), each with the transitions it allows, and the
    active track whatever the filters."""
    entries = engine.list(
        status=_values(query.get("status")),
        type=_values(query.get("type")),
        priority=_values(query.get("priority")),
    )
    shown = select(entries, search=query.get("search"))
    active = engine.get_active()
    return {
        "root": str(engine.root),
        "active": _with_verbs(active) if active else None,
        "tracks": [_with_verbs(entry) for entry in shown],
        "total": len(engine.registry().tracks),
    }


def show_track(engine: Engine, ref: str) -> dict[str, Any]:
    track = engine.track(ref)
    return {"track": track, "verbs": transition_verbs(str(track.get("status")))}


def transition(engine: Engine, ref: str, verb: str, body: dict[str, Any]) -> dict[str, Any]:
    """Apply a lifecycle verb (or switch) to a track; ``body`` may give a ``reason``."""
    if verb not in TRACK_VERBS:
        raise InvalidInput(f"unknown action {verb!r}; one of: {', '.join(TRACK_VERBS)}")
    reason = body.get("reason") or None
    if verb == "switch":
        track = engine.switch(ref, reason=reason)
    else:
        track = engine.transition(ref, verb, reason=reason, force=body.get("force") is True)
    return {
        "track": track,
        "verbs": transition_verbs(str(track.get("status"))),
        "message": f"{track.get('name')} is now {track.get('status')}",
    }


def steps(engine: Engine, ref: str) -> dict[str, Any]:
    return {"steps": engine.track(ref).get("steps") or []}


def add_step(engine: Engine, ref: str, body: dict[str, Any]) -> dict[str, Any]:
    step = engine.add_step(
        ref,
        _text(body, "name"),
        type=body.get("type") or "action",
        description=body.get("description"),
    )
    return {"step": step}


def change_step(
    engine: Engine, ref: str, step_ref: str, verb: str, body: dict[str, Any]
) -> dict[str, Any]:
    return {"step": engine.step(ref, step_ref, verb, note=body.get("note"))}


def decisions(engine: Engine, ref: str, latest: str | None = None) -> dict[str, Any]:
    """The track's decisions, oldest first; ``latest``: only the last that many."""
    found = engine.decisions(ref)
    if latest is not None:
        if not latest.isdigit():
            raise InvalidInput(f"latest must be a number, not {latest!r}")
        found = found[len(found) - int(latest) :] if int(latest) else []
    return {"decisions": found}


def add_decision(engine: Engine, ref: str, body: dict[str, Any]) -> dict[str, Any]:
    decision = engine.decide(
        ref,
        _text(body, "summary"),
        rationale=body.get("rationale"),
        alternatives=_list(body, "alternatives"),
        tags=_list(body, "tags"),
    )
    return {"decision": decision}


def checkpoints(engine: Engine, ref: str) -> dict[str, Any]:
    return {"checkpoints": engine.checkpoints(ref)}


def add_checkpoint(engine: Engine, ref: str, body: dict[str, Any]) -> dict[str, Any]:
    reason = body.get("reason") or "manual checkpoint"
    if not isinstance(reason, str):
        raise InvalidInput("reason must be text")
    return {
        "checkpoint": engine.create_checkpoint(
            ref, reason=reason, pinned=body.get("pinned") is True
        )
    }


def signature(engine: Engine) -> dict[str, Any]:
    """A short text that changes whenever the registry or the active track's files
    (track.json, decisions, checkpoints) change: ``os.stat`` results, no reading, so a
    front end can ask every few seconds."""
    tree = engine.tree
    paths = [tree.registry.path]
    try:
        active = engine.get_active()
    except Exception:  # a damaged or missing registry: its stat is the signature
        active = None
    if active is not None:
        track_id = active["track_id"]
        paths += [
            tree.track_file(track_id, "track.json"),
            tree.track_file(track_id, "context", "decisions.json"),
            tree.track_file(track_id, "checkpoints"),
        ]
    stats = repr((str(engine.root), stat_signature(paths))).encode()
    return {"signature": hashlib.sha1(stats, usedforsecurity=False).hexdigest()[:16]}


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise InvalidInput(f"the request needs {key!r} (text)")
    return value


def _list(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"{key} must be a list of text")
    return value
