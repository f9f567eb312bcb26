"""Where things live: root discovery, id and file-name validation, and "stays inside the root"."""

from __future__ import annotations

import os
import re
import stat
from collections import namedtuple  # not dataclasses: it imports inspect (~15 ms)
from pathlib import Path

from ..errors import InvalidId, InvalidInput, PathOutsideRoot

__all__ = [
    "PYPROJECT_KEYS",
    "ROOT_ENV",
    "ROOT_PARTS",
    "RUN_ID_RE",
    "TRACK_ID_RE",
    "FoundRoot",
    "check_relative_name",
    "check_track_id",
    "find_root",
    "inside",
    "is_root",
    "locate_root",
    "project_dir",
    "pyproject_settings",
    "slugify",
]

ROOT_ENV = "CONDUCTOR_ROOT"
ROOT_PARTS = (".claude", "conductor")

TRACK_ID_RE = re.compile(r"track-[a-z0-9-]{1,150}")
# run-NNN (the original tool's folders, as in the seed's layout) or run-NNN-slug (ours).
RUN_ID_RE = re.compile(r"run-[0-9]{3,}(-[a-z0-9-]{0,80})?")
_FILE_PART_RE = re.compile(r"[^\x00-\x1f/\\]{1,255}")


class FoundRoot(namedtuple("FoundRoot", "path source")):
    """The root in use (an absolute ``path``) and how it was found: ``source`` is
    "option" (given: ``--root``, ``root=``), "config" (the notebook's
    ``%config TrackMagics.root`` or kernel config), "environment" ($CONDUCTOR_ROOT),
    "pyproject" (``[tool.conductor] root`` of the nearest pyproject.toml), "ancestor" (the
    nearest folder above with a .claude/conductor) or "default" (none has one:
    ``./.claude/conductor``). It is path-like: ``Path(found)`` is its path."""

    __slots__ = ()

    def __fspath__(self) -> str:
        return str(self.path)

    def how(self) -> str:
        """How it was found, in words."""
        return _HOW[self.source]


_HOW = {
    "option": "given with --root",
    "config": "from the notebook's configuration (TrackMagics.root)",
    "environment": f"from ${ROOT_ENV}",
    "pyproject": "from [tool.conductor] root in the nearest pyproject.toml",
    "ancestor": "the nearest .claude/conductor above the working directory",
    "default": "the default: no .claude/conductor in the working directory or above",
}


def locate_root(
    given: str | os.PathLike[str] | None = None,
    start: str | os.PathLike[str] | None = None,
    *,
    configured: str | os.PathLike[str] | None = None,
) -> FoundRoot:
    """The conductor root and how it was found, first of: ``given`` (--root, root=),
    ``configured`` (the notebook's TrackMagics.root), $CONDUCTOR_ROOT, ``[tool.conductor]
    root`` of the nearest pyproject.toml (relative to its folder), the nearest ancestor's
    .claude/conductor, else ``start/.claude/conductor``.

    A folder given (or configured, or in $CONDUCTOR_ROOT) that holds no tracks but a
    .claude/conductor is a project folder: its .claude/conductor is the root (as git
    takes a work tree).
    """
    if isinstance(given, FoundRoot):
        return given
    if given is not None:
        return FoundRoot(_project_root(Path(given).expanduser().absolute()), "option")
    if configured:
        return FoundRoot(_project_root(Path(configured).expanduser().absolute()), "config")
    env = os.environ.get(ROOT_ENV)
    if env:
        return FoundRoot(_project_root(Path(env).expanduser().absolute()), "environment")
    here = Path(start if start is not None else os.getcwd()).absolute()
    settings = pyproject_settings(here)
    if settings.get("root") is not None:
        return FoundRoot(_project_root(settings["root"]), "pyproject")
    for folder in (here, *here.parents):
        candidate = folder.joinpath(*ROOT_PARTS)
        if candidate.is_dir():
            return FoundRoot(candidate, "ancestor")
    return FoundRoot(here.joinpath(*ROOT_PARTS), "default")


# What ``[tool.conductor]`` may set: both are folders, relative to the pyproject's folder.
PYPROJECT_KEYS = {
    "root": "the conductor root (or a project folder holding .claude/conductor)",
    "templates": "the project's folder of track templates (default: <root>/track-templates)",
}


def pyproject_settings(start: str | os.PathLike[str] | None = None) -> dict:
    """``[tool.conductor]`` of the nearest pyproject.toml at or above ``start`` (the first
    one found, with or without that table): ``{"file": Path, "root": Path | None,
    "templates": Path | None}``, paths made absolute; ``{}`` when there is no
    pyproject.toml. A value that is not a usable folder name is an InvalidInput naming it."""
    here = Path(start if start is not None else os.getcwd()).absolute()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return _read_pyproject(candidate)
    return {}


def _read_pyproject(path: Path) -> dict:
    import tomllib  # only when there is a pyproject.toml (the CLI starts without it)

    try:
        with open(path, "rb") as stream:
            table = tomllib.load(stream).get("tool", {}).get("conductor", {})
    except (OSError, tomllib.TOMLDecodeError, AttributeError) as exc:
        raise InvalidInput(f"{path}: not readable as TOML ({exc})") from None
    accepted = ", ".join(PYPROJECT_KEYS)
    if not isinstance(table, dict):
        raise InvalidInput(f"{path}: [tool.conductor] must be a table (keys: {accepted})")
    settings: dict = {"file": path}
    for key, value in table.items():
        if key not in PYPROJECT_KEYS:
            raise InvalidInput(f"{path}: [tool.conductor] has no setting {key!r} ({accepted})")
        if not isinstance(value, str) or not value.strip() or "\x00" in value:
            raise InvalidInput(
                f"{path}: [tool.conductor] {key} takes a folder path as a string "
                f"({PYPROJECT_KEYS[key]}), not {value!r}"
            )
        settings[key] = (path.parent / Path(value).expanduser()).absolute()
    return {"root": None, "templates": None, **settings}


def is_root(folder: Path) -> bool:
    """Whether ``folder`` holds a conductor root (its tracks, or a project config)."""
    return (folder / "tracks").is_dir() or (folder / "project.json").is_file()


def _project_root(folder: Path) -> Path:
    inner = folder.joinpath(*ROOT_PARTS)
    if not (folder / "tracks").is_dir() and inner.is_dir():
        return inner
    return folder


def find_root(start: str | os.PathLike[str] | None = None) -> Path:
    """The conductor root's path (see ``locate_root``): $CONDUCTOR_ROOT, else
    ``[tool.conductor] root`` of the nearest pyproject.toml, else the nearest ancestor's
    .claude/conductor, else ``start/.claude/conductor``."""
    return locate_root(None, start).path


def project_dir(root: Path) -> Path:
    """The project a root belongs to: ``<project>/.claude/conductor`` -> ``<project>``;
    a root elsewhere is its own project."""
    if root.name == ROOT_PARTS[1] and root.parent.name == ROOT_PARTS[0]:
        return root.parent.parent
    return root


def check_track_id(value: str) -> str:
    """Return ``value`` if it is a well-formed track id, else raise InvalidId."""
    if not isinstance(value, str) or not TRACK_ID_RE.fullmatch(value):
        raise InvalidId(
            f"{value!r} is not a track id (expected track-<lowercase letters, digits, ->)"
        )
    return value


def check_relative_name(value: str) -> str:
    """Validate a user-given relative file name (``a/b.txt``); returns it normalised to '/'."""
    if not isinstance(value, str) or not value or "\x00" in value:
        raise InvalidId(f"{value!r} is not a usable file name")
    if value.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", value):
        raise PathOutsideRoot(f"{value!r} is an absolute path; give a path relative to the track")
    parts = value.replace("\\", "/").split("/")
    for part in parts:
        if part in ("", ".", ".."):
            raise PathOutsideRoot(f"{value!r} may not contain empty, '.' or '..' parts")
        if not _FILE_PART_RE.fullmatch(part):
            raise InvalidId(f"{value!r} contains a control character or an over-long part")
    return "/".join(parts)


def inside(base: Path, *parts: str) -> Path:
    """``base/parts...``, refusing anything that resolves outside ``base`` (symlinks included).

    Only the parts below ``base`` are checked (``base`` is the caller's, trusted): a
    path of plain names none of which is a link is inside by construction, so the
    usual case costs one ``lstat`` per part and never resolves ``base`` itself (a
    ``realpath`` walks every folder from ``/``: most of a write's system calls)."""
    candidate = base.joinpath(*parts)
    relative = os.path.join(*parts) if parts else ""
    names = relative.split(os.sep) if relative else []
    if os.path.isabs(relative) or (os.altsep and os.altsep in relative):
        return _resolved_inside(base, candidate)
    path = os.fspath(base)
    for at, name in enumerate(names):
        if name in ("", ".", ".."):
            return _resolved_inside(base, candidate)
        path = os.path.join(path, name)
        try:
            mode = os.lstat(path).st_mode
        except OSError:  # missing from here down: nothing below it can be a link
            if any(rest in ("..", ".") for rest in names[at + 1 :]):
                return _resolved_inside(base, candidate)
            return candidate
        if stat.S_ISLNK(mode):
            return _resolved_inside(base, candidate)
    return candidate


def _resolved_inside(base: Path, candidate: Path) -> Path:
    """The full check: ``candidate`` resolved (links followed) lies under ``base`` resolved."""
    real_base = os.path.realpath(base)
    real = os.path.realpath(candidate)
    if real != real_base and not real.startswith(real_base + os.sep):
        raise PathOutsideRoot(f"{candidate} resolves outside {base}")
    return candidate


_SLUG_RE = re.compile(r"[^a-z0-9]+")


def slugify(name: str, max_length: int = 60) -> str:
    """The original tool's slug: lower-case, runs of other characters become one '-'."""
    slug = _SLUG_RE.sub("-", name.lower()).strip("-")
    return slug[:max_length].rstrip("-")
