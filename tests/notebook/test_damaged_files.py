"""A damaged file in the notebook (issue 18): `%track` raises one UsageError line naming
the file and what to run, and the board and the panel show that line; after `repair`
(or `rebuild`) they read again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from conductor_nb.engine import Engine
from conductor_nb.notebook import watch
from conductor_nb.notebook.board import Board
from conductor_nb.notebook.panel import TrackPanel

DEEP = b"[" * 100_000 + b"]" * 100_000


def _tree(root: Path) -> tuple[Engine, str]:
    engine = Engine(root)
    track_id = engine.create("Damaged", goal="g")["track_id"]
    engine.transition(track_id, "activate")
    engine.decide(track_id, "Use PKCE")
    engine.create_checkpoint(track_id, reason="r")
    engine.configure_project(add_rules=["Be kind"])
    return engine, track_id


def _file(engine: Engine, track_id: str, which: str) -> Path:
    return {
        "registry": engine.tree.registry.path,
        "track": engine.tree.track_file(track_id, "track.json"),
        "decisions": engine.tree.track_file(track_id, "context", "decisions.json"),
        "manifest": engine.tree.track_file(track_id, "checkpoints", "checkpoint-001.json"),
        "project": engine.root / "project.json",
    }[which]


@pytest.mark.parametrize(
    ("which", "damage", "line"),
    [
        ("registry", DEEP, "list"),
        ("track", DEEP, "show"),
        ("track", b'{"track_id": 1, "steps": 3}', "show"),
        ("decisions", DEEP, "decisions"),
        ("decisions", b"[1, 2]", "context"),
        ("manifest", b'{"kind": "manual"}', "checkpoints"),  # was KeyError: 'checkpoint_id'
        ("manifest", b'{"checkpoint_id": NaN}', "checkpoints"),
        ("project", b'{"rules": [Infinity]}', "project"),
        ("project", b"\xff\xfe{}", "context"),
    ],
)
def test_a_damaged_file_is_one_usage_error_line(track, ip, capsys, root, which, damage, line):
    engine, track_id = _tree(root)
    path = _file(engine, track_id, which)
    path.write_bytes(damage)
    with pytest.raises(UsageError) as raised:
        track(line)
    message = str(raised.value)
    assert str(path) in message and "conductor re" in message and "\n" not in message
    result = ip.run_cell(f"%track {line}")
    assert type(result.error_in_exec) is UsageError
    _, err = capsys.readouterr()
    assert err.startswith("UsageError: ") and err.count("\n") == 1 and "Traceback" not in err
    track("rebuild" if which == "registry" else "repair")
    assert len(track("validate")) == 0
    track(line)  # reads again


@pytest.fixture
def watcher():
    instance = watch.Watcher(interval=0.05)
    yield instance
    instance.stop()


def test_the_panel_and_the_board_show_the_one_line(root, watcher):
    engine, track_id = _tree(root)
    panel = TrackPanel(engine, track_id, watcher=watcher, live=False)
    board = Board(engine, watcher=watcher, live=False)
    decisions = _file(engine, track_id, "decisions")
    good = decisions.read_bytes()
    decisions.write_bytes(DEEP)
    panel.refresh()
    assert panel.message.kind == "error"
    assert str(decisions) in panel.message.text and "conductor repair" in panel.message.text
    assert "RecursionError" not in panel.message.text and "\n" not in panel.message.text
    decisions.write_bytes(good)
    manifest = _file(engine, track_id, "manifest")
    manifest.write_text(json.dumps({"kind": "manual"}))
    panel.refresh(everything=True)
    assert str(manifest) in panel.message.text and "KeyError" not in panel.message.text
    registry = engine.tree.registry.path
    good = registry.read_bytes()
    registry.write_bytes(DEEP)
    board.refresh()
    assert board.message.kind == "error" and "nested too deeply" in board.message.text
    registry.write_bytes(good)
    engine.repair()
    board.refresh()
    panel.refresh(everything=True)
    assert (board.message.kind, panel.message.kind) == ("", "")
    assert engine.validate() == []
