"""Property-based: random operation sequences keep the invariants (one active track,
registry equal to the track files, right counts, the original tool's format), and the
registry's incremental encoder always equals json.dumps."""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from conductor_nb import lifecycle
from conductor_nb.engine import Engine
from conductor_nb.errors import ConductorError
from conductor_nb.store.registry import RegistryDoc

NAMES = st.text(
    alphabet=st.characters(categories=("L", "N", "Zs"), exclude_characters="\x00"),
    min_size=3,
    max_size=20,
).filter(lambda n: len(n.strip()) >= 3)


class TrackTree(RuleBasedStateMachine):
    """Random creates, transitions, switches, updates and decisions on one root."""

    @initialize()
    def open_root(self) -> None:
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name) / "root"
        self.engine = Engine(self.root)
        self.ids: list[str] = []

    def teardown(self) -> None:
        self.tmp.cleanup()

    @rule(name=NAMES, type_=st.sampled_from(["feature", "bugfix", "migration"]))
    def create(self, name: str, type_: str) -> None:
        with contextlib.suppress(ConductorError):  # duplicate names are refused
            self.ids.append(self.engine.create(name, type=type_)["track_id"])

    @rule(data=st.data(), verb=st.sampled_from(list(lifecycle.ACTIONS)), force=st.booleans())
    def transition(self, data, verb: str, force: bool) -> None:
        if self.ids:
            with contextlib.suppress(ConductorError):
                self.engine.transition(data.draw(st.sampled_from(self.ids)), verb, force=force)

    @rule(data=st.data())
    def switch(self, data) -> None:
        if self.ids:
            with contextlib.suppress(ConductorError):
                self.engine.switch(data.draw(st.sampled_from(self.ids)))

    @rule(data=st.data(), priority=st.sampled_from(["P0", "P1", "P2", "P3"]))
    def update(self, data, priority: str) -> None:
        if self.ids:
            self.engine.update(data.draw(st.sampled_from(self.ids)), "priority", priority)

    @rule(data=st.data(), summary=NAMES)
    def decide(self, data, summary: str) -> None:
        if self.ids:
            self.engine.decide(data.draw(st.sampled_from(self.ids)), summary)

    @invariant()
    def invariants_hold(self) -> None:
        if not self.ids:
            return
        registry_path = self.root / "tracks" / "track-registry.json"
        text = registry_path.read_text()
        doc = json.loads(text)
        assert text == json.dumps(doc, indent=2, ensure_ascii=False)
        entries = doc["tracks"]
        active = [tid for tid, e in entries.items() if e["status"] == "active"]
        assert len(active) <= 1
        assert doc["active_track"] == (active[0] if active else None)
        assert doc["metadata"]["total_tracks"] == len(entries)
        assert doc["metadata"]["active_count"] == len(active)
        completed = sum(e["status"] == "completed" for e in entries.values())
        assert doc["metadata"]["completed_count"] == completed
        for track_id, entry in entries.items():
            track = json.loads((self.root / "tracks" / track_id / "track.json").read_text())
            for field in ("status", "name", "type", "priority"):
                assert track[field] == entry[field]
        fresh = Engine(self.root)
        fresh.tree.registry.invalidate()
        assert fresh.list() == self.engine.list()


TrackTree.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_random_operation_sequences = TrackTree.TestCase

ENTRY = st.fixed_dictionaries(
    {
        "name": st.text(max_size=30),
        "status": st.sampled_from(["draft", "active", "completed"]),
        "type": st.sampled_from(["feature", "bugfix"]),
        "priority": st.sampled_from(["P0", "P3"]),
        "progress": st.fixed_dictionaries({"percentage": st.floats(0, 100)}),
        "extra": st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=10),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=8,
        ),
    }
)


@settings(max_examples=150, deadline=None)
@given(
    entries=st.dictionaries(st.text(min_size=1, max_size=12), ENTRY, max_size=8),
    changes=st.lists(st.tuples(st.text(min_size=1, max_size=12), ENTRY), max_size=5),
)
def test_incremental_encoding_equals_json_dumps(entries, changes) -> None:
    """The registry text assembled from cached fragments is byte for byte json.dumps, also
    after entries change or are added."""
    doc = RegistryDoc(
        {"version": "1.0", "active_track": None, "tracks": dict(entries), "metadata": {}}
    )
    assert doc.encode() == json.dumps(doc.doc, indent=2, ensure_ascii=False)
    for key, entry in changes:
        doc.set_entry(key, entry)
        doc.refresh_metadata("2026-01-01T00:00:00.000Z")
        assert doc.encode() == json.dumps(doc.doc, indent=2, ensure_ascii=False)
