"""``conductor next``: what to work on, and why.

The candidates are the open tracks that are not active and whose prerequisites are all
done. They rank, in this order:

1. status: ready tracks first, then paused ones (started once: the user may resume
   them), then drafts (``activate`` takes a draft through ready);
2. priority: P0 first (a track without one comes after P3);
3. how many open tracks wait on it directly (it unblocks them): more first;
4. age: the track created first comes first;
5. its id, so that equal tracks always rank the same way.

The first is the proposal. With none, the answer says why: which tracks wait, and on
what.
"""

from __future__ import annotations

from .dependencies import links_of, pending_prerequisites
from .errors import track_label
from .tracks import parse_time
from .vocab import Priority, TrackStatus

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from datetime import datetime
    from typing import Any

    from .dependencies import Dependencies
    from .trackstore import TrackStore

__all__ = ["STATUS_ORDER", "Planning", "rank_key"]

STATUS_ORDER = {TrackStatus.READY: 0, TrackStatus.PAUSED: 1, TrackStatus.DRAFT: 2}
_PRIORITY_ORDER = {p.value: rank for rank, p in enumerate(Priority)}
_DAY_MS = 86_400_000


def rank_key(row: dict[str, Any]) -> tuple:
    """The order of candidates (see the module's docstring)."""
    return (
        STATUS_ORDER.get(row["status"], 9),
        _PRIORITY_ORDER.get(row.get("priority"), len(_PRIORITY_ORDER)),
        -row["unblocks"],
        row.get("created_at") or "",
        row["track_id"],
    )


def _age_days(created_at: Any, now: datetime) -> float | None:
    created = parse_time(created_at)
    if created is None:
        return None
    return round((now - created).total_seconds() * 1000 / _DAY_MS, 1)


def _why(row: dict[str, Any]) -> str:
    parts = [str(row.get("priority") or "no priority"), row["status"]]
    if row["unblocks"]:
        parts.append(f"unblocks {row['unblocks']} track{'s' if row['unblocks'] != 1 else ''}")
    age = row["age_days"]
    if age is not None:
        days = int(age)
        parts.append(f"created {days} day{'s' if days != 1 else ''} ago" if days else "new today")
    return ", ".join(parts)


class Planning:
    """What to work on next among the tracks of a store."""

    def __init__(self, store: TrackStore, dependencies: Dependencies) -> None:
        self.store = store
        self.dependencies = dependencies

    def propose(self) -> dict[str, Any]:
        """The ranking of the tracks that can start (``ranking``, best first; the first is
        ``proposal``), the tracks that wait (``waiting``), the ``active`` track, and
        ``reason``: the proposal and why, or why there is none."""
        registry = self.store.registry()
        opened = self.dependencies.open_tracks()
        waiters: dict[str, int] = {}
        for _, track in opened:
            for prereq in set(links_of(track, "prerequisites")):
                waiters[prereq] = waiters.get(prereq, 0) + 1
        active, ranking, waiting = None, [], []
        for entry, track in opened:
            row = self._row(entry, waiters.get(entry["track_id"], 0))
            pending = pending_prerequisites(self.store, registry, track)
            if row["status"] == TrackStatus.ACTIVE:
                active = row
            elif pending:
                row["waiting_on"] = [self.dependencies.describe(registry, p) for p in pending]
                waiting.append(row)
            else:
                row["why"] = _why(row)
                ranking.append(row)
        ranking.sort(key=rank_key)
        for number, row in enumerate(ranking, 1):
            row["rank"] = number
        proposal = ranking[0] if ranking else None
        reason = _proposal_text(proposal, active) if proposal else _nothing_text(waiting, active)
        return {
            "proposal": proposal,
            "ranking": ranking,
            "waiting": waiting,
            "active": active,
            "reason": reason,
        }

    def _row(self, entry: dict[str, Any], unblocks: int) -> dict[str, Any]:
        return {
            "track_id": entry["track_id"],
            "name": entry.get("name"),
            "status": entry.get("status"),
            "priority": entry.get("priority"),
            "unblocks": unblocks,
            "created_at": entry.get("created_at"),
            "age_days": _age_days(entry.get("created_at"), self.store.now()),
        }


def _command(row: dict[str, Any], active: dict[str, Any] | None) -> str:
    if active is not None:
        return f"conductor switch --to {row['track_id']}"
    verb = "resume" if row["status"] == TrackStatus.PAUSED else "activate"
    return f"conductor {verb} {row['track_id']}"


def _proposal_text(row: dict[str, Any], active: dict[str, Any] | None) -> str:
    lines = [
        f"next: {track_label(row['track_id'], row['name'])}",
        f"  why: {row['why']}",
        f"  start it: {_command(row, active)}",
    ]
    if active is not None:
        lines.append(f"  active now: {track_label(active['track_id'], active['name'])}")
    return "\n".join(lines)


def _nothing_text(waiting: list[dict[str, Any]], active: dict[str, Any] | None) -> str:
    """Why nothing can start: the tracks that hold the others up, busiest first."""
    now = f"; {track_label(active['track_id'], active['name'])} is active" if active else ""
    if not waiting:
        return f"nothing to start: no ready, paused or draft track{now}"
    holders: dict[str, tuple[dict[str, Any], int]] = {}
    for row in waiting:
        for prereq in row["waiting_on"]:
            seen = holders.get(prereq["track_id"], (prereq, 0))
            holders[prereq["track_id"]] = (prereq, seen[1] + 1)
    lines = [f"nothing to start: every open track waits on another{now}"]
    for prereq, count in sorted(holders.values(), key=lambda pair: (-pair[1], pair[0]["track_id"])):
        label = track_label(prereq["track_id"], prereq["name"])
        plural = "tracks are" if count != 1 else "track is"
        lines.append(f"  {count} {plural} waiting on {label}, which is {prereq['status']}")
    return "\n".join(lines)
