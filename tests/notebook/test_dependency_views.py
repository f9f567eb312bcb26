"""Dependencies in a notebook: `%track depend`, `next`, `conflicts` and `graph` in a real
kernel (the shared grammar, a refusal as one UsageError line, the graph as a Figure),
and the board marking the tracks that wait, in this process."""

from __future__ import annotations

from pathlib import Path

import pytest

from conductor_nb.engine import Engine
from conductor_nb.notebook import watch
from conductor_nb.notebook.board import Board
from conductor_nb.notebook.dependency_graph import Report, draw, positions

from .test_kernel import run_in_kernel

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def kernel_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root: Path) -> Path:
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))  # no user profile
    monkeypatch.setenv("CONDUCTOR_ROOT", str(root))
    return root


def test_dependency_commands_in_a_real_kernel(kernel_root: Path) -> None:
    engine = Engine(kernel_root)
    schema = engine.create("Schema", priority="P1")["track_id"]
    api = engine.create("API", priority="P0")["track_id"]
    engine.update(schema, "target_directories", "src/db")
    engine.update(api, "target_files", "src/db/models.py")
    depend, listing, refused, nxt, conflicts, graph = run_in_kernel(
        'r = %track depend API --on Schema\nprint(type(r).__name__, r.data["waiting_on"])',
        "shown = %track depend API\nprint(repr(shown))",
        "%track activate API",
        "n = %track next\nprint(n.data['proposal']['name'])\nprint(n)",
        "c = %track conflicts\nprint(c)",
        "from matplotlib.figure import Figure\nfig = %track graph\n"
        "print(isinstance(fig, Figure), len(fig.axes[0].texts), len(fig._repr_png_()) > 1000)",
    )
    assert depend["streams"] == [("stdout", f"Report ['{schema}']\n")]
    assert listing["streams"][0][1].splitlines()[:3] == [
        f"'API' ({api}) [draft]",
        "  waits on:",
        f"    'Schema' ({schema}) [draft]  not done",
    ]
    assert (refused["status"], refused["ename"], refused["traceback"]) == (
        "error",
        "UsageError",
        [],
    )
    (stream,) = refused["streams"]
    assert stream[0] == "stderr" and stream[1].count("\n") == 1
    assert f"cannot activate 'API' ({api}): it waits on 'Schema' ({schema})" in stream[1]
    out = nxt["streams"][0][1].splitlines()
    assert out[:2] == ["Schema", f"next: 'Schema' ({schema})"]
    assert "unblocks 1 track" in out[2]
    assert "src/db/models.py is inside src/db/" in conflicts["streams"][0][1]
    assert graph["streams"] == [("stdout", "True 3 True\n")]  # two tracks and the title


def test_the_graph_is_drawn_in_layers(engine: Engine) -> None:
    first = engine.create("First")["track_id"]
    second = engine.create("Second")["track_id"]
    third = engine.create("Third")["track_id"]
    engine.depend(second, on=first)
    engine.depend(third, on=second)
    engine.depend(third, on=first)
    graph = engine.dependency_graph()
    placed = positions(graph)
    assert placed[first][0] < placed[second][0] < placed[third][0]  # prerequisites left
    fig = draw(graph)
    ax = fig.axes[0]
    labels = {t.get_text() for t in ax.texts}
    assert {"First\n[draft]", "Second\n[draft]", "Third\n[draft]"} <= labels
    assert len([c for c in ax.get_children() if type(c).__name__ == "Annotation"]) >= 3
    empty = draw({"nodes": [], "edges": []})
    assert [t.get_text() for t in empty.axes[0].texts] == ["no dependencies between open tracks"]
    assert repr(fig).splitlines()[0] == "layer 1:"  # the text form: its layers
    assert fig._repr_png_().startswith(b"\x89PNG")
    report = Report("a <b> line\nnext", {"x": 1})
    assert repr(report) == "a <b> line\nnext"
    assert report._repr_html_() == "<pre class='conductor-report'>a &lt;b&gt; line\nnext</pre>"


@pytest.fixture
def watcher():
    instance = watch.Watcher(interval=0.05)
    yield instance
    instance.stop()


def test_the_board_marks_blocked_tracks_and_what_blocks_them(engine: Engine, watcher) -> None:
    blocker = engine.create(XSS)["track_id"]
    waiter = engine.create("Waiter")["track_id"]
    free = engine.create("Free")["track_id"]
    engine.depend(waiter, on=blocker)
    board = Board(engine, watcher=watcher, live=False)
    assert "blocked: waits on &lt;img src=x onerror=alert(1)&gt; [draft]" in (
        board.row(waiter).label.value
    )
    assert XSS not in board.row(waiter).label.value
    assert "blocked" not in board.row(free).label.value
    assert "blocked" not in board.row(blocker).label.value
    text = repr(board)
    waiter_line = next(line for line in text.splitlines() if waiter in line)
    assert waiter_line.endswith(f"blocked: waits on {XSS} [draft]")
    assert board.act(waiter, "activate") is False  # refused, said in the board
    assert board.message.kind == "error" and "waits on" in board.message.text
    engine.transition(blocker, "activate")
    engine.transition(blocker, "complete")
    board.refresh()
    assert "blocked" not in board.row(waiter).label.value
    assert "blocked" not in repr(board)
    assert board.act(waiter, "activate") is True
    board.close()
