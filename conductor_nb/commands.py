"""The commands shared by the ``conductor`` CLI and the ``%track`` magic, each declared
once: its grammar (name, help line, arguments) beside its behaviour (the handler).

``parse(argv)`` turns words into a namespace (never exiting the process: errors raise
``UsageProblem``), and ``execute(engine, ns)`` runs the command and returns an
``Outcome``: JSON-ready data plus a one-line message. The CLI prints it as a table or
JSON; the notebook layer turns it into objects. The magic's ``help`` and its Tab
completion read the same declarations (see ``grammar``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from .board_filter import select
from .errors import InvalidInput, RootMissing
from .grammar import Arg, Command, CsvChoices, FromRoot, Grammar, HelpRequested, UsageProblem
from .outcome import MESSAGE_KINDS, Outcome, OutcomeKind
from .progress import counted
from .steps import STEP_VERBS
from .store.paths import is_root
from .vocab import AssumptionStatus, Priority, StepType, TrackStatus, TrackType

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "GRAMMAR",
    "MESSAGE_KINDS",
    "HelpRequested",
    "Outcome",
    "OutcomeKind",
    "UsageProblem",
    "command_names",
    "execute",
    "help_text",
    "parse",
    "parser_for",
]

K = OutcomeKind
STATUSES = [s.value for s in TrackStatus]
TYPES = [t.value for t in TrackType]
PRIORITIES = [p.value for p in Priority]

GRAMMAR = Grammar(
    description="Organise long-running work into tracks.",
    epilog="A track can be named by id, unique id prefix or exact name.",
    global_args=(
        Arg(
            "--root",
            help="the conductor root, or a project folder holding .claude/conductor "
            "(default: $CONDUCTOR_ROOT, else [tool.conductor] root of the nearest "
            "pyproject.toml, else the nearest .claude/conductor from here up, else "
            "./.claude/conductor; `conductor root` shows the one in use)",
        ),
        Arg("--json", action="store_true", help="print JSON for machines"),
    ),
)
command = GRAMMAR.command


# -- arguments several commands share --------------------------------------------------

TRACK_OPTION = Arg(
    "--track-id", "--track", dest="track_id", metavar="TRACK", help="default: the active track"
)
# The track as a word; --track-id, the original tool's spelling, still works (unlisted).
TRACK_ARGS = (
    Arg(
        "track",
        nargs="?",
        help="track id, unique id prefix or exact name (default: the active track)",
    ),
    TRACK_OPTION.with_options(help=argparse.SUPPRESS),
)
# list and board: each filter takes comma-separated values.
FILTERS = (
    Arg("--status", type=CsvChoices(STATUSES), help="filter: " + ",".join(STATUSES)),
    Arg("--type", type=CsvChoices(TYPES), help="filter: comma-separated types"),
    Arg("--priority", type=CsvChoices(PRIORITIES), help="filter: P0,P1,P2,P3"),
)
CONTEXT_OPTIONS = (
    Arg("--add-rule", action="append", default=[], dest="add_rules", help="a rule (repeatable)"),
    Arg(
        "--add-stack",
        action="append",
        default=[],
        dest="add_stack",
        help="a stack item (repeatable)",
    ),
    Arg(
        "--agent",
        action="append",
        default=[],
        dest="agents",
        metavar="NAME=JSON",
        help="agent settings (repeatable)",
    ),
)
FORCE = Arg("--force", action="store_true", help="pause the active track first")
ABANDON = Arg("--abandon", action="store_true", help="with --run-id: only mark it interrupted")
THRESHOLD = Arg(
    "--threshold",
    type=float,
    default=30.0,
    metavar="MINUTES",
    help="heartbeat age that counts as gone (default 30)",
)
TAGS = Arg("--tag", action="append", default=[], dest="tags", help="a tag (repeatable)")
# assume: how an assumption checks itself (one kind; see "assumptions that check themselves")
CHECK_OPTIONS = (
    Arg("--check-file", metavar="PATH", help="holds while this file keeps its sha256 of now"),
    Arg(
        "--check-package",
        metavar="NAME[==VERSION]",
        help="holds while this version is installed (default: the one installed now)",
    ),
    Arg("--check-expr", metavar="EXPR", help="holds while this expression is true in the kernel"),
    Arg("--check-command", metavar="COMMAND", help="holds while this command exits 0"),
    Arg("--check-timeout", type=float, metavar="SECONDS", help="for --check-command (default 30)"),
)


def _updatable() -> list[str]:
    from .editing import UPDATABLE  # only when update's parser is built or completed

    return list(UPDATABLE)


def _template_names(engine) -> list[str]:
    """The root's templates, built-in and its own (what Tab offers after --template)."""
    return [row["name"] for row in engine.templates()]


# -- reading the words -----------------------------------------------------------------


def parse(
    argv: Sequence[str], prog: str = "conductor", cell: str | None = None
) -> argparse.Namespace:
    """The namespace of ``argv``; ``cell``: the text of a ``%%track`` cell."""
    return GRAMMAR.parse(argv, prog, cell)


def parser_for(prog: str, only: str | None = None) -> argparse.ArgumentParser:
    return GRAMMAR.parser(prog, only)


def help_text(topic: str | None, prog: str = "conductor") -> str:
    """Usage of the whole grammar, or of one command."""
    return GRAMMAR.help_text(topic, prog)


def command_names() -> list[str]:
    return GRAMMAR.names()


# Commands that work where no root exists yet (the others say it does not, in one line).
_WITHOUT_ROOT = frozenset({"create", "demo", "root", "schema", "help", "templates", "import"})


def execute(engine: Any, ns: argparse.Namespace) -> Outcome:
    makes_root = ns.command in _WITHOUT_ROOT or (ns.command == "project" and _configures(ns))
    if not makes_root and engine is not None and not is_root(engine.root):
        found = engine.found_root
        raise RootMissing(str(found.path), found.how())
    return GRAMMAR.commands[ns.command].handler_for(ns)(engine, ns)


def _progress(ns: argparse.Namespace) -> Any:
    """Where long work reports (``conductor_nb.progress``): the front end sets
    ``ns.progress`` (the CLI's terminal bar, the notebook's widget bar), else nothing."""
    return getattr(ns, "progress", None)


def _ref(ns: argparse.Namespace) -> str | None:
    positional = getattr(ns, "track", None)
    option = getattr(ns, "track_id", None)
    if positional and option and positional != option:
        raise InvalidInput(f"two tracks given: {positional!r} and --track-id {option!r}")
    return option or positional


def _target(ns: argparse.Namespace, what: str) -> str:
    """The sub-action's object (``step start 2``): a usage problem when missing."""
    if not ns.target:
        raise UsageProblem(f"{ns.command} {ns.action} needs {what}")
    return ns.target


# -- the commands, in the order --help lists them ----------------------------------------


@command(
    "create",
    "create a track (draft)",
    Arg("name_pos", nargs="?", metavar="NAME", help="the track's name"),
    Arg("--name", help="the track's name (3 to 100 characters)"),
    Arg(
        "--type",
        choices=TYPES,
        metavar="TYPE",
        help="one of: " + ", ".join(TYPES) + "; with --template, the template's (default: feature)",
    ),
    Arg(
        "--priority",
        choices=PRIORITIES,
        help="P0 (critical) to P3; with --template, the template's (default: P2)",
    ),
    Arg("--goal", help="what the track is for (default: the template's)"),
    Arg("--description", help="a longer description"),
    Arg(
        "--criterion",
        action="append",
        default=[],
        dest="criteria",
        help="a success criterion (repeatable; default: the template's)",
    ),
    TAGS,
    Arg(
        "--template",
        help="start from this template: its steps, criteria, type (`templates`)",
        complete=FromRoot(_template_names),
    ),
    Arg(
        "--var",
        action="append",
        default=[],
        dest="variables",
        metavar="KEY=VALUE",
        help="a value for the template's {{KEY}} (repeatable)",
    ),
    Arg("--parent", metavar="TRACK", help="make it a sub-track of this track"),
    Arg("--estimate", metavar="DURATION", help="how long it should take: 90m, 12h, 3d, 1w"),
)
def _create(engine, ns) -> Outcome:
    name = ns.name or ns.name_pos
    if ns.template or ns.parent or ns.variables or ns.estimate is not None:
        return _create_from(engine, ns, name)
    if not name:
        raise UsageProblem("create needs a name: conductor create --name NAME")
    track = engine.create(
        name,
        type=ns.type or "feature",
        priority=ns.priority or "P2",
        goal=ns.goal or "",
        description=ns.description,
        success_criteria=ns.criteria,
        tags=ns.tags,
    )
    return Outcome(K.TRACK, track, f"created {track['track_id']} ({track['status']})")


def _transition(verb: str):
    """The handler of a lifecycle verb (``outcome``: what ``complete`` records)."""

    def run(engine, ns, outcome: dict[str, Any] | None = None) -> Outcome:
        track = engine.transition(
            _ref(ns),
            verb,
            reason=getattr(ns, "reason", None),
            force=getattr(ns, "force", False),
            outcome=outcome,
        )
        return Outcome(K.TRACK, track, f"{track['track_id']} is now {track['status']}")

    return run


for _verb, _help in (
    ("ready", "mark a draft track ready"),
    ("archive", "archive a completed or cancelled track"),
    ("retry", "send a failed track back to draft"),
):
    GRAMMAR.add(Command(_verb, _help, *TRACK_ARGS, handler=_transition(_verb)))
GRAMMAR.add(
    Command(
        "activate",
        "make a track the active one (a draft goes through ready)",
        *TRACK_ARGS,
        FORCE,
        handler=_transition("activate"),
    )
)
GRAMMAR.add(
    Command(
        "pause",
        "pause the active track",
        *TRACK_ARGS,
        Arg("--reason", help="why (shown when resuming)"),
        handler=_transition("pause"),
    )
)


@command(
    "resume",
    "resume a paused track, or re-attach to interrupted work",
    *TRACK_ARGS,
    FORCE,
    Arg("--run-id", help="recover this interrupted workflow run"),
    ABANDON,
)
def _resume(engine, ns) -> Outcome:
    """A paused track resumes; an interrupted active track or run is recovered."""
    if ns.run_id or (_ref(ns) and engine.entry(_ref(ns))["status"] == TrackStatus.ACTIVE):
        return _recover(engine, ns)
    return _transition("resume")(engine, ns)


@command(
    "complete",
    "complete the active track, with its outcomes",
    *TRACK_ARGS,
    Arg("--summary", help="what was accomplished"),
    Arg("--lesson", action="append", dest="lessons", help="a lesson learned (repeatable)"),
    Arg(
        "--artifact",
        action="append",
        dest="artifacts_created",
        help="an artifact created (repeatable)",
    ),
    Arg("--file", action="append", dest="files_modified", help="a file modified (repeatable)"),
    Arg("--next", action="append", dest="next_tracks", help="a follow-up track (repeatable)"),
)
def _complete(engine, ns) -> Outcome:
    outcome = {
        "summary": ns.summary,
        "lessons_learned": ns.lessons,
        "artifacts_created": ns.artifacts_created,
        "files_modified": ns.files_modified,
        "next_tracks": ns.next_tracks,
    }
    return _transition("complete")(engine, ns, outcome)


for _verb, _help in (("fail", "mark a track failed"), ("cancel", "cancel a track")):
    GRAMMAR.add(
        Command(_verb, _help, *TRACK_ARGS, Arg("--reason", help="why"), handler=_transition(_verb))
    )


@command(
    "switch",
    "pause the active track and activate another, all or nothing",
    Arg("to_pos", nargs="?", metavar="TRACK", help="the track to switch to"),
    Arg("--to", help="the track to switch to"),
    Arg("--reason", help="why the active track is paused"),
)
def _switch(engine, ns) -> Outcome:
    target = ns.to or ns.to_pos
    if not target:
        raise UsageProblem("switch needs a target: conductor switch --to TRACK")
    from .switch_report import SwitchReport  # names the checkpoint of the paused track

    report = SwitchReport(engine)
    track = engine.switch(target, reason=ns.reason)
    return Outcome(K.TRACK, track, report.describe(track))


@command(
    "list",
    "list tracks (the registry's status), newest first",
    *FILTERS,
    Arg("--tree", action="store_true", help="sub-tracks indented under their parents"),
)
def _list(engine, ns) -> Outcome:
    if ns.tree:
        return _list_tree(engine, ns)
    entries = engine.list(status=ns.status, type=ns.type, priority=ns.priority)
    registry = engine.registry()  # the one the entries are from (read once per process)
    extra = {"root": engine.root, "json": lambda: registry.entries_json(entries)}
    return Outcome(K.ENTRIES, entries, f"{len(entries)} tracks", extra=extra)


@command(
    "board",
    "every track with its actions: a live widget board in a notebook",
    *FILTERS,
    Arg("--search", default="", help="only tracks whose name or id contains this"),
)
def _board(engine, ns) -> Outcome:
    """The notebook shows a live board; the CLI prints the same tracks, with the actions
    each one allows."""
    filters = {"status": ns.status, "type": ns.type, "priority": ns.priority, "search": ns.search}
    entries = select(engine.list(), **filters)
    extra = {"filters": filters, "root": engine.root}
    return Outcome(K.BOARD, entries, f"{len(entries)} tracks", extra=extra)


@command("get-active", "show the active track's registry entry")
def _get_active(engine, ns) -> Outcome:
    entry = engine.get_active()
    return Outcome(K.ENTRY, entry, "no track is active" if entry is None else None)


@command("status", "the active track in full (nothing when none is active)")
def _status(engine, ns) -> Outcome:
    if engine.get_active() is None:
        return Outcome(K.TRACK, None, "no track is active")
    # the active track by its registry key (an entry damaged by hand may lack its track_id)
    return Outcome(K.TRACK, engine.track(None), extra={"detail": True})


# `help` has no handler: parse() answers it with HelpRequested, before any engine.
GRAMMAR.add(
    Command("help", "usage of a command: help create", Arg("topic", nargs="?", help="a command"))
)


@command("root", "the root in use, and how it was found")
def _root(engine, ns) -> Outcome:
    found = engine.found_root
    exists = is_root(found.path)
    lines = [str(found.path), found.how()]
    if not exists:
        lines.append("it does not exist yet: `conductor create` makes it")
    data = {"root": str(found.path), "source": found.source, "exists": exists}
    return Outcome(K.ROOT, data, "\n".join(lines))


@command("stats", "counts by status, type and priority")
def _stats(engine, ns) -> Outcome:
    stats = engine.stats()
    active = engine.entry(stats["active_track"]) if stats["active_track"] else None
    extra = {"root": str(engine.root), "active_name": active and active.get("name")}
    return Outcome(K.STATS, stats, extra=extra)


def _moment(value: str, option: str) -> Any:
    from .tracks import parse_time

    moment = parse_time(value)
    if moment is None:
        raise InvalidInput(f"{option} takes an ISO 8601 time such as 2026-03-01T09:00Z")
    return moment


@command(
    "analytics",
    "key figures: success rate, durations, flow, overruns, paths, runs",
    Arg("--as-of", help="end open intervals at this time (ISO 8601; default: now)"),
    Arg(
        "--also",
        action="append",
        default=[],
        metavar="ROOT",
        help="another conductor root to include (repeatable)",
    ),
)
def _analytics(engine, ns) -> Outcome:
    from .analytics import load  # pandas is imported here, for this command only
    from .analytics.report import summary_text

    now = _moment(ns.as_of, "--as-of") if ns.as_of else None
    source = [engine.root, *ns.also] if ns.also else engine.root
    analytics = load(source, now=now, progress=_progress(ns))
    summary = analytics.summary()
    return Outcome(K.ANALYTICS, summary, summary_text(summary), extra={"analytics": analytics})


@command(
    "demo",
    "fill an empty root with realistic demo tracks, through the engine",
    Arg("--tracks", type=int, default=500, help="how many tracks (default 500)"),
    Arg("--seed", type=int, default=1, help="random seed (default 1)"),
    Arg("--start", help="simulated start, ISO 8601 (default 2026-01-05T09:00Z)"),
    Arg("--days", type=float, help="days it spans (default: tracks/2, at least 30)"),
)
def _demo(engine, ns) -> Outcome:
    from .analytics.demo import generate

    start = _moment(ns.start, "--start") if ns.start else None
    info = generate(
        engine.root,
        tracks=ns.tracks,
        seed=ns.seed,
        start=start,
        days=ns.days,
        progress=_progress(ns),
    )
    return Outcome(
        K.DEMO,
        info,
        f"made {info['tracks']} demo tracks in {info['root']}, {info['start'][:10]} to "
        f"{info['end'][:10]}: see `conductor analytics --as-of {info['end']}`",
    )


@command("show", "show a track in full, with its latest decisions and assumptions", *TRACK_ARGS)
def _show(engine, ns) -> Outcome:
    track = engine.track(_ref(ns))
    extra: dict[str, Any] = {"detail": True, "panel": True}
    if not ns.json:  # the terminal's text lists them; --json prints the track alone
        track_id = track["track_id"]
        extra.update(decisions=engine.decisions(track_id), assumptions=engine.assumptions(track_id))
        extra["family"] = engine.family(track_id)  # its parent and sub-tracks
    return Outcome(K.TRACK, track, extra=extra)


@command(
    "update",
    "change one field of a track (checked)",
    *TRACK_ARGS,
    Arg(
        "--field",
        help=lambda: "one of: " + ", ".join(_updatable()),
        complete=_updatable,
    ),
    Arg("--value", help="the new value (lists: comma-separated)"),
    Arg("--parent", metavar="TRACK", help="make it a sub-track of TRACK (none: top-level)"),
    Arg("--estimate", metavar="DURATION", help="set its estimate: 90m, 12h, 3d, 1w (none: drop)"),
)
def _update(engine, ns) -> Outcome:
    if ns.estimate is not None:
        return _update_estimate(engine, ns)
    if ns.parent is not None and ns.field is None and ns.value is None:
        return _set_parent(engine, ns)
    if ns.field is None or ns.value is None or ns.parent is not None:
        raise UsageProblem(
            "update takes --field F --value V, or --parent TRACK|none, or --estimate DURATION"
        )
    track = engine.update(_ref(ns), ns.field, ns.value)
    return Outcome(K.TRACK, track, f"updated {ns.field} of {track['track_id']}")


# -- a track's records -----------------------------------------------------------------


def _cell_as_rationale(ns: argparse.Namespace, cell: str) -> None:
    """``%%track decide "summary"``: the cell is the rationale, unless --rationale is."""
    ns.rationale = ns.rationale or cell.strip() or None


@command(
    "decide",
    "record a decision in a track",
    Arg("summary", help="the decision, in one line"),
    TRACK_OPTION,
    Arg("--rationale", help="why"),
    Arg(
        "--alternative",
        action="append",
        default=[],
        dest="alternatives",
        help="an alternative considered (repeatable)",
    ),
    TAGS,
    cell=_cell_as_rationale,
)
def _decide(engine, ns) -> Outcome:
    decision = engine.decide(
        ns.track_id, ns.summary, rationale=ns.rationale, alternatives=ns.alternatives, tags=ns.tags
    )
    return Outcome(K.DECISION, decision, f"recorded {decision['id']}")


@command("decisions", "list a track's decisions", *TRACK_ARGS)
def _decisions(engine, ns) -> Outcome:
    return Outcome(K.DECISIONS, engine.decisions(_ref(ns)))


@command(
    "assume",
    "record an assumption, or change its status with --id",
    Arg("statement", nargs="?", help="the assumption"),
    TRACK_OPTION,
    Arg("--id", dest="assumption_id", help="an existing assumption to update"),
    Arg("--status", default=None, choices=[s.value for s in AssumptionStatus]),
    Arg("--note", help="evidence or a note"),
    *CHECK_OPTIONS,
)
def _assume(engine, ns) -> Outcome:
    if ns.assumption_id:
        if not ns.status:
            raise UsageProblem("give the new status: --status validated|invalidated|open")
        item = engine.set_assumption(ns.track_id, ns.assumption_id, ns.status, note=ns.note)
        return Outcome(K.ASSUMPTION, item, f"{item['id']} is now {item['status']}")
    if not ns.statement:
        raise UsageProblem("assume needs a statement (or --id to update one)")
    check = _assumption_check(engine, ns)
    item = engine.assume(
        ns.track_id, ns.statement, status=ns.status or "open", note=ns.note, check=check
    )
    return Outcome(K.ASSUMPTION, item, f"recorded {item['id']}{_checked_by(check)}")


@command(
    "assumptions",
    "list a track's assumptions; --check runs their checks",
    *TRACK_ARGS,
    Arg("--check", action="store_true", help="run the checks and record what they find"),
    Arg("--approve", metavar="ID", help="let this assumption's check run on this machine"),
)
def _assumptions(engine, ns) -> Outcome:
    if ns.approve:
        return _approve_check(engine, ns)
    if ns.check:
        return _check_assumptions(engine, ns)
    return Outcome(K.ASSUMPTIONS, engine.assumptions(_ref(ns)))


# -- steps, runs and artifacts: one command each, with sub-actions ------------------------

_step = GRAMMAR.add(
    Command(
        "step",
        "add and progress a track's steps",
        Arg("target", nargs="?", metavar="STEP", help="step name (add) or id / number / name"),
        TRACK_OPTION,
        Arg("--type", default="action", choices=[s.value for s in StepType]),
        Arg("--description"),
        Arg("--note", help="a note (for fail: the error message)"),
        Arg("--estimate", metavar="DURATION", help="add: how long it should take (90m, 2h)"),
    )
)


@_step.action("add", help="add a step to a track: step add NAME [--type T] [--description D]")
def _step_add(engine, ns) -> Outcome:
    name = _target(ns, "a step")
    if ns.estimate is not None:
        return _step_add_estimated(engine, ns, name)
    step = engine.add_step(ns.track_id, name, type=ns.type, description=ns.description)
    return Outcome(K.STEP, step, f"added {step['step_id']}")


@_step.action("list", help="list a track's steps")
def _step_list(engine, ns) -> Outcome:
    return Outcome(K.STEPS, engine.track(ns.track_id).get("steps", []))


@_step.action(*STEP_VERBS, help="{action} a step: step {action} STEP (id, number or name)")
def _step_progress(engine, ns) -> Outcome:
    target = _target(ns, "a step")
    step = engine.step(ns.track_id, target, ns.action, note=ns.note)
    return Outcome(K.STEP, step, f"{step['step_id']} is now {step['status']}")


def _cell_as_code(ns: argparse.Namespace, cell: str) -> None:
    ns.code = cell


_run = GRAMMAR.add(
    Command(
        "run",
        "workflow runs inside a track",
        Arg("target", nargs="?", metavar="RUN", help="run name (create) or id / number"),
        TRACK_OPTION,
        Arg("--workflow", help="the workflow file the run executes"),
        Arg("--failed", action="store_true", help="finish: the run failed"),
        Arg("--error-type", help="finish: the error's type"),
        Arg("--message", help="finish: the error's message"),
        # `%%track run`: the kernel runs the cell as a run (see notebook.magics)
        cell_form=Command(
            "run",
            "run the cell as a workflow run of a track (a raised exception fails the run)",
            Arg("--name", default="notebook cell", help="the run's name (default: notebook cell)"),
            TRACK_OPTION,
            cell=_cell_as_code,
        ),
    )
)


@_run.action("create", help="create a workflow run in a track: run create NAME")
def _run_create(engine, ns) -> Outcome:
    run = engine.create_run(ns.track_id, ns.target, workflow=ns.workflow)
    return Outcome(K.RUN, run, f"created {run['run_id']}")


@_run.action("list", help="list a track's workflow runs")
def _run_list(engine, ns) -> Outcome:
    return Outcome(K.RUNS, engine.runs(ns.track_id))


@_run.action("show", help="show a workflow run: run show RUN (id or number)")
def _run_show(engine, ns) -> Outcome:
    target = _target(ns, "a run id or number")
    return Outcome(K.RUN, engine.run(ns.track_id, target))


@_run.action(
    "start", "heartbeat", "finish", help="{action} a workflow run: run {action} RUN (id or number)"
)
def _run_progress(engine, ns) -> Outcome:
    target = _target(ns, "a run id or number")
    if ns.action == "start":
        run = engine.set_run_status(ns.track_id, target, "running")
    elif ns.action == "heartbeat":
        run = engine.heartbeat(ns.track_id, target)
    else:
        status = "failed" if ns.failed or ns.error_type else "completed"
        run = engine.set_run_status(
            ns.track_id, target, status, error_type=ns.error_type, message=ns.message
        )
    return Outcome(K.RUN, run, f"{run['run_id']} is {run['status']}")


_artifact = GRAMMAR.add(
    Command(
        "artifact",
        "files in a track's context/artifacts",
        Arg("name", nargs="?", help="add: the name inside context/artifacts"),
        Arg("--from", dest="source", help="add: the file to copy"),
        TRACK_OPTION,
    )
)


@_artifact.action("add", help="copy a file into a track: artifact add NAME --from FILE")
def _artifact_add(engine, ns) -> Outcome:
    if not ns.name or not ns.source:
        raise UsageProblem("artifact add needs a NAME and --from FILE")
    item = engine.add_artifact(ns.track_id, ns.name, source=ns.source)
    return Outcome(K.ARTIFACT, item, f"stored {item['name']} ({item['size']} bytes)")


@_artifact.action("list", help="list a track's artifacts")
def _artifact_list(engine, ns) -> Outcome:
    return Outcome(K.ARTIFACTS, engine.artifacts(ns.track_id))


# -- context ---------------------------------------------------------------------------


def _agents(items: list[str]) -> dict[str, dict[str, Any]]:
    from .context import parse_agent

    return dict(parse_agent(item) for item in items)


def _configures(ns: argparse.Namespace) -> bool:
    return bool(ns.add_rules or ns.add_stack or ns.agents)


@command(
    "context",
    "a track's effective context (project rules, stack, agents)",
    *TRACK_ARGS,
    *CONTEXT_OPTIONS,
)
def _context(engine, ns) -> Outcome:
    if _configures(ns):
        data = engine.configure_context(
            _ref(ns), add_rules=ns.add_rules, add_stack=ns.add_stack, agents=_agents(ns.agents)
        )
    else:
        data = engine.effective_context(_ref(ns))
    return Outcome(K.CONTEXT, data)


@command("project", "the project config every track inherits", *CONTEXT_OPTIONS)
def _project(engine, ns) -> Outcome:
    if _configures(ns):
        data = engine.configure_project(
            add_rules=ns.add_rules, add_stack=ns.add_stack, agents=_agents(ns.agents)
        )
    else:
        data = engine.project_config()
    return Outcome(K.PROJECT, data)


# -- checkpoints -----------------------------------------------------------------------


@command(
    "checkpoint",
    "snapshot a track's files (restorable, content-addressed)",
    *TRACK_ARGS,
    Arg("--reason", default="manual checkpoint", help="why"),
    Arg("--pin", action="store_true", help="never prune this checkpoint"),
)
def _checkpoint(engine, ns) -> Outcome:
    manifest = engine.create_checkpoint(
        _ref(ns), reason=ns.reason, pinned=ns.pin, progress=_progress(ns)
    )
    meta = manifest["metadata"]
    return Outcome(
        K.CHECKPOINT,
        manifest,
        f"{manifest['checkpoint_id']} of {manifest['track_id']}: {meta['file_count']} files, "
        f"{meta['size_bytes']} bytes, {meta['new_bytes']} new bytes stored",
    )


@command(
    "checkpoints",
    "a track's checkpoints, newest first (--id: one in full)",
    *TRACK_ARGS,
    Arg("--id", dest="checkpoint", help="show this checkpoint's manifest"),
)
def _checkpoints(engine, ns) -> Outcome:
    if ns.checkpoint and ns.checkpoint.startswith("snap-"):  # the original tool's
        return Outcome(K.CHECKPOINT, engine.legacy_snapshot(ns.checkpoint))
    if ns.checkpoint:
        return Outcome(K.CHECKPOINT, engine.checkpoint(_ref(ns), ns.checkpoint))
    return Outcome(K.CHECKPOINTS, engine.checkpoints(_ref(ns)) + engine.legacy_snapshots(_ref(ns)))


@command(
    "verify",
    "recompute every checksum of a track's checkpoints",
    Arg("checkpoint", nargs="?", help="one checkpoint (default: all)"),
    TRACK_OPTION,
)
def _verify(engine, ns) -> Outcome:
    wanted = (
        [ns.checkpoint]
        if ns.checkpoint
        else [m["checkpoint_id"] for m in engine.checkpoints(ns.track_id)]
    )
    if len(wanted) == 1:  # one checkpoint: its files
        damage = engine.verify_checkpoint(ns.track_id, wanted[0], progress=_progress(ns))
    else:
        checkpoints = counted(_progress(ns), "verify checkpoints", wanted, len(wanted))
        damage = [d for cp in checkpoints for d in engine.verify_checkpoint(ns.track_id, cp)]
    message = f"{len(damage)} damaged" if damage else f"{len(wanted)} checkpoints intact"
    return Outcome(K.DAMAGE, damage, message, exit_code=1 if damage else 0)


@command(
    "diff",
    "files and decisions changed between checkpoints (or now)",
    Arg("older", help="checkpoint id, number or 'last'"),
    Arg("newer", nargs="?", help="default: the track as it is now"),
    TRACK_OPTION,
)
def _diff(engine, ns) -> Outcome:
    return Outcome(K.DIFF, engine.diff_checkpoints(ns.track_id, ns.older, ns.newer))


@command(
    "restore",
    "restore a track from a checkpoint (the current state is kept)",
    Arg("checkpoint", help="checkpoint id, number or 'last'"),
    TRACK_OPTION,
)
def _restore(engine, ns) -> Outcome:
    done = engine.restore_checkpoint(ns.track_id, ns.checkpoint, progress=_progress(ns))
    return Outcome(
        K.RESTORED,
        done,
        f"restored {done['track_id']} from {done['restored']} "
        f"(the state before is {done['safety_checkpoint']})",
    )


@command(
    "prune",
    "delete all but the newest checkpoints (never pinned ones)",
    Arg("--keep", type=int, default=10, help="how many to keep (default 10)"),
    TRACK_OPTION,
)
def _prune(engine, ns) -> Outcome:
    done = engine.prune_checkpoints(ns.track_id, keep=ns.keep, progress=_progress(ns))
    return Outcome(
        K.PRUNED,
        done,
        f"removed {len(done['removed'])} checkpoints and {done['blobs_removed']} blobs",
    )


# -- interrupted work ------------------------------------------------------------------


def _interrupted_message(found: list[dict[str, Any]]) -> str:
    if not found:
        return "no interrupted work"
    return f"{len(found)} interrupted: resume with " + ", ".join(
        f"`conductor resume --track-id {f['id']}`"
        if f["type"] == "track"
        else f"`conductor resume --track-id {f['track_id']} --run-id {f['id']}`"
        for f in found
    )


@command("detect", "find active tracks and running runs whose holder is gone", THRESHOLD)
def _detect(engine, ns) -> Outcome:
    found = engine.detect(threshold_minutes=ns.threshold)
    return Outcome(K.INTERRUPTED, found, _interrupted_message(found), extra={"verbose": True})


@command("list-interrupted", "the same, as a table", THRESHOLD)
def _list_interrupted(engine, ns) -> Outcome:
    found = engine.detect(threshold_minutes=ns.threshold)
    return Outcome(K.INTERRUPTED, found, _interrupted_message(found))


@command(
    "recover",
    "re-attach to an interrupted track or run",
    *TRACK_ARGS,
    Arg("--run-id", help="the interrupted workflow run"),
    ABANDON,
)
def _recover(engine, ns) -> Outcome:
    if ns.run_id:
        run = engine.recover_run(_ref(ns), ns.run_id, abandon=ns.abandon)
        verb = "continued" if run["recovered"] else "marked interrupted"
        return Outcome(K.RUN, run, f"{run['run_id']} {verb}")
    done = engine.recover_track(_ref(ns))
    actions = "; ".join(done["actions"]) or "nothing to mend"
    return Outcome(K.RECOVERED, done, f"{done['track_id']} recovered: {actions}")


# -- maintenance -----------------------------------------------------------------------


@command(
    "validate",
    "check every file of the root: damaged or unreadable files, and where the registry and "
    "the track files disagree",
)
def _validate(engine, ns) -> Outcome:
    problems = [p.as_dict() for p in engine.validate()]
    where = f"in {engine.root}"
    message = f"{len(problems)} problems {where}" if problems else f"no problems found {where}"
    return Outcome(K.PROBLEMS, problems, message, exit_code=1 if problems else 0)


@command("repair", "bring track files in line with the registry (copies kept in backups/)")
def _repair(engine, ns) -> Outcome:
    done = engine.repair()
    return Outcome(K.ACTIONS, done, "nothing to repair" if not done else f"{len(done)} repairs")


@command("rebuild", "regenerate a lost or corrupt registry from the track files")
def _rebuild(engine, ns) -> Outcome:
    return Outcome(K.ACTIONS, engine.rebuild(progress=_progress(ns)))


@command(
    "schema",
    "print the JSON Schema of a track",
    Arg("--registry", action="store_true", help="the registry's schema instead"),
)
def _schema(engine, ns) -> Outcome:
    from . import models

    schema = (
        models.Registry.model_json_schema(by_alias=True)
        if ns.registry
        else models.track_json_schema()
    )
    return Outcome(K.SCHEMA, schema)


# -- notebook memory: the cells that did a track's work, and peeking at another track ----


@command(
    "cells",
    "the notebook cells recorded for a track (recorded while it is active in a notebook)",
    *TRACK_ARGS,
    Arg("--off", action="store_true", help="in a notebook: stop recording its cells"),
    Arg("--on", action="store_true", help="in a notebook: record its cells again"),
)
def _cells(engine, ns) -> Outcome:
    if ns.on or ns.off:
        recorder = getattr(ns, "recorder", None)  # the notebook's (see notebook.recorder)
        if ns.on and ns.off:
            raise UsageProblem("cells takes --on or --off, not both")
        if recorder is None:
            raise UsageProblem(
                "cells --on and --off switch a notebook's recording: `%track cells --off` in it"
            )
        return Outcome(K.CELLS, [], recorder.switch(ns.on), extra={"switched": True})
    track_id = engine.resolve(_ref(ns))
    rows = engine.cells(track_id)
    return Outcome(K.CELLS, rows, f"{len(rows)} cells recorded for {track_id}")


@command(
    "peek",
    "another track, read-only, without switching: summary, decisions, checkpoints",
    Arg("track", help="track id, unique id prefix or exact name"),
    Arg("--diff", metavar="CHECKPOINT", help="also what changed since this checkpoint"),
)
def _peek(engine, ns) -> Outcome:
    """Reads only: nothing of the track or the registry changes."""
    track = engine.track(ns.track)
    track_id = track["track_id"]
    data = {
        "track": track,
        "decisions": engine.decisions(track_id),
        "assumptions": engine.assumptions(track_id),
        "checkpoints": engine.checkpoints(track_id),
        "diff": engine.diff_checkpoints(track_id, ns.diff) if ns.diff else None,
    }
    return Outcome(K.PEEK, data, f"peeking at {track_id} (read-only)")


# -- track reports: one self-contained document of a track (conductor_nb.report) -------------


@command(
    "report",
    "a track's report for a review or a hand-over: one HTML file, or Markdown",
    *TRACK_ARGS,
    Arg(
        "-o",
        "--output",
        metavar="FILE",
        help="write it to FILE: .html or .md (default: print the Markdown)",
    ),
    Arg("--force", action="store_true", help="replace FILE if it exists"),
    Arg("--no-charts", dest="charts", action="store_false", help="leave the charts out"),
)
def _report(engine, ns) -> Outcome:
    """Reads only; the one file written is FILE."""
    from .report import build_report  # matplotlib is imported there, for the charts only

    if ns.force and not ns.output:
        raise UsageProblem("--force replaces the file given with -o FILE")
    report = build_report(engine, _ref(ns), charts=ns.charts and bool(ns.output or not ns.json))
    extra: dict[str, Any] = {"report": report}
    if not ns.output:
        extra["markdown"] = report.markdown()
        return Outcome(K.REPORT, report.facts, extra=extra)
    written = report.write(ns.output, force=ns.force)
    message = f"wrote the report of {report.label} to {written['path']} ({written['bytes']} bytes)"
    return Outcome(K.REPORT, {**report.facts, "written": written}, message, extra=extra)


# -- templates and sub-tracks ------------------------------------------------------------


def _create_from(engine, ns, name: str | None) -> Outcome:
    """``create --template NAME --var k=v --parent TRACK --estimate D``: the template
    fills what the options leave out, all in one change."""
    from .templates import parse_variables

    if ns.variables and not ns.template:
        raise UsageProblem("--var fills a template's variables: give --template NAME")
    if not name and not ns.template:
        raise UsageProblem("create needs a name: conductor create --name NAME")
    options = {
        "template": ns.template,
        "variables": parse_variables(ns.variables),
        "parent": ns.parent,
        "type": ns.type,
        "priority": ns.priority,
        "goal": ns.goal,
        "description": ns.description,
        "success_criteria": ns.criteria,
        "tags": ns.tags,
    }
    if ns.estimate is None:
        track = engine.create_track(name, **options)
    else:
        track = engine.create_estimated(name, estimate=ns.estimate, **options)
    made = f"created {track['track_id']} ({track['status']})"
    if ns.template:
        made += f" from the template {ns.template}, {len(track.get('steps', []))} steps"
    if track.get("parent_track"):
        made += f", a sub-track of {track['parent_track']}"
    if ns.estimate is not None:
        from .durations import format_duration

        made += f", estimate {format_duration(track.get('estimated_duration_minutes'))}"
    return Outcome(K.TRACK, track, made)


def _list_tree(engine, ns) -> Outcome:
    rows = engine.tree_list(status=ns.status, type=ns.type, priority=ns.priority)
    return Outcome(K.TREE, rows, f"{len(rows)} tracks", extra={"root": engine.root})


def _set_parent(engine, ns) -> Outcome:
    track = engine.set_parent(_ref(ns), ns.parent)
    parent = track.get("parent_track")
    where = f"a sub-track of {parent}" if parent else "a top-level track"
    return Outcome(K.TRACK, track, f"{track['track_id']} is now {where}")


@command("templates", "the track templates: built-in, and the project's own")
def _templates(engine, ns) -> Outcome:
    rows = engine.templates()
    folder = _templates_folder(engine)
    return Outcome(K.TEMPLATES, rows, f"{len(rows)} templates; the project's in {folder}")


def _templates_folder(engine) -> str:
    from .templates import templates_folder

    return str(templates_folder(engine.root))


# -- dependencies between tracks, conflicts, and what to do next ------------------------


@command(
    "depend",
    "what a track waits on, blocks and relates to; --on adds a prerequisite",
    *TRACK_ARGS,
    Arg("--on", metavar="TRACK", help="a track that must be done first"),
    Arg("--related", metavar="TRACK", help="a related track (both ways)"),
    Arg("--remove", action="store_true", help="take that dependency away"),
)
def _depend(engine, ns) -> Outcome:
    from .dependency_report import dependencies_text

    if ns.on is None and ns.related is None:
        if ns.remove:
            raise UsageProblem("depend --remove needs --on TRACK or --related TRACK")
        listing = engine.dependencies(_ref(ns))
        return Outcome(K.DEPENDENCIES, listing, dependencies_text(listing))
    if ns.on is not None and ns.related is not None:
        raise UsageProblem("depend takes --on or --related, not both")
    listing = engine.depend(_ref(ns), on=ns.on, related=ns.related, remove=ns.remove)
    done = "no longer" if ns.remove else "now" if listing["changed"] else "already"
    if ns.on is not None:
        said = f"{listing['track_id']} {done} waits on {ns.on}"
    else:
        said = f"{listing['track_id']} is {done} related to {ns.related}"
    return Outcome(K.DEPENDENCIES, listing, f"{said}\n{dependencies_text(listing)}")


@command("conflicts", "open tracks whose target files or folders overlap")
def _conflicts(engine, ns) -> Outcome:
    from .dependency_report import conflicts_text

    found = engine.conflicts()
    return Outcome(K.CONFLICTS, found, conflicts_text(found), exit_code=1 if found else 0)


@command(
    "next",
    "what to work on next, and why (ready first, then paused, then drafts)",
    Arg("--all", action="store_true", dest="everything", help="the whole ranking, and who waits"),
)
def _next(engine, ns) -> Outcome:
    from .dependency_report import next_text

    data = engine.next_tracks()
    return Outcome(K.NEXT, data, next_text(data, ns.everything), extra={"all": ns.everything})


@command(
    "graph",
    "the dependency graph: a figure in a notebook, layers in a terminal",
    Arg("--closed", action="store_true", help="also the dependencies of closed tracks"),
)
def _graph(engine, ns) -> Outcome:
    from .dependency_report import graph_text

    graph = engine.dependency_graph(closed=ns.closed)
    return Outcome(K.GRAPH, graph, graph_text(graph))


# -- bundles: tracks moved between roots (conductor_nb.bundles) ---------------------------


@command(
    "export",
    "write tracks to one bundle file (a zstd tar with checksums) for `import` elsewhere",
    Arg("tracks", nargs="+", metavar="TRACK", help="track ids, unique id prefixes or names"),
    Arg("-o", "--output", required=True, metavar="FILE", help="the bundle file to write"),
    Arg("--checkpoints", action="store_true", help="also their checkpoints"),
)
def _export(engine, ns) -> Outcome:
    done = engine.export_bundle(
        ns.tracks, ns.output, checkpoints=ns.checkpoints, progress=_progress(ns)
    )
    what = "tracks and their checkpoints" if done["checkpoints"] else "tracks"
    return Outcome(
        K.EXPORTED,
        done,
        f"exported {len(done['tracks'])} {what} ({done['files']} files, {done['bytes']} bytes, "
        f"{done['compressed_bytes']} compressed) to {done['file']}",
    )


@command(
    "import",
    "add the tracks of a bundle to this root (all or none; ids in use get new ones)",
    Arg("file", metavar="FILE", help="the bundle file (from `conductor export`)"),
)
def _import(engine, ns) -> Outcome:
    done = engine.import_bundle(ns.file, progress=_progress(ns))
    parts = [f"imported {len(done['tracks'])} tracks ({done['files']} files) from {done['file']}"]
    parts += [f"{old} is now {new} (its id was in use)" for old, new in done["renamed"].items()]
    paused = "was active: it is paused (one track is active at a time)"
    parts += [f"{track_id} {paused}" for track_id in done["paused"]]
    return Outcome(K.IMPORTED, done, "; ".join(parts))


# -- sharing tracks through git, and lifecycle hooks (conductor_nb.gitmerge, .hooks) ------


@command(
    "git-setup",
    "merge this root's JSON files with conductor's drivers (once per clone)",
)
def _git_setup(engine, ns) -> Outcome:
    from .gitmerge.install import git_setup

    return Outcome(K.ACTIONS, git_setup(engine.root))


@command(
    "hooks",
    "the root's lifecycle hooks (hooks.json) and whether this machine trusts them",
    Arg("--trust", action="store_true", help="trust hooks.json as it is now, on this machine"),
)
def _hooks(engine, ns) -> Outcome:
    from .hooks import hooks_report, hooks_text

    data = hooks_report(engine.root, trust=ns.trust)
    return Outcome(K.HOOKS, data, hooks_text(data))


# -- keeping another clone's checkpoint after a git add/add conflict ---------------------
# (conductor_nb.checkpoint_adoption)


@command(
    "adopt-checkpoint",
    "keep another clone's checkpoint of a track as its next one (after a git add/add "
    "conflict on checkpoint-NNN.json)",
    Arg("manifest", metavar="FILE", help="the manifest, e.g. saved by `git show :3:PATH > FILE`"),
    TRACK_OPTION,
)
def _adopt_checkpoint(engine, ns) -> Outcome:
    manifest = engine.adopt_checkpoint(ns.track_id, ns.manifest)
    return Outcome(
        K.CHECKPOINT,
        manifest,
        f"{ns.manifest} is now {manifest['checkpoint_id']} of {manifest['track_id']} "
        f"(it was {manifest['adopted_from']}); `git add` it",
    )


# -- format versions of a root (conductor_nb.migrations, .migrating) -----------------------


@command(
    "migrate",
    "upgrade the root to the newest format, keeping every field (a checkpoint of each "
    "track it changes first)",
    Arg("--dry-run", action="store_true", help="list what would change; write nothing"),
)
def _migrate(engine, ns) -> Outcome:
    done = engine.migrate(dry_run=ns.dry_run)
    changes, files = len(done["changes"]), done["files"]
    if not done["steps"]:
        message = f"{done['root']} is at format {done['to']}: nothing to migrate"
    elif done["dry_run"]:
        message = (
            f"format {done['from']} -> {done['to']}: {changes} changes to {files} files, "
            f"{len(done['checkpoints'])} tracks checkpointed first (dry run: nothing written)"
        )
    else:
        message = (
            f"migrated {done['root']} from format {done['from']} to {done['to']}: "
            f"{changes} changes to {files} files, "
            f"{len(done['checkpoints'])} tracks checkpointed first"
        )
    return Outcome(K.MIGRATION, done, message)


# -- estimates and forecasts (conductor_nb.estimates, .forecast) --------------------------


def _estimated(engine, done: dict[str, Any]) -> Outcome:
    """The estimate just set (or dropped), said in a line."""
    from .durations import format_duration
    from .errors import track_label

    what = track_label(done["track_id"], done.get("name"))
    if done.get("step_id"):
        what = f"step {done['step_id']} ({done.get('step')}) of {what}"
    minutes = done["estimated_duration_minutes"]
    said = f"estimate of {what}: {format_duration(minutes)}" if minutes else f"{what}: no estimate"
    return Outcome(K.ESTIMATE, done, said)


def _update_estimate(engine, ns) -> Outcome:
    """``update TRACK --estimate D``: one change at a time, as update makes them."""
    if ns.field is not None or ns.value is not None or ns.parent is not None:
        raise UsageProblem("update takes --estimate alone (not with --field, --value, --parent)")
    return _estimated(engine, engine.set_estimate(_ref(ns), ns.estimate))


def _step_add_estimated(engine, ns, name: str) -> Outcome:
    from .durations import format_duration

    step = engine.add_estimated_step(
        ns.track_id, name, estimate=ns.estimate, type=ns.type, description=ns.description
    )
    minutes = (step.get("timing") or {}).get("estimated_duration_minutes")
    return Outcome(K.STEP, step, f"added {step['step_id']}, estimate {format_duration(minutes)}")


@command(
    "estimate",
    "set how long a track or one of its steps should take: estimate TRACK [STEP] DURATION",
    Arg("track", metavar="TRACK", help="track id, unique id prefix or exact name"),
    Arg("what", metavar="STEP|DURATION", help="a step (id, number or name), or the duration"),
    Arg("duration", nargs="?", metavar="DURATION", help="90m, 12h, 3d, 1w; none drops it"),
)
def _estimate(engine, ns) -> Outcome:
    step, duration = (ns.what, ns.duration) if ns.duration is not None else (None, ns.what)
    return _estimated(engine, engine.set_estimate(ns.track, duration, step=step))


@command(
    "forecast",
    "when a track will be done, from its progress and finished tracks of its type",
    *TRACK_ARGS,
)
def _forecast(engine, ns) -> Outcome:
    from .forecast import forecast_text

    data = engine.forecast(_ref(ns))
    return Outcome(K.FORECAST, data, forecast_text(data))


# -- assumptions that check themselves ---------------------------------------------------

_CHECK_KINDS = {
    "file": "check_file",
    "package": "check_package",
    "expr": "check_expr",
    "command": "check_command",
}


def _assumption_check(engine, ns) -> dict[str, Any] | None:
    """The check ``assume`` was given (one kind at most), defined now."""
    given = {kind: getattr(ns, dest) for kind, dest in _CHECK_KINDS.items()}
    given = {kind: value for kind, value in given.items() if value is not None}
    if len(given) > 1:
        raise UsageProblem(
            "give one check: --check-file, --check-package, --check-expr or --check-command"
        )
    if ns.check_timeout is not None and "command" not in given:
        raise UsageProblem("--check-timeout goes with --check-command")
    if not given:
        return None
    ((kind, value),) = given.items()
    return engine.define_check(kind, value, timeout=ns.check_timeout)


def _checked_by(check: dict[str, Any] | None) -> str:
    from .check_kinds import describe

    return f", checked by {describe(check)}" if check else ""


def _check_assumptions(engine, ns) -> Outcome:
    """Run a track's checks: exit 1 when one failed (for scripts and CI)."""
    from .assumption_checks import checks_summary
    from .check_kinds import FAILED

    rows = engine.check_assumptions(_ref(ns))
    failed = any(r["result"] == FAILED for r in rows)
    return Outcome(K.CHECKS, rows, checks_summary(rows), exit_code=1 if failed else 0)


def _approve_check(engine, ns) -> Outcome:
    from .check_kinds import describe

    item = engine.approve_check(_ref(ns), ns.approve)
    return Outcome(
        K.ASSUMPTION, item, f"approved the check of {item['id']}: {describe(item['check'])}"
    )
