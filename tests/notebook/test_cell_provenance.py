"""Cell provenance in a real kernel: while a track is active every cell is recorded
(source hash, execution count, raised flag, the notebook path and cell id the front
end sends, the ``%%track run`` it opened); a recorder that cannot write warns once and
never breaks a cell; ``%track cells --off``/``--on`` and ``TrackMagics.provenance``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel

from conductor_nb.engine import Engine

NOTEBOOK = "work/analysis.ipynb"


class Kernel:
    """A kernel process started as Jupyter starts it for a notebook (JPY_SESSION_NAME
    set), running cells with the cell id a notebook front end sends."""

    def __init__(self) -> None:
        self.manager, self.client = start_new_kernel(kernel_name="python3", startup_timeout=90)

    def run(self, code: str, cell_id: str | None = None) -> dict:
        """Execute ``code``; the reply's content with the cell's streams."""
        client = self.client
        content = {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": False,
        }
        metadata = {"cellId": cell_id} if cell_id else {}
        request = client.session.msg("execute_request", content, metadata=metadata)
        client.shell_channel.send(request)
        msg_id = request["header"]["msg_id"]
        streams: list[tuple[str, str]] = []
        while True:
            msg = client.get_iopub_msg(timeout=60)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                streams.append((msg["content"]["name"], msg["content"]["text"]))
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        while True:
            reply = client.get_shell_msg(timeout=60)
            if reply["parent_header"].get("msg_id") == msg_id:
                return {**reply["content"], "streams": streams}

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@pytest.fixture
def kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root: Path):
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))  # no user profile
    monkeypatch.setenv("CONDUCTOR_ROOT", str(root))
    monkeypatch.setenv("JPY_SESSION_NAME", NOTEBOOK)
    engine = Engine(root)
    track_id = engine.create("Notebook memory")["track_id"]
    engine.transition(track_id, "activate")
    instance = Kernel()
    instance.track_id = track_id
    yield instance
    instance.close()


def records(root: Path, track_id: str) -> list[dict]:
    path = root / "tracks" / track_id / "cells.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def sha(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def test_every_cell_of_an_active_track_is_recorded(kernel: Kernel, root: Path) -> None:
    first = kernel.run("x = 41", cell_id="cell-a")
    second = kernel.run("x += 1\nraise ValueError('boom')", cell_id="cell-b")
    third = kernel.run("%%track run --name fit\nprint(x)", cell_id="cell-c")
    assert (first["status"], second["status"], third["status"]) == ("ok", "error", "ok")
    assert second["ename"] == "ValueError"
    assert third["streams"] == [("stdout", "42\n")]
    a, b, c = records(root, kernel.track_id)
    assert [r["sha256"] for r in (a, b, c)] == [
        sha("x = 41"),
        sha("x += 1\nraise ValueError('boom')"),
        sha("%%track run --name fit\nprint(x)"),
    ]
    counts = [first["execution_count"], second["execution_count"], third["execution_count"]]
    assert [r["execution_count"] for r in (a, b, c)] == counts == [1, 2, 3]
    assert [r["raised"] for r in (a, b, c)] == [False, True, False]
    assert b["error"] == "ValueError"
    assert [r["cell_id"] for r in (a, b, c)] == ["cell-a", "cell-b", "cell-c"]
    assert {r["notebook"] for r in (a, b, c)} == {NOTEBOOK}
    (run,) = Engine(root).runs(kernel.track_id)
    assert "run_id" not in a and c["run_id"] == run["run_id"]
    assert all(r["duration_ms"] >= 0 and r["started_at"].endswith("Z") for r in (a, b, c))
    assert a["started_at"] <= b["started_at"] <= c["started_at"]


def test_a_recorder_that_cannot_write_warns_once_and_cells_still_run(
    kernel: Kernel, root: Path
) -> None:
    kernel.run("x = 1")
    cells = root / "tracks" / kernel.track_id / "cells.jsonl"
    cells.unlink()
    cells.mkdir()  # a folder where the records go: every append fails
    replies = [kernel.run(f"print({n} * 2)") for n in range(3)]
    assert [r["status"] for r in replies] == ["ok", "ok", "ok"]
    assert [[s for s in r["streams"] if s[0] == "stdout"] for r in replies] == [
        [("stdout", "0\n")],
        [("stdout", "2\n")],
        [("stdout", "4\n")],
    ]
    warnings = [text for r in replies for name, text in r["streams"] if name == "stderr"]
    assert len(warnings) == 1
    assert warnings[0].startswith("conductor: this cell was not recorded")
    assert warnings[0].count("\n") == 1  # one line, no traceback


def test_recording_turns_off_and_on_per_notebook_and_per_kernel(kernel: Kernel, root: Path) -> None:
    kernel.run("a = 1")
    off = kernel.run("%track cells --off")
    assert off["status"] == "ok"
    kernel.run("b = 2")
    kernel.run("%track cells --on")
    kernel.run("c = 3")
    kernel.run("%config TrackMagics.provenance = False")
    kernel.run("d = 4")
    kernel.run("%config TrackMagics.provenance = True")
    kernel.run("e = 5")
    hashes = [r["sha256"] for r in records(root, kernel.track_id)]
    assert sha("a = 1") in hashes and sha("c = 3") in hashes and sha("e = 5") in hashes
    assert sha("b = 2") not in hashes and sha("d = 4") not in hashes
    assert sha("%track cells --off") not in hashes  # the cell that turned it off


def test_track_cells_returns_a_dataframe(kernel: Kernel) -> None:
    kernel.run("x = 1", cell_id="one")
    kernel.run("1 / 0", cell_id="two")
    shown = kernel.run(
        "df = %track cells\n"
        "print(len(df), list(df['cell_id']), list(df['raised']), str(df['started_at'].dtype))"
    )
    assert shown["streams"] == [("stdout", "2 ['one', 'two'] [False, True] datetime64[us, UTC]\n")]
