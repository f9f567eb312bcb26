"""How the report writes times, durations, sizes and lists (plain text: the renderers
escape it for HTML or Markdown)."""

from __future__ import annotations

import math
from datetime import UTC
from typing import Any

from ..tracks import parse_time

__all__ = ["DASH", "duration", "listed", "pairs", "size", "text", "when"]

DASH = "-"


def text(value: Any) -> str:
    """Any value as one line of text (None: a dash)."""
    if value is None or value == "":
        return DASH
    return " ".join(str(value).split()) or DASH


def when(value: Any) -> str:
    """An ISO timestamp as ``2026-03-01 09:00:05 UTC`` (anything else as it is)."""
    moment = parse_time(value)
    if moment is None:
        return text(value)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: Any) -> str:
    """Seconds in words: ``2 d 3 h``, ``1 h 5 min``, ``4 min 10 s``, ``0.25 s``."""
    if not isinstance(seconds, int | float) or not math.isfinite(seconds):
        return DASH
    if seconds < 60:
        return f"{seconds:.3g} s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s"


def size(count: Any) -> str:
    if not isinstance(count, int):
        return text(count)
    for unit, scale in (("MB", 1_000_000), ("kB", 1_000)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} B"


def listed(values: Any) -> str:
    """A list as ``a, b, c`` (a dash when empty)."""
    if not isinstance(values, list) or not values:
        return text(values if not isinstance(values, list) else None)
    return ", ".join(text(v) for v in values)


def pairs(mapping: Any) -> str:
    """A dict as ``key=value, ...`` (metrics, parameters)."""
    if not isinstance(mapping, dict) or not mapping:
        return DASH
    return ", ".join(f"{text(k)}={_number(v)}" for k, v in mapping.items())


def _number(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.6g}"
    return text(value)
