"""What a command produced: ``Outcome``, and ``OutcomeKind``, what its data holds.

Each renderer (the terminal's in ``render``, the notebook's in ``notebook.magics``) maps
every kind, and a test checks that none is missing: a new kind cannot fall through.
"""

from __future__ import annotations

from enum import StrEnum

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

__all__ = ["MESSAGE_KINDS", "Outcome", "OutcomeKind"]


class OutcomeKind(StrEnum):
    """What an outcome's ``data`` holds."""

    # tracks
    TRACK = "track"  # one track in full (None: no track is active)
    ENTRY = "entry"  # one registry entry (None: no track is active)
    ENTRIES = "entries"  # registry entries
    BOARD = "board"  # registry entries, with the board's filters in ``extra``
    TREE = "tree"  # registry entries in tree order, with depth, parent and family progress
    TEMPLATES = "templates"  # the track templates: name, where from, type, steps
    STATS = "stats"
    ANALYTICS = "analytics"  # the summary; the Analytics object in ``extra``
    # lists of one track's records
    DECISIONS = "decisions"
    ASSUMPTIONS = "assumptions"
    STEPS = "steps"
    RUNS = "runs"
    ARTIFACTS = "artifacts"
    CHECKPOINTS = "checkpoints"
    # findings, with a one-line summary
    PROBLEMS = "problems"
    DAMAGE = "damage"
    INTERRUPTED = "interrupted"
    CHECKS = "checks"  # what assumptions' checks found: result, expected, found, status
    # one change (or one record), which the message says in a line
    DECISION = "decision"
    ASSUMPTION = "assumption"
    STEP = "step"
    RUN = "run"
    ARTIFACT = "artifact"
    CHECKPOINT = "checkpoint"
    RESTORED = "restored"
    PRUNED = "pruned"
    RECOVERED = "recovered"
    DEMO = "demo"
    ROOT = "root"  # the root in use and how it was found
    # documents
    DIFF = "diff"
    ACTIONS = "actions"  # lines of what maintenance did
    CONTEXT = "context"
    PROJECT = "project"
    SCHEMA = "schema"
    # dependencies between tracks, and what to do next (``message``: the text)
    DEPENDENCIES = "dependencies"  # a track's prerequisites, blocks and related tracks
    CONFLICTS = "conflicts"  # pairs of open tracks whose targets overlap
    NEXT = "next"  # the ranking of what can start, and what waits
    GRAPH = "graph"  # the dependency graph: nodes and edges
    REPORT = "report"  # a track's report: its facts; the TrackReport in ``extra``
    # notebook memory
    CELLS = "cells"  # a track's recorded notebook cells (or a notebook's recording switched)
    PEEK = "peek"  # another track, read-only: track, decisions, checkpoints, diff
    # bundles: tracks moved between roots (``message``: what was written or imported)
    EXPORTED = "exported"
    IMPORTED = "imported"
    # lifecycle hooks (``message``: the listing and whether this machine trusts them)
    HOOKS = "hooks"
    # format versions: what `migrate` changed, or would (one row per field)
    MIGRATION = "migration"
    # estimates and forecasts (``message``: the estimate set, or the forecast in a line)
    ESTIMATE = "estimate"
    FORECAST = "forecast"


# Kinds of a single change whose one-line message says it all (``data`` keeps the
# details for --json and for notebook code).
MESSAGE_KINDS = frozenset(
    {
        OutcomeKind.DECISION,
        OutcomeKind.ASSUMPTION,
        OutcomeKind.STEP,
        OutcomeKind.RUN,
        OutcomeKind.ARTIFACT,
        OutcomeKind.CHECKPOINT,
        OutcomeKind.RESTORED,
        OutcomeKind.PRUNED,
        OutcomeKind.RECOVERED,
        OutcomeKind.DEMO,
        OutcomeKind.ROOT,
        OutcomeKind.EXPORTED,
        OutcomeKind.IMPORTED,
        OutcomeKind.HOOKS,
        OutcomeKind.ESTIMATE,
        OutcomeKind.FORECAST,
    }
)


class Outcome:
    """What a command produced: ``data`` (JSON-ready, what --json prints), a one-line
    ``message``, the exit code, and ``extra`` facts for renderers."""

    __slots__ = ("data", "exit_code", "extra", "kind", "message")

    def __init__(
        self,
        kind: OutcomeKind | str,
        data: Any,
        message: str | None = None,
        exit_code: int = 0,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.kind = OutcomeKind(kind)  # an unknown kind fails here, not in a renderer
        self.data = data
        self.message = message
        self.exit_code = exit_code
        self.extra = extra or {}

    def __repr__(self) -> str:
        return f"Outcome({self.kind.value!r}, message={self.message!r}, exit_code={self.exit_code})"
