"""Rules for the whole suite, tests/ and notebooks/ alike.

- With ``CI`` set, a skip fails the run: a missing browser, fixture or tool must never
  pass as green. The skipped test is reported as failed, with its reason.
- The run leaves no temporary folders behind. This process and its children (notebook
  kernels, the CLI, JupyterLab) make them in one folder of the run, removed when the
  run's process exits; a ``conductor-demo-*`` or ``conductor-test-*`` folder that
  appears in a system temp folder anyway fails the run.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

LEFTOVER_PATTERNS = ("conductor-demo-*", "conductor-test-*")


# -- a skip fails a CI run ----------------------------------------------------------------


def _in_ci() -> bool:
    return bool(os.environ.get("CI"))


def _skip_reason(longrepr) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # (path, line, "Skipped: why")
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _failed_skip(where: str, longrepr) -> str:
    return f"{where} was skipped ({_skip_reason(longrepr)}); with CI set a skip fails the run"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    # xfail is reported as a skip carrying "wasxfail": an expected failure, not a skip
    if _in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = _failed_skip(item.nodeid, report.longrepr)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    report = yield  # a module-level skip or importorskip skips a whole file
    if _in_ci() and report.skipped:
        report.outcome = "failed"
        report.longrepr = _failed_skip(collector.nodeid, report.longrepr)
    return report


# -- no temporary folders left ------------------------------------------------------------


def _temp_places() -> list[Path]:
    """Where temporary folders end up outside the run's own: the system's temp folder,
    and /dev/shm, which the demo code prefers for speed."""
    places = [Path(_SYSTEM_TMP or tempfile.gettempdir())]
    if os.path.isdir("/dev/shm"):
        places.append(Path("/dev/shm"))
    return places


def _conductor_folders() -> set[Path]:
    places = _temp_places()
    return {p for place in places for pattern in LEFTOVER_PATTERNS for p in place.glob(pattern)}


_SYSTEM_TMP: str | None = None
_SAVED: dict[str, object] = {}
_PROBLEMS: list[str] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    """Point every temp folder of the run (this process's and its children's) into one
    folder, in memory where the system has it (the engine fsyncs every change)."""
    global _SYSTEM_TMP
    _SYSTEM_TMP = tempfile.gettempdir()
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    folder = tempfile.mkdtemp(prefix="conductor-suite-", dir=shm)
    # Removed at exit, not at session end: objects still alive then, such as IPython's
    # history database, have files in it. atexit runs this after every handler
    # registered later (IPython's among them).
    atexit.register(functools.partial(shutil.rmtree, folder, ignore_errors=True))
    _SAVED.update(
        folder=folder,
        before=_conductor_folders(),
        tempdir=tempfile.tempdir,
        environ={k: os.environ.get(k) for k in ("TMPDIR", "PYTEST_DEBUG_TEMPROOT")},
    )
    # tmp_path stays in the system's temp folder: pytest keeps the last runs' for a look.
    os.environ.setdefault("PYTEST_DEBUG_TEMPROOT", _SYSTEM_TMP)
    os.environ["TMPDIR"] = tempfile.tempdir = folder


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not _SAVED:
        return
    tempfile.tempdir = _SAVED["tempdir"]
    for key, value in _SAVED["environ"].items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    _PROBLEMS.extend(f"left behind: {p}" for p in sorted(_conductor_folders() - _SAVED["before"]))
    if _PROBLEMS and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter) -> None:
    if _PROBLEMS:
        terminalreporter.section("temporary folders left by the run", red=True)
        for problem in _PROBLEMS:
            terminalreporter.line(problem, red=True)
