"""Where things live: root discovery, id and file-name validation, and "stays inside the root"."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import InvalidId, PathOutsideRoot

__all__ = [
    "ROOT_ENV",
    "ROOT_PARTS",
    "RUN_ID_RE",
    "TRACK_ID_RE",
    "check_relative_name",
    "check_track_id",
    "find_root",
    "inside",
    "project_dir",
    "slugify",
]

ROOT_ENV = "CONDUCTOR_ROOT"
ROOT_PARTS = (".claude", "conductor")

TRACK_ID_RE = re.compile(r"track-[a-z0-9-]{1,150}")
# run-NNN (the original tool's folders, as in the seed's layout) or run-NNN-slug (ours).
RUN_ID_RE = re.compile(r"run-[0-9]{3,}(-[a-z0-9-]{0,80})?")
_FILE_PART_RE = re.compile(r"[^\x00-\x1f/\\]{1,255}")


def find_root(start: str | os.PathLike[str] | None = None) -> Path:
    """The conductor root: $CONDUCTOR_ROOT, else the nearest ancestor's .claude/conductor.

    Like git looking for .git, walk up from ``start`` (the working directory by
    default); when no ancestor has one, the answer is ``start/.claude/conductor``.
    """
    env = os.environ.get(ROOT_ENV)
    if env:
        return Path(env).expanduser().absolute()
    here = Path(start if start is not None else os.getcwd()).absolute()
    for folder in (here, *here.parents):
        candidate = folder.joinpath(*ROOT_PARTS)
        if candidate.is_dir():
            return candidate
    return here.joinpath(*ROOT_PARTS)


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
    """``base/parts...``, refusing anything that resolves outside ``base`` (symlinks included)."""
    candidate = base.joinpath(*parts)
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
