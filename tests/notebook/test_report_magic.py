"""`%track report` in a real kernel: the report shows inline as HTML (escaped, scoped,
charts included), `-o FILE` writes the file as the CLI does, and a file already there
is one UsageError line."""

from __future__ import annotations

from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel
from report_track import hostile_track


def run_cells(*cells: str) -> list[dict]:
    """Execute cells in a fresh kernel: each reply's content with its outputs (streams,
    results and displays, as the front end receives them)."""
    km, kc = start_new_kernel(kernel_name="python3", startup_timeout=90)
    try:
        replies = []
        for code in cells:
            outputs: list[dict] = []

            def hook(msg, outputs=outputs):
                if msg["msg_type"] in ("stream", "execute_result", "display_data"):
                    outputs.append({"type": msg["msg_type"], **msg["content"]})

            reply = kc.execute_interactive(code, timeout=120, output_hook=hook)
            replies.append({**reply["content"], "outputs": outputs})
        return replies
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.fixture
def kernel_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root: Path) -> Path:
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))  # no user profile
    monkeypatch.setenv("CONDUCTOR_ROOT", str(root))
    hostile_track(root)
    return root


def test_report_shows_inline_and_writes_files(kernel_root: Path, tmp_path: Path) -> None:
    target = tmp_path / "magic report.html"
    shown, kept, written, refused, markdown = run_cells(
        "%track report",
        "r = %track report --no-charts\nprint(type(r).__name__, r.track_id.startswith('track-'))",
        f"%track report -o '{target}'",
        f"%track report -o '{target}'",
        f"%track report --no-charts -o '{tmp_path / 'notes.md'}'",
    )
    assert shown["status"] == "ok"
    (result,) = [o for o in shown["outputs"] if o["type"] == "execute_result"]
    page = result["data"]["text/html"]
    assert page.startswith('<div class="conductor-report"><style>')
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert page.count('<img alt="') == 3  # the charts
    assert result["data"]["text/plain"].startswith("TrackReport('Report <script>")

    assert [o.get("text") for o in kept["outputs"]] == ["TrackReport True\n"]

    assert written["status"] == "ok"
    assert target.read_text().startswith("<!DOCTYPE html>")
    (result,) = [o for o in written["outputs"] if o["type"] == "execute_result"]
    assert result["data"]["text/plain"].endswith(f", written to {target})")

    assert (refused["status"], refused["ename"], refused["traceback"]) == (
        "error",
        "UsageError",
        [],
    )
    assert refused["outputs"] == [
        {
            "type": "stream",
            "name": "stderr",
            "text": f"UsageError: {target} exists: add --force to replace it\n",
        }
    ]
    assert markdown["status"] == "ok"
    assert (tmp_path / "notes.md").read_text().startswith("# Track report: Report \\<script")
