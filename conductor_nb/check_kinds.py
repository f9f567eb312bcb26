"""The kinds of check an assumption can carry: how each is defined and how it runs.

    {"kind": "file", "path": "data/raw.csv", "sha256": "..."}   the file is unchanged
    {"kind": "package", "name": "pandas", "version": "2.2.1"}   that version is installed
    {"kind": "expr", "expr": "len(df) > 1000"}                  true in the kernel
    {"kind": "command", "command": "pg_isready -h db", "timeout": 30}   exits 0

Running a check gives a ``Result``: its state (``HOLDS``, ``FAILED``, or why it was not
run) and what was expected and found. File and package checks read; an expression is
evaluated only by a kernel (``evaluate``); a command runs without a shell (its words
split as a shell would), in the project folder, stopped after its timeout.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InvalidInput, PathOutsideRoot
from .store.paths import inside

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    # An expression's evaluation: (whether it holds, what was found).
    Evaluate = Callable[[str], tuple[bool, str]]

__all__ = [
    "DEFAULT_TIMEOUT",
    "FAILED",
    "HOLDS",
    "KINDS",
    "NEEDS_KERNEL",
    "NOT_APPROVED",
    "Result",
    "define",
    "describe",
    "run",
]

KINDS = ("file", "package", "expr", "command")
DEFAULT_TIMEOUT = 30.0
HOLDS, FAILED = "holds", "failed"
NOT_APPROVED = "not approved"
NEEDS_KERNEL = "not checked (needs a kernel)"
UNREADABLE = "not checked (unreadable check)"


class Result:
    """What running a check gave: its ``state``, what was ``expected`` and ``found``."""

    __slots__ = ("expected", "found", "state")

    def __init__(self, state: str, expected: str = "", found: str = "") -> None:
        self.state, self.expected, self.found = state, expected, found

    def __repr__(self) -> str:
        return f"Result({self.state!r}, expected={self.expected!r}, found={self.found!r})"

    @property
    def ran(self) -> bool:
        return self.state in (HOLDS, FAILED)


# -- defining a check (on this machine, now) ----------------------------------------------


def define(project: Path, kind: str, value: str, *, timeout: float | None = None) -> dict:
    """The check of ``kind`` on ``value``, with what holds now recorded where it applies
    (a file's sha256, a package's installed version)."""
    if kind not in KINDS:
        raise InvalidInput(f"unknown check kind {kind!r}; one of: {', '.join(KINDS)}")
    value = (value or "").strip()
    if not value:
        raise InvalidInput(f"a {kind} check needs something to check")
    if kind == "file":
        return _define_file(project, value)
    if kind == "package":
        return _define_package(value)
    if kind == "expr":
        try:
            compile(value, "<assumption check>", "eval")
        except SyntaxError as err:
            raise InvalidInput(f"{value!r} is not a Python expression: {err.msg}") from None
        return {"kind": "expr", "expr": value}
    return _define_command(value, timeout)


def _project_path(project: Path, value: str, base: Path | None = None) -> tuple[str, Path]:
    """The file's path relative to the project (``value`` relative to ``base``, default
    the project), refusing one outside it."""
    given = Path(value)
    absolute = given if given.is_absolute() else Path(os.path.abspath((base or project) / given))
    relative = os.path.relpath(absolute, os.path.abspath(project))
    if relative == os.curdir or relative.split(os.sep)[0] == os.pardir:
        raise InvalidInput(f"{value} is outside the project folder {project}")
    return Path(relative).as_posix(), inside(project, *Path(relative).parts)


def _sha256(path: Path) -> str | None:
    import hashlib  # only when a file is checked

    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _define_file(project: Path, value: str) -> dict:
    """A relative path is taken from where the user is when that is inside the project
    (``data/raw.csv`` typed in ``notebooks/``: ``notebooks/data/raw.csv``), else from the
    project folder."""
    top, here = Path(os.path.abspath(project)), Path(os.path.abspath(os.getcwd()))
    relative, path = _project_path(project, value, here if top in (here, *here.parents) else top)
    digest = _sha256(path)
    if digest is None:
        raise InvalidInput(f"no file {relative} in {project}: give a file that exists")
    return {"kind": "file", "path": relative, "sha256": digest}


def _installed(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _define_package(value: str) -> dict:
    name, _, version = (part.strip() for part in value.partition("=="))
    if not name or (_ and not version):
        raise InvalidInput(f"{value!r}: give a package as NAME or NAME==VERSION")
    version = version or _installed(name)
    if version is None:
        raise InvalidInput(f"{name} is not installed here: give the version, {name}==VERSION")
    return {"kind": "package", "name": name, "version": version}


def _define_command(value: str, timeout: float | None) -> dict:
    import shlex

    try:
        words = shlex.split(value)
    except ValueError as err:
        raise InvalidInput(f"{value!r}: {err}") from None
    if not words:
        raise InvalidInput("a command check needs a command")
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise InvalidInput(f"a check's timeout takes seconds (a positive number), not {timeout!r}")
    return {"kind": "command", "command": value, "timeout": float(timeout)}


def describe(check: dict[str, Any]) -> str:
    """One line naming the check, as lists show it."""
    kind = check.get("kind")
    if kind == "file":
        return f"file {check.get('path')}"
    if kind == "package":
        return f"package {check.get('name')}=={check.get('version')}"
    if kind == "expr":
        return f"expr {check.get('expr')}"
    if kind == "command":
        return f"command {check.get('command')}"
    return f"unknown check {kind!r}"


# -- running a check ---------------------------------------------------------------------


def run(project: Path, check: dict[str, Any], evaluate: Evaluate | None = None) -> Result:
    """Run one (approved) check now."""
    kind = check.get("kind")
    try:
        if kind == "file":
            return _run_file(project, check)
        if kind == "package":
            return _run_package(check)
        if kind == "expr":
            return _run_expr(check, evaluate)
        if kind == "command":
            return _run_command(project, check)
    except (KeyError, TypeError, ValueError):
        pass  # a field missing or of the wrong type: a damaged check, not run
    return Result(UNREADABLE)


def _verdict(holds: bool, expected: str, found: str) -> Result:
    return Result(HOLDS if holds else FAILED, expected, found)


def _run_file(project: Path, check: dict[str, Any]) -> Result:
    expected = str(check["sha256"])
    try:
        _, path = _project_path(project, str(check["path"]))
    except (InvalidInput, PathOutsideRoot) as err:  # e.g. a link to elsewhere arrived
        return Result(FAILED, f"sha256 {expected}", str(err))
    found = _sha256(path)
    return _verdict(
        found == expected, f"sha256 {expected}", f"sha256 {found}" if found else "missing"
    )


def _run_package(check: dict[str, Any]) -> Result:
    expected = str(check["version"])
    found = _installed(str(check["name"]))
    return _verdict(found == expected, expected, found or "not installed")


def _run_expr(check: dict[str, Any], evaluate: Evaluate | None) -> Result:
    if evaluate is None:
        return Result(NEEDS_KERNEL, "true")
    holds, found = evaluate(str(check["expr"]))
    return _verdict(holds, "true", found)


def _run_command(project: Path, check: dict[str, Any]) -> Result:
    import shlex
    import subprocess

    timeout = float(check.get("timeout") or DEFAULT_TIMEOUT)
    words = shlex.split(str(check["command"]))
    try:
        done = subprocess.run(
            words,
            cwd=project,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Result(FAILED, "exit status 0", f"timed out after {timeout:g} s")
    except OSError as err:  # not found, not executable
        return Result(FAILED, "exit status 0", f"could not run {words[0]}: {err.strerror}")
    found = f"exit status {done.returncode}"
    said = _last_line(done.stderr) or _last_line(done.stdout)
    return _verdict(done.returncode == 0, "exit status 0", f"{found}: {said}" if said else found)


def _last_line(output: bytes) -> str:
    lines = output.decode("utf-8", "replace").strip().splitlines()
    return lines[-1][:200] if lines else ""
