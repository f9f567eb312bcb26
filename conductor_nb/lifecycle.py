"""The track state machine as data, and the pure rules that read it (no I/O here).

The table is the seed's: draft->ready|cancelled, ready->active|cancelled,
active->paused|completed|failed, paused->active|failed|cancelled, completed->archived,
failed->draft|cancelled, cancelled->archived; archived is terminal.
"""

from __future__ import annotations

from collections import namedtuple  # not dataclasses: it imports inspect (~15 ms)

from .errors import InvalidTransition
from .vocab import TrackStatus as S

__all__ = ["ACTIONS", "STAMPS", "TRANSITIONS", "VERBS_FROM", "Action", "plan", "transition_verbs"]

TRANSITIONS: dict[S, frozenset[S]] = {
    S.DRAFT: frozenset({S.READY, S.CANCELLED}),
    S.READY: frozenset({S.ACTIVE, S.CANCELLED}),
    S.ACTIVE: frozenset({S.PAUSED, S.COMPLETED, S.FAILED}),
    S.PAUSED: frozenset({S.ACTIVE, S.FAILED, S.CANCELLED}),
    S.COMPLETED: frozenset({S.ARCHIVED}),
    S.FAILED: frozenset({S.DRAFT, S.CANCELLED}),
    S.CANCELLED: frozenset({S.ARCHIVED}),
    S.ARCHIVED: frozenset(),
}


class Action(namedtuple("Action", "verb target sources")):
    """A user verb: the status it leads to (``target``) and the statuses it starts from
    (``sources``)."""

    __slots__ = ()


def _action(verb: str, target: S, *sources: S) -> Action:
    for source in sources:  # the verb table can never disagree with the transition table
        assert target in TRANSITIONS[source], (verb, source, target)
    return Action(verb, target, frozenset(sources))


ACTIONS: dict[str, Action] = {
    a.verb: a
    for a in (
        _action("ready", S.READY, S.DRAFT),
        # activate also resumes a paused track; a draft goes through ready in the same step.
        _action("activate", S.ACTIVE, S.READY, S.PAUSED),
        _action("pause", S.PAUSED, S.ACTIVE),
        _action("resume", S.ACTIVE, S.PAUSED),
        _action("complete", S.COMPLETED, S.ACTIVE),
        _action("fail", S.FAILED, S.ACTIVE, S.PAUSED),
        _action("cancel", S.CANCELLED, S.DRAFT, S.READY, S.PAUSED, S.FAILED),
        _action("archive", S.ARCHIVED, S.COMPLETED, S.CANCELLED),
        _action("retry", S.DRAFT, S.FAILED),
    )
}

# Verbs that lead from each status (for buttons, completion and error messages).
VERBS_FROM: dict[S, list[str]] = {
    status: [a.verb for a in ACTIONS.values() if status in a.sources] for status in S
}
VERBS_FROM[S.DRAFT].insert(1, "activate")  # draft -> ready -> active in one step

# The verb that reaches each target status in one step, and the order in which a status's
# transitions are offered (moving forward first, ending last).
_VERB_TO: dict[S, str] = {
    S.READY: "ready",
    S.ACTIVE: "activate",
    S.PAUSED: "pause",
    S.COMPLETED: "complete",
    S.DRAFT: "retry",
    S.FAILED: "fail",
    S.CANCELLED: "cancel",
    S.ARCHIVED: "archive",
}


def transition_verbs(status: str) -> list[str]:
    """One verb per transition the table allows from ``status``, in the order a board
    offers them (paused -> active reads as "resume"). Unknown statuses offer nothing."""
    try:
        current = S(status)
    except ValueError:
        return []
    return [
        "resume" if current is S.PAUSED and target is S.ACTIVE else verb
        for target, verb in _VERB_TO.items()
        if target in TRANSITIONS[current]
    ]


# Timestamp fields each target status stamps in track.json (the schema's, plus ours).
STAMPS: dict[S, str] = {
    S.READY: "ready_at",
    S.PAUSED: "paused_at",
    S.COMPLETED: "completed_at",
    S.FAILED: "failed_at",
    S.CANCELLED: "cancelled_at",
    S.ARCHIVED: "archived_at",
}


def plan(track_id: str, status: str, verb: str, name: str | None = None) -> list[tuple[S, S]]:
    """Return the transitions ``verb`` makes from ``status``, or raise InvalidTransition
    (naming the track by ``name`` and id)."""
    action = ACTIONS[verb]
    current = S(status)
    if verb == "activate" and current is S.DRAFT:
        return [(S.DRAFT, S.READY), (S.READY, S.ACTIVE)]
    if current not in action.sources:
        raise InvalidTransition(track_id, current, verb, VERBS_FROM[current], name)
    return [(current, action.target)]
