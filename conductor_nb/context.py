"""Context inheritance: the project config at ``<root>/project.json`` resolved into a
track's effective context, per the seed's table.

| context              | inheritance   | override              |
| project rules        | inherited     | no (a track may add)  |
| technology stack     | inherited     | the track extends it  |
| agent configurations | inherited     | the track overrides   |
| artifacts, decisions | not inherited | track-scoped          |
"""

from __future__ import annotations

from .errors import CorruptFile, InvalidInput
from .store import files

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from .artifacts import Artifacts
    from .trackstore import TrackStore

__all__ = ["PROJECT_FILE", "ProjectContext", "parse_agent", "read_project", "resolve"]

PROJECT_FILE = "project.json"
REPAIR = "conductor repair"


def _strings(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"{what} must be a list of strings")
    return list(value)


def _agents(value: Any, what: str) -> dict[str, dict[str, Any]]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise InvalidInput(f"{what} must map agent names to objects")
    return value


def read_project(path: Path) -> dict[str, Any]:
    """project.json (``{}`` when there is none), refused as a CorruptFile when it is not
    an object whose rules and stack are lists of text and whose agents are objects."""
    config = files.read_json(path, fix=REPAIR, default={}, shape=dict)
    try:
        _strings(config.get("rules"), "its rules")
        _strings(config.get("stack"), "its stack")
        _agents(config.get("agents"), "its agents")
    except InvalidInput as err:
        raise CorruptFile(str(path), err.message, REPAIR) from None
    return config


def resolve(project: dict[str, Any], track: dict[str, Any]) -> dict[str, Any]:
    """The effective context of ``track`` under ``project`` (pure)."""
    own = track.get("context") or {}
    rules = [{"text": r, "source": "project"} for r in _strings(project.get("rules"), "rules")]
    rules += [
        {"text": r, "source": "track"}
        for r in _strings(own.get("rules"), "track rules")
        if r not in {rule["text"] for rule in rules}
    ]
    stack = [{"item": s, "source": "project"} for s in _strings(project.get("stack"), "stack")]
    known = {item["item"] for item in stack}
    stack += [
        {"item": s, "source": "track"}
        for s in _strings(own.get("stack"), "track stack")
        if s not in known
    ]
    agents: dict[str, dict[str, Any]] = {}
    for name, config in _agents(project.get("agents"), "agents").items():
        agents[name] = {"config": dict(config), "source": "project"}
    for name, config in _agents(own.get("agents"), "track agents").items():
        if name in agents:
            agents[name] = {"config": {**agents[name]["config"], **config}, "source": "track"}
        else:
            agents[name] = {"config": dict(config), "source": "track"}
    return {"rules": rules, "stack": stack, "agents": agents}


class ProjectContext:
    """The project config of a store's root, and the effective context of its tracks
    (their artifacts are listed through ``artifacts``)."""

    def __init__(self, store: TrackStore, artifacts: Artifacts) -> None:
        self.store = store
        self.tree = store.tree
        self.artifacts = artifacts

    def project_config(self) -> dict[str, Any]:
        return read_project(self.store.root / PROJECT_FILE)

    def configure_project(
        self,
        *,
        add_rules: list[str] = (),
        add_stack: list[str] = (),
        agents: dict[str, dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        with self.tree.transaction() as txn:
            config = self.project_config()
            config["rules"] = _merge(_strings(config.get("rules"), "rules"), add_rules)
            config["stack"] = _merge(_strings(config.get("stack"), "stack"), add_stack)
            merged = dict(_agents(config.get("agents"), "agents"))
            for name, settings in (agents or {}).items():
                merged[name] = {**merged.get(name, {}), **settings}
            config["agents"] = merged
            txn.write_json(self.store.root / PROJECT_FILE, config)
        return config

    def configure_track(
        self,
        ref: str | None,
        *,
        add_rules: list[str] = (),
        add_stack: list[str] = (),
        agents: dict[str, dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        with self.tree.transaction() as txn:
            track_id = self.store.resolve(ref, txn.registry)
            track = self.store.load(txn, track_id)
            own = track.setdefault("context", {})
            own["rules"] = _merge(_strings(own.get("rules"), "track rules"), add_rules)
            own["stack"] = _merge(_strings(own.get("stack"), "track stack"), add_stack)
            merged = dict(_agents(own.get("agents"), "track agents"))
            for name, settings in (agents or {}).items():
                merged[name] = {**merged.get(name, {}), **settings}
            own["agents"] = merged
            self.store.save(txn, track)
        return self.effective(track_id)

    def effective(self, ref: str | None) -> dict[str, Any]:
        track = self.store.track(ref)
        resolved = resolve(self.project_config(), track)
        own = track.get("context") or {}
        return {
            "track_id": track["track_id"],
            "goal": own.get("goal", ""),
            "success_criteria": own.get("success_criteria", []),
            **resolved,
            "decisions": self.store.read_list(track["track_id"], "decisions.json"),
            "artifacts": self.artifacts.list(track["track_id"]),
        }


def _merge(existing: list[str], extra: list[str]) -> list[str]:
    out = list(existing)
    for item in extra:
        if not isinstance(item, str) or not item.strip():
            raise InvalidInput("rules and stack entries must be non-empty text")
        if item not in out:
            out.append(item)
    return out


def parse_agent(text: str) -> tuple[str, dict[str, Any]]:
    """``NAME=JSON`` (for the CLI): ``reviewer={"model": "large"}``."""
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise InvalidInput(f"agent settings must look like NAME=JSON (got {text!r})")
    try:  # read as project.json will be: no NaN, no nesting beyond the decoder
        config = files.parse_json(raw.encode("utf-8", "surrogatepass"), name, fix="", shape=dict)
    except CorruptFile as err:
        message = f"agent settings for {name!r} must be a JSON object ({err.reason})"
        raise InvalidInput(message) from None
    return name.strip(), config
