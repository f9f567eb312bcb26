"""Track templates: the typical steps and success criteria of a kind of track.

A template is a JSON object (every key optional)::

    {"description": "what the template is for", "type": "bugfix", "priority": "P1",
     "track_name": "Fix {{issue}}", "goal": "Fix {{name}}", "tags": ["bug"],
     "success_criteria": ["..."], "variables": {"issue": "a default value"},
     "steps": [{"name": "Reproduce", "type": "action", "description": "..."}]}

One ships with the package for every track type (the JSON files beside this module);
a project adds or overrides them with ``<root>/track-templates/NAME.json`` (or the folder
``[tool.conductor] templates`` of the project's pyproject.toml names). ``{{var}}`` in any
text is replaced by the value given with ``--var var=VALUE`` (else the template's
default); ``{{name}}`` is the track's name. A template that cannot be used is one line
naming its file and the field.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..errors import InvalidInput, PathOutsideRoot
from ..store.paths import inside, pyproject_settings
from ..vocab import Priority, StepType, TrackType

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "BUILTIN_FOLDER",
    "USER_FOLDER",
    "check_template_name",
    "find",
    "load",
    "parse_variables",
    "render",
    "templates_folder",
]

BUILTIN_FOLDER = Path(__file__).parent
USER_FOLDER = "track-templates"  # inside the root, unless pyproject.toml names another
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_VARIABLE_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_TEXTS = {"description": 1000, "track_name": 100, "goal": 10_000}
_CHOICES = {"type": TrackType, "priority": Priority}
_LISTS = ("success_criteria", "tags")
_STEP_KEYS = {"name": 100, "type": 0, "description": 500}
_KEYS = (*_TEXTS, *_CHOICES, *_LISTS, "steps", "variables")


def check_template_name(name: str) -> str:
    """A template's name: letters, digits, '-' and '_' (it names a file in the folder)."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        if isinstance(name, str) and ("/" in name or "\\" in name or ".." in name):
            raise PathOutsideRoot(f"template name {name!r} may not name a path: give NAME only")
        raise InvalidInput(
            f"template name {name!r} must be letters, digits, '-' or '_' (at most 64)"
        )
    return name


def templates_folder(root: Path) -> Path:
    """Where the project's own templates are: ``[tool.conductor] templates`` of the
    pyproject.toml at or above the root, else ``<root>/track-templates``."""
    folder = pyproject_settings(root).get("templates")
    return folder if folder is not None else root / USER_FOLDER


def find(root: Path) -> dict[str, tuple[str, Path]]:
    """Every template by name -> (where from: "built-in" or "project", its file); the
    project's override the built-ins of the same name. Files whose names are not
    template names are not templates."""
    found = {path.stem: ("built-in", path) for path in sorted(BUILTIN_FOLDER.glob("*.json"))}
    folder = templates_folder(root)
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            if _NAME_RE.fullmatch(path.stem):
                found[path.stem] = ("project", path)
    return found


def load(root: Path, name: str) -> dict[str, Any]:
    """The template called ``name``, checked (``origin`` and ``file`` added)."""
    check_template_name(name)
    available = find(root)
    if name not in available:
        from ..grammar import suggest  # only on a mistake

        hint = suggest(name, list(available))
        if not hint.startswith(": did"):
            hint = f"; templates: {', '.join(available)}"
        raise InvalidInput(f"no template {name!r}{hint}")
    origin, path = available[name]
    if origin == "project":
        path = inside(path.parent, path.name)  # a symlink may not lead out of the folder
    template = check(_read(path), path)
    return {**template, "name": name, "origin": origin, "file": str(path)}


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{path}: not valid JSON ({exc})") from None
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot be read ({exc.strerror})") from None


def check(doc: Any, path: Path | str) -> dict[str, Any]:
    """``doc`` if it is a usable template, else one InvalidInput naming the field."""

    def bad(field: str, problem: str) -> InvalidInput:
        return InvalidInput(f"{path}: {field} {problem}")

    if not isinstance(doc, dict):
        raise bad("the template", "must be a JSON object")
    for key, value in doc.items():
        if key not in _KEYS:
            raise bad(repr(key), f"is not a template field (fields: {', '.join(_KEYS)})")
        if key in _TEXTS and not isinstance(value, str):
            raise bad(key, f"must be text, not {_kind(value)}")
        if key in _CHOICES:
            choices = [member.value for member in _CHOICES[key]]
            if value not in choices:
                raise bad(key, f"{value!r} is not one of: {', '.join(choices)}")
        if key in _LISTS and not _texts(value):
            raise bad(key, "must be a list of texts")
        if key == "variables" and not (
            isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
        ):
            raise bad(key, "must be an object of texts (each variable's default)")
    steps = doc.get("steps", [])
    if not isinstance(steps, list):
        raise bad("steps", f"must be a list, not {_kind(steps)}")
    for number, step in enumerate(steps, 1):
        _check_step(step, f"steps[{number}]", bad)
    return doc


def _check_step(step: Any, where: str, bad: Any) -> None:
    if not isinstance(step, dict):
        raise bad(where, f"must be an object with a name, not {_kind(step)}")
    for key, value in step.items():
        if key not in _STEP_KEYS:
            raise bad(f"{where}.{key}", "is not a step field (fields: name, type, description)")
        if not isinstance(value, str):
            raise bad(f"{where}.{key}", f"must be text, not {_kind(value)}")
    if not step.get("name", "").strip():
        raise bad(f"{where}.name", "is missing: every step needs a name")
    step_types = [t.value for t in StepType]
    if step.get("type", "action") not in step_types:
        raise bad(f"{where}.type", f"{step['type']!r} is not a step type ({', '.join(step_types)})")


def _texts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _kind(value: Any) -> str:
    from ..store.files import kind_of

    return kind_of(value)


def parse_variables(items: list[str]) -> dict[str, str]:
    """``["key=value", ...]`` (from ``--var``) as a dict; a malformed one is refused."""
    variables: dict[str, str] = {}
    for item in items or ():
        key, equals, value = str(item).partition("=")
        key = key.strip()
        if not equals or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise InvalidInput(f"--var takes KEY=VALUE (KEY: letters, digits, _), not {item!r}")
        variables[key] = value
    return variables


def render(template: dict[str, Any], variables: dict[str, str]) -> dict[str, Any]:
    """The template with every ``{{var}}`` replaced: ``variables`` first, then the
    template's defaults; a variable with no value is one error naming it."""
    values = {**template.get("variables", {}), **variables}

    def fill(text: str, field: str) -> str:
        def value(match: re.Match[str]) -> str:
            key = match.group(1)
            if key not in values:
                raise InvalidInput(
                    f"template {template.get('name')!r} needs the variable {key!r} "
                    f"(in its {field}): add --var {key}=VALUE"
                )
            return values[key]

        return _VARIABLE_RE.sub(value, text)

    filled: dict[str, Any] = {}
    for key, content in template.items():
        if key in _TEXTS:
            filled[key] = fill(content, key)
        elif key in _LISTS:
            filled[key] = [fill(item, key) for item in content]
        elif key == "steps":
            filled[key] = [
                {k: fill(v, f"steps[{n}].{k}") for k, v in step.items()}
                for n, step in enumerate(content, 1)
            ]
        else:
            filled[key] = content
    return filled
