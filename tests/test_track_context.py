"""Decisions, assumptions, artifacts, steps and progress, outcomes, workflow runs and context
inheritance, through the engine and the Python API."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from conductor_nb import Conductor
from conductor_nb.errors import InvalidInput, PathOutsideRoot
from conductor_nb.models import Track


@pytest.fixture
def api(root: Path, clock) -> Conductor:
    conductor = Conductor(root, clock=clock, actor="tester")
    conductor.create("Auth feature", goal="Sign in", success_criteria=["users log in"])
    conductor.activate("Auth feature")
    return conductor


def test_decisions_are_numbered_and_persisted(api: Conductor, root: Path) -> None:
    """Each decision gets the next id, a timestamp and its rationale, alternatives and tags."""
    first = api.decide("Use OAuth 2.0", rationale="standard", alternatives=["SAML"], tags=["auth"])
    second = api.decide("Store sessions server-side")
    assert (first.id, second.id) == ("decision-1", "decision-2")
    stored = json.loads(next(root.glob("tracks/*/context/decisions.json")).read_text())
    assert stored[0] | {"timestamp": None} == {
        "id": "decision-1",
        "timestamp": None,
        "summary": "Use OAuth 2.0",
        "rationale": "standard",
        "alternatives": ["SAML"],
        "tags": ["auth"],
        "actor": "tester",
    }
    assert [d.summary for d in api.decisions()] == ["Use OAuth 2.0", "Store sessions server-side"]


def test_assumptions_have_a_status_that_changes(api: Conductor) -> None:
    """Assumptions start open and can be validated or invalidated."""
    item = api.assume("Users have an email address")
    assert item.status.value == "open"
    api.set_assumption(item.id, "invalidated", note="guests have none")
    (stored,) = api.assumptions()
    assert (stored.status.value, stored.note) == ("invalidated", "guests have none")
    with pytest.raises(InvalidInput, match="must be one of"):
        api.set_assumption(item.id, "maybe")


def test_artifacts_listed_with_size_and_sha256(api: Conductor, root: Path) -> None:
    """Artifacts land under context/artifacts and list with size and sha256; replacing one
    keeps a copy of the old content in backups/."""
    api.add_artifact("specs/prd.json", data=b'{"a": 1}')
    api.add_artifact("specs/prd.json", data=b'{"a": 2}')
    (listed,) = api.artifacts()
    assert listed.name == "specs/prd.json"
    assert listed.size == 8 and listed.sha256 == hashlib.sha256(b'{"a": 2}').hexdigest()
    (backup,) = (root / "backups").iterdir()
    assert backup.read_bytes() == b'{"a": 1}'
    with pytest.raises(PathOutsideRoot):
        api.add_artifact("../escape.txt", data=b"x")


def test_steps_drive_progress(api: Conductor) -> None:
    """Adding, starting, completing, skipping steps recomputes progress."""
    for name in ("design", "build", "test", "docs"):
        api.add_step(name)
    api.step("1", "start")
    api.step("design", "complete")
    api.step("step-4", "skip")
    progress = api.get().progress
    assert (progress.completed_steps, progress.total_steps, progress.percentage) == (1, 4, 50)
    assert progress.current_step_id == "step-2"
    with pytest.raises(InvalidInput, match="no step"):
        api.step("nine", "start")


def test_failing_step_pauses_track_when_configured(api: Conductor) -> None:
    """execution.pause_on_failure (the default) pauses the active track when a step fails."""
    api.add_step("deploy")
    api.step("deploy", "fail", note="timeout")
    track = api.get("Auth feature")
    assert track.status.value == "paused" and "step-1 failed" in track.pause_reason
    assert track.steps[0].error.message == "timeout"


def test_complete_records_outcomes_and_metrics(api: Conductor, clock) -> None:
    """complete stores the outcomes and the durations, excluding pauses."""
    clock.advance(hours=2)
    api.pause(reason="review")
    clock.advance(hours=1)
    api.resume("Auth feature")
    clock.advance(hours=1)
    track = api.complete(summary="shipped", lessons_learned=["start earlier"], next_tracks=["x"])
    assert track.outcomes.result.value == "success"
    assert track.outcomes.summary == "shipped" and track.outcomes.lessons_learned == [
        "start earlier"
    ]
    assert track.metrics.active_duration_ms == 3 * 3_600_000
    assert track.metrics.total_duration_ms == 4 * 3_600_000
    assert track.metrics.pause_count == 1
    assert [e.to.value for e in track.history] == [
        "draft",
        "ready",
        "active",
        "paused",
        "active",
        "completed",
    ]


def test_workflow_runs_record_status_heartbeat_and_outcome(
    api: Conductor, clock, root: Path
) -> None:
    """A run is created pending, started with a lease, heartbeats, and finishes."""
    run = api.create_run("nightly build", workflow="wf.yaml")
    assert run.run_id == "run-001-nightly-build" and run.status.value == "pending"
    assert (next(root.glob("tracks/*/workflows")) / run.run_id / "run.json").is_file()
    started = api.start_run("1")
    assert started.holder.pid > 0 and started.status.value == "running"
    clock.advance(seconds=30)
    assert api.heartbeat("1").heartbeat_at == clock.now
    clock.advance(seconds=30)
    done = api.finish_run("1", ok=False, error_type="KeyError", message="'x'")
    assert done.duration_ms == 60_000 and done.outcome.error_type == "KeyError"
    with pytest.raises(InvalidInput, match="it can go to: none"):
        api.start_run("1")
    assert api.create_run("again").run_id == "run-002-again"


def test_context_inheritance_follows_the_seed_table(api: Conductor, root: Path) -> None:
    """Rules inherited (not overridable), stack extended, agents overridden, decisions and
    artifacts track-scoped."""
    api.engine.configure_project(
        add_rules=["no secrets"], add_stack=["python"], agents={"reviewer": {"model": "a", "t": 1}}
    )
    api.create("Other track")
    api.decide("other decision", track="Other track")
    api.engine.configure_context(
        None, add_stack=["pandas"], agents={"reviewer": {"model": "b"}}, add_rules=["small PRs"]
    )
    context = api.context()
    assert [(r["text"], r["source"]) for r in context["rules"]] == [
        ("no secrets", "project"),
        ("small PRs", "track"),
    ]
    assert [s["item"] for s in context["stack"]] == ["python", "pandas"]
    assert context["agents"]["reviewer"] == {"config": {"model": "b", "t": 1}, "source": "track"}
    assert context["decisions"] == []
    other = api.context("Other track")
    assert [s["item"] for s in other["stack"]] == ["python"]
    assert other["agents"]["reviewer"]["config"]["model"] == "a"
    assert [d["summary"] for d in other["decisions"]] == ["other decision"]


def test_models_round_trip_unknown_fields(api: Conductor, root: Path) -> None:
    """A track model keeps fields it does not declare, at any depth."""
    path = next(root.glob("tracks/*/track.json"))
    data = json.loads(path.read_text())
    data["future_field"] = {"x": 1}
    data["context"]["future_context"] = [1, 2]
    track = Track.model_validate(data)
    dumped = track.to_json_dict()
    assert dumped["future_field"] == {"x": 1}
    assert dumped["context"]["future_context"] == [1, 2]
    assert dumped["created_at"].endswith("Z")


def test_corrupt_decisions_file_is_reported_then_repaired_with_a_copy(
    api: Conductor, root: Path
) -> None:
    """A corrupt decisions.json gives an error naming the file and `conductor repair`;
    repair keeps the bytes in backups/ and starts the list afresh."""
    from conductor_nb.errors import CorruptFile

    path = next(root.glob("tracks/*/context/decisions.json"))
    path.write_text("[{broken")
    with pytest.raises(CorruptFile, match=r"decisions\.json.*conductor repair"):
        api.decide("anything")
    assert path.read_text() == "[{broken"  # never overwritten silently
    (done,) = api.repair()
    assert "decisions.json was unreadable" in done
    (backup,) = (root / "backups").glob("*decisions.json")
    assert backup.read_text() == "[{broken"
    assert api.decide("after repair").id == "decision-1"


def test_python_api_covers_checkpoints_and_recovery(api: Conductor) -> None:
    """Conductor exposes checkpoints and recovery as methods, like the CLI and the magic."""
    api.add_artifact("plan.md", data=b"v1")
    first = api.checkpoint(reason="v1")
    api.add_artifact("plan.md", data=b"v2")
    assert api.verify() == []
    assert "context/artifacts/plan.md" in api.diff(first["checkpoint_id"])["changed"]
    api.restore(first["checkpoint_id"])
    assert api.artifacts()[0].sha256 == __import__("hashlib").sha256(b"v1").hexdigest()
    assert [m["checkpoint_id"] for m in api.checkpoints()][-1] == first["checkpoint_id"]
    keeper = api.hold()
    assert api.engine.lease_of(api.get().track_id)["pid"] == __import__("os").getpid()
    keeper.release()
    assert api.detect() == []
