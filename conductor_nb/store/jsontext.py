"""JSON text in the original tool's layout, ``json.dumps(value, indent=2)``, made fast.

With an indent the standard library encodes in pure Python through nested generators
(its C encoder is used only without one); this joiner writes the same text about three
times faster, which is most of the cost of writing a track.json or a registry entry. It
knows the types JSON files hold (dicts with string keys, lists, tuples, strings,
numbers, booleans, None, and their subclasses such as a ``StrEnum``); anything else,
or a structure too deep to recurse into, is handed to ``json.dumps`` whole, so the
text and the errors are always exactly the standard library's (a property test holds
it to that).
"""

from __future__ import annotations

import json
import threading
from json.encoder import encode_basestring, encode_basestring_ascii

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["Reencoder", "dumps_indented"]


class _Unusual(Exception):
    """A value this joiner leaves to ``json.dumps``."""


def dumps_indented(value: Any, *, ensure_ascii: bool = False) -> str:
    """``json.dumps(value, indent=2, ensure_ascii=ensure_ascii)``."""
    pieces: list[str] = []
    quote = encode_basestring_ascii if ensure_ascii else encode_basestring
    try:
        _encode(value, "\n", pieces, quote)
    except (_Unusual, RecursionError):
        return json.dumps(value, indent=2, ensure_ascii=ensure_ascii)
    return "".join(pieces)


def _encode(value: Any, newline: str, out: list[str], quote: Callable[[str], str]) -> None:
    kind = type(value)
    if kind is str:
        out.append(quote(value))
    elif kind is dict:
        if not value:
            out.append("{}")
            return
        inner = newline + "  "
        separator = "{" + inner
        for key, item in value.items():
            if type(key) is not str:
                raise _Unusual  # json.dumps converts numbers, booleans and None keys
            out.append(separator + quote(key) + ": ")
            item_kind = type(item)
            if item_kind is str:  # most members: no call
                out.append(quote(item))
            elif item_kind is int:
                out.append(int.__repr__(item))
            else:
                _encode(item, inner, out, quote)
            separator = "," + inner
        out.append(newline + "}")
    elif kind is list or kind is tuple:
        if not value:
            out.append("[]")
            return
        inner = newline + "  "
        separator = "[" + inner
        for item in value:
            out.append(separator)
            _encode(item, inner, out, quote)
            separator = "," + inner
        out.append(newline + "]")
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif kind is int:
        out.append(int.__repr__(value))
    elif kind is float:
        out.append(_float(value))
    else:
        _encode_subclass(value, newline, out, quote)


def _encode_subclass(value: Any, newline: str, out: list[str], quote: Callable[[str], str]):
    """A subclass of a JSON type, written as ``json`` writes it (by the base type's rules)."""
    if isinstance(value, str):
        out.append(quote(value))
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(_float(value))
    elif isinstance(value, (dict, list, tuple)):
        raise _Unusual  # a mapping or sequence subclass may iterate its own way
    else:
        raise _Unusual  # not JSON: json.dumps raises its TypeError


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value == float("inf"):
        return "Infinity"
    if value == -float("inf"):
        return "-Infinity"
    return float.__repr__(value)


class Reencoder:
    """``dumps_indented`` of dicts written again and again under a key (a track.json by
    its path), reusing the text of each top-level member that did not change.

    Each member's text is kept with its compact encoding by the C encoder, which is
    exact where ``==`` is not (``1``, ``1.0`` and ``True`` are equal but written
    differently), and ten times cheaper than writing the member again: a member whose
    compact text is the same is the same text, and a list that only grew (a track's
    history) keeps the text of its old items. A list of flat items (strings, or dicts of
    strings and nulls: history events) is not even encoded again: its old items are
    compared with ``==`` and their keys' order, which for such items is exact. The text
    is always what ``dumps_indented(value)`` gives (a property test holds it to that)."""

    def __init__(self, keep: int = 64) -> None:
        self._keep = keep
        self._members: dict[str, dict[str, _Member]] = {}
        self._texts: dict[str, str] = {}  # the text last written under each key
        self._lock = threading.Lock()  # one per process, shared by threads writing any root

    def dumps(self, key: str, value: Any) -> str:
        with self._lock:
            return self._dumps(key, value)

    def loads(self, key: str, text: str, decode: Callable[[str], Any]) -> Any:
        """``decode(text)`` when ``text`` is what ``dumps(key, ...)`` last returned (a
        track read back after its save), rebuilt from the members kept: a list of flat
        items is copied rather than decoded again, the other members are decoded from
        their compact text (the same values). None when ``text`` is not that text, or the
        members do not decode (the caller's own decoding then says why)."""
        with self._lock:
            members = self._members.get(key)
            if members is None or self._texts.get(key) != text:
                return None
            rest = [
                encode_basestring(name) + ":" + member.compact
                for name, member in members.items()
                if member.copies is None
            ]
            try:
                decoded = decode("{" + ",".join(rest) + "}")
            except (ValueError, RecursionError):
                return None
            return {
                name: decoded[name] if member.copies is None else _copied(member.copies)
                for name, member in members.items()
            }

    def _dumps(self, key: str, value: Any) -> str:
        before = self._members.pop(key, {})
        self._texts.pop(key, None)
        if type(value) is not dict or not value:
            return dumps_indented(value)
        members: dict[str, _Member] = {}
        pieces = []
        try:
            for name, item in value.items():
                if type(name) is not str:
                    raise _Unusual
                prior = before.get(name)
                member = _grown(item, prior) if prior is not None else None
                if member is None:
                    member = _member(item, _compact(item), prior)
                members[name] = member
                pieces.append(encode_basestring(name) + ": " + member.text)
        except (_Unusual, TypeError, ValueError, RecursionError):
            return dumps_indented(value)  # or json.dumps' own error
        self._members[key] = members
        while len(self._members) > self._keep:
            oldest = next(iter(self._members))
            del self._members[oldest]
            self._texts.pop(oldest, None)
        text = self._texts[key] = "{\n  " + ",\n  ".join(pieces) + "\n}"
        return text


_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class _Member:
    """A top-level member as last written: its compact text, its text at depth 1, its
    length if a list, and (learnt when it is first compared) copies of its items and
    their keys, when they are flat."""

    __slots__ = ("compact", "copies", "count", "flat", "keys", "text")

    def __init__(self, compact: str, text: str, count: int, copies=None, keys=None) -> None:
        self.compact, self.text, self.count = compact, text, count
        self.copies: list[Any] | None = copies
        self.keys: list[list[str]] | None = keys
        self.flat = True  # until its items are found not to be


def _member(item: Any, compact: str, before: _Member | None) -> _Member:
    count = len(item) if type(item) is list else -1
    if before is not None:
        if before.compact == compact:
            return before
        grew = 0 < before.count < count and before.text.endswith("\n  ]")
        if grew and compact.startswith(before.compact[:-1] + ","):  # the old items, then more
            return _Member(compact, _grown_text(before.text, item[before.count :]), count)
    pieces: list[str] = []
    _encode(item, "\n  ", pieces, encode_basestring)
    return _Member(compact, "".join(pieces), count)


def _grown_text(old_text: str, added_items: list[Any]) -> str:
    added = [",\n    "]
    for extra in added_items:
        _encode(extra, "\n    ", added, encode_basestring)
        added.append(",\n    ")
    return old_text[:-4] + "".join(added[:-1]) + "\n  ]"


def _grown(item: Any, before: _Member) -> _Member | None:
    """The member of a list of flat items that kept ``before``'s items and added more,
    found without encoding the old ones; None when it cannot be told that way."""
    old, count = before.count, len(item) if type(item) is list else -1
    if not 0 < old < count or not before.flat or not before.text.endswith("\n  ]"):
        return None
    if before.copies is None:  # first time: the old items, as their own text says
        copies = json.loads(before.compact)
        if not _flat(copies):
            before.flat = False  # not asked again (each ask parses the old items)
            return None
        before.copies, before.keys = copies, list(map(list, copies))
    head = item[:old]
    if head != before.copies or list(map(list, head)) != before.keys:
        return None  # changed, or the same values with keys in another order
    added = item[old:]
    added_compact = _compact(added)
    copies = json.loads(added_compact)
    if not _flat(copies):
        return None
    compact = before.compact[:-1] + "," + added_compact[1:]
    text = _grown_text(before.text, added)
    return _Member(
        compact, text, count, before.copies + copies, before.keys + list(map(list, copies))
    )


def _copied(items: list[Any]) -> list[Any]:
    """Fresh copies of flat items (strings are immutable; dicts hold only strings and
    nulls), for a caller that may change them."""
    return [dict(each) if type(each) is dict else each for each in items]


def _flat(items: list[Any]) -> bool:
    """Whether ``==`` and key order tell each item's text: strings, or dicts whose values
    are strings or null (no number, where 1 == 1.0 == True, and nothing nested)."""
    for each in items:
        if type(each) is dict:
            if any(type(v) is not str and v is not None for v in each.values()):
                return False
        elif type(each) is not str:
            return False
    return True
