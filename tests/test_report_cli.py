"""`conductor report` as a user runs it, in a real process: Markdown on stdout, an HTML or
Markdown file where -o says (relative to the working directory), an existing file kept
unless --force, --json, one-line errors, and the root left exactly as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_process import conductor_in
from report_track import PAYLOAD, PIECES, hostile_track

from conductor_nb.store.paths import ROOT_ENV


@pytest.fixture
def work(tmp_path: Path, root: Path) -> Path:
    """A working folder (not the root) and a root holding the active hostile track."""
    hostile_track(root)
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def _root_state(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_report_prints_markdown_and_writes_files_where_asked(work: Path, root: Path) -> None:
    before = _root_state(root)
    shown = conductor_in(work, "report", env_root=root)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("# Track report: Report \\<script\\>alert\\(1\\)")
    for title in ("## Overview", "## Timeline", "## Decisions", "## Workflow runs"):
        assert f"\n{title}\n" in shown.stdout
    assert "<script>" not in shown.stdout
    assert "data:image/png;base64," in shown.stdout  # the charts come along

    written = conductor_in(work, "report", "-o", "review.html", env_root=root)
    assert written.returncode == 0, written.stderr
    target = work / "review.html"
    assert written.stdout.strip().endswith(f"to {target} ({target.stat().st_size} bytes)")
    document = target.read_text()
    assert document.startswith("<!DOCTYPE html>")
    assert "<script>alert(1)" not in document and "&lt;script&gt;alert(1)" in document

    notes = conductor_in(work, "report", "--no-charts", "-o", "handover.md", env_root=root)
    assert notes.returncode == 0, notes.stderr
    handover = (work / "handover.md").read_text()
    assert handover.startswith("# Track report:") and "data:image" not in handover
    assert sorted(p.name for p in work.iterdir()) == ["handover.md", "review.html"]
    assert _root_state(root) == before  # reading the track changed nothing


def test_an_existing_file_is_replaced_only_with_force(work: Path, root: Path) -> None:
    (work / "review.html").write_text("keep me")
    refused = conductor_in(work, "report", "-o", "review.html", env_root=root)
    assert refused.returncode == 1
    assert refused.stderr == (f"error: {work / 'review.html'} exists: add --force to replace it\n")
    assert (work / "review.html").read_text() == "keep me"
    forced = conductor_in(work, "report", "-o", "review.html", "--force", env_root=root)
    assert forced.returncode == 0, forced.stderr
    assert (work / "review.html").read_text().startswith("<!DOCTYPE html>")


def test_json_prints_the_facts(work: Path, root: Path) -> None:
    done = conductor_in(work, "report", "--json", "-o", "review.html", env_root=root)
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout)
    assert facts["track"]["name"] == "Report " + PAYLOAD
    assert facts["written"]["path"] == str(work / "review.html")
    assert facts["written"]["format"] == "html"
    assert [e["to"] for e in facts["timeline"]] == ["draft", "ready", "active", "paused", "active"]


@pytest.mark.parametrize(
    ("args", "code", "error"),
    [
        (["-o", "review.txt"], 1, "review.txt: a report is written as .html or .md"),
        (["-o", "no/such/review.html"], 1, "there is no folder"),
        (["--force"], 2, "--force replaces the file given with -o FILE"),
        (["Nothing like it"], 1, "no track matches 'Nothing like it'"),
    ],
)
def test_mistakes_are_one_line(
    work: Path, root: Path, args: list[str], code: int, error: str
) -> None:
    done = conductor_in(work, "report", *args, env_root=root)
    assert done.returncode == code
    assert error in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert list(work.iterdir()) == []


def test_help_names_the_options(work: Path) -> None:
    done = conductor_in(work, "help", "report")
    assert done.returncode == 0
    for option in ("-o FILE, --output FILE", "--force", "--no-charts"):
        assert option in done.stdout
    listed = conductor_in(work, "--help")
    assert "report" in listed.stdout


def test_every_hostile_piece_stays_out_of_the_markup(work: Path, root: Path) -> None:
    conductor_in(work, "report", "-o", "review.html", env_root=root)
    document = (work / "review.html").read_text()
    for piece in PIECES:
        if piece not in ("</script>", "&amp;"):  # the data's own end tag; &amp;amp;
            assert piece not in document, piece
    assert document.count("</script>") == 1


def test_a_report_without_charts_does_not_load_matplotlib(work: Path, root: Path) -> None:
    """Charts are the only reason a report imports matplotlib (its start-up is slow)."""
    code = (
        "import sys\nfrom conductor_nb.cli import main\n"
        "assert main(['report', '--no-charts', '-o', 'plain.html']) == 0\n"
        "print('matplotlib' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=work,
        env={**os.environ, ROOT_ENV: str(root)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "False"
    assert (work / "plain.html").read_text().count("<figure") == 0
