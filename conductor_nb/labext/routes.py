"""The REST handlers under ``<base_url>/conductor/api/``.

Every handler is a Jupyter ``APIHandler`` with ``@tornado.web.authenticated``, so the
server's own token, cookie and XSRF checks apply, and ``@authorized``, so a server with
an authorizer (JupyterHub's read-only users, say) decides who may read or change tracks.

The engine does blocking file work (locks, fsync), so calls run on one worker thread:
the server's event loop never waits on a lock, and the engine is used by one thread at
a time.

Errors are ``{"error": "one line"}``: 404 for a track that does not exist, 409 when the
tracks' state refuses the change (a transition not allowed, another track active, a
lock held, a damaged file), 400 for anything else wrong in the request, 500 when the
disk fails.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import tornado
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from ..engine import Engine
from ..errors import (
    ActiveTrackExists,
    ConductorError,
    CorruptFile,
    DuplicateName,
    FormatTooNew,
    InvalidInput,
    InvalidTransition,
    LockTimeout,
    RegistryMissing,
    TrackNotFound,
    WaitingOnPrerequisites,
)
from ..store.paths import locate_root
from . import api

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["API_PATH", "ConductorState", "setup_handlers"]

API_PATH = "conductor/api"
STATE_KEY = "conductor_nb"  # where the handlers find their ConductorState in the settings

CONFLICTS = (
    ActiveTrackExists,
    InvalidTransition,
    WaitingOnPrerequisites,
    DuplicateName,
    LockTimeout,
    CorruptFile,
    RegistryMissing,
    FormatTooNew,
)


def status_of(error: ConductorError) -> int:
    if isinstance(error, TrackNotFound):
        return 404
    if isinstance(error, CONFLICTS):
        return 409
    return 400


class ConductorState:
    """The root the server works on, its engine (made on first use: the root may get
    its first track after the server started) and the one thread that uses it."""

    def __init__(self, start: str) -> None:
        self.found = locate_root(start=start)
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="conductor")
        self._engine: Engine | None = None

    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = Engine(self.found)
        return self._engine


class ConductorHandler(APIHandler):
    """Runs one ``api`` function on the engine's thread and answers with its JSON."""

    auth_resource = "conductor"  # what a server's authorizer allows to read (GET) or write

    @property
    def state(self) -> ConductorState:
        return self.settings[STATE_KEY]

    def body(self) -> dict[str, Any]:
        if not self.request.body:
            return {}
        try:
            value = json.loads(self.request.body)
        except ValueError:
            raise InvalidInput("the request body is not JSON") from None
        if not isinstance(value, dict):
            raise InvalidInput("the request body must be a JSON object")
        return value

    async def answer(self, call: Callable[..., dict[str, Any]], *args: Any, created=False) -> None:
        loop = tornado.ioloop.IOLoop.current()
        try:
            result = await loop.run_in_executor(
                self.state.executor, partial(_on_engine, self.state, call, *args)
            )
        except ConductorError as error:
            self.fail(status_of(error), error)
            return
        except OSError as error:  # the disk, not the request: still one line
            self.fail(500, error)
            return
        self.set_status(201 if created else 200)
        self.finish(json.dumps(result, default=str))

    async def answer_with_body(self, call: Callable[..., Any], *args: Any, created=False):
        """``answer``, with the request's JSON object as the last argument."""
        try:
            body = self.body()
        except ConductorError as error:
            self.fail(400, error)
            return
        await self.answer(call, *args, body, created=created)

    def fail(self, status: int, error: Exception) -> None:
        self.set_status(status)
        self.finish({"error": " ".join(str(error).split())})


def _on_engine(state: ConductorState, call: Callable[..., Any], *args: Any) -> Any:
    return call(state.engine(), *args)


def _query(handler: APIHandler) -> dict[str, str]:
    return {key: handler.get_query_argument(key) for key in handler.request.query_arguments}


class TracksHandler(ConductorHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        await self.answer(api.track_list, _query(self))


class TrackHandler(ConductorHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, ref: str) -> None:
        await self.answer(api.show_track, ref)


class TransitionHandler(ConductorHandler):
    @tornado.web.authenticated
    @authorized
    async def post(self, ref: str, verb: str) -> None:
        await self.answer_with_body(api.transition, ref, verb)


class StepsHandler(ConductorHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, ref: str) -> None:
        await self.answer(api.steps, ref)

    @tornado.web.authenticated
    @authorized
    async def post(self, ref: str) -> None:
        await self.answer_with_body(api.add_step, ref, created=True)


class StepHandler(ConductorHandler):
    @tornado.web.authenticated
    @authorized
    async def post(self, ref: str, step_ref: str, verb: str) -> None:
        await self.answer_with_body(api.change_step, ref, step_ref, verb)


class DecisionsHandler(ConductorHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, ref: str) -> None:
        await self.answer(api.decisions, ref, self.get_query_argument("latest", None))

    @tornado.web.authenticated
    @authorized
    async def post(self, ref: str) -> None:
        await self.answer_with_body(api.add_decision, ref, created=True)


class CheckpointsHandler(ConductorHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, ref: str) -> None:
        await self.answer(api.checkpoints, ref)

    @tornado.web.authenticated
    @authorized
    async def post(self, ref: str) -> None:
        await self.answer_with_body(api.add_checkpoint, ref, created=True)


class SignatureHandler(ConductorHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        await self.answer(api.signature)


TRACK = r"tracks/([^/]+)"
ROUTES = [
    (r"tracks", TracksHandler),
    (r"signature", SignatureHandler),
    (TRACK, TrackHandler),
    (TRACK + r"/steps", StepsHandler),
    (TRACK + r"/steps/([^/]+)/([a-z]+)", StepHandler),
    (TRACK + r"/decisions", DecisionsHandler),
    (TRACK + r"/checkpoints", CheckpointsHandler),
    (TRACK + r"/([a-z]+)", TransitionHandler),
]


def setup_handlers(web_app: Any, start: str) -> ConductorState:
    """Add the handlers to the server's web app; tracks are found from ``start`` (the
    server's root folder) as the CLI finds them from its working directory."""
    state = ConductorState(start)
    web_app.settings[STATE_KEY] = state
    base = url_path_join(web_app.settings["base_url"], API_PATH)
    web_app.add_handlers(".*$", [(url_path_join(base, path), h) for path, h in ROUTES])
    return state
