"""Checks of what users type: names and free text, before anything is written."""

from __future__ import annotations

from .errors import InvalidInput

__all__ = ["check_name", "check_text"]


def check_name(name: str) -> str:
    """A track name: 3 to 100 characters of text, no control characters, stripped."""
    if not isinstance(name, str):
        raise InvalidInput("a track name must be text")
    name = name.strip()
    if not 3 <= len(name) <= 100:
        raise InvalidInput(f"a track name must be 3 to 100 characters (got {len(name)})")
    if any(ord(ch) < 32 for ch in name):
        raise InvalidInput("a track name may not contain control characters")
    return name


def check_text(value: str | None, what: str, limit: int = 10_000) -> str:
    """Free text (``what`` names it in the error): no NUL bytes, at most ``limit``
    characters; None is the empty text."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text")
    if "\x00" in value:
        raise InvalidInput(f"{what} may not contain NUL bytes")
    if len(value) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters")
    return value
