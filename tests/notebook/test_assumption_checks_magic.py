"""Assumptions that check themselves in a notebook: expression checks evaluated in a
real kernel's namespace (on ``%track assumptions --check`` and on ``%track resume``),
``--approve`` through the magic, and the panel's "check assumptions" button and marker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.notebook.test_kernel import run_in_kernel


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg"


def on_disk(root: Path) -> list[dict]:
    (path,) = (root / "tracks").glob("*/context/assumptions.json")
    return json.loads(path.read_text(encoding="utf-8"))


def test_expressions_are_checked_in_the_kernel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root: Path, machine: Path
) -> None:
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("CONDUCTOR_ROOT", str(root))
    replies = run_in_kernel(
        '%track create --name "Cleaning"\n%track activate Cleaning',
        "df = list(range(10))",
        '%track assume "df has rows" --check-expr "len(df) > 5"',
        '%track assume "df has a mean" --check-expr "df.mean() > 0"',
        "checks = %track assumptions --check\nprint(checks[['id', 'result', 'found']].to_csv())",
        "%track pause",
        "df = []",
        "%track resume Cleaning",
    )
    assert all(r["status"] == "ok" for r in replies), replies
    table = replies[4]["streams"][0][1]
    assert "assumption-1,holds,True" in table
    assert (
        "assumption-2,failed,raised AttributeError: 'list' object has no attribute 'mean'" in table
    )

    resumed = replies[7]["streams"]
    assert ("stderr", "conductor: assumption failed: assumption-1 'df has rows' ") in [
        (name, text.split("(expected")[0]) for name, text in resumed
    ]
    first, second = on_disk(root)
    assert first["status"] == "invalidated"
    assert first["evidence"] | {"checked_at": None} == {
        "holds": False,
        "expected": "true",
        "found": "False",
        "checked_at": None,
    }
    assert second["evidence"]["found"].startswith("raised AttributeError")


def test_approve_through_the_magic(track, root: Path, machine: Path, tmp_path: Path) -> None:
    track('create --name "Shared"')
    track("activate Shared")
    track('assume "it builds" --check-command true')
    (path,) = (root / "tracks").glob("*/context/assumptions.json")
    items = json.loads(path.read_text())
    items[0]["check"]["command"] = "touch merged.txt"
    path.write_text(json.dumps(items))

    frame = track("assumptions --check")
    assert list(frame["result"]) == ["not approved"]
    assert not (tmp_path / "merged.txt").exists()
    said = track("assumptions --approve assumption-1")
    assert "approved the check of assumption-1" in repr(said)
    assert list(track("assumptions --check")["result"]) == ["holds"]
    assert (tmp_path / "merged.txt").exists()  # ran in the project folder


def test_the_panel_marks_a_failed_check_and_its_button_checks(
    track, ip, root: Path, machine: Path, tmp_path: Path
) -> None:
    track('create --name "Panel"')
    track("activate Panel")
    (tmp_path / "data.csv").write_text("a\n")
    ip.user_ns["rows"] = 3
    track('assume "data frozen" --check-file data.csv')
    track('assume "three rows" --check-expr "rows == 3"')
    panel = track("show")
    try:
        assert panel.attention.value == ""
        assert panel.check_button.description == "check assumptions"
        assert "file data.csv" in panel.assumptions_table.value

        (tmp_path / "data.csv").write_text("b\n")
        ip.user_ns["rows"] = 4
        panel.check_button.click()
        assert "2 checked: 0 hold, 2 failed, 0 not run" in panel.message.value
        assert "needs attention: assumption failed: data frozen (and 1 more)" in (
            panel.attention.value
        )
        assert "conductor-attention" in panel.attention.value
        assert "found False" in panel.check_results.value
        assert [a["status"] for a in on_disk(root)] == ["invalidated", "invalidated"]

        (tmp_path / "data.csv").write_text("a\n")
        ip.user_ns["rows"] = 3
        panel.check_assumptions()
        assert panel.attention.value == ""
        assert [a["evidence"]["holds"] for a in on_disk(root)] == [True, True]
    finally:
        panel.close()


def test_the_board_marks_a_track_whose_check_failed(track, root: Path, machine: Path) -> None:
    track('create --name "Board"')
    track("activate Board")
    track('assume "the tool answers" --check-command "sh -c \'exit 2\'"')
    track("assumptions --check")
    board = track("board")
    try:
        row = board.row("Board")
        assert "needs attention: assumption failed: the tool answers" in row.label.value
        assert "needs attention: assumption failed: the tool answers" in repr(board)
    finally:
        board.close()
