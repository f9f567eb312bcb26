"""Dependencies between tracks, `conflicts`, `next` and `graph`, each command in a real
`conductor` process (tracks are set up through the engine, in this process, to keep the
tests short); the overlap rule and the ranking are also checked as pure functions."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cli_process import conductor_in

from conductor_nb.conflicts import normalise, overlap
from conductor_nb.engine import Engine
from conductor_nb.errors import InvalidInput, WaitingOnPrerequisites


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return conductor_in(root.parent, *args, env_root=root)


def ok(root: Path, *args: str) -> str:
    result = cli(root, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def context(engine: Engine, track_id: str) -> dict:
    return json.loads(engine.tree.track_file(track_id, "track.json").read_text())["context"]


@pytest.fixture
def engine(root: Path, clock) -> Engine:
    """The engine on the test's clock (the CLI runs on the real one)."""
    return Engine(root, clock=clock)


@pytest.fixture
def tracks(engine: Engine, clock) -> dict[str, str]:
    """Three drafts a day apart: Schema (P1), API (P0), Frontend (P2): name -> id."""
    made = {}
    for name, priority in (("Schema", "P1"), ("API", "P0"), ("Frontend", "P2")):
        made[name] = engine.create(name, priority=priority)["track_id"]
        clock.advance(days=1)
    return made


# -- depend: both tracks in one change, cycles refused ------------------------------------


def test_depend_keeps_prerequisites_and_blocks_in_step(engine, root, tracks) -> None:
    schema, api = tracks["Schema"], tracks["API"]
    out = ok(root, "depend", "API", "--on", "Schema")
    assert out.splitlines()[0] == f"{api} now waits on Schema"
    assert context(engine, api)["prerequisites"] == [schema]
    assert context(engine, schema)["blocks"] == [api]
    listing = json.loads(ok(root, "depend", "API", "--json"))
    assert [(p["track_id"], p["status"], p["done"]) for p in listing["prerequisites"]] == [
        (schema, "draft", False)
    ]
    assert listing["waiting_on"] == [schema]
    assert "already waits on" in ok(root, "depend", "API", "--on", "Schema")
    assert context(engine, api)["prerequisites"] == [schema]  # not twice

    ok(root, "depend", "API", "--related", "Frontend")
    assert context(engine, api)["related_tracks"] == [tracks["Frontend"]]
    assert context(engine, tracks["Frontend"])["related_tracks"] == [api]

    assert "no longer waits on" in ok(root, "depend", "API", "--remove", "--on", "Schema")
    assert context(engine, api)["prerequisites"] == []
    assert context(engine, schema)["blocks"] == []
    again = cli(root, "depend", "API", "--remove", "--on", "Schema")
    assert again.returncode == 1
    assert "'API'" in again.stderr and "does not wait on 'Schema'" in again.stderr


def test_a_dependency_closing_a_cycle_is_refused_naming_the_cycle(engine, root, tracks) -> None:
    ok(root, "depend", "API", "--on", "Schema")
    ok(root, "depend", "Frontend", "--on", "API")
    before = {tid: context(engine, tid) for tid in tracks.values()}
    refused = cli(root, "depend", "Schema", "--on", "Frontend")
    assert refused.returncode == 1
    assert "close the cycle 'Schema' -> 'Frontend' -> 'API' -> 'Schema'" in refused.stderr
    assert refused.stderr.count("\n") == 1  # one line, no traceback
    assert {tid: context(engine, tid) for tid in tracks.values()} == before  # nothing written
    itself = cli(root, "depend", "Schema", "--on", "Schema")
    assert itself.returncode == 1
    assert "close the cycle 'Schema' -> 'Schema'" in itself.stderr
    both = cli(root, "depend", "Schema", "--on", "API", "--related", "API")
    assert both.returncode == 2 and "not both" in both.stderr


def test_a_missing_prerequisite_can_be_removed_by_its_id(engine, root, tracks) -> None:
    """A prerequisite naming a track that no longer exists blocks, and can be dropped."""
    api = tracks["API"]
    with engine.tree.transaction() as txn:
        track = engine.store.load(txn, api)
        track["context"]["prerequisites"] = ["track-gone-1"]
        engine.store.save(txn, track)
    refused = cli(root, "ready", "API")
    assert refused.returncode == 1
    assert "track-gone-1, which is not a track of this root" in refused.stderr
    ok(root, "depend", "API", "--remove", "--on", "track-gone-1")
    ok(root, "ready", "API")


# -- the lifecycle waits for prerequisites ------------------------------------------------


def test_ready_activate_and_switch_are_refused_naming_the_prerequisite(
    engine, root, tracks
) -> None:
    schema, api = tracks["Schema"], tracks["API"]
    engine.depend(api, on=schema)
    for args in (("ready", "API"), ("activate", "API"), ("activate", "API", "--force")):
        refused = cli(root, *args)
        assert refused.returncode == 1, args
        assert f"it waits on 'Schema' ({schema}), which is draft" in refused.stderr
        assert f"`conductor depend {api} --remove --on {schema}`" in refused.stderr
    assert "cannot make 'API'" in cli(root, "ready", "API").stderr
    engine.transition(schema, "activate")
    refused = cli(root, "switch", "--to", "API")
    assert refused.returncode == 1 and "which is active" in refused.stderr
    assert engine.entry(api)["status"] == "draft"
    assert engine.get_active()["track_id"] == schema  # the refused switch paused nothing
    engine.transition(schema, "complete")
    ok(root, "activate", "API")
    assert engine.get_active()["track_id"] == api


def test_resume_waits_too_and_archived_counts_only_after_success(engine, tracks) -> None:
    schema, api, front = tracks["Schema"], tracks["API"], tracks["Frontend"]
    engine.transition(api, "activate")
    engine.transition(api, "pause")
    engine.depend(api, on=schema)
    with pytest.raises(WaitingOnPrerequisites, match="cannot resume 'API'"):
        engine.transition(api, "resume")
    engine.transition(schema, "activate")
    engine.transition(schema, "complete")
    engine.transition(schema, "archive")
    engine.transition(api, "resume")  # archived after success: done
    engine.transition(api, "complete")
    engine.depend(front, on=api)
    engine.transition(front, "cancel")  # a cancelled prerequisite, archived, is not done
    other = engine.create("Docs")["track_id"]
    engine.depend(other, on=front)
    engine.transition(front, "archive")
    with pytest.raises(WaitingOnPrerequisites, match="archived without success"):
        engine.transition(other, "ready")
    with pytest.raises(InvalidInput, match="related to itself"):
        engine.depend(other, related=other)


# -- conflicts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "said"),
    [
        (("src/a.py", False), ("./src/a.py", False), "same file src/a.py"),
        (("src/db/models.py", False), ("src/db/", True), "src/db/models.py is inside src/db/"),
        (("src/db", True), ("src", True), "src/db/ is inside src/"),
        (("src", True), ("src", True), "same folder src/"),
        (("web/app.ts", False), ("web/*.ts", False), "web/app.ts matches web/*.ts"),
        (("web/*.ts", False), ("web", True), "web/*.ts may match files of web/"),
        (("docs", True), (".", True), "docs/ is inside ."),
        (("src/a.py", False), ("src/ab.py", False), None),
        (("srcx/a.py", False), ("src", True), None),
        (("web/*.ts", False), ("web/app.js", False), None),
    ],
)
def test_overlap_rule(a, b, said) -> None:
    (pa, da), (pb, db) = a, b
    assert overlap(normalise(pa), da, normalise(pb), db) == said
    assert overlap(normalise(pb), db, normalise(pa), da) == said  # either order


def test_conflicts_reports_open_tracks_with_overlapping_targets(engine, root, tracks) -> None:
    none = cli(root, "conflicts")
    assert none.returncode == 0
    assert (
        none.stdout.strip() == "no conflicts: no two open tracks target the same files or folders"
    )
    engine.update(tracks["Schema"], "target_directories", "src/db")
    engine.update(tracks["API"], "target_files", "src/api/routes.py,src/db/models.py")
    engine.update(tracks["Frontend"], "target_files", "web/app.ts,src/api/routes.py")
    found = cli(root, "conflicts")
    assert found.returncode == 1
    assert "2 conflicts between open tracks:" in found.stdout
    assert "    src/db/models.py is inside src/db/" in found.stdout
    assert "    same file src/api/routes.py" in found.stdout
    pairs = json.loads(cli(root, "conflicts", "--json").stdout)
    assert {(p["name"], p["other_name"]) for p in pairs} == {("Schema", "API"), ("API", "Frontend")}
    engine.transition(tracks["Frontend"], "cancel")  # closed tracks are not in the way
    pairs = json.loads(cli(root, "conflicts", "--json").stdout)
    assert [(p["name"], p["other_name"], p["overlaps"]) for p in pairs] == [
        ("Schema", "API", ["src/db/models.py is inside src/db/"])
    ]


# -- next -----------------------------------------------------------------------------------


def test_next_proposes_the_highest_priority_ready_track_and_says_why(engine, root, tracks) -> None:
    for name in ("Schema", "API", "Frontend"):
        engine.transition(tracks[name], "ready")
    engine.depend(tracks["Frontend"], on=tracks["Schema"])  # Schema unblocks Frontend
    out = ok(root, "next")
    assert out.splitlines()[0] == f"next: 'API' ({tracks['API']})"
    assert out.splitlines()[1].startswith("  why: P0, ready, created ")
    assert out.splitlines()[2] == f"  start it: conductor activate {tracks['API']}"
    data = json.loads(ok(root, "next", "--all", "--json"))
    assert [r["name"] for r in data["ranking"]] == ["API", "Schema"]
    assert data["ranking"][1]["unblocks"] == 1
    assert "unblocks 1 track" in data["ranking"][1]["why"]
    assert [(w["name"], [p["name"] for p in w["waiting_on"]]) for w in data["waiting"]] == [
        ("Frontend", ["Schema"])
    ]
    table = ok(root, "next", "--all")
    assert "RANK" in table and "WAITING" in table
    ranked = [line.split()[0] for line in table.splitlines() if line[:1].isdigit()]
    assert ranked == ["1", "2"]


def test_next_ranks_ready_then_paused_then_drafts_and_breaks_ties(engine, clock) -> None:
    made = {}
    for name, priority in (("Old P2", "P2"), ("New P2", "P2"), ("Draft P0", "P0")):
        made[name] = engine.create(name, priority=priority)["track_id"]
        clock.advance(days=2)
    paused = engine.create("Paused P0", priority="P0")["track_id"]
    engine.transition(paused, "activate")
    engine.transition(paused, "pause")
    engine.transition(made["Old P2"], "ready")
    engine.transition(made["New P2"], "ready")
    blocker = engine.create("Blocker P3", priority="P3")["track_id"]
    engine.transition(blocker, "ready")
    waiter = engine.create("Waiter", priority="P3")["track_id"]
    engine.depend(waiter, on=blocker)
    engine.depend(made["Draft P0"], related=waiter)  # related: no effect on the ranking
    names = [r["name"] for r in engine.next_tracks()["ranking"]]
    # ready by priority (P2s by age, then P3), then paused, then drafts; Waiter waits
    assert names == ["Old P2", "New P2", "Blocker P3", "Paused P0", "Draft P0"]


def test_next_says_why_nothing_can_start(engine, root, tracks) -> None:
    schema = tracks["Schema"]
    engine.depend(tracks["API"], on=schema)
    engine.depend(tracks["Frontend"], on=schema)
    engine.transition(schema, "activate")
    result = cli(root, "next")
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        f"nothing to start: every open track waits on another; 'Schema' ({schema}) is active",
        f"  2 tracks are waiting on 'Schema' ({schema}), which is active",
    ]
    data = json.loads(ok(root, "next", "--json"))
    assert data["proposal"] is None and data["ranking"] == []
    assert data["active"]["track_id"] == schema
    engine.transition(schema, "complete")
    for track_id in (tracks["API"], tracks["Frontend"]):
        engine.transition(track_id, "cancel")
    assert ok(root, "next").strip() == "nothing to start: no ready, paused or draft track"


# -- graph ----------------------------------------------------------------------------------


def test_graph_prints_the_layers(engine, root, tracks) -> None:
    assert ok(root, "graph").strip() == "no dependencies between open tracks"
    engine.depend(tracks["API"], on=tracks["Schema"])
    engine.depend(tracks["Frontend"], on=tracks["API"])
    lines = ok(root, "graph").splitlines()
    assert lines == [
        "layer 1:",
        f"  'Schema' ({tracks['Schema']}) [draft]",
        "layer 2:",
        f"  'API' ({tracks['API']}) [draft]  <- waits on 'Schema'",
        "layer 3:",
        f"  'Frontend' ({tracks['Frontend']}) [draft]  <- waits on 'API'",
    ]
    graph = json.loads(ok(root, "graph", "--json"))
    assert {(e["from"], e["to"]) for e in graph["edges"]} == {
        (tracks["API"], tracks["Schema"]),
        (tracks["Frontend"], tracks["API"]),
    }


def test_ages_in_next_use_the_clock(engine, clock, tracks) -> None:
    clock.advance(days=7)
    rows = {r["name"]: r for r in engine.next_tracks()["ranking"]}
    assert rows["Schema"]["age_days"] == 10.0
    assert "created 10 days ago" in rows["Schema"]["why"]
    assert [r["name"] for r in engine.next_tracks()["ranking"]] == ["API", "Schema", "Frontend"]
    fresh = engine.create("Fresh", priority="P0")["track_id"]
    assert "new today" in {r["track_id"]: r for r in engine.next_tracks()["ranking"]}[fresh]["why"]
    # equal priority and status: the older track first
    assert [r["name"] for r in engine.next_tracks()["ranking"]][:2] == ["API", "Fresh"]


def test_the_python_api_has_the_same_verbs(root: Path) -> None:
    from conductor_nb import Conductor

    c = Conductor(root=root)
    alpha = c.create("Alpha", priority="P2")
    beta = c.create("Beta", priority="P0")
    listing = c.depend("Beta", on="Alpha")
    assert listing["waiting_on"] == [alpha.track_id] and listing["changed"] is True
    assert c.next()["proposal"]["track_id"] == alpha.track_id  # Beta (P0) waits
    assert c.conflicts() == []
    with pytest.raises(WaitingOnPrerequisites):
        c.activate(beta.track_id)
