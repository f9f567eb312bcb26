"""`conductor create/update/step add --estimate`, `conductor estimate` and `conductor
forecast` as a user runs them: real processes."""

from __future__ import annotations

import json
from pathlib import Path

from cli_process import conductor_in
from estimate_history import P10, P50, P90, build_history, started_track


def _json(cwd: Path, *args: str) -> dict:
    done = conductor_in(cwd, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_estimates_are_set_from_the_command_line(tmp_path: Path) -> None:
    root = str(tmp_path / "root")
    made = conductor_in(
        tmp_path, "--root", root, "create", "--name", "OAuth login", "--estimate", "3d"
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("created track-oauth-login-")
    assert "estimate 3d" in made.stdout
    added = conductor_in(
        tmp_path, "--root", root, "step", "add", "Callback", "--track", "OAuth login",
        "--estimate", "90m",
    )  # fmt: skip
    assert added.stdout.strip() == "added step-1, estimate 1h 30m"
    updated = conductor_in(tmp_path, "--root", root, "update", "OAuth login", "--estimate", "12h")
    assert updated.stdout.strip().endswith("): 12h")
    on_step = conductor_in(tmp_path, "--root", root, "estimate", "OAuth login", "1", "2h")
    assert on_step.stdout.startswith("estimate of step step-1 (Callback) of 'OAuth login'")

    shown = conductor_in(tmp_path, "--root", root, "show", "OAuth login").stdout
    assert "\n  estimate  12h\n" in shown
    track = _json(tmp_path, "--root", root, "show", "OAuth login")
    assert track["estimated_duration_minutes"] == 720
    assert track["steps"][0]["timing"]["estimated_duration_minutes"] == 120
    entry = _json(tmp_path, "--root", root, "list")[0]
    assert entry["estimated_duration_minutes"] == 720

    dropped = _json(tmp_path, "--root", root, "estimate", "OAuth login", "none")
    assert dropped["estimated_duration_minutes"] is None
    assert "estimated_duration_minutes" not in _json(
        tmp_path, "--root", root, "show", "OAuth login"
    )


def test_a_bad_duration_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "root"
    bad = conductor_in(tmp_path, "--root", str(root), "create", "Never", "--estimate", "3 days")
    assert bad.returncode == 1
    assert bad.stdout == ""
    assert bad.stderr.count("\n") == 1
    assert "'3 days' is not a duration" in bad.stderr and "Traceback" not in bad.stderr
    assert not root.exists()
    conductor_in(tmp_path, "--root", str(root), "create", "Made")
    again = conductor_in(tmp_path, "--root", str(root), "estimate", "Made", "soon")
    assert (again.returncode, again.stderr.count("\n")) == (1, 1)
    assert "'soon' is not a duration" in again.stderr
    both = conductor_in(
        tmp_path, "--root", str(root), "update", "Made", "--estimate", "1h", "--field", "goal",
        "--value", "g",
    )  # fmt: skip
    assert (both.returncode, both.stderr.count("\n")) == (2, 1)
    assert "update takes --estimate alone" in both.stderr
    assert "estimated_duration_minutes" not in _json(tmp_path, "--root", str(root), "show", "Made")


def test_forecast_gives_the_same_facts_as_text_and_json(tmp_path: Path) -> None:
    root = tmp_path / "root"
    engine, clock = build_history(root)
    started_track(engine, clock, "Target", estimate="20h")
    data = _json(tmp_path, "--root", str(root), "forecast")  # the active track
    assert data["name"] == "Target" and data["forecast"] is True
    basis = data["basis"]
    assert basis["method"] == "estimate" and basis["history"] == 4
    assert basis["ratios"] == {"low": P10, "expected": P50, "high": P90}
    assert basis["remaining_minutes"] == {"low": 774.0, "expected": 990.0, "high": 1584.0}
    assert data["low"] < data["expected_finish"] < data["high"]

    text = conductor_in(tmp_path, "--root", str(root), "forecast", "Target")
    assert text.returncode == 0, text.stderr
    line = text.stdout.strip()
    assert "\n" not in line
    # the process's own clock: the dates are its, the rest is the history's
    assert line.startswith(f"'Target' ({data['track_id']}): expected to finish ")
    assert "(between " in line and "1/4 steps done" in line
    assert "estimate 20h scaled by 4 completed feature tracks" in line
    assert "(actual/estimate 0.86-1.76, median 1.10)" in line


def test_forecast_with_too_little_history_is_not_an_error(tmp_path: Path) -> None:
    root = tmp_path / "root"
    engine, clock = build_history(root)
    started_track(engine, clock, "A bug", estimate="1d", type="bugfix")
    done = conductor_in(tmp_path, "--root", str(root), "forecast", "A bug")
    assert done.returncode == 0
    assert done.stdout.strip().endswith(
        ": too little history to forecast (2 bugfix tracks completed, need 3)"
    )
    data = _json(tmp_path, "--root", str(root), "forecast", "A bug")
    assert (data["forecast"], data["expected_finish"], data["basis"]["history"]) == (False, None, 2)
