"""Which tracks a board shows: the one rule for ``conductor board`` and the notebook's
board (the widget filters the entries it has read, the CLI the entries it lists)."""

from __future__ import annotations

from collections.abc import Iterable

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

__all__ = ["search_key", "select"]


def search_key(text: str | None) -> str:
    """A search text as it is matched: without its surrounding spaces, case folded (so
    a pasted " name " still finds the track)."""
    return (text or "").strip().casefold()


def select(
    entries: Iterable[dict[str, Any]],
    *,
    status: Iterable[str] | None = None,
    type: Iterable[str] | None = None,  # noqa: A002
    priority: Iterable[str] | None = None,
    search: str | None = "",
) -> list[dict[str, Any]]:
    """The registry entries that pass every filter, in their order. A filter is the values
    it accepts (None or empty: all); the search text must be in the name or the id."""
    statuses, types, priorities = set(status or ()), set(type or ()), set(priority or ())
    needle = search_key(search)
    return [
        entry
        for entry in entries
        if (not statuses or entry.get("status") in statuses)
        and (not types or entry.get("type") in types)
        and (not priorities or entry.get("priority") in priorities)
        and (
            not needle
            or needle in str(entry.get("name") or "").casefold()
            or needle in str(entry.get("track_id")).casefold()
        )
    ]
