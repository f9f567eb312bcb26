"""``conductor git-setup``: make a clone merge a root's JSON files with the drivers.

Three things, each only where missing (running it again changes nothing):

- lines in ``.gitattributes`` at the top of the work tree naming the driver of the
  registry, of each track.json and of each track's decisions and assumptions (scoped to
  this root, so other ``track.json`` files of the project are left alone);
- the drivers in the clone's ``.git/config`` (git does not share config through a
  clone: every clone runs ``conductor git-setup`` once). The command is this Python's
  absolute path, since git runs drivers in the user's environment, not the virtualenv;
- ``<root>/.gitignore`` for what belongs to one machine: locks, leases, temp files, the
  journal, caches.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from ..errors import InvalidInput
from . import DRIVERS

__all__ = ["IGNORED", "git_setup"]

HEADER = "# conductor: merge tracks as JSON (conductor git-setup)"
IGNORED = (
    "# conductor: what belongs to one machine (conductor git-setup)",
    "*.lock",
    ".conductor.lock",
    "lease.json",
    "tracks/.conductor-tmp/",
    "*.conductor-tmp",
    "tracks/.conductor-journal.json",
    "tracks/.conductor-wal*",
    "tracks/.conductor-cache/",
    "stat-cache.json",
    "**/checkpoints/blobs/index.json",
)


def git_setup(root: Path) -> list[str]:
    """Install the drivers for ``root``; return one line per thing done (or found done)."""
    top = _work_tree(root)
    done = _attributes(top, _relative(root, top))
    done += _config(top)
    done += _append_missing(root / ".gitignore", IGNORED, "machine-local files")
    return done


def _git(top: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=top, capture_output=True, text=True, check=False)


def _work_tree(root: Path) -> Path:
    try:
        found = _git(root, "rev-parse", "--show-toplevel")
    except FileNotFoundError:
        raise InvalidInput("git is not installed (or not on PATH)") from None
    if found.returncode:
        raise InvalidInput(f"{root} is not inside a git work tree: run `git init` (or clone) first")
    return Path(found.stdout.strip())


def _relative(root: Path, top: Path) -> str:
    """The root as .gitattributes names it: relative to the top, '/'-separated, quoted
    when it holds spaces."""
    rel = Path(os.path.relpath(root.resolve(), top.resolve())).as_posix()
    return "" if rel == "." else rel + "/"


def _pattern(path: str) -> str:
    return f'"{path}"' if any(c.isspace() or c == '"' for c in path) else path


def _attributes(top: Path, prefix: str) -> list[str]:
    lines = (
        HEADER,
        f"{_pattern(prefix + 'tracks/track-registry.json')} merge=conductor-registry",
        f"{_pattern(prefix + 'tracks/*/track.json')} merge=conductor-track",
        f"{_pattern(prefix + 'tracks/*/context/decisions.json')} merge=conductor-notes",
        f"{_pattern(prefix + 'tracks/*/context/assumptions.json')} merge=conductor-notes",
    )
    return _append_missing(top / ".gitattributes", lines, "merge drivers")


def _append_missing(path: Path, lines: tuple[str, ...], what: str) -> list[str]:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    present = set(text.splitlines())
    missing = [line for line in lines if line not in present]
    if not [line for line in missing if not line.startswith("#")]:
        return [f"{path}: {what} already listed"]
    if text and not text.endswith("\n"):
        text += "\n"
    path.write_text(text + "".join(line + "\n" for line in missing), encoding="utf-8")
    return [f"{path}: added {len(missing)} lines ({what})"]


def _config(top: Path) -> list[str]:
    done = []
    python = shlex.quote(sys.executable)
    for name, (kind, what) in DRIVERS.items():
        wanted = {
            "name": f"conductor: {what}",
            "driver": f"{python} -m conductor_nb.gitmerge {kind} %O %A %B %P",
        }
        changed = []
        for key, value in wanted.items():
            now = _git(top, "config", "--local", "--get", f"merge.{name}.{key}").stdout.strip()
            if now != value:
                _git(top, "config", "--local", f"merge.{name}.{key}", value)
                changed.append(key)
        where = "already in .git/config" if not changed else "set in .git/config"
        done.append(f"merge driver {name}: {where}")
    return done
