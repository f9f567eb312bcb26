"""Property-based: random operation sequences on one root agree with a model of the
lifecycle and keep the invariants (one active track, registry equal to the track files,
right counts, the original tool's format, the same view from a fresh engine); the
registry's incremental encoder always equals json.dumps."""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from conductor_nb import lifecycle
from conductor_nb.engine import Engine
from conductor_nb.errors import (
    ActiveTrackExists,
    DuplicateName,
    InvalidInput,
    InvalidTransition,
)
from conductor_nb.store.registry import RegistryDoc
from conductor_nb.store.registry_index import IndexedTracks
from conductor_nb.vocab import TrackStatus as S

NAMES = st.text(
    alphabet=st.characters(categories=("L", "N", "Zs", "P"), exclude_characters="\x00"),
    min_size=3,
    max_size=20,
).filter(lambda n: 3 <= len(n.strip()) <= 100)
# A few fixed names make duplicate names (and renames onto them) likely.
SOME_NAMES = st.one_of(NAMES, st.sampled_from(["Alpha track", "Beta track", "Ünïcødé 名前"]))
TYPES = st.sampled_from(["feature", "bugfix", "migration", "refactor"])
PRIORITIES = st.sampled_from(["P0", "P1", "P2", "P3"])


def _model_steps(status: S, verb: str) -> S | None:
    """The status ``verb`` leads to from ``status`` by the seed's tables (None: refused)."""
    if verb == "activate" and status is S.DRAFT:
        return S.ACTIVE
    action = lifecycle.ACTIONS[verb]
    return action.target if status in action.sources else None


class TrackTree(RuleBasedStateMachine):
    """Random creates, transitions (with and without force), switches, updates and
    decisions on one root, each checked against a model of what must happen."""

    @initialize()
    def open_root(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name) / ".claude" / "conductor"
        self.engine = Engine(self.root, actor="prop@test")
        # the model: track id -> status, name, type, priority, decision count
        self.model: dict[str, dict] = {}
        for name in ("Alpha track", "Beta tråck", "Gamma 名前"):  # something to work on
            self.create(name, "feature", "P2")

    def teardown(self) -> None:
        self.tmp.cleanup()

    # -- the model's rules ---------------------------------------------------------------

    def _active(self) -> list[str]:
        return [t for t, m in self.model.items() if m["status"] is S.ACTIVE]

    def _activate(self, track_id: str, *, force: bool) -> type[Exception] | None:
        """Make ``track_id`` active in the model, or return the error the engine must raise."""
        others = [t for t in self._active() if t != track_id]
        if others and not force:
            return ActiveTrackExists
        for other in others:
            self.model[other]["status"] = S.PAUSED
        self.model[track_id]["status"] = S.ACTIVE
        return None

    @staticmethod
    def _expect(error: type[Exception] | None, call, label: str) -> None:
        event(f"{label}: {error.__name__ if error else 'ok'}")
        if error is None:
            call()
            return
        with pytest.raises(error):
            call()

    def _apply(self, track_id: str, target: S | None, *, force: bool) -> type[Exception] | None:
        if target is None:
            return InvalidTransition
        if target is S.ACTIVE:
            return self._activate(track_id, force=force)
        self.model[track_id]["status"] = target
        return None

    # -- rules ---------------------------------------------------------------------------

    @rule(name=SOME_NAMES, type_=TYPES, priority=PRIORITIES)
    def create_track(self, name: str, type_: str, priority: str) -> None:
        self.create(name, type_, priority)

    def create(self, name: str, type_: str, priority: str) -> None:
        name = name.strip()
        if any(m["name"] == name for m in self.model.values()):
            with pytest.raises(DuplicateName):
                self.engine.create(name, type=type_, priority=priority)
            return
        track = self.engine.create(name, type=type_, priority=priority)
        assert track["track_id"] not in self.model
        self.model[track["track_id"]] = {
            "status": S.DRAFT,
            "name": name,
            "type": type_,
            "priority": priority,
            "decisions": 0,
        }

    def _transition(self, track_id: str, verb: str, force: bool) -> None:
        target = _model_steps(self.model[track_id]["status"], verb)
        error = self._apply(track_id, target, force=force)
        self._expect(
            error,
            lambda: self.engine.transition(track_id, verb, force=force),
            f"{verb} force={force}",
        )
        if error is None:
            assert self.engine.entry(track_id)["status"] == self.model[track_id]["status"]

    @rule(data=st.data(), verb=st.sampled_from(list(lifecycle.ACTIONS)), force=st.booleans())
    def any_verb(self, data, verb: str, force: bool) -> None:
        if self.model:
            self._transition(data.draw(st.sampled_from(sorted(self.model))), verb, force)

    @rule(data=st.data(), force=st.booleans())
    def allowed_verb(self, data, force: bool) -> None:
        """A verb the track's status allows, so sequences reach every status."""
        if not self.model:
            return
        track_id = data.draw(st.sampled_from(sorted(self.model)))
        status = self.model[track_id]["status"]
        verbs = [v for v in lifecycle.ACTIONS if _model_steps(status, v) is not None]
        if len(verbs) > 1 and "cancel" in verbs:  # any_verb cancels often enough
            verbs.remove("cancel")
        if verbs:
            self._transition(track_id, data.draw(st.sampled_from(verbs)), force)

    @rule(data=st.data())
    def switch(self, data) -> None:
        if not self.model:
            return
        track_id = data.draw(st.sampled_from(sorted(self.model)))
        status = self.model[track_id]["status"]
        if status is S.ACTIVE:
            error: type[Exception] | None = InvalidInput
        elif _model_steps(status, "activate") is None:
            error = InvalidTransition
        else:
            error = self._activate(track_id, force=True)
        self._expect(error, lambda: self.engine.switch(track_id), "switch")

    @rule(
        data=st.data(),
        field=st.sampled_from(["priority", "type", "name", "status"]),
        priority=PRIORITIES,
        type_=TYPES,
        name=SOME_NAMES,
        status=st.sampled_from(list(S)),
    )
    def update(self, data, field: str, priority: str, type_: str, name: str, status: S) -> None:
        if not self.model:
            return
        track_id = data.draw(st.sampled_from(sorted(self.model)))
        value = {"priority": priority, "type": type_, "name": name.strip(), "status": status}[field]
        error: type[Exception] | None = None
        if field == "status":
            current = self.model[track_id]["status"]
            verbs = [v for v in lifecycle.ACTIONS if _model_steps(current, v) is status]
            error = self._apply(track_id, status if verbs else None, force=False)
            value = status.value
        elif field == "name" and any(
            m["name"] == value for t, m in self.model.items() if t != track_id
        ):
            error = DuplicateName
        else:
            self.model[track_id][field] = value
        self._expect(error, lambda: self.engine.update(track_id, field, value), f"update {field}")

    @rule(data=st.data(), summary=NAMES)
    def decide(self, data, summary: str) -> None:
        if not self.model:
            return
        track_id = data.draw(st.sampled_from(sorted(self.model)))
        decision = self.engine.decide(track_id, summary)
        self.model[track_id]["decisions"] += 1
        assert decision["id"] == f"decision-{self.model[track_id]['decisions']}"

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def tree_matches_the_model(self) -> None:
        if not self.model:
            return
        registry_path = self.root / "tracks" / "track-registry.json"
        text = registry_path.read_text(encoding="utf-8")
        doc = json.loads(text)
        assert text == json.dumps(doc, indent=2, ensure_ascii=False)  # the original's format
        assert list(doc) == ["version", "active_track", "tracks", "metadata"]
        entries = doc["tracks"]
        assert set(entries) == set(self.model)
        active = [tid for tid, e in entries.items() if e["status"] == "active"]
        assert len(active) <= 1
        assert active == self._active()
        assert doc["active_track"] == (active[0] if active else None)
        metadata = doc["metadata"]
        assert metadata["total_tracks"] == len(entries)
        assert metadata["active_count"] == len(active)
        completed = sum(e["status"] == "completed" for e in entries.values())
        assert metadata["completed_count"] == completed
        for track_id, entry in entries.items():
            folder = self.root / "tracks" / track_id
            track_text = (folder / "track.json").read_text(encoding="utf-8")
            track = json.loads(track_text)
            assert track_text == json.dumps(track, indent=2, ensure_ascii=False)
            model = self.model[track_id]
            for field in ("status", "name", "type", "priority"):
                assert track[field] == entry[field] == model[field], (track_id, field)
            decisions = json.loads((folder / "context" / "decisions.json").read_text())
            assert len(decisions) == model["decisions"]
        # the engine's cached view equals the file, and a fresh engine reads the same
        seen = copy.deepcopy(self.engine.list())
        by_status = {s.value: [e["track_id"] for e in self.engine.list(status=s)] for s in S}
        assert self.engine.registry().encode() == text
        # what a process leaves at exit: the next one reads ids, statuses, names and
        # parents from it and decodes entries only as it reads them (the steps that follow
        # write through that lazily decoded registry)
        self.engine.tree.registry.write_index()
        fresh = Engine(self.root)
        fresh.tree.registry.invalidate()  # forget the cache both engines share
        assert isinstance(fresh.registry().tracks, IndexedTracks)
        assert fresh.list() == seen
        assert {s.value: [e["track_id"] for e in fresh.list(status=s)] for s in S} == by_status
        for track_id, model in self.model.items():
            assert fresh.resolve(model["name"]) == track_id


TrackTree.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_random_operation_sequences_keep_the_invariants = TrackTree.TestCase

# -- the registry encoder --------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
ENTRY = st.fixed_dictionaries(
    {
        "name": st.text(max_size=30),  # any unicode, including control characters and quotes
        "status": st.sampled_from([s.value for s in S]),
        "type": st.sampled_from(["feature", "bugfix"]),
        "priority": st.sampled_from(["P0", "P3"]),
        "progress": st.fixed_dictionaries({"percentage": st.floats(0, 100)}),
    },
    optional={"extra": JSON_VALUES, "ünïcødé": st.text(max_size=5), "empty": st.just({})},
)
KEYS = st.text(min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(
    entries=st.dictionaries(KEYS, ENTRY, max_size=8),
    extra_top=st.dictionaries(st.text(max_size=6).filter(lambda k: k != "tracks"), JSON_VALUES),
    data=st.data(),
)
def test_incremental_encoding_equals_json_dumps(entries, extra_top, data) -> None:
    """The registry text assembled from cached per-entry fragments is byte for byte
    json.dumps(doc, indent=2, ensure_ascii=False), also after set_entry replaces existing
    entries or adds new ones."""
    doc = RegistryDoc(
        {
            "version": "1.0",
            "active_track": None,
            "tracks": dict(entries),
            "metadata": {},
            **extra_top,
        }
    )
    assert doc.encode() == json.dumps(doc.doc, indent=2, ensure_ascii=False)
    changes = data.draw(st.integers(0, 6))
    for _ in range(changes):
        if doc.tracks and data.draw(st.booleans()):
            key = data.draw(st.sampled_from(list(doc.tracks)))  # replace a cached fragment
        else:
            key = data.draw(KEYS)
        doc.set_entry(key, data.draw(ENTRY))
        if data.draw(st.booleans()):
            doc.set_active(key)
        doc.refresh_metadata("2026-01-01T00:00:00.000Z")
        assert doc.encode() == json.dumps(doc.doc, indent=2, ensure_ascii=False)
        assert json.loads(doc.encode()) == doc.doc


def test_empty_registry_encodes_like_json_dumps() -> None:
    """A registry with no tracks is json.dumps too ("tracks": {} on one line)."""
    doc = RegistryDoc.empty()
    assert doc.encode() == json.dumps(doc.doc, indent=2, ensure_ascii=False)


@settings(max_examples=100, deadline=None)
@given(
    entries=st.dictionaries(KEYS, ENTRY, min_size=1, max_size=8),
    indent=st.sampled_from([2, 2, 2, None, 4]),
    data=st.data(),
)
def test_a_read_registry_is_spliced_from_its_bytes_like_json_dumps(entries, indent, data) -> None:
    """A registry parsed from a file copies the entries it did not change from the file's
    bytes; the text is json.dumps all the same, and a file laid out otherwise (compact,
    another indent) is rewritten whole in the original tool's layout."""
    from conductor_nb.store.registry import parse

    doc = {"version": "1.0", "active_track": None, "tracks": entries, "metadata": {}}
    registry = parse(json.dumps(doc, indent=indent, ensure_ascii=False).encode(), "r.json")
    for _ in range(data.draw(st.integers(0, 4))):
        if data.draw(st.booleans()):
            key = data.draw(st.sampled_from(list(registry.tracks)))
        else:
            key = data.draw(KEYS)
        registry.set_entry(key, data.draw(ENTRY))
        registry.refresh_metadata("2026-01-01T00:00:00.000Z")
        if data.draw(st.booleans()):
            assert registry.encode() == json.dumps(registry.doc, indent=2, ensure_ascii=False)
    assert registry.encode() == json.dumps(registry.doc, indent=2, ensure_ascii=False)
