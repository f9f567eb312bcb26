"""conductor_nb: organise long-running work into tracks, from Jupyter and the command line.

``from conductor_nb import Conductor`` is the Python API. Names are imported on first use,
so ``import conductor_nb`` (and the ``conductor`` CLI) start fast.
"""

from __future__ import annotations

from importlib import import_module

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers

__version__ = "0.1.0"

_EXPORTS = {
    "Conductor": "conductor_nb.conductor",
    "Engine": "conductor_nb.engine",
    "Problem": "conductor_nb.maintenance",
    "ActiveTrackExists": "conductor_nb.errors",
    "AmbiguousTrackRef": "conductor_nb.errors",
    "ConductorError": "conductor_nb.errors",
    "CorruptFile": "conductor_nb.errors",
    "DuplicateName": "conductor_nb.errors",
    "FormatTooNew": "conductor_nb.errors",
    "InvalidId": "conductor_nb.errors",
    "InvalidInput": "conductor_nb.errors",
    "InvalidTransition": "conductor_nb.errors",
    "LockTimeout": "conductor_nb.errors",
    "PathOutsideRoot": "conductor_nb.errors",
    "RegistryMissing": "conductor_nb.errors",
    "RootMissing": "conductor_nb.errors",
    "TrackNotFound": "conductor_nb.errors",
    "Assumption": "conductor_nb.models",
    "Decision": "conductor_nb.models",
    "RegistryEntry": "conductor_nb.models",
    "Run": "conductor_nb.models",
    "Step": "conductor_nb.models",
    "Track": "conductor_nb.models",
    "Priority": "conductor_nb.vocab",
    "TrackStatus": "conductor_nb.vocab",
    "TrackType": "conductor_nb.vocab",
    "TrackedRun": "conductor_nb.tracking",
    "current_run": "conductor_nb.tracking",
    "run": "conductor_nb.tracking",
    "tracked_run": "conductor_nb.tracking",
}

__all__ = [
    "ActiveTrackExists",
    "AmbiguousTrackRef",
    "Assumption",
    "Conductor",
    "ConductorError",
    "CorruptFile",
    "Decision",
    "DuplicateName",
    "Engine",
    "FormatTooNew",
    "InvalidId",
    "InvalidInput",
    "InvalidTransition",
    "LockTimeout",
    "PathOutsideRoot",
    "Priority",
    "Problem",
    "RegistryEntry",
    "RegistryMissing",
    "RootMissing",
    "Run",
    "Step",
    "Track",
    "TrackNotFound",
    "TrackStatus",
    "TrackType",
    "TrackedRun",
    "current_run",
    "run",
    "tracked_run",
]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext conductor_nb``: register ``%track`` and ``%%track``."""
    from .notebook.extension import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext conductor_nb``: remove the magics and stop their heartbeats."""
    from .notebook.extension import unload

    unload(ipython)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The Jupyter server extension (enabled by the installed
    ``jupyter_server_config.d/conductor_nb.json``): the REST API of the JupyterLab
    sidebar and status bar item."""
    return [{"module": "conductor_nb.labext"}]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'conductor_nb' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


if TYPE_CHECKING:
    from typing import Any

    from .conductor import Conductor
    from .engine import Engine
    from .errors import (
        ActiveTrackExists,
        AmbiguousTrackRef,
        ConductorError,
        CorruptFile,
        DuplicateName,
        InvalidId,
        InvalidInput,
        InvalidTransition,
        LockTimeout,
        PathOutsideRoot,
        RegistryMissing,
        RootMissing,
        TrackNotFound,
    )
    from .maintenance import Problem
    from .models import Assumption, Decision, RegistryEntry, Run, Step, Track
    from .tracking import TrackedRun, current_run, run, tracked_run
    from .vocab import Priority, TrackStatus, TrackType
