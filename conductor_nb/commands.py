"""The command grammar shared by the ``conductor`` CLI and the ``%track`` magic.

``parse(argv)`` turns words into a namespace (never exiting the process: errors raise
``UsageProblem``), and ``execute(engine, ns)`` runs the command and returns an
``Outcome``: JSON-ready data plus a one-line message. The CLI prints it as a table or
JSON; the notebook layer turns it into objects.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from . import lifecycle
from .errors import ConductorError, InvalidInput
from .vocab import AssumptionStatus, Priority, StepType, TrackStatus, TrackType

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any


class UsageProblem(ConductorError):
    """The words do not fit the grammar (unknown command, missing option...)."""


class HelpRequested(Exception):
    """``--help`` was given: ``text`` is the usage to show."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of printing and exiting."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageProblem(f"{self.prog}: {message}", hint=f"see `{self.prog} --help`")

    def exit(self, status: int = 0, message: str | None = None):  # type: ignore[override]
        if message:
            raise UsageProblem(message.strip())
        raise HelpRequested(self.format_help())

    def print_help(self, file=None) -> None:
        raise HelpRequested(self.format_help())


class Outcome:
    """What a command produced. ``kind`` tells renderers what ``data`` holds."""

    __slots__ = ("data", "exit_code", "extra", "kind", "message")

    def __init__(
        self,
        kind: str,
        data: Any,
        message: str | None = None,
        exit_code: int = 0,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.kind = kind
        self.data = data
        self.message = message
        self.exit_code = exit_code
        self.extra = extra or {}

    def __repr__(self) -> str:
        return f"Outcome({self.kind!r}, message={self.message!r}, exit_code={self.exit_code})"


# Outcome kinds of a single change whose one-line message says it all (``data`` keeps
# the details for --json and for notebook code).
MESSAGE_KINDS = frozenset(
    {
        "decision",
        "assumption",
        "step",
        "run",
        "artifact",
        "checkpoint",
        "restored",
        "pruned",
        "recovered",
        "demo",
    }
)

Handler = Callable[..., Outcome]  # (engine, parsed namespace) -> Outcome
_HANDLERS: dict[str, Handler] = {}


def _handler(name: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        _HANDLERS[name] = func
        return func

    return register


# -- the grammar -----------------------------------------------------------------------


def _track_arg(parser: argparse.ArgumentParser, *, required: bool = False) -> None:
    parser.add_argument(
        "track",
        nargs="?",
        help="track id, unique id prefix or exact name"
        + ("" if required else " (default: the active track)"),
    )
    parser.add_argument(
        "--track-id", "--track", dest="track_id", metavar="TRACK", help=argparse.SUPPRESS
    )


def _filters(parser: argparse.ArgumentParser) -> None:
    """--status, --type and --priority, each taking comma-separated values."""
    parser.add_argument(
        "--status", type=_csv_choices(STATUSES), help="filter: " + ",".join(STATUSES)
    )
    parser.add_argument("--type", type=_csv_choices(TYPES), help="filter: comma-separated types")
    parser.add_argument("--priority", type=_csv_choices(PRIORITIES), help="filter: P0,P1,P2,P3")


def _csv_choices(values: Sequence[str]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        items = [item.strip() for item in text.split(",") if item.strip()]
        for item in items:
            if item not in values:
                raise argparse.ArgumentTypeError(f"{item!r} is not one of: {', '.join(values)}")
        return items

    return parse


STATUSES = [s.value for s in TrackStatus]
TYPES = [t.value for t in TrackType]
PRIORITIES = [p.value for p in Priority]


class _Unused:
    """Stands in for the parser of a command that is not being run (see build_parser)."""

    def add_argument(self, *args: Any, **kwargs: Any) -> None:
        pass


def build_parser(prog: str = "conductor", only: str | None = None) -> argparse.ArgumentParser:
    """The whole grammar; with ``only``, just that command's parser is built for real
    (building all ~40 costs ~25 ms, a quarter of a CLI call)."""
    parser = _Parser(
        prog=prog,
        description="Organise long-running work into tracks.",
        epilog="A track can be named by id, unique id prefix or exact name.",
    )
    _global_options(parser, default=None)
    # The same options after the command word (`conductor list --json`).
    common = _Parser(add_help=False, prog=prog)
    _global_options(common, default=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        if only is not None and name != only:
            return _Unused()  # type: ignore[return-value]
        parser.built_commands.add(name)
        return sub.add_parser(name, help=help_text, description=help_text, parents=[common])

    parser.built_commands = set()

    p = command("create", "create a track (draft)")
    p.add_argument("name_pos", nargs="?", metavar="NAME", help="the track's name")
    p.add_argument("--name", help="the track's name (3 to 100 characters)")
    p.add_argument(
        "--type",
        default="feature",
        choices=TYPES,
        metavar="TYPE",
        help="one of: " + ", ".join(TYPES),
    )
    p.add_argument("--priority", default="P2", choices=PRIORITIES, help="P0 (critical) to P3")
    p.add_argument("--goal", default="", help="what the track is for")
    p.add_argument("--description", help="a longer description")
    p.add_argument(
        "--criterion",
        action="append",
        default=[],
        dest="criteria",
        help="a success criterion (repeatable)",
    )
    p.add_argument("--tag", action="append", default=[], dest="tags", help="a tag (repeatable)")

    for verb, text in (
        ("ready", "mark a draft track ready"),
        ("archive", "archive a completed or cancelled track"),
        ("retry", "send a failed track back to draft"),
    ):
        _track_arg(command(verb, text))
    p = command("activate", "make a track the active one (a draft goes through ready)")
    _track_arg(p)
    p.add_argument("--force", action="store_true", help="pause the active track first")
    p = command("pause", "pause the active track")
    _track_arg(p)
    p.add_argument("--reason", help="why (shown when resuming)")
    p = command("resume", "resume a paused track, or re-attach to interrupted work")
    _track_arg(p)
    p.add_argument("--force", action="store_true", help="pause the active track first")
    p.add_argument("--run-id", help="recover this interrupted workflow run")
    p.add_argument("--abandon", action="store_true", help="with --run-id: only mark it interrupted")
    p = command("complete", "complete the active track, with its outcomes")
    _track_arg(p)
    p.add_argument("--summary", help="what was accomplished")
    p.add_argument(
        "--lesson", action="append", dest="lessons", help="a lesson learned (repeatable)"
    )
    p.add_argument(
        "--artifact",
        action="append",
        dest="artifacts_created",
        help="an artifact created (repeatable)",
    )
    p.add_argument(
        "--file", action="append", dest="files_modified", help="a file modified (repeatable)"
    )
    p.add_argument(
        "--next", action="append", dest="next_tracks", help="a follow-up track (repeatable)"
    )
    for verb, text in (("fail", "mark a track failed"), ("cancel", "cancel a track")):
        p = command(verb, text)
        _track_arg(p)
        p.add_argument("--reason", help="why")
    p = command("switch", "pause the active track and activate another, all or nothing")
    p.add_argument("to_pos", nargs="?", metavar="TRACK", help="the track to switch to")
    p.add_argument("--to", help="the track to switch to")
    p.add_argument("--reason", help="why the active track is paused")

    _filters(command("list", "list tracks (the registry's status), newest first"))
    p = command("board", "every track with its actions: a live widget board in a notebook")
    _filters(p)
    p.add_argument("--search", default="", help="only tracks whose name or id contains this")
    command("get-active", "show the active track's registry entry")
    command("status", "the active track in full (nothing when none is active)")
    p = command("help", "usage of a command: help create")
    p.add_argument("topic", nargs="?", help="a command")
    command("stats", "counts by status, type and priority")
    p = command("analytics", "key figures: success rate, durations, flow, overruns, paths, runs")
    p.add_argument("--as-of", help="end open intervals at this time (ISO 8601; default: now)")
    p.add_argument(
        "--also",
        action="append",
        default=[],
        metavar="ROOT",
        help="another conductor root to include (repeatable)",
    )
    p = command("demo", "fill an empty root with realistic demo tracks, through the engine")
    p.add_argument("--tracks", type=int, default=500, help="how many tracks (default 500)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--start", help="simulated start, ISO 8601 (default 2026-01-05T09:00Z)")
    p.add_argument("--days", type=float, help="days it spans (default: tracks/2, at least 30)")
    p = command("show", "show a track in full")
    _track_arg(p)
    p = command("update", "change one field of a track (checked)")
    _track_arg(p)
    p.add_argument("--field", required=True, help="one of: " + ", ".join(_updatable()))
    p.add_argument("--value", required=True, help="the new value (lists: comma-separated)")

    p = command("decide", "record a decision in a track")
    p.add_argument("summary", help="the decision, in one line")
    p.add_argument(
        "--track-id", "--track", dest="track_id", metavar="TRACK", help="default: the active track"
    )
    p.add_argument("--rationale", help="why")
    p.add_argument(
        "--alternative",
        action="append",
        default=[],
        dest="alternatives",
        help="an alternative considered (repeatable)",
    )
    p.add_argument("--tag", action="append", default=[], dest="tags", help="a tag (repeatable)")
    p = command("decisions", "list a track's decisions")
    _track_arg(p)
    p = command("assume", "record an assumption, or change its status with --id")
    p.add_argument("statement", nargs="?", help="the assumption")
    p.add_argument(
        "--track-id", "--track", dest="track_id", metavar="TRACK", help="default: the active track"
    )
    p.add_argument("--id", dest="assumption_id", help="an existing assumption to update")
    p.add_argument("--status", default=None, choices=[s.value for s in AssumptionStatus])
    p.add_argument("--note", help="evidence or a note")
    p = command("assumptions", "list a track's assumptions")
    _track_arg(p)

    p = command("step", "add and progress a track's steps")
    p.add_argument("action", choices=["add", "list", "start", "complete", "skip", "fail", "reopen"])
    p.add_argument(
        "target", nargs="?", metavar="STEP", help="step name (add) or id / number / name"
    )
    p.add_argument(
        "--track-id", "--track", dest="track_id", metavar="TRACK", help="default: the active track"
    )
    p.add_argument("--type", default="action", choices=[s.value for s in StepType])
    p.add_argument("--description")
    p.add_argument("--note", help="a note (for fail: the error message)")

    p = command("run", "workflow runs inside a track")
    p.add_argument("action", choices=["create", "list", "show", "start", "heartbeat", "finish"])
    p.add_argument("target", nargs="?", metavar="RUN", help="run name (create) or id / number")
    p.add_argument(
        "--track-id", "--track", dest="track_id", metavar="TRACK", help="default: the active track"
    )
    p.add_argument("--workflow", help="the workflow file the run executes")
    p.add_argument("--failed", action="store_true", help="finish: the run failed")
    p.add_argument("--error-type", help="finish: the error's type")
    p.add_argument("--message", help="finish: the error's message")

    p = command("artifact", "files in a track's context/artifacts")
    p.add_argument("action", choices=["add", "list"])
    p.add_argument("name", nargs="?", help="add: the name inside context/artifacts")
    p.add_argument("--from", dest="source", help="add: the file to copy")
    p.add_argument(
        "--track-id", "--track", dest="track_id", metavar="TRACK", help="default: the active track"
    )

    p = command("context", "a track's effective context (project rules, stack, agents)")
    _track_arg(p)
    _context_options(p)
    p = command("project", "the project config every track inherits")
    _context_options(p)

    p = command("checkpoint", "snapshot a track's files (restorable, content-addressed)")
    _track_arg(p)
    p.add_argument("--reason", default="manual checkpoint", help="why")
    p.add_argument("--pin", action="store_true", help="never prune this checkpoint")
    p = command("checkpoints", "a track's checkpoints, newest first (--id: one in full)")
    _track_arg(p)
    p.add_argument("--id", dest="checkpoint", help="show this checkpoint's manifest")
    p = command("verify", "recompute every checksum of a track's checkpoints")
    p.add_argument("checkpoint", nargs="?", help="one checkpoint (default: all)")
    _track_option(p)
    p = command("diff", "files and decisions changed between checkpoints (or now)")
    p.add_argument("older", help="checkpoint id, number or 'last'")
    p.add_argument("newer", nargs="?", help="default: the track as it is now")
    _track_option(p)
    p = command("restore", "restore a track from a checkpoint (the current state is kept)")
    p.add_argument("checkpoint", help="checkpoint id, number or 'last'")
    _track_option(p)
    p = command("prune", "delete all but the newest checkpoints (never pinned ones)")
    p.add_argument("--keep", type=int, default=10, help="how many to keep (default 10)")
    _track_option(p)

    for name, text in (
        ("detect", "find active tracks and running runs whose holder is gone"),
        ("list-interrupted", "the same, as a table"),
    ):
        p = command(name, text)
        p.add_argument(
            "--threshold",
            type=float,
            default=30.0,
            metavar="MINUTES",
            help="heartbeat age that counts as gone (default 30)",
        )
    p = command("recover", "re-attach to an interrupted track or run")
    _track_arg(p)
    p.add_argument("--run-id", help="the interrupted workflow run")
    p.add_argument("--abandon", action="store_true", help="with --run-id: only mark it interrupted")

    command("validate", "report every disagreement between the registry and the track files")
    command("repair", "bring track files in line with the registry (copies kept in backups/)")
    command("rebuild", "regenerate a lost or corrupt registry from the track files")
    p = command("schema", "print the JSON Schema of a track")
    p.add_argument("--registry", action="store_true", help="the registry's schema instead")
    return parser


def _track_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--track-id", "--track", dest="track_id", metavar="TRACK", help="default: the active track"
    )


def _global_options(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument(
        "--root",
        default=default,
        help="conductor root (default: $CONDUCTOR_ROOT or the nearest .claude/conductor)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=False if default is None else default,
        help="print JSON for machines",
    )


def _context_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--add-rule", action="append", default=[], dest="add_rules", help="a rule (repeatable)"
    )
    p.add_argument(
        "--add-stack",
        action="append",
        default=[],
        dest="add_stack",
        help="a stack item (repeatable)",
    )
    p.add_argument(
        "--agent",
        action="append",
        default=[],
        dest="agents",
        metavar="NAME=JSON",
        help="agent settings (repeatable)",
    )


def _updatable() -> list[str]:
    from .engine import Engine

    return list(Engine.UPDATABLE)


_PARSERS: dict[str, argparse.ArgumentParser] = {}


def parser_for(prog: str, only: str | None = None) -> argparse.ArgumentParser:
    key = f"{prog}\0{only or ''}"
    if key not in _PARSERS:
        _PARSERS[key] = build_parser(prog, only)
    return _PARSERS[key]


def _command_word(argv: Sequence[str]) -> str | None:
    """The first word that is not a global option (or an option's value)."""
    words = iter(argv)
    for word in words:
        if word == "--root":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def parse(argv: Sequence[str], prog: str = "conductor") -> argparse.Namespace:
    word = _command_word(argv)
    parser = parser_for(prog, word) if word else None
    if parser is None or word not in parser.built_commands:
        parser = parser_for(prog)  # help, a mistake, or no command: the full grammar
    ns = parser.parse_args(list(argv))
    if ns.command is None:
        raise HelpRequested(parser_for(prog).format_help())
    if ns.command == "help":
        raise HelpRequested(help_text(ns.topic, prog=prog))
    return ns


def command_names() -> list[str]:
    return list(_HANDLERS)


def execute(engine: Any, ns: argparse.Namespace) -> Outcome:
    return _HANDLERS[ns.command](engine, ns)


def _ref(ns: argparse.Namespace) -> str | None:
    positional = getattr(ns, "track", None)
    option = getattr(ns, "track_id", None)
    if positional and option and positional != option:
        raise InvalidInput(f"two tracks given: {positional!r} and --track-id {option!r}")
    return option or positional


# -- handlers --------------------------------------------------------------------------


@_handler("create")
def _create(engine, ns) -> Outcome:
    name = ns.name or ns.name_pos
    if not name:
        raise UsageProblem("create needs a name: conductor create --name NAME")
    track = engine.create(
        name,
        type=ns.type,
        priority=ns.priority,
        goal=ns.goal,
        description=ns.description,
        success_criteria=ns.criteria,
        tags=ns.tags,
    )
    return Outcome("track", track, f"created {track['track_id']} ({track['status']})")


def _transition(verb: str) -> Handler:
    def run(engine, ns) -> Outcome:
        outcome = None
        if verb == "complete":
            outcome = {
                "summary": ns.summary,
                "lessons_learned": ns.lessons,
                "artifacts_created": ns.artifacts_created,
                "files_modified": ns.files_modified,
                "next_tracks": ns.next_tracks,
            }
        track = engine.transition(
            _ref(ns),
            verb,
            reason=getattr(ns, "reason", None),
            force=getattr(ns, "force", False),
            outcome=outcome,
        )
        return Outcome("track", track, f"{track['track_id']} is now {track['status']}")

    return run


for _verb in lifecycle.ACTIONS:
    _HANDLERS[_verb] = _transition(_verb)


@_handler("resume")
def _resume(engine, ns) -> Outcome:
    """A paused track resumes; an interrupted active track or run is recovered."""
    if ns.run_id or (_ref(ns) and engine.entry(_ref(ns))["status"] == TrackStatus.ACTIVE):
        return _recover(engine, ns)
    return _transition("resume")(engine, ns)


@_handler("recover")
def _recover(engine, ns) -> Outcome:
    if ns.run_id:
        run = engine.recover_run(_ref(ns), ns.run_id, abandon=ns.abandon)
        verb = "continued" if run["recovered"] else "marked interrupted"
        return Outcome("run", run, f"{run['run_id']} {verb}")
    done = engine.recover_track(_ref(ns))
    actions = "; ".join(done["actions"]) or "nothing to mend"
    return Outcome("recovered", done, f"{done['track_id']} recovered: {actions}")


@_handler("detect")
def _detect(engine, ns) -> Outcome:
    found = engine.detect(threshold_minutes=ns.threshold)
    return Outcome("interrupted", found, _interrupted_message(found), extra={"verbose": True})


@_handler("list-interrupted")
def _list_interrupted(engine, ns) -> Outcome:
    found = engine.detect(threshold_minutes=ns.threshold)
    return Outcome("interrupted", found, _interrupted_message(found))


def _interrupted_message(found: list[dict[str, Any]]) -> str:
    if not found:
        return "no interrupted work"
    return f"{len(found)} interrupted: resume with " + ", ".join(
        f"`conductor resume --track-id {f['id']}`"
        if f["type"] == "track"
        else f"`conductor resume --track-id {f['track_id']} --run-id {f['id']}`"
        for f in found
    )


@_handler("switch")
def _switch(engine, ns) -> Outcome:
    target = ns.to or ns.to_pos
    if not target:
        raise UsageProblem("switch needs a target: conductor switch --to TRACK")
    track = engine.switch(target, reason=ns.reason)
    return Outcome("track", track, f"switched to {track['track_id']}")


@_handler("list")
def _list(engine, ns) -> Outcome:
    entries = engine.list(status=ns.status, type=ns.type, priority=ns.priority)
    return Outcome("entries", entries, f"{len(entries)} tracks")


@_handler("board")
def _board(engine, ns) -> Outcome:
    """The notebook shows a live board; the CLI prints the same tracks, with the actions
    each one allows."""
    entries = engine.list(status=ns.status, type=ns.type, priority=ns.priority)
    needle = ns.search.casefold()
    entries = [
        e
        for e in entries
        if needle in str(e.get("name") or "").casefold() or needle in e["track_id"].casefold()
    ]
    filters = {"status": ns.status, "type": ns.type, "priority": ns.priority, "search": ns.search}
    return Outcome("board", entries, f"{len(entries)} tracks", extra={"filters": filters})


@_handler("get-active")
def _get_active(engine, ns) -> Outcome:
    entry = engine.get_active()
    return Outcome("entry", entry, "no track is active" if entry is None else None)


@_handler("status")
def _status(engine, ns) -> Outcome:
    entry = engine.get_active()
    if entry is None:
        return Outcome("track", None, "no track is active")
    return Outcome("track", engine.track(entry["track_id"]), extra={"detail": True})


def help_text(topic: str | None, prog: str = "conductor") -> str:
    """Usage of the whole grammar, or of one command."""
    parser = parser_for(prog)
    if topic is None:
        return parser.format_help()
    sub = _subparsers(parser).get(topic)
    if sub is None:
        raise UsageProblem(f"no command {topic!r}; commands: {', '.join(command_names())}")
    return sub.format_help()


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps its subparsers on a private action
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


@_handler("stats")
def _stats(engine, ns) -> Outcome:
    return Outcome("stats", engine.stats())


def _moment(value: str, option: str) -> Any:
    from .tracks import parse_time

    moment = parse_time(value)
    if moment is None:
        raise InvalidInput(f"{option} takes an ISO 8601 time such as 2026-03-01T09:00Z")
    return moment


@_handler("analytics")
def _analytics(engine, ns) -> Outcome:
    from .analytics import load  # pandas is imported here, for this command only
    from .analytics.report import summary_text

    now = _moment(ns.as_of, "--as-of") if ns.as_of else None
    source = [engine.root, *ns.also] if ns.also else engine.root
    analytics = load(source, now=now)
    summary = analytics.summary()
    return Outcome("analytics", summary, summary_text(summary), extra={"analytics": analytics})


@_handler("demo")
def _demo(engine, ns) -> Outcome:
    from .analytics.demo import generate

    start = _moment(ns.start, "--start") if ns.start else None
    info = generate(engine.root, tracks=ns.tracks, seed=ns.seed, start=start, days=ns.days)
    return Outcome(
        "demo",
        info,
        f"made {info['tracks']} demo tracks in {info['root']}, {info['start'][:10]} to "
        f"{info['end'][:10]}: see `conductor analytics --as-of {info['end']}`",
    )


@_handler("show")
def _show(engine, ns) -> Outcome:
    return Outcome("track", engine.track(_ref(ns)), extra={"detail": True, "panel": True})


@_handler("update")
def _update(engine, ns) -> Outcome:
    track = engine.update(_ref(ns), ns.field, ns.value)
    return Outcome("track", track, f"updated {ns.field} of {track['track_id']}")


@_handler("decide")
def _decide(engine, ns) -> Outcome:
    decision = engine.decide(
        ns.track_id, ns.summary, rationale=ns.rationale, alternatives=ns.alternatives, tags=ns.tags
    )
    return Outcome("decision", decision, f"recorded {decision['id']}")


@_handler("decisions")
def _decisions(engine, ns) -> Outcome:
    return Outcome("decisions", engine.decisions(_ref(ns)))


@_handler("assume")
def _assume(engine, ns) -> Outcome:
    if ns.assumption_id:
        if not ns.status:
            raise UsageProblem("give the new status: --status validated|invalidated|open")
        item = engine.set_assumption(ns.track_id, ns.assumption_id, ns.status, note=ns.note)
        return Outcome("assumption", item, f"{item['id']} is now {item['status']}")
    if not ns.statement:
        raise UsageProblem("assume needs a statement (or --id to update one)")
    item = engine.assume(ns.track_id, ns.statement, status=ns.status or "open", note=ns.note)
    return Outcome("assumption", item, f"recorded {item['id']}")


@_handler("assumptions")
def _assumptions(engine, ns) -> Outcome:
    return Outcome("assumptions", engine.assumptions(_ref(ns)))


@_handler("step")
def _step(engine, ns) -> Outcome:
    if ns.action == "list":
        return Outcome("steps", engine.track(ns.track_id).get("steps", []))
    if not ns.target:
        raise UsageProblem(f"step {ns.action} needs a step")
    if ns.action == "add":
        step = engine.add_step(ns.track_id, ns.target, type=ns.type, description=ns.description)
        return Outcome("step", step, f"added {step['step_id']}")
    step = engine.step(ns.track_id, ns.target, ns.action, note=ns.note)
    return Outcome("step", step, f"{step['step_id']} is now {step['status']}")


@_handler("run")
def _run(engine, ns) -> Outcome:
    if ns.action == "list":
        return Outcome("runs", engine.runs(ns.track_id))
    if ns.action == "create":
        run = engine.create_run(ns.track_id, ns.target, workflow=ns.workflow)
        return Outcome("run", run, f"created {run['run_id']}")
    if not ns.target:
        raise UsageProblem(f"run {ns.action} needs a run id or number")
    if ns.action == "show":
        return Outcome("run", engine.run(ns.track_id, ns.target))
    if ns.action == "start":
        run = engine.set_run_status(ns.track_id, ns.target, "running")
    elif ns.action == "heartbeat":
        run = engine.heartbeat(ns.track_id, ns.target)
    else:
        status = "failed" if ns.failed or ns.error_type else "completed"
        run = engine.set_run_status(
            ns.track_id, ns.target, status, error_type=ns.error_type, message=ns.message
        )
    return Outcome("run", run, f"{run['run_id']} is {run['status']}")


@_handler("artifact")
def _artifact(engine, ns) -> Outcome:
    if ns.action == "list":
        return Outcome("artifacts", engine.artifacts(ns.track_id))
    if not ns.name or not ns.source:
        raise UsageProblem("artifact add needs a NAME and --from FILE")
    item = engine.add_artifact(ns.track_id, ns.name, source=ns.source)
    return Outcome("artifact", item, f"stored {item['name']} ({item['size']} bytes)")


def _agents(items: list[str]) -> dict[str, dict[str, Any]]:
    from .context import parse_agent

    return dict(parse_agent(item) for item in items)


@_handler("context")
def _context(engine, ns) -> Outcome:
    if ns.add_rules or ns.add_stack or ns.agents:
        data = engine.configure_context(
            _ref(ns), add_rules=ns.add_rules, add_stack=ns.add_stack, agents=_agents(ns.agents)
        )
    else:
        data = engine.effective_context(_ref(ns))
    return Outcome("context", data)


@_handler("project")
def _project(engine, ns) -> Outcome:
    if ns.add_rules or ns.add_stack or ns.agents:
        data = engine.configure_project(
            add_rules=ns.add_rules, add_stack=ns.add_stack, agents=_agents(ns.agents)
        )
    else:
        data = engine.project_config()
    return Outcome("project", data)


@_handler("checkpoint")
def _checkpoint(engine, ns) -> Outcome:
    manifest = engine.create_checkpoint(_ref(ns), reason=ns.reason, pinned=ns.pin)
    meta = manifest["metadata"]
    return Outcome(
        "checkpoint",
        manifest,
        f"{manifest['checkpoint_id']} of {manifest['track_id']}: {meta['file_count']} files, "
        f"{meta['size_bytes']} bytes, {meta['new_bytes']} new bytes stored",
    )


@_handler("checkpoints")
def _checkpoints(engine, ns) -> Outcome:
    if ns.checkpoint and ns.checkpoint.startswith("snap-"):  # the original tool's
        return Outcome("checkpoint", engine.legacy_snapshot(ns.checkpoint))
    if ns.checkpoint:
        return Outcome("checkpoint", engine.checkpoint(_ref(ns), ns.checkpoint))
    return Outcome("checkpoints", engine.checkpoints(_ref(ns)) + engine.legacy_snapshots(_ref(ns)))


@_handler("verify")
def _verify(engine, ns) -> Outcome:
    wanted = (
        [ns.checkpoint]
        if ns.checkpoint
        else [m["checkpoint_id"] for m in engine.checkpoints(ns.track_id)]
    )
    damage = [d for cp in wanted for d in engine.verify_checkpoint(ns.track_id, cp)]
    message = f"{len(damage)} damaged" if damage else f"{len(wanted)} checkpoints intact"
    return Outcome("damage", damage, message, exit_code=1 if damage else 0)


@_handler("diff")
def _diff(engine, ns) -> Outcome:
    return Outcome("diff", engine.diff_checkpoints(ns.track_id, ns.older, ns.newer))


@_handler("restore")
def _restore(engine, ns) -> Outcome:
    done = engine.restore_checkpoint(ns.track_id, ns.checkpoint)
    return Outcome(
        "restored",
        done,
        f"restored {done['track_id']} from {done['restored']} "
        f"(the state before is {done['safety_checkpoint']})",
    )


@_handler("prune")
def _prune(engine, ns) -> Outcome:
    done = engine.prune_checkpoints(ns.track_id, keep=ns.keep)
    return Outcome(
        "pruned",
        done,
        f"removed {len(done['removed'])} checkpoints and {done['blobs_removed']} blobs",
    )


@_handler("validate")
def _validate(engine, ns) -> Outcome:
    problems = [p.as_dict() for p in engine.validate()]
    message = f"{len(problems)} problems" if problems else "no problems found"
    return Outcome("problems", problems, message, exit_code=1 if problems else 0)


@_handler("repair")
def _repair(engine, ns) -> Outcome:
    done = engine.repair()
    return Outcome("actions", done, "nothing to repair" if not done else f"{len(done)} repairs")


@_handler("rebuild")
def _rebuild(engine, ns) -> Outcome:
    return Outcome("actions", engine.rebuild())


@_handler("schema")
def _schema(engine, ns) -> Outcome:
    from . import models

    schema = (
        models.Registry.model_json_schema(by_alias=True)
        if ns.registry
        else models.track_json_schema()
    )
    return Outcome("schema", schema)
