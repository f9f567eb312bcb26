"""`conductor switch` says which checkpoint it took of the track it paused (or that it
took none, for a track whose checkpoint_frequency is 'never')."""

from __future__ import annotations

from pathlib import Path

from cli_process import conductor_in

from conductor_nb.engine import Engine


def test_switch_names_the_checkpoint_of_the_paused_track(root: Path, tmp_path: Path) -> None:
    engine = Engine(root)
    alpha = engine.create("Alpha")["track_id"]
    beta = engine.create("Beta")["track_id"]
    engine.transition(alpha, "activate")

    done = conductor_in(tmp_path, "switch", "Beta", env_root=root)
    assert done.returncode == 0, done.stderr
    checkpoint = engine.track(alpha)["last_checkpoint"]
    assert engine.checkpoint(alpha, checkpoint)["kind"] == "suspend"
    assert done.stdout.splitlines()[0] == (
        f"switched to {beta}; paused 'Alpha' ({alpha}) with checkpoint {checkpoint}"
    )

    engine.update(beta, field="checkpoint_frequency", value="never")
    back = conductor_in(tmp_path, "switch", "--to", "Alpha", env_root=root)
    assert back.stdout.splitlines()[0] == (
        f"switched to {alpha}; paused 'Beta' ({beta}) (no checkpoint: its "
        "checkpoint_frequency is never)"
    )
    assert engine.track(beta).get("last_checkpoint") is None
