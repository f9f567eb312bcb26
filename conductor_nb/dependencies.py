"""Dependencies between tracks: what a track waits on, what it blocks, what it relates to.

They live in track.json's context, as the schema has them: ``prerequisites`` (track ids
that must be done first), ``blocks`` (the tracks waiting on this one: the mirror of their
prerequisites, kept in step by ``depend``) and ``related_tracks`` (symmetric). Both
tracks of a change are written in one transaction, and a prerequisite that would close a
cycle is refused, naming the cycle.

A prerequisite is *done* when it is completed, or archived after a success (the rule
``analytics.outcomes`` applies to archived tracks). Until every prerequisite is done, a
track cannot become ready or active (``ready``, ``activate``, ``resume``, ``switch``):
``refuse_while_waiting`` is the check the lifecycle calls. ``--force`` does not bypass
it (it only makes room by pausing the active track): drop the dependency instead.
"""

from __future__ import annotations

from .errors import ConductorError, InvalidInput, WaitingOnPrerequisites, track_label
from .vocab import TrackStatus

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .store.registry import RegistryDoc
    from .store.tree import Transaction
    from .tracks import TrackDoc
    from .trackstore import TrackStore

__all__ = [
    "LINKS",
    "OPEN_STATUSES",
    "Dependencies",
    "is_done",
    "links_of",
    "pending_prerequisites",
    "refuse_while_waiting",
]

# The context lists, by the name users give them.
LINKS = {"prerequisites": "prerequisites", "blocks": "blocks", "related": "related_tracks"}
# Tracks still to be worked on (conflicts, next and the board look at these).
OPEN_STATUSES = ("draft", "ready", "active", "paused")
_GATED = (TrackStatus.READY, TrackStatus.ACTIVE)


def links_of(track: TrackDoc, key: str) -> list[str]:
    """A context list of track ids (``prerequisites``, ``blocks``, ``related_tracks``);
    anything that is not text is left out of the reading (and kept in the file)."""
    context = track.get("context")
    value = context.get(key) if isinstance(context, dict) else None
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def is_done(entry: dict[str, Any] | None, read_track: Callable[[], Any]) -> bool:
    """Whether a prerequisite (its registry entry; None: no such track) is done:
    completed, or archived after a success (``read_track()``: its track.json, read only
    for an archived one)."""
    if entry is None:
        return False
    status = entry.get("status")
    if status == TrackStatus.COMPLETED:
        return True
    if status != TrackStatus.ARCHIVED:
        return False
    from .analytics.outcomes import outcome_before_archiving  # the analytics' one rule

    try:
        doc = read_track()
    except ConductorError:
        doc = None  # unreadable: the registry entry's timestamps decide
    return outcome_before_archiving(doc, entry) == "completed"


def _state(entry: dict[str, Any] | None, done: bool) -> str:
    """A prerequisite's state in words, for messages."""
    if entry is None:
        return "which is not a track of this root"
    status = entry.get("status")
    if status == TrackStatus.ARCHIVED and not done:
        return "which was archived without success"
    return f"which is {status}"


def pending_prerequisites(
    store: TrackStore, registry: RegistryDoc, track: TrackDoc, txn: Transaction | None = None
) -> list[str]:
    """The prerequisites of ``track`` that are not done (ids, in the track's order)."""
    return [
        prereq
        for prereq in links_of(track, "prerequisites")
        if not is_done(registry.tracks.get(prereq), lambda p=prereq: store.read_track(p, txn))
    ]


def refuse_while_waiting(
    store: TrackStore,
    txn: Transaction,
    track: TrackDoc,
    verb: str,
    steps: list[tuple[TrackStatus, TrackStatus]],
) -> None:
    """Refuse a change that makes ``track`` ready or active while a prerequisite is not
    done, naming each one and how to go on."""
    if not any(target in _GATED for _, target in steps):
        return
    pending = pending_prerequisites(store, txn.registry, track, txn)
    if not pending:
        return
    named = []
    for prereq in pending:
        entry = txn.registry.tracks.get(prereq)
        named.append(f"{_label(entry, prereq)}, {_state(entry, False)}")
    track_id = track["track_id"]
    remove = f"conductor depend {track_id} --remove --on {pending[0]}"
    label = track_label(track_id, track.get("name"))
    change = f"make {label} ready" if verb == "ready" else f"{verb} {label}"
    raise WaitingOnPrerequisites(change, named, remove)


def _label(entry: dict[str, Any] | None, track_id: str) -> str:
    name = entry.get("name") if entry else None
    return track_label(track_id, name if isinstance(name, str) else None)


def _short(entry: dict[str, Any] | None, track_id: str) -> str:
    """A track in a cycle: its name, else its id."""
    name = entry.get("name") if entry else None
    return repr(name) if isinstance(name, str) and name else track_id


class Dependencies:
    """Prerequisites, blocks and related tracks of the tracks in a store."""

    def __init__(self, store: TrackStore) -> None:
        self.store = store
        self.tree = store.tree

    # -- changing them --------------------------------------------------------------------

    def depend(
        self,
        ref: str | None,
        *,
        on: str | None = None,
        related: str | None = None,
        remove: bool = False,
    ) -> dict[str, Any]:
        """``ref`` waits on ``on`` (whose blocks list ``ref``), or is related to
        ``related`` (both ways); ``remove`` takes the link away. Both tracks change in one
        transaction. Returns the track's dependencies, with ``changed``."""
        if (on is None) == (related is None):
            raise InvalidInput("give one other track: --on TRACK or --related TRACK")
        with self.tree.transaction() as txn:
            track_id = self.store.resolve(ref, txn.registry)
            track = self.store.load(txn, track_id)
            key = "prerequisites" if on is not None else "related_tracks"
            other_id = self._other(txn, on if on is not None else related, track, key, remove)
            mirror = "blocks" if on is not None else "related_tracks"
            if remove:
                self._unlink(track, key, other_id, txn.registry)
            elif on is not None:
                self._refuse_cycle(txn, track_id, other_id)
            changed = _set_link(track, key, other_id, present=not remove)
            if changed:
                self.store.save(txn, track)
            if other_id in txn.registry.tracks:
                other = self.store.load(txn, other_id)
                if _set_link(other, mirror, track_id, present=not remove):
                    self.store.save(txn, other)
                    changed = True
        return {**self.dependencies(track_id), "changed": changed}

    def _other(self, txn: Transaction, ref: str, track: TrackDoc, key: str, remove: bool) -> str:
        """The other track's id; removing, an id the list holds may name a track that no
        longer exists."""
        if remove and ref in links_of(track, key):
            return ref
        other_id = self.store.resolve(ref, txn.registry)
        if other_id == track["track_id"] and key == "related_tracks":
            raise InvalidInput("a track cannot be related to itself")
        return other_id  # waiting on itself is the smallest cycle: refused as one

    def _unlink(self, track: TrackDoc, key: str, other_id: str, registry: RegistryDoc) -> None:
        if other_id not in links_of(track, key):
            what = "wait on" if key == "prerequisites" else "relate to"
            other = _label(registry.tracks.get(other_id), other_id)
            raise InvalidInput(
                f"{_label(registry.tracks.get(track['track_id']), track['track_id'])} does not "
                f"{what} {other}",
                hint=f"see `conductor depend {track['track_id']}`",
            )

    def _refuse_cycle(self, txn: Transaction, track_id: str, other_id: str) -> None:
        """Refuse ``track_id`` waiting on ``other_id`` when ``other_id`` already waits
        (directly or through others) on ``track_id``."""
        path = self._path(txn, other_id, track_id)
        if path is None:
            return
        registry = txn.registry
        cycle = " -> ".join(_short(registry.tracks.get(t), t) for t in [track_id, *path])
        raise InvalidInput(
            f"{_label(registry.tracks.get(track_id), track_id)} cannot wait on "
            f"{_label(registry.tracks.get(other_id), other_id)}: that would close the cycle "
            f"{cycle} (each waits on the next)",
            hint="drop one of those dependencies first with `conductor depend TRACK --remove --on`",
        )

    def _path(self, txn: Transaction, start: str, goal: str) -> list[str] | None:
        """The tracks from ``start`` to ``goal`` following prerequisites, or None."""
        came_from: dict[str, str | None] = {start: None}
        queue = [start]
        while queue:
            current = queue.pop(0)
            if current == goal:
                path = [current]
                while came_from[path[-1]] is not None:
                    path.append(came_from[path[-1]])
                return path[::-1]
            if current not in txn.registry.tracks:
                continue
            for prereq in links_of(self.store.read_track(current, txn), "prerequisites"):
                if prereq not in came_from:
                    came_from[prereq] = current
                    queue.append(prereq)
        return None

    # -- reading them ---------------------------------------------------------------------

    def dependencies(self, ref: str | None) -> dict[str, Any]:
        """A track's prerequisites (each with its status and whether it is done), the
        tracks it blocks and its related tracks; ``waiting_on``: the ids not done."""
        registry = self.store.registry()
        track_id = self.store.resolve(ref, registry)
        track = self.store.read_track(track_id)
        entry = registry.tracks[track_id]
        listing: dict[str, Any] = {
            "track_id": track_id,
            "name": entry.get("name"),
            "status": entry.get("status"),
        }
        for name, key in LINKS.items():
            listing[name] = [self.describe(registry, other) for other in links_of(track, key)]
        listing["waiting_on"] = [p["track_id"] for p in listing["prerequisites"] if not p["done"]]
        return listing

    def describe(self, registry: RegistryDoc, track_id: str) -> dict[str, Any]:
        """A linked track as listings show it ("missing": not a track of this root)."""
        entry = registry.tracks.get(track_id)
        return {
            "track_id": track_id,
            "name": entry.get("name") if entry else None,
            "status": entry.get("status") if entry else "missing",
            "priority": entry.get("priority") if entry else None,
            "done": is_done(entry, lambda: self.store.read_track(track_id)),
        }

    def open_tracks(self, *, skip_damaged: bool = False) -> list[tuple[dict[str, Any], TrackDoc]]:
        """Every open track (draft, ready, active, paused): its registry entry and its
        track.json, oldest first (``skip_damaged``: leave out one that cannot be read,
        which ``validate`` reports, rather than refuse)."""
        registry = self.store.registry()
        found = []
        for track_id in registry.ids(status=list(OPEN_STATUSES)):
            try:
                found.append((registry.tracks[track_id], self.store.read_track(track_id)))
            except ConductorError:
                if not skip_damaged:
                    raise
        found.sort(key=lambda pair: (str(pair[0].get("created_at") or ""), pair[0]["track_id"]))
        return found

    def waiting(self) -> dict[str, list[dict[str, Any]]]:
        """Open tracks that wait on a prerequisite not done: track id -> those
        prerequisites (id, name, status). A track.json that cannot be read is left out
        (for the board, which must keep working: ``validate`` names it)."""
        registry = self.store.registry()
        blocked: dict[str, list[dict[str, Any]]] = {}
        for entry, track in self.open_tracks(skip_damaged=True):
            if entry.get("status") == TrackStatus.ACTIVE:
                continue  # already under way: nothing waits any more
            pending = pending_prerequisites(self.store, registry, track)
            if pending:
                blocked[entry["track_id"]] = [self.describe(registry, p) for p in pending]
        return blocked

    def graph(self, *, closed: bool = False) -> dict[str, Any]:
        """The dependencies of the open tracks (``closed``: of every track): nodes (id,
        name, status, priority, done) and edges (``from`` waits on ``to``)."""
        registry = self.store.registry()
        waiters = registry.ids() if closed else registry.ids(status=list(OPEN_STATUSES))
        edges = [
            {"from": track_id, "to": prereq}
            for track_id in waiters
            for prereq in links_of(self.store.read_track(track_id), "prerequisites")
        ]
        ids = sorted({e["from"] for e in edges} | {e["to"] for e in edges})
        return {"nodes": [self.describe(registry, t) for t in ids], "edges": edges}


def _set_link(track: TrackDoc, key: str, other_id: str, *, present: bool) -> bool:
    """Add or remove ``other_id`` in the track's context list; whether it changed."""
    context = track.setdefault("context", {})
    value = context.get(key)
    if value is not None and not isinstance(value, list):
        raise InvalidInput(
            f"{track['track_id']}'s context.{key} is not a list of track ids; fix track.json"
        )
    items = list(value or [])
    if present == (other_id in items):
        return False
    context[key] = [*items, other_id] if present else [i for i in items if i != other_id]
    return True
