"""Session recovery with real processes: a holder killed with SIGKILL leaves work that
`detect` finds and `resume` re-attaches; the original tool's gzip snapshots stay readable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conductor_nb import Conductor
from conductor_nb.engine import Engine
from conductor_nb.errors import InvalidInput

HOLDER = """
import sys, time
from conductor_nb import Conductor
c = Conductor(sys.argv[1])
c.activate("Long work")
c.engine.take_lease("Long work", holder="kernel")
run = c.create_run("training")
c.start_run(run.run_id)
print("ready", flush=True)
time.sleep(120)
"""


def _killed_holder(root: Path) -> None:
    """A child activates the track, holds it, starts a run, and is SIGKILLed."""
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root)], stdout=subprocess.PIPE, text=True
    ) as child:
        try:
            assert child.stdout.readline().strip() == "ready"
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(30)


def _cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "conductor_nb.cli", "--root", str(root), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_killed_holder_is_detected_and_resumed(root: Path) -> None:
    """detect lists the active track and the running run of a killed process; resume
    clears the dead lease and continues the run under a live holder."""
    api = Conductor(root)
    api.create("Long work")
    _killed_holder(root)
    found = {(f["type"], f["id"]): f for f in api.engine.detect()}
    track_id = api.get("Long work").track_id
    assert set(found) == {("track", track_id), ("run", "run-001-training")}
    assert "is gone" in found[("track", track_id)]["reason"]
    listed = _cli(root, "list-interrupted", "--json")
    assert {f["id"] for f in json.loads(listed.stdout)} == {track_id, "run-001-training"}
    assert _cli(root, "resume", "--track-id", track_id).returncode == 0
    assert _cli(root, "resume", "--run-id", "run-001-training").returncode == 0
    assert api.engine.detect() == []  # the run's holder is now our test process (the CLI's parent)
    run = api.engine.run(track_id, "1")
    assert run["status"] == "running" and run["recovery_info"]["previous_holder"]["pid"] > 0
    assert run["holder"]["pid"] == os.getpid()
    assert api.get(track_id).status.value == "active"


def test_abandoned_run_is_marked_interrupted(root: Path) -> None:
    """resume --run-id --abandon only marks the run interrupted."""
    api = Conductor(root)
    api.create("Long work")
    _killed_holder(root)
    run = api.engine.recover_run(None, "run-001-training", abandon=True)
    assert run["status"] == "interrupted" and not run["recovered"]
    with pytest.raises(InvalidInput, match="not running"):
        api.engine.recover_run(None, "run-001-training")


def test_stale_heartbeat_counts_as_gone(root: Path, clock) -> None:
    """A live holder whose heartbeat is older than the threshold is reported; a fresh one
    and a CLI-activated track that changed recently are not."""
    engine = Engine(root, clock=clock)
    engine.create("Quiet track")
    engine.transition("Quiet track", "activate")
    assert engine.detect() == []
    engine.take_lease("Quiet track")
    clock.advance(minutes=31)
    (found,) = engine.detect()
    assert found["reason"] == "no heartbeat for 31 min"
    engine.renew_lease("Quiet track")
    assert engine.detect() == []
    assert engine.release_lease("Quiet track")
    clock.advance(minutes=45)
    assert engine.detect()[0]["reason"] == "no heartbeat for 76 min"


def test_recover_restores_an_unreadable_track_from_its_last_good_checkpoint(root: Path) -> None:
    """A track whose track.json was destroyed comes back from its last good checkpoint."""
    engine = Engine(root)
    track_id = engine.create("Fragile track")["track_id"]
    engine.transition(track_id, "activate")
    engine.add_step(track_id, "keep me")
    engine.create_checkpoint(track_id)
    path = engine.tree.track_file(track_id, "track.json")
    path.write_text("{ truncated")
    done = engine.recover_track(track_id)
    assert any("restored from checkpoint-001" in a for a in done["actions"])
    assert engine.track(track_id)["steps"][0]["name"] == "keep me"
    assert engine.validate() == []


def test_original_gzip_snapshots_are_listed_and_readable(seed_root: Path) -> None:
    """The original tool's snap-*.json.gz files list beside our checkpoints and read back;
    unsafe snapshot ids are refused."""
    engine = Engine(seed_root)
    listed = engine.legacy_snapshots()
    assert [s["checkpoint_id"] for s in listed] == [
        "snap-auto-1795584028459-igoap7",
        "snap-checkpoint-1795584012089-f5dpo4",
        "snap-checkpoint-1795584001500-4vbhdw",
    ]
    (linked,) = engine.legacy_snapshots("User authentication")
    assert linked["reason"] == "Pre-suspension checkpoint: Waiting for security review"
    snapshot = engine.legacy_snapshot("snap-auto-1795584028459-igoap7")
    assert snapshot["trigger"]["type"] == "step_completion"
    with pytest.raises(InvalidInput):
        engine.legacy_snapshot("snap-../../tracks/track-registry")
    result = _cli(seed_root, "checkpoints", "Payment retry bugfix")
    assert "snap-checkpoint-1795584012089-f5dpo4" in result.stdout
