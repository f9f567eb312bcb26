"""`%track migrate` in a kernel: the dry run is a DataFrame of the planned changes and
writes nothing; a root from a newer format is one UsageError line, even for an engine
the magic opened before the root was upgraded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from IPython.core.error import UsageError

from conductor_nb.store import formats

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "seed-conductor" / "conductor"
ONBOARDING = "track-onboarding-flow-1795583995315"


def _files(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.parent.rglob("*"))
    }


def test_a_dry_run_is_a_dataframe_of_the_planned_changes(track, root: Path) -> None:
    shutil.copytree(FIXTURE, root)
    before = _files(root)
    frame = track("migrate --dry-run")
    assert _files(root) == before
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == [
        "step",
        "track_id",
        "file",
        "field",
        "change",
        "before",
        "after",
    ]
    status = frame[(frame.track_id == ONBOARDING) & (frame.field == "status")].iloc[0]
    assert (status.change, status.before, status.after) == ("set", '"draft"', '"ready"')
    assert "dry run" in frame.attrs["message"]
    assert (frame.file == formats.FORMAT_NAME).sum() == 1

    done = track("migrate")
    assert isinstance(done, pd.DataFrame) and len(done) == len(frame)
    assert json.loads((root / formats.FORMAT_NAME).read_text())["format"] == 2
    assert track("migrate").empty  # nothing left to do


def test_a_newer_format_is_one_usage_error_line(track, root: Path) -> None:
    shutil.copytree(FIXTURE, root)
    assert len(track("list")) == 9  # the magic keeps this root's engine
    (root / formats.FORMAT_NAME).write_text('{"format": 3}')
    for line in ("list", "migrate --dry-run", "show"):
        with pytest.raises(UsageError) as caught:
            track(line)
        message = str(caught.value)
        assert "\n" not in message and "format 3" in message
        assert "pip install -U conductor_nb" in message
