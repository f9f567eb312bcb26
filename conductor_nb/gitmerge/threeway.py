"""Three-way merge of JSON values: what changed on one side is taken, what both sides
changed alike is kept, and what both changed differently is a conflict.

A conflict is recorded (with its path, for the report) and resolved by the merge's
``prefer`` side, so the same merge run once preferring ours and once theirs gives two
documents that differ exactly where the conflicts are (see ``markers``).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["MISSING", "Conflict", "Merge", "later"]


class _Missing:
    """A key one version does not have (not the same as ``null``)."""

    def __repr__(self) -> str:
        return "(absent)"


MISSING: Any = _Missing()


class Conflict:
    """Both sides changed the value at ``path`` to different values."""

    __slots__ = ("ours", "path", "theirs")

    def __init__(self, path: str, ours: Any, theirs: Any) -> None:
        self.path, self.ours, self.theirs = path, ours, theirs

    def __str__(self) -> str:
        return f"{self.path}: ours {_short(self.ours)}, theirs {_short(self.theirs)}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def later(a: Any, b: Any) -> Any:
    """The later of two ISO 8601 UTC stamps (strings compare in time order); a missing or
    non-text one loses."""
    texts = [v for v in (a, b) if isinstance(v, str)]
    if not texts:
        return a if a is not MISSING else b
    return max(texts)


class Merge:
    """One three-way merge: ``prefer`` ("ours" or "theirs") settles conflicts, which are
    collected in ``conflicts`` unless ``report`` is False (the registry settles them by
    time, silently)."""

    def __init__(self, prefer: str = "ours", *, report: bool = True) -> None:
        self.prefer = prefer
        self.report = report
        self.conflicts: list[Conflict] = []
        # path -> how that key merges (base, ours, theirs, path) -> value
        self.rules: dict[str, Callable[[Any, Any, Any, str], Any]] = {}

    def value(self, base: Any, ours: Any, theirs: Any, path: str = "") -> Any:
        rule = self.rules.get(path)
        if rule is not None and ours is not MISSING and theirs is not MISSING:
            return rule(base, ours, theirs, path)
        return self.plain(base, ours, theirs, path)

    def plain(self, base: Any, ours: Any, theirs: Any, path: str = "") -> Any:
        """The merge without a rule for ``path`` (rules fall back on it)."""
        if ours == theirs:
            return ours
        if base == ours:  # only theirs changed it (or removed it)
            return theirs
        if base == theirs:
            return ours
        if isinstance(ours, dict) and isinstance(theirs, dict):
            return self.dict(base if isinstance(base, dict) else {}, ours, theirs, path)
        return self.conflict(path, ours, theirs)

    def dict(
        self, base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any], path: str = ""
    ) -> dict[str, Any]:
        """Key by key, in our order, then the keys only theirs has."""
        merged: dict[str, Any] = {}
        for key in [*ours, *(k for k in theirs if k not in ours)]:
            where = f"{path}.{key}" if path else key
            value = self.value(
                base.get(key, MISSING), ours.get(key, MISSING), theirs.get(key, MISSING), where
            )
            if value is not MISSING:
                merged[key] = value
        return merged

    def conflict(self, path: str, ours: Any, theirs: Any) -> Any:
        if self.report:
            self.conflicts.append(Conflict(path, ours, theirs))
        return ours if self.prefer == "ours" else theirs
