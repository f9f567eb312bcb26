"""Track ids of an import: a new id for each one already taken in the root, and the
references to it inside the imported files rewritten to match.

A track names other tracks in ``context.prerequisites``, ``context.blocks``,
``context.related_tracks`` and ``parent_track``; a workflow run names its track in
``track_id`` and a parent run's track in ``parent_track_id``. Files that name no
renamed track keep their bytes exactly.
"""

from __future__ import annotations

import json
import re

from ..checkpoint_format import RUN_FILE_RE
from ..store import files
from ..store.paths import TRACK_ID_RE

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

__all__ = ["LIST_REFERENCES", "new_ids", "rewrite_file", "rewrite_track"]

LIST_REFERENCES = ("prerequisites", "blocks", "related_tracks")  # in track.json's context
_MILLIS_TAIL = re.compile(r"-[0-9]+$")


def new_ids(imported: Iterable[str], taken: Callable[[str], bool], millis: int) -> dict[str, str]:
    """{old id: new id} for each imported id that ``taken`` says is in use. A new id keeps
    the old one's name part and ends in ``millis`` (as ``create`` makes them), counted
    up until free, and never equal to another imported id."""
    imported = list(imported)
    reserved = set(imported)
    mapping: dict[str, str] = {}
    for old in imported:
        if not taken(old):
            continue
        stem = _MILLIS_TAIL.sub("", old)[:130]
        stamp = millis
        while True:
            candidate = f"{stem}-{stamp}"
            usable = TRACK_ID_RE.fullmatch(candidate) and candidate not in reserved
            if usable and not taken(candidate):
                break
            stamp += 1
        mapping[old] = candidate
        reserved.add(candidate)
    return mapping


def rewrite_track(track: dict[str, Any], mapping: dict[str, str]) -> bool:
    """Rename the track and its references in ``track`` (in place); whether it changed."""
    changed = _swap(track, "track_id", mapping)
    changed |= _swap(track, "parent_track", mapping)
    context = track.get("context")
    if isinstance(context, dict):
        for key in LIST_REFERENCES:
            items = context.get(key)
            if isinstance(items, list):
                renamed = [mapping.get(i, i) if isinstance(i, str) else i for i in items]
                if renamed != items:
                    context[key] = renamed
                    changed = True
    return changed


def rewrite_file(relative: str, data: bytes, mapping: dict[str, str]) -> bytes:
    """A track file with renamed tracks' ids replaced (the same bytes when it names none,
    or when it is not JSON a reference could be in)."""
    if not mapping or not (relative == "track.json" or RUN_FILE_RE.fullmatch(relative)):
        return data
    try:
        doc = json.loads(data)
    except ValueError:
        return data  # an unreadable file is imported as it is, for `conductor repair`
    if not isinstance(doc, dict):
        return data
    if relative == "track.json":
        changed = rewrite_track(doc, mapping)
    else:
        changed = _swap(doc, "track_id", mapping) | _swap(doc, "parent_track_id", mapping)
    return files.dumps(doc).encode("utf-8") if changed else data


def _swap(doc: dict[str, Any], key: str, mapping: dict[str, str]) -> bool:
    value = doc.get(key)
    if isinstance(value, str) and value in mapping:
        doc[key] = mapping[value]
        return True
    return False
