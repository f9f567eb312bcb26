"""The fast writer of the original tool's JSON layout is ``json.dumps(indent=2)``, byte
for byte and error for error, on any value (it is what every track file and registry
entry is written with)."""

from __future__ import annotations

import copy
import enum
import json
import math
from collections import OrderedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conductor_nb.store import jsontext
from conductor_nb.store.files import strict_loads
from conductor_nb.store.jsontext import Reencoder, dumps_indented


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.sampled_from([Colour.RED, Level.HIGH, "\u2028", 'é\x00\x1f"\\/']),
)
KEYS = st.one_of(st.text(), st.sampled_from(["", "track_id", "ü名"]))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(KEYS, inner, max_size=4),
    ),
    max_leaves=30,
)


def _same_text(value: object, **options: bool) -> None:
    expected = json.dumps(value, indent=2, **options)
    assert dumps_indented(value, **options) == expected


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_any_json_value_is_written_as_json_dumps_writes_it(value: object) -> None:
    _same_text(value, ensure_ascii=False)
    _same_text(value, ensure_ascii=True)


@pytest.mark.parametrize(
    "value",
    [
        {1: "int key", None: "none key", False: "bool key", 2.5: "float key"},
        OrderedDict([("b", 1), ("a", [math.nan, -math.inf])]),
        {"deep": [[[[{"x": {}}]]]], "empty": [], "also": {}},
    ],
)
def test_keys_and_containers_json_converts_come_out_the_same(value: object) -> None:
    _same_text(value, ensure_ascii=False)


def test_a_value_json_cannot_write_fails_the_same_way() -> None:
    for value in ({"when": object()}, [{1, 2}], {("a", "b"): 1}):
        with pytest.raises(TypeError) as ours:
            dumps_indented(value)
        with pytest.raises(TypeError) as theirs:
            json.dumps(value, indent=2)
        assert str(ours.value) == str(theirs.value)


def test_a_circular_value_fails_as_json_dumps_fails() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        dumps_indented(loop)


def test_a_very_deep_value_is_still_written() -> None:
    deep: object = "leaf"
    for _ in range(600):
        deep = [deep]
    assert dumps_indented(deep) == json.dumps(deep, indent=2)


# A document written again and again, as a track is: between two writes a member is
# kept, replaced (by an equal value of another type too), removed, added, or a list
# member grows; the text must be json.dumps' every time.
EDITS = st.lists(
    st.tuples(
        st.sampled_from(
            ["keep", "replace", "remove", "grow", "same number", "reorder old", "retype old"]
        ),
        st.sampled_from(["history", "progress", "name", "count", "new"]),
        VALUES,
    ),
    max_size=8,
)


def _edit(doc: dict, how: str, key: str, value: object) -> None:
    if how == "replace":
        doc[key] = value
    elif how == "remove":
        doc.pop(key, None)
    elif how == "grow":
        doc[key] = [*doc[key], value] if isinstance(doc.get(key), list) else [value]
    elif how == "same number" and isinstance(doc.get(key), int | float):
        doc[key] = float(doc[key]) if type(doc[key]) is int else int(doc[key])
    elif how in ("reorder old", "retype old") and isinstance(doc.get(key), list) and doc[key]:
        first = doc[key][0]  # an old item changed in place: equal (==) but written otherwise
        if isinstance(first, dict) and how == "reorder old":
            doc[key][0] = dict(reversed(list(first.items())))
        elif isinstance(first, dict):
            doc[key][0] = {k: float(v) if type(v) is int else v for k, v in first.items()}


def _shape(value: object) -> object:
    """A value with its types and key order spelled out: ``==`` with them (1, 1.0 and
    True are equal; {"a", "b"} and {"b", "a"} too)."""
    if isinstance(value, dict):
        return ("dict", [(key, _shape(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("list", [_shape(item) for item in value])
    return (type(value).__name__, repr(value))


def _read_back(reencoder: Reencoder, key: str, text: str) -> object:
    """What ``loads`` gives for the text just written, checked against strict decoding:
    the same values of the same types in the same order; None where decoding fails (or
    where the text was written whole, by ``json.dumps``: nothing kept to rebuild from)."""
    found = reencoder.loads(key, text, strict_loads)
    try:
        expected = strict_loads(text)
    except ValueError:  # NaN, Infinity: the caller's own decoding says what is wrong
        assert found is None
        return None
    assert found is None or _shape(found) == _shape(expected)
    assert reencoder.loads(key, text + " ", strict_loads) is None  # another text: not known
    return found


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=5), EDITS)
def test_a_document_written_again_is_written_as_json_dumps_writes_it(start, edits) -> None:
    """... and read back as json.loads reads it."""
    reencoder = Reencoder(keep=2)
    doc = {"history": [{"to": "active", "at": None}], "count": 1, **start}
    text = reencoder.dumps("track.json", doc)
    assert text == json.dumps(doc, indent=2, ensure_ascii=False)
    _read_back(reencoder, "track.json", text)
    for how, key, value in edits:
        _edit(doc, how, key, value)
        reencoder.dumps("other.json", {"count": value})  # another file between two writes
        text = reencoder.dumps("track.json", doc)
        assert text == json.dumps(doc, indent=2, ensure_ascii=False)
        _read_back(reencoder, "track.json", text)


def test_a_grown_history_keeps_the_text_of_its_old_events(monkeypatch) -> None:
    reencoder = Reencoder()
    first = {"to": "active", "at": "2025-11-25T10:15:00Z"}
    doc = {"status": "active", "history": [first], "metrics": {"pause_count": 0}}
    reencoder.dumps("track.json", doc)
    doc["history"].append({"to": "paused", "at": "2025-11-25T11:15:00Z"})
    doc["status"] = "paused"
    encoded = []
    real = jsontext._encode
    monkeypatch.setattr(
        jsontext, "_encode", lambda value, *a: (encoded.append(value), real(value, *a))
    )
    assert reencoder.dumps("track.json", doc) == json.dumps(doc, indent=2, ensure_ascii=False)
    assert doc["history"][1] in encoded and "paused" in encoded
    assert not any(value is first or value is doc["metrics"] for value in encoded)


# History events (flat dicts) grown, reordered in place and given equal numbers of another
# type: a flat history is compared without being encoded again, and must still come out
# as json.dumps writes it (1 == 1.0 == True, and key order is not part of ==).
EVENT = st.dictionaries(
    st.sampled_from(["from", "to", "at", "reason", "actor"]),
    st.one_of(st.none(), st.text(max_size=4), st.integers(0, 2)),
    min_size=1,
    max_size=5,
)
HISTORY_EDIT = st.one_of(
    st.tuples(st.just("append"), st.lists(EVENT, min_size=1, max_size=3)),
    st.tuples(st.sampled_from(["reorder", "retype"]), st.integers(0, 30)),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(HISTORY_EDIT, min_size=1, max_size=3), max_size=10))
def test_a_history_grown_and_edited_in_place_is_written_as_json_dumps_writes_it(steps) -> None:
    """Between two writes, old events may be edited in place as the history grows."""
    reencoder = Reencoder()
    doc = {"status": "active", "history": [{"to": "active", "at": "t0"}]}
    assert reencoder.dumps("track.json", doc) == json.dumps(doc, indent=2, ensure_ascii=False)
    for step in steps:
        history = doc["history"]
        for how, arg in step:
            if how == "append":
                history.extend(copy.deepcopy(arg))
                continue
            at = arg % len(history)
            event = history[at]
            if how == "reorder":
                history[at] = dict(reversed(list(event.items())))
            else:  # the same values, as json.dumps writes them differently
                history[at] = {k: float(v) if type(v) is int else v for k, v in event.items()}
        text = reencoder.dumps("track.json", doc)
        assert text == json.dumps(doc, indent=2, ensure_ascii=False)
        read = _read_back(reencoder, "track.json", text)
        assert read is not None
        read["history"][0]["to"] = "changed by its reader"  # a reader's copy is its own
        read["history"].append({"to": "added by its reader"})
        _read_back(reencoder, "track.json", text)


def test_a_track_read_back_after_its_save_is_not_decoded_again(monkeypatch) -> None:
    """Reading back what was just written copies the kept history rather than decoding
    the text again: only the other members are decoded."""
    reencoder = Reencoder()
    doc = {"status": "active", "history": [{"to": "active", "at": f"t{k}"} for k in range(60)]}
    for k in range(60, 63):  # grown: its events are known
        doc["history"].append({"to": "paused", "at": f"t{k}"})
        text = reencoder.dumps("track.json", doc)
    decoded: list[str] = []

    def decode(text: str) -> object:
        decoded.append(text)
        return strict_loads(text)

    assert reencoder.loads("track.json", text, decode) == json.loads(text)
    assert decoded == ['{"status":"active"}']


def test_a_grown_flat_history_is_not_encoded_again(monkeypatch) -> None:
    """Past its first growth, a history of events is compared, not encoded: a write that
    adds one event encodes that one."""
    reencoder = Reencoder()
    doc = {"history": [{"to": "active", "at": f"t{k}"} for k in range(50)]}
    for k in range(50, 53):
        doc["history"].append({"to": "paused", "at": f"t{k}"})
        reencoder.dumps("track.json", doc)
    compacted = []
    real = jsontext._compact
    monkeypatch.setattr(
        jsontext, "_compact", lambda value: (compacted.append(value), real(value))[1]
    )
    doc["history"].append({"to": "active", "at": "t53"})
    assert reencoder.dumps("track.json", doc) == json.dumps(doc, indent=2, ensure_ascii=False)
    assert [len(value) for value in compacted if isinstance(value, list)] == [1]
