"""Runs from any Python code (``conductor_nb.run``, ``tracked_run``, ``Conductor.run``):
real processes that complete, raise, are SIGKILLed or interrupted inside the block, two
processes logging at once in one track; and, in this process, nesting, the decorator,
metrics, parameters and artifacts."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import conductor_nb
from conductor_nb import Conductor, InvalidInput
from conductor_nb.engine import Engine
from conductor_nb.lease_keeper import Heartbeat
from conductor_nb.run_records import METRICS_FILE, read_metrics
from conductor_nb.tracking import TrackedRun, current_run, tracked_run

# A child working in the active track of $CONDUCTOR_ROOT (the usual root): it logs three
# values, says "ready" and then, by its mode, finishes, raises or waits for a signal.
CHILD = """
import signal, sys, time
import conductor_nb

# Ctrl+C raises KeyboardInterrupt, as in a script started from a terminal, even when the
# suite itself runs as a background job (which starts its children with SIGINT ignored)
signal.signal(signal.SIGINT, signal.default_int_handler)
mode = sys.argv[1]
with conductor_nb.run("nightly load") as run:
    run.log_params(mode=mode)
    for step in range(3):
        run.log(loss=1.0 / (step + 1))
    print("ready", run.run_id, flush=True)
    if mode == "raise":
        raise RuntimeError("disk full")
    if mode == "wait":
        time.sleep(120)
print("after the block", flush=True)
"""


@pytest.fixture
def active(root: Path) -> Engine:
    engine = Engine(root)
    engine.create("Nightly")
    engine.transition("Nightly", "activate")
    return engine


def _child(root: Path, *args: str, **popen: object) -> subprocess.Popen[str]:
    env = {**os.environ, "CONDUCTOR_ROOT": str(root)}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def _ready(child: subprocess.Popen[str]) -> str:
    line = child.stdout.readline().split()
    assert line[:1] == ["ready"], (line, child.stderr.read() if child.poll() is not None else "")
    return line[1]


def _losses(engine: Engine, run_id: str) -> list[tuple[int, float]]:
    return [(m["step"], m["value"]) for m in engine.run_metrics(None, run_id) if m["key"] == "loss"]


def test_a_script_that_completes_records_a_completed_run(active: Engine, root: Path) -> None:
    child = _child(root, "complete")
    run_id = _ready(child)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert "after the block" in out
    run = active.run(None, run_id)
    assert run["status"] == "completed" and run["holder"] is None
    assert run["params"] == {"mode": "complete"}
    assert run["metrics"] == {"loss": pytest.approx(1 / 3)}
    assert _losses(active, run_id) == [(0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))]
    assert active.detect() == []


def test_a_script_that_raises_records_a_failed_run(active: Engine, root: Path) -> None:
    child = _child(root, "raise")
    run_id = _ready(child)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 1
    assert "RuntimeError: disk full" in err and "after the block" not in out
    run = active.run(None, run_id)
    assert run["status"] == "failed"
    assert run["outcome"] == {
        "result": "failed",
        "error_type": "RuntimeError",
        "message": "disk full",
    }
    assert len(_losses(active, run_id)) == 3


def test_a_script_killed_in_the_block_is_detected_at_once_and_recovered(
    active: Engine, root: Path
) -> None:
    child = _child(root, "wait")
    try:
        run_id = _ready(child)
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=60)
    (found,) = active.detect()  # at once: the holder's pid is gone, no heartbeat to wait for
    assert (found["type"], found["id"], found["status"]) == ("run", run_id, "running")
    assert "is gone" in found["reason"]
    assert len(_losses(active, run_id)) == 3  # every value whose log returned survived
    settled = active.recover_run(None, run_id, abandon=True)
    assert settled["status"] == "interrupted"
    assert active.detect() == []


def test_a_script_interrupted_with_sigint_records_an_interrupted_run(
    active: Engine, root: Path
) -> None:
    child = _child(root, "wait")
    try:
        run_id = _ready(child)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode != 0 and "KeyboardInterrupt" in err  # it still propagates
    assert "after the block" not in out
    assert active.run(None, run_id)["status"] == "interrupted"
    assert active.detect() == []


LOGGER = """
import sys
from conductor_nb import Conductor

with Conductor(sys.argv[1]).run(sys.argv[2]) as run:
    print("ready", run.run_id, flush=True)
    sys.stdin.readline()  # both children log at once
    for step in range(200):
        run.log(step=step, value=step * 0.5)
"""


def test_two_processes_log_concurrently_in_one_track(active: Engine, root: Path) -> None:
    children = [
        subprocess.Popen(
            [sys.executable, "-c", LOGGER, str(root), f"worker {n}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in (1, 2)
    ]
    run_ids = [_ready(child) for child in children]
    for child in children:
        child.stdin.write("go\n")
        child.stdin.flush()
    for child in children:
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
    assert len(set(run_ids)) == 2
    for run_id in run_ids:
        run = active.run(None, run_id)
        assert run["status"] == "completed" and run["metrics"] == {"value": 99.5}
        rows = active.run_metrics(None, run_id)
        assert [(r["step"], r["value"]) for r in rows] == [(s, s * 0.5) for s in range(200)]


# -- in this process ------------------------------------------------------------------------


def test_nested_runs_record_their_parent(active: Engine) -> None:
    with TrackedRun(active, "outer") as outer:
        assert current_run() is outer
        with TrackedRun(active, "inner") as inner:
            assert current_run() is inner
        assert current_run() is outer
    assert current_run() is None
    assert inner.parent_run_id == outer.run_id
    assert active.run(None, inner.run_id)["parent_run_id"] == outer.run_id
    assert "parent_run_id" not in active.run(None, outer.run_id)
    assert (outer.status, inner.status) == ("completed", "completed")


def test_a_run_in_a_named_track_records_the_parent_track(active: Engine, root: Path) -> None:
    other = active.create("Side work")["track_id"]
    api = Conductor(root)
    with api.run("outer") as outer, api.run("side", track="Side work") as side:
        pass
    assert side.track_id == other and outer.track_id != other
    run = active.run(other, side.run_id)
    assert run["parent_run_id"] == outer.run_id and run["parent_track_id"] == outer.track_id


def test_the_decorator_makes_each_call_a_run(active: Engine, root: Path) -> None:
    @tracked_run("train", root=root)
    def train(rate: float) -> str:
        current_run().log(loss=rate)
        return current_run().run_id

    @tracked_run(root=root)
    def evaluate() -> None:
        raise ValueError("no data")

    first, second = train(0.5), train(0.25)
    assert (first, second) == ("run-001-train", "run-002-train")
    assert train.__name__ == "train"
    with pytest.raises(ValueError, match="no data"):
        evaluate()
    runs = {r["run_id"]: r for r in active.runs(None)}
    assert runs["run-002-train"]["metrics"] == {"loss": 0.25}
    assert runs["run-003-evaluate"]["outcome"]["error_type"] == "ValueError"

    @tracked_run("pipeline", root=root)
    def pipeline() -> str:
        return train(0.1)

    inner = pipeline()
    assert inner == "run-005-train"
    assert active.run(None, inner)["parent_run_id"] == "run-004-pipeline"


def test_the_decorator_refuses_what_it_cannot_bracket() -> None:
    async def later() -> None:
        pass

    def lazy():
        yield 1

    for function in (later, lazy):
        with pytest.raises(InvalidInput, match="coroutine or generator"):
            tracked_run(function)


def test_module_level_run_uses_the_usual_root(
    active: Engine, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONDUCTOR_ROOT", str(root))
    with conductor_nb.run("from the package") as run:
        run.log(accuracy=0.9)
    assert active.run(None, run.run_id)["metrics"] == {"accuracy": 0.9}


def test_log_params_and_artifact(active: Engine, tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    report.write_text("<p>ok</p>")
    with TrackedRun(active, "with records") as run:
        run.log(loss=2.0)
        run.log(loss=1.0, accuracy=0.5, step=10)
        run.log(loss=0.5)
        assert run.log_params(rate=0.01, layers=3) == {"rate": 0.01, "layers": 3}
        assert run.log_params(rate=0.02, optimiser=object) == {
            "rate": 0.02,
            "layers": 3,
            "optimiser": "<class 'object'>",
        }
        stored = run.artifact(report)
    expected = hashlib.sha256(b"<p>ok</p>").hexdigest()
    assert (stored["name"], stored["size"], stored["sha256"]) == ("report.html", 9, expected)
    folder = active.tree.track_file(run.track_id, "workflows", run.run_id)
    assert (folder / "artifacts" / "report.html").read_text() == "<p>ok</p>"
    record = active.run(None, run.run_id)
    assert [a["sha256"] for a in record["artifacts"]] == [expected]
    assert record["metrics"] == {"loss": 0.5, "accuracy": 0.5}
    rows = [(m["key"], m["value"], m["step"]) for m in run.metrics()]
    assert rows == [("loss", 2.0, 0), ("loss", 1.0, 10), ("accuracy", 0.5, 10), ("loss", 0.5, 2)]
    assert all(m["time"] for m in run.metrics())


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda run: run.log(), "at least one metric"),
        (lambda run: run.log(loss="high"), "metric 'loss' must be a number"),
        (lambda run: run.log(done=True), "metric 'done' must be a number"),
        (lambda run: run.log(step=-1, loss=1.0), "step must be a whole number"),
        (lambda run: run.log(**{"": 1.0}), "a metric name must be"),
        (lambda run: run.log_params(), "at least one parameter"),
        (lambda run: run.artifact("/no/such/file"), "cannot read /no/such/file"),
    ],
)
def test_bad_input_is_one_clear_error(active: Engine, call, message: str) -> None:
    with TrackedRun(active, "strict") as run, pytest.raises(InvalidInput, match=message):
        call(run)
    assert run.status == "completed" and run.metrics() == []


def test_a_run_records_only_inside_its_block(active: Engine) -> None:
    run = TrackedRun(active, "later")
    with pytest.raises(InvalidInput, match="has not started"):
        run.log(loss=1.0)
    with run:
        run.log(loss=1.0)
    with pytest.raises(InvalidInput, match="has ended"):
        run.log(loss=2.0)
    with pytest.raises(InvalidInput, match="already started"), run:
        pass
    assert [m["value"] for m in run.metrics()] == [1.0]


def test_a_finished_track_takes_no_run(active: Engine) -> None:
    active.transition(None, "complete")
    with pytest.raises(InvalidInput, match="no track is active"), TrackedRun(active, "late"):
        pass
    late = TrackedRun(active, "late", track="Nightly")
    with pytest.raises(InvalidInput, match="takes no new runs"), late:
        pass
    assert late.run_id is None and active.runs("Nightly") == []


def test_system_exit_zero_completes_and_other_exits_fail(active: Engine) -> None:
    with pytest.raises(SystemExit), TrackedRun(active, "clean exit") as clean:
        sys.exit(0)
    with pytest.raises(SystemExit), TrackedRun(active, "bad exit") as bad:
        sys.exit(3)
    assert clean.status == "completed"
    assert active.run(None, bad.run_id)["outcome"]["error_type"] == "SystemExit"


def test_a_torn_metrics_line_is_skipped_and_the_next_value_kept(active: Engine) -> None:
    with TrackedRun(active, "torn") as run:
        run.log(loss=1.0)
        path = active.tree.track_file(run.track_id, "workflows", run.run_id, METRICS_FILE)
        with open(path, "ab") as half:
            half.write(b'{"time": "2026-01-01T00:00:00.000Z", "step": 9, "metr')  # a crash
        run.log(loss=0.5)
    assert [m["value"] for m in run.metrics()] == [1.0, 0.5]
    assert len(read_metrics(path)) == 2 and len(path.read_bytes().splitlines()) == 3


def test_the_heartbeat_keeps_the_run_fresh(root: Path, clock) -> None:
    engine = Engine(root, clock=clock)
    engine.create("Beating")
    engine.transition("Beating", "activate")
    with TrackedRun(engine, "long", heartbeat_every=0.01) as run:
        started = engine.run(None, run.run_id)["heartbeat_at"]
        clock.advance(minutes=45)  # past detect's 30-minute threshold, were it not renewed
        beaten = threading.Event()
        for _ in range(2000):
            if engine.run(None, run.run_id)["heartbeat_at"] != started:
                beaten.set()
                break
            beaten.wait(0.005)
        assert beaten.is_set()
        assert [f for f in engine.detect() if f["type"] == "run"] == []
    assert engine.run(None, run.run_id)["status"] == "completed"


def test_heartbeat_calls_its_beat_until_stopped() -> None:
    calls = threading.Semaphore(0)
    heartbeat = Heartbeat(calls.release, "a test", every=0.001)
    assert calls.acquire(timeout=30) and calls.acquire(timeout=30)
    heartbeat.stop()
    assert not heartbeat._thread.is_alive()


def test_run_json_keeps_its_fields_and_stays_valid(active: Engine) -> None:
    """The added fields sit beside the original ones, and the API's model reads them."""
    with TrackedRun(active, "model") as run, TrackedRun(active, "child") as child:
        run.log(loss=1.0)
        child.log_params(depth=2)
    record = active.run(None, run.run_id)
    original = {"run_id", "track_id", "name", "workflow", "status", "created_at", "updated_at"}
    assert original | {"started_at", "finished_at", "heartbeat_at", "outcome", "holder"} <= set(
        record
    )
    model, child_model = Conductor(active.root).runs()
    assert model.run_id == run.run_id and model.status.value == "completed"
    assert model.metrics == {"loss": 1.0} and model.parent_run_id is None
    assert child_model.parent_run_id == run.run_id and child_model.params == {"depth": 2}
    assert json.loads(json.dumps(record)) == record


# -- analytics --------------------------------------------------------------------------------


def test_analytics_has_one_row_per_logged_value(active: Engine, root: Path) -> None:
    from conductor_nb import analytics

    with TrackedRun(active, "fit") as fit:
        fit.log(loss=1.0, accuracy=0.25)
        fit.log(loss=0.5, step=7)
    with TrackedRun(active, "no metrics"):
        pass
    frame = analytics.load(root, cache=False).run_metrics()
    assert list(frame.columns) == ["track_id", "run_id", "key", "value", "step", "time"]
    rows = frame[["run_id", "key", "value", "step"]].to_dict("records")
    assert rows == [
        {"run_id": fit.run_id, "key": "loss", "value": 1.0, "step": 0},
        {"run_id": fit.run_id, "key": "accuracy", "value": 0.25, "step": 0},
        {"run_id": fit.run_id, "key": "loss", "value": 0.5, "step": 7},
    ]
    assert set(frame["track_id"]) == {fit.track_id}
    assert str(frame["time"].dt.tz) == "UTC" and frame["time"].notna().all()
    both = analytics.load({"a": root, "b": root}, cache=False).run_metrics()
    assert list(both["project"]) == ["a"] * 3 + ["b"] * 3


def test_demo_runs_log_metrics_deterministically(tmp_path: Path) -> None:
    from conductor_nb import analytics

    frames = []
    for name in ("one", "two"):
        analytics.generate(tmp_path / name, tracks=15, seed=2, days=20)
        frames.append(analytics.load(tmp_path / name, cache=False).run_metrics())
    assert set(frames[0]["key"]) >= {"coverage", "tests"}
    assert frames[0].equals(frames[1])


def test_non_finite_metrics_round_trip_in_strict_json(active: Engine) -> None:
    """A NaN loss is a value, not damage: the files hold it as text (strict JSON), the
    API gives the number back, and validate finds nothing."""
    with TrackedRun(active, "train") as run:
        run.log(loss=float("nan"), grad=float("inf"))
        run.log(loss=float("-inf"))
    folder = active.tree.track_file(run.track_id, "workflows", run.run_id)
    for line in (folder / METRICS_FILE).read_text().splitlines():
        json.loads(line, parse_constant=lambda token: pytest.fail(f"{token} in metrics"))
    summary = json.loads((folder / "run.json").read_text())["metrics"]
    assert summary == {"loss": "-Infinity", "grad": "Infinity"}
    values = [(row["key"], row["value"]) for row in run.metrics()]
    assert values[1] == ("grad", float("inf")) and values[2] == ("loss", float("-inf"))
    assert values[0][0] == "loss" and values[0][1] != values[0][1]  # NaN
    assert active.validate() == []
