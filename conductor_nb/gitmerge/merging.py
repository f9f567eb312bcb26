"""How each document of a root merges (pure functions on parsed JSON, no I/O).

- **track.json**, field by field (``threeway``): ``history`` is the union of both sides'
  events in time order; ``steps`` merge step by step (by ``step_id``); ``updated_at`` and
  every other ``*_at`` stamp take the later time, and ``metrics`` (durations computed at
  each write) the later side's; anything else both sides changed to different values is
  a conflict. Progress is recomputed when both sides changed steps.
- **decisions.json / assumptions.json**, item by item (by ``id``), in time order; an item
  each side added under the same id (both wrote ``decision-4``) is kept twice, theirs
  under the next free number.
- **the registry**, entry by entry: an entry added on one side is kept, one deleted on one
  side and unchanged on the other is deleted; an entry both changed merges field by
  field, a field both changed taking the newer entry's value (its track.json merge
  reports a real conflict). ``metadata`` counts are recomputed from the merged entries
  and ``active_track`` is the one active entry. Two active entries (each side made a
  different track active) are a conflict: the newer stays ``active_track`` and
  ``conductor repair`` pauses the other (track.json included).
"""

from __future__ import annotations

import json

from .threeway import MISSING, Merge, later

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["merge_notes", "merge_registry", "merge_track"]


# -- lists of items with ids -----------------------------------------------------------


def _id_of(item: Any, key: str) -> str | None:
    value = item.get(key) if isinstance(item, dict) else None
    return value if isinstance(value, str) and value else None


def _identity(item: Any) -> str:
    return json.dumps(item, sort_keys=True, ensure_ascii=False)


def _renumbered(item_id: str, taken: set[str]) -> str:
    """The next free ``<prefix>N`` after the highest taken one (``decision-7``)."""
    prefix = item_id.rstrip("0123456789")
    numbers = [
        int(t[len(prefix) :]) for t in taken if t.startswith(prefix) and t[len(prefix) :].isdigit()
    ]
    return f"{prefix}{max(numbers, default=0) + 1}"


def merge_items(
    merge: Merge, base: Any, ours: list, theirs: list, key: str, path: str, sort: Any = None
) -> list:
    """Items merged by their ``key``, the same whichever side is ours: those of the base
    in its order (each merged three-way, a removal on one side taken), then every item
    added, in the order of ``sort`` (an item's key for ordering), then content. An id
    both sides added with different items keeps the first and the other takes the next
    free number. Items without an id are kept once each."""
    base = _list(base)
    base_by = {i: item for item in base if (i := _id_of(item, key))}
    sides = [{i: item for item in side if (i := _id_of(item, key))} for side in (ours, theirs)]
    merged: list = []
    for item_id, item in base_by.items():
        o, t = (side.get(item_id, MISSING) for side in sides)
        value = merge.value(item, o, t, f"{path}[{item_id}]")
        if value is not MISSING:
            merged.append(value)
    known = {_identity(item) for item in base}
    added: dict[str, Any] = {}
    for item in [*ours, *theirs]:
        if _id_of(item, key) not in base_by and _identity(item) not in known:
            added[_identity(item)] = item  # once each (both sides may add the same)
    ordered = sorted(added.items(), key=lambda pair: (_order(sort, pair[1]), pair[0]))
    unkeyed = [item for item in base if _id_of(item, key) is None]
    merged[:0] = [i for i in unkeyed if i in ours and i in theirs]
    taken = {i for item in merged if (i := _id_of(item, key))}
    taken |= {i for _, item in ordered if (i := _id_of(item, key))}
    claimed: set[str] = set()
    for _, item in ordered:
        item_id = _id_of(item, key)
        if item_id is not None and item_id in claimed:
            item = {**item, key: _renumbered(item_id, taken)}
            taken.add(item[key])
        claimed.add(item_id or "")
        merged.append(item)
    return merged


def _order(sort: Any, item: Any) -> str:
    return str(sort(item)) if sort is not None and isinstance(item, dict) else ""


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _in_time_order(items: list, field: str) -> list:
    """Sorted by a time stamp, then content (so both merge directions agree)."""
    return sorted(
        items,
        key=lambda i: (str(i.get(field) or "") if isinstance(i, dict) else "", _identity(i)),
    )


# -- the documents ---------------------------------------------------------------------


def merge_notes(base: Any, ours: list, theirs: list, prefer: str = "ours") -> tuple[list, Merge]:
    """decisions.json or assumptions.json."""
    merge = Merge(prefer)
    merge.rules.update(_stamp_rules(ours, theirs, item=True))
    items = merge_items(merge, base, ours, theirs, "id", "", _timestamp)
    return _in_time_order(items, "timestamp"), merge


def _timestamp(item: dict[str, Any]) -> str:
    return str(item.get("timestamp") or "")


def _history(base: Any, ours: Any, theirs: Any, path: str) -> Any:
    if not isinstance(ours, list) or not isinstance(theirs, list):
        return ours
    known = {_identity(event) for event in ours}
    extra = [event for event in theirs if _identity(event) not in known]
    return _in_time_order([*ours, *extra], "at")


def _later(base: Any, ours: Any, theirs: Any, path: str) -> Any:
    return later(ours, theirs)


def _stamp_rules(ours: Any, theirs: Any, *, item: bool = False) -> dict[str, Any]:
    """``*_at`` stamps take the later time (top-level keys, or each list item's keys)."""
    docs = [d for d in (ours, theirs) if isinstance(d, dict)]
    if item:
        docs = [i for d in (ours, theirs) if isinstance(d, list) for i in d if isinstance(i, dict)]
        return {
            f"[{i['id']}].{k}": _later
            for i in docs
            if isinstance(i.get("id"), str)
            for k in i
            if k.endswith("_at")
        }
    return {k: _later for d in docs for k in d if k.endswith("_at")}


def merge_track(base: Any, ours: dict, theirs: dict, prefer: str = "ours") -> tuple[dict, Merge]:
    """track.json."""
    base = base if isinstance(base, dict) else {}
    merge = Merge(prefer)
    merge.rules.update(_stamp_rules(ours, theirs))
    merge.rules["history"] = _history
    steps_both = base.get("steps") != ours.get("steps") and base.get("steps") != theirs.get("steps")

    def steps(b: Any, o: Any, t: Any, path: str) -> Any:
        if not isinstance(o, list) or not isinstance(t, list):
            return merge.plain(b, o, t, path)
        merged = merge_items(merge, b, o, t, "step_id", path, _step_order)
        if steps_both:  # each step's "order" is its place
            merged = [
                {**step, "order": n} if isinstance(step, dict) and "order" in step else step
                for n, step in enumerate(merged)
            ]
        return merged

    def progress(b: Any, o: Any, t: Any, path: str) -> Any:
        return o if steps_both else merge.plain(b, o, t, path)  # recomputed below

    merge.rules["steps"] = steps
    merge.rules["progress"] = progress
    merge.rules["metrics"] = _metrics_rule(ours, theirs)
    doc = merge.dict(base, ours, theirs)
    if steps_both and isinstance(doc.get("steps"), list):
        from ..tracks import recompute_progress  # datetime: only when steps merged

        recompute_progress(doc)
    return doc, merge


def _metrics_rule(ours: dict, theirs: dict) -> Any:
    """``metrics`` hold durations computed when the track was written (up to that
    moment), so two sides that both wrote the track (both paused it) differ there
    without disagreeing: the side written later (``updated_at``; then the figures
    themselves, so both clones merge alike) gives them."""

    def rule(b: Any, o: Any, t: Any, path: str) -> Any:
        if o == t or t == b:
            return o
        if o == b:
            return t
        mine = (str(ours.get("updated_at") or ""), repr(o))
        other = (str(theirs.get("updated_at") or ""), repr(t))
        return o if mine >= other else t

    return rule


def _step_order(step: dict[str, Any]) -> str:
    order = step.get("order")
    return f"{order:09d}" if isinstance(order, int) and order >= 0 else str(order)


def merge_registry(base: Any, ours: dict, theirs: dict) -> tuple[dict, list[str]]:
    """The registry, and what is in conflict (each a line for the report)."""
    base = base if isinstance(base, dict) else {}
    tracks = _merge_entries(_tracks(base), _tracks(ours), _tracks(theirs))
    top = Merge("ours")
    doc: dict[str, Any] = {}
    for key in [*ours, *(k for k in theirs if k not in ours)]:
        if key == "tracks":
            doc[key] = tracks
        elif key in ("metadata", "active_track"):
            doc[key] = None  # computed from the entries below, in this place
        else:
            value = top.value(base.get(key, MISSING), ours.get(key, MISSING), theirs.get(key))
            if value is not MISSING:
                doc[key] = value
    active = sorted(
        (tid for tid, e in tracks.items() if isinstance(e, dict) and e.get("status") == "active"),
        key=lambda tid: str(tracks[tid].get("updated_at") or ""),
    )
    doc["active_track"] = active[-1] if active else None
    doc["metadata"] = _metadata(ours, theirs, tracks)
    conflicts = [str(c) for c in top.conflicts]
    if len(active) > 1:
        conflicts.append(
            f"both sides made a track active: {', '.join(active)}; {active[-1]} (the newer) "
            "stays active_track: run `conductor repair` to pause the other, then `git add`"
        )
    return doc, conflicts


def _tracks(doc: dict) -> dict[str, Any]:
    tracks = doc.get("tracks")
    return tracks if isinstance(tracks, dict) else {}


def _merge_entries(base: dict, ours: dict, theirs: dict) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for track_id in [*ours, *(t for t in theirs if t not in ours)]:
        b, o, t = (side.get(track_id, MISSING) for side in (base, ours, theirs))
        if o is MISSING or t is MISSING:
            kept = t if o is MISSING else o
            if b is MISSING or kept != b:  # added on one side, or changed there: kept
                merged[track_id] = kept
            continue
        if not isinstance(o, dict) or not isinstance(t, dict):
            merged[track_id] = o
            continue
        # the newer side settles a field both changed (ties: by content, so both
        # directions of a merge agree)
        newer = "theirs" if (_stamp(t), _identity(t)) > (_stamp(o), _identity(o)) else "ours"
        entry_merge = Merge(newer, report=False)
        entry_merge.rules.update(_stamp_rules(o, t))
        merged[track_id] = entry_merge.dict(b if isinstance(b, dict) else {}, o, t)
    return merged


def _stamp(entry: dict[str, Any]) -> str:
    return str(entry.get("updated_at") or "")


def _metadata(ours: dict, theirs: dict, tracks: dict[str, Any]) -> dict[str, Any]:
    """The counts recomputed from the merged entries (as the registry's writer does)."""
    mine = ours.get("metadata") if isinstance(ours.get("metadata"), dict) else {}
    other = theirs.get("metadata") if isinstance(theirs.get("metadata"), dict) else {}
    metadata = {**other, **mine}
    statuses = [e.get("status") for e in tracks.values() if isinstance(e, dict)]
    metadata["total_tracks"] = len(tracks)
    metadata["active_count"] = statuses.count("active")
    metadata["completed_count"] = statuses.count("completed")
    last = later(mine.get("last_updated", MISSING), other.get("last_updated", MISSING))
    metadata["last_updated"] = None if last is MISSING else last
    return metadata
