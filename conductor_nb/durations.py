"""Durations as people write them: ``90m``, ``12h``, ``3d``, ``1w``, ``1d 4h``.

A day is 24 hours and a week 7 days, the clock time the track's active duration is
measured in, so an estimate and what a track took compare directly.
"""

from __future__ import annotations

import re

from .errors import InvalidInput

__all__ = ["MAX_MINUTES", "UNIT_MINUTES", "format_duration", "parse_duration"]

UNIT_MINUTES = {"w": 7 * 24 * 60, "d": 24 * 60, "h": 60, "m": 1}
MAX_MINUTES = 10 * 365 * 24 * 60  # ten years: anything longer is a typing mistake
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([wdhm])", re.IGNORECASE)
_EXAMPLES = "a number and a unit (m, h, d, w), as in 90m, 12h, 3d, 1w or 1d 4h"


def parse_duration(text: object) -> int:
    """Whole minutes (at least 1) of ``text``; anything else is one clear line."""
    words = str(text).strip()
    position, minutes = 0, 0.0
    while position < len(words):
        match = _PART.match(words, position)
        if match is None:
            break
        minutes += float(match.group(1)) * UNIT_MINUTES[match.group(2).lower()]
        position = match.end()
    if not words or position < len(words.rstrip()) or position == 0:
        raise InvalidInput(f"{words!r} is not a duration: give {_EXAMPLES}")
    if minutes < 1:
        raise InvalidInput(f"{words!r} is shorter than a minute: give {_EXAMPLES}")
    if minutes > MAX_MINUTES:
        raise InvalidInput(f"{words!r} is longer than ten years: give {_EXAMPLES}")
    return round(minutes)


def format_duration(minutes: float | None) -> str:
    """``minutes`` in the two largest units that have any (``1d 4h``, ``3d``, ``45m``)."""
    if minutes is None:
        return "-"
    left = max(0, round(minutes))
    if left == 0:
        return "0m"
    parts = []
    for unit, size in UNIT_MINUTES.items():
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts[:2])
