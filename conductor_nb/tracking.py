"""Work inside a track from any Python code, in one line::

    import conductor_nb

    with conductor_nb.run("nightly load") as run:  # a run of the active track
        run.log_params(source="s3://bucket")
        for epoch in range(10):
            run.log(loss=train(), step=epoch)
        run.artifact("report.html")

    @conductor_nb.tracked_run("retrain")
    def retrain(): ...

Entering the block creates a workflow run in the track (the active one unless named),
marks it running with this process as its holder, and keeps its heartbeat fresh from a
daemon thread. Leaving it marks the run completed; failed, with the exception's type and
message, when the block raises (the exception still propagates); interrupted on
``KeyboardInterrupt``. A process killed inside the block leaves a running run whose
holder is gone: ``conductor detect`` reports it at once and ``conductor resume --run-id``
settles it. A run started inside another one records it as ``parent_run_id``;
``current_run()`` is the innermost run of this thread or task (a decorated function or a
``%%track run`` cell reaches its run through it). How metrics, parameters and artifacts
are stored: ``conductor_nb.run_records``.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import logging
from contextvars import ContextVar

from .engine import Engine
from .errors import ConductorError, InvalidInput
from .lease_keeper import Heartbeat
from .run_records import append_metrics, check_metrics

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    import os
    from collections.abc import Callable
    from types import TracebackType
    from typing import Any

__all__ = ["TrackedRun", "current_run", "run", "tracked_run"]

log = logging.getLogger(__name__)

_current: ContextVar[TrackedRun | None] = ContextVar("conductor_nb_run", default=None)


def current_run() -> TrackedRun | None:
    """The innermost tracked run open in this thread or task (None outside any)."""
    return _current.get()


def _ending(exc: BaseException | None) -> tuple[str, str | None, str | None]:
    """The run's final status, error type and message for how the block ended."""
    if exc is None or (isinstance(exc, SystemExit) and exc.code in (0, None)):
        return "completed", None, None
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", None, None
    return "failed", type(exc).__name__, str(exc)


class TrackedRun:
    """A workflow run open for the length of a ``with`` block (see the module's doc).

    ``run_id``, ``track_id`` and ``parent_run_id`` are set when the block starts;
    ``status`` reads run.json.
    """

    def __init__(
        self,
        engine: Engine,
        name: str = "run",
        *,
        track: str | None = None,
        workflow: str | None = None,
        heartbeat_every: float = 60.0,
    ) -> None:
        if not heartbeat_every > 0:
            raise InvalidInput("heartbeat_every must be a number of seconds above 0")
        self.engine = engine
        self.name = name
        self.track = track
        self.workflow = workflow
        self.heartbeat_every = heartbeat_every
        self.run_id: str | None = None
        self.track_id: str | None = None
        self.parent_run_id: str | None = None
        self._open = False
        self._metrics: Any = None  # the metrics file, once started
        self._calls = itertools.count()
        self._heartbeat: Heartbeat | None = None
        self._token: Any = None

    def __repr__(self) -> str:
        where = f"{self.track_id}/{self.run_id}" if self.run_id else "not started"
        return f"<TrackedRun {self.name!r} {where}>"

    @property
    def status(self) -> str | None:
        """The run's status on disk (None before the block starts)."""
        if self.run_id is None:
            return None
        return self.engine.run(self.track_id, self.run_id).get("status")

    # -- the block -----------------------------------------------------------------------

    def __enter__(self) -> TrackedRun:
        if self.run_id is not None:
            raise InvalidInput(f"run {self.run_id} has already started: open a new run")
        parent = _current.get()
        with self.engine.tree.transaction() as txn:
            run = self.engine.create_run(self.track, self.name, workflow=self.workflow)
            if parent is not None:
                run["parent_run_id"] = parent.run_id
                if parent.track_id != run["track_id"]:
                    run["parent_track_id"] = parent.track_id
                self.engine.workflows.write(txn, run["track_id"], run)
        self.track_id, self.run_id = run["track_id"], run["run_id"]
        self.parent_run_id = parent.run_id if parent is not None else None
        self.engine.set_run_status(self.track_id, self.run_id, "running")
        self._metrics = self.engine.run_records.metrics_path(self.track_id, self.run_id)
        self._heartbeat = Heartbeat(self._beat, f"run {self.run_id}", every=self.heartbeat_every)
        self._token = _current.set(self)
        self._open = True
        return self

    def _beat(self) -> None:
        self.engine.heartbeat(self.track_id, self.run_id)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        self._open = False
        if self._heartbeat is not None:
            self._heartbeat.stop()
        try:
            _current.reset(self._token)
        except ValueError:  # left in another context than it was entered in
            _current.set(None)
        status, error_type, message = _ending(exc)
        try:
            with self.engine.tree.transaction() as txn:
                self.engine.set_run_status(
                    self.track_id, self.run_id, status, error_type=error_type, message=message
                )
                self.engine.run_records.summarise(txn, self.track_id, self.run_id)
        except ConductorError as err:
            if exc is None:
                raise
            log.warning("could not record run %s as %s: %s", self.run_id, status, err)
        return False

    # -- what the block records ----------------------------------------------------------

    def _check_open(self, what: str) -> None:
        if not self._open:
            state = "has ended" if self.run_id else "has not started"
            raise InvalidInput(f"run {self.run_id or self.name!r} {state}: {what} inside its block")

    def log(self, step: int | None = None, **metrics: float) -> None:
        """Record numeric metrics, durable when this returns. ``step`` defaults to the
        number of earlier ``log`` calls of this run."""
        self._check_open("log metrics")
        checked = check_metrics(metrics, step)
        call = next(self._calls)
        append_metrics(self._metrics, self.engine.stamp(), call if step is None else step, checked)

    def log_params(self, **params: Any) -> dict[str, Any]:
        """Record parameters (a name given again takes the new value); returns them all."""
        self._check_open("log parameters")
        return self.engine.log_params(self.track_id, self.run_id, params)

    def artifact(self, path: str | os.PathLike[str], *, name: str | None = None) -> dict[str, Any]:
        """Copy a file among the run's artifacts; returns its name, size and sha256."""
        self._check_open("store artifacts")
        return self.engine.add_run_artifact(self.track_id, self.run_id, path, name=name)

    def metrics(self) -> list[dict[str, Any]]:
        """One row per logged value: key, value, step, time."""
        if self.run_id is None:
            return []
        return self.engine.run_metrics(self.track_id, self.run_id)


def run(
    name: str = "run",
    *,
    track: str | None = None,
    workflow: str | None = None,
    root: str | os.PathLike[str] | None = None,
    heartbeat_every: float = 60.0,
) -> TrackedRun:
    """A run of ``track`` (default: the active one) for a ``with`` block, on ``root``
    (default: found as the CLI finds it)."""
    engine = Engine(root)
    return TrackedRun(engine, name, track=track, workflow=workflow, heartbeat_every=heartbeat_every)


def tracked_run(
    name: str | Callable[..., Any] | None = None,
    *,
    track: str | None = None,
    workflow: str | None = None,
    root: str | os.PathLike[str] | None = None,
    heartbeat_every: float = 60.0,
) -> Any:
    """Decorate a function so each call is a run (named after it unless ``name`` is
    given); inside, ``current_run()`` is the run. ``@tracked_run`` alone works too."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        label = name if isinstance(name, str) else function.__name__
        if inspect.iscoroutinefunction(function) or inspect.isgeneratorfunction(function):
            raise InvalidInput(  # its body runs after the call returns: the run would be over
                f"tracked_run cannot wrap {label!r}, a coroutine or generator function: "
                "use `with conductor_nb.run(...)` inside it"
            )

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            block = run(
                label, track=track, workflow=workflow, root=root, heartbeat_every=heartbeat_every
            )
            with block:
                return function(*args, **kwargs)

        return wrapper

    return decorate(name) if callable(name) else decorate
