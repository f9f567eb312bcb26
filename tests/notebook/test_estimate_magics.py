"""Estimates and `%track forecast` in a real kernel: the CLI's grammar, a result whose
text is the CLI's line and whose ``.data`` holds the same facts, and a bad duration as
one UsageError line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from estimate_history import build_history, started_track

from .test_kernel import run_in_kernel


@pytest.fixture
def no_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))  # no user profile


def _stdout(reply: dict) -> str:
    assert reply["status"] == "ok", reply
    return "".join(text for name, text in reply["streams"] if name == "stdout")


def test_estimates_and_forecast_through_the_magic(no_profile: None, tmp_path: Path) -> None:
    root = tmp_path / "root"
    engine, clock = build_history(root)
    started_track(engine, clock, "Target", estimate="20h")
    at = f'--root "{root}"'
    made, step, moved, forecast, bad = run_in_kernel(
        f'r = %track create "Kernel estimate" --estimate 2d {at}\n'
        "print(r.data['estimated_duration_minutes'])",
        f'r = %track step add "Check" --track "Kernel estimate" --estimate 45m {at}\nprint(r)',
        f'r = %track estimate "Kernel estimate" 1w {at}\n'
        "print(r.data['estimated_duration_minutes'])",
        f"r = %track forecast {at}\n"
        "import json\n"
        "print(r)\n"
        "print(json.dumps(r.data, sort_keys=True))",
        f'%track estimate "Kernel estimate" whenever {at}',
    )
    assert _stdout(made) == "2880\n"
    assert _stdout(step) == "added step-1, estimate 45m\n"
    assert _stdout(moved) == "10080\n"
    line, facts = _stdout(forecast).splitlines()
    data = json.loads(facts)
    assert data["name"] == "Target" and data["forecast"] is True
    assert data["basis"]["remaining_minutes"] == {"low": 774.0, "expected": 990.0, "high": 1584.0}
    assert line.startswith(f"'Target' ({data['track_id']}): expected to finish ")
    assert "estimate 20h scaled by 4 completed feature tracks" in line
    assert (bad["status"], bad["ename"], bad["traceback"]) == ("error", "UsageError", [])
    [(stream, text)] = bad["streams"]
    assert stream == "stderr" and text.count("\n") == 1
    assert "'whenever' is not a duration" in text
    assert engine.track("Kernel estimate")["estimated_duration_minutes"] == 10080
