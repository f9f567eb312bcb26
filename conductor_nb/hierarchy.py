"""Sub-tracks as data: who is whose parent, the tree they form, and a family's progress.

A track names its parent in ``parent_track`` (in track.json and, mirrored, in its
registry entry); everything here reads registry entries only, so the tree of 10,000
tracks costs one pass over the registry. A parent that no longer exists makes its
child a top-level track, and a loop written by hand is cut where it closes: nothing
here can recurse for ever.

The family progress of a track (the rule ``list --tree``, ``show``, the board and the
panel use): each of its own steps counts one, each child counts one, weighted by that
child's own family progress (0 to 1); a completed or archived child counts as done, a
cancelled one is left out. A track without children keeps its own progress.
"""

from __future__ import annotations

from .errors import InvalidInput, track_label
from .vocab import TrackStatus

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

    Entries = Mapping[str, dict[str, Any]]

__all__ = [
    "OPEN_STATUSES",
    "PARENT_FIELD",
    "ancestors",
    "children_of",
    "family_progress",
    "open_children",
    "parent_of",
    "refuse_cycle",
    "refuse_open_children",
    "tree_order",
]

PARENT_FIELD = "parent_track"
# A child in one of these still has work to do: its parent cannot complete.
OPEN_STATUSES = frozenset(
    {TrackStatus.DRAFT, TrackStatus.READY, TrackStatus.ACTIVE, TrackStatus.PAUSED}
)
_DONE = frozenset({TrackStatus.COMPLETED, TrackStatus.ARCHIVED})


def parent_of(tracks: Entries, track_id: str) -> str | None:
    """The parent's id, if the entry names one that exists (else it is top-level)."""
    known = getattr(tracks, "parents", None)  # a registry read with its index: no decoding
    if known is not None:
        parent = known.get(track_id)
    else:
        parent = (tracks.get(track_id) or {}).get(PARENT_FIELD)
    if isinstance(parent, str) and parent in tracks and parent != track_id:
        return parent
    return None


def children_of(tracks: Entries) -> dict[str, list[str]]:
    """Parent id -> its children's ids, in registry order."""
    children: dict[str, list[str]] = {}
    for track_id in tracks:
        parent = parent_of(tracks, track_id)
        if parent is not None:
            children.setdefault(parent, []).append(track_id)
    return children


def ancestors(tracks: Entries, track_id: str) -> list[str]:
    """The parent, its parent, and so on up (stopping where a loop would close)."""
    chain: list[str] = []
    parent = parent_of(tracks, track_id)
    while parent is not None and parent != track_id and parent not in chain:
        chain.append(parent)
        parent = parent_of(tracks, parent)
    return chain


def refuse_cycle(tracks: Entries, track_id: str, parent_id: str) -> None:
    """Making ``parent_id`` the parent of ``track_id`` must not make a track its own
    ancestor."""
    if parent_id == track_id or track_id in ancestors(tracks, parent_id):
        raise InvalidInput(
            f"{_label(tracks, parent_id)} cannot be the parent of {_label(tracks, track_id)}: "
            f"{'it is that track' if parent_id == track_id else 'it is one of its sub-tracks'}"
            " (a track cannot be its own ancestor)"
        )


def open_children(tracks: Entries, track_id: str) -> list[str]:
    """The children still open (draft, ready, active, paused)."""
    return [
        child
        for child in children_of(tracks).get(track_id, [])
        if tracks[child].get("status") in OPEN_STATUSES
    ]


# What a refusal over open sub-tracks tells to do, per verb the parent waits for.
_CLOSE_CHILDREN_FIRST = {
    "complete": "complete, fail or cancel them first",
    "cancel": "cancel them first, then the parent",
    "archive": "cancel them first, then archive the parent",
}


def refuse_open_children(tracks: Entries, track_id: str, verb: str = "complete") -> None:
    """A parent completes, is cancelled or archived only when every child is completed,
    failed, cancelled or archived (so no open sub-track is left under a closed parent)."""
    still_open = open_children(tracks, track_id)
    if still_open:
        named = ", ".join(f"{_label(tracks, c)} [{tracks[c].get('status')}]" for c in still_open)
        raise InvalidInput(
            f"{_label(tracks, track_id)} cannot {verb}: its sub-tracks are still open: {named}",
            hint=_CLOSE_CHILDREN_FIRST[verb],
        )


def tree_order(
    entries: Iterable[dict[str, Any]], tracks: Entries | None = None
) -> list[tuple[dict[str, Any], int]]:
    """``entries`` with each child right after its parent (and the parent's earlier
    children), with its depth; the order among siblings is the order given. A child whose
    parent is not among ``entries`` (filtered out) stays where it is, at depth 0."""
    entries = list(entries)
    given = {entry["track_id"]: entry for entry in entries}
    tracks = tracks if tracks is not None else given
    kids: dict[str, list[str]] = {}
    roots: list[str] = []
    for track_id in given:
        parent = parent_of(tracks, track_id)
        if parent in given and not _in_loop(tracks, track_id):
            kids.setdefault(parent, []).append(track_id)
        else:
            roots.append(track_id)
    ordered: list[tuple[dict[str, Any], int]] = []
    seen: set[str] = set()
    stack = [(track_id, 0) for track_id in reversed(roots)]
    while stack:
        track_id, depth = stack.pop()
        if track_id in seen:
            continue
        seen.add(track_id)
        ordered.append((given[track_id], depth))
        stack.extend((child, depth + 1) for child in reversed(kids.get(track_id, [])))
    return ordered


def family_progress(tracks: Entries) -> dict[str, float]:
    """Track id -> its family progress in percent (see the module's rule), for every
    track with children; tracks without children are not in it (their own progress
    stands)."""
    children = children_of(tracks)
    fractions: dict[str, float] = {}

    def fraction(track_id: str, path: frozenset[str]) -> float:
        if track_id in fractions:
            return fractions[track_id]
        progress = tracks[track_id].get("progress") or {}
        total = _number(progress.get("total_steps"))
        # whole steps: the stored percentage is rounded (16.7 of 6 steps is 1 step)
        done = float(round(_number(progress.get("percentage")) / 100 * total))
        for child in children.get(track_id, []):
            status = tracks[child].get("status")
            if status == TrackStatus.CANCELLED or child in path:
                continue
            total += 1
            done += 1 if status in _DONE else fraction(child, path | {child})
        value = done / total if total else (1.0 if tracks[track_id].get("status") in _DONE else 0)
        fractions[track_id] = value
        return value

    return {parent: round(100 * fraction(parent, frozenset({parent})), 1) for parent in children}


def _in_loop(tracks: Entries, track_id: str) -> bool:
    """Whether following parents from ``track_id`` comes back to it (a hand edit)."""
    seen: set[str] = set()
    parent = parent_of(tracks, track_id)
    while parent is not None and parent not in seen:
        if parent == track_id:
            return True
        seen.add(parent)
        parent = parent_of(tracks, parent)
    return False


def _number(value: Any) -> float:
    try:
        return max(0.0, float(value or 0))
    except (TypeError, ValueError):
        return 0.0


def _label(tracks: Entries, track_id: str) -> str:
    name = (tracks.get(track_id) or {}).get("name")
    return track_label(track_id, name if isinstance(name, str) else None)
