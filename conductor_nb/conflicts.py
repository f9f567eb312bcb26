"""``conductor conflicts``: open tracks that work on the same files.

Each open track (draft, ready, active, paused) names the files and folders it touches in
its context (``target_files``, ``target_directories``). Two of them overlap when a path
of one is a path of the other (the same file or folder), lies inside a folder of the
other, or when one folder holds the other; a name with ``*``, ``?`` or ``[`` is a pattern
(``src/auth/*.py``) and overlaps what it matches, or any folder its fixed part shares.
Paths are compared as written, relative to the project (``./src/`` is ``src``; ``.``
is the whole project); nothing is read from the disk.
"""

from __future__ import annotations

import posixpath
from fnmatch import fnmatchcase

from .dependencies import links_of

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

    from .dependencies import Dependencies
    from .tracks import TrackDoc

__all__ = ["Conflicts", "normalise", "overlap", "targets"]

_GLOB = frozenset("*?[")


def normalise(path: str) -> str | None:
    """A target path as compared: forward slashes, no ``./`` or trailing slash (None for
    an empty one)."""
    text = path.strip().replace("\\", "/")
    if not text:
        return None
    return posixpath.normpath(text)


def _is_pattern(path: str) -> bool:
    return not _GLOB.isdisjoint(path)


def _fixed_part(pattern: str) -> str:
    """The folders of a pattern before its first wildcard (``src/*/x.py`` -> ``src``)."""
    fixed = []
    for part in pattern.split("/"):
        if _is_pattern(part):
            break
        fixed.append(part)
    return "/".join(fixed) or "."


def _inside(child: str, folder: str) -> bool:
    return folder == "." or child.startswith(folder.rstrip("/") + "/")


def _shown(path: str, is_dir: bool) -> str:
    return f"{path}/" if is_dir and path != "." else path


def overlap(a: str, a_dir: bool, b: str, b_dir: bool) -> str | None:
    """How two normalised targets overlap, in words, or None (``*_dir``: a folder)."""
    if a == b:
        kind = "folder" if a_dir and b_dir else "file" if not (a_dir or b_dir) else "path"
        return f"same {kind} {_shown(a, a_dir or b_dir)}"
    if _is_pattern(a) or _is_pattern(b):
        return _pattern_overlap(a, a_dir, b, b_dir)
    if b_dir and _inside(a, b):
        return f"{_shown(a, a_dir)} is inside {_shown(b, True)}"
    if a_dir and _inside(b, a):
        return f"{_shown(b, b_dir)} is inside {_shown(a, True)}"
    return None


def _pattern_overlap(a: str, a_dir: bool, b: str, b_dir: bool) -> str | None:
    pattern, other, other_dir = (a, b, b_dir) if _is_pattern(a) else (b, a, a_dir)
    if not _is_pattern(other) and not other_dir and fnmatchcase(other, pattern):
        return f"{other} matches {pattern}"
    fixed = _fixed_part(pattern)
    other_fixed = _fixed_part(other) if _is_pattern(other) else other
    if not (other_dir or _is_pattern(other)):
        return None  # a file the pattern does not match
    if fixed == other_fixed or _inside(fixed, other_fixed) or _inside(other_fixed, fixed):
        return f"{pattern} may match files of {_shown(other, other_dir)}"
    return None


def targets(track: TrackDoc) -> list[tuple[str, bool]]:
    """A track's normalised targets: (path, is a folder), each once."""
    found: dict[str, bool] = {}
    for key, is_dir in (("target_files", False), ("target_directories", True)):
        for raw in links_of(track, key):
            path = normalise(raw)
            if path is not None:  # "src/" among the files is a folder too
                folder = is_dir or raw.rstrip().endswith(("/", "\\"))
                found[path] = found.get(path, False) or folder
    return list(found.items())


class Conflicts:
    """Overlapping targets of the open tracks of a store."""

    def __init__(self, dependencies: Dependencies) -> None:
        self.dependencies = dependencies

    def find(self) -> list[dict[str, Any]]:
        """One item per pair of open tracks whose targets overlap (older track first),
        with ``overlaps``: each overlap in words."""
        opened = [(entry, targets(track)) for entry, track in self.dependencies.open_tracks()]
        opened = [(entry, paths) for entry, paths in opened if paths]
        found = []
        for index, (entry, paths) in enumerate(opened):
            for other, other_paths in opened[index + 1 :]:
                overlaps = [
                    text
                    for path, is_dir in paths
                    for other_path, other_dir in other_paths
                    if (text := overlap(path, is_dir, other_path, other_dir)) is not None
                ]
                if overlaps:
                    found.append(_pair(entry, other, overlaps))
        return found


def _pair(entry: dict[str, Any], other: dict[str, Any], overlaps: list[str]) -> dict[str, Any]:
    return {
        "track_id": entry["track_id"],
        "name": entry.get("name"),
        "status": entry.get("status"),
        "other_id": other["track_id"],
        "other_name": other.get("name"),
        "other_status": other.get("status"),
        "overlaps": overlaps,
    }
