"""`%track export` and `%track import` in a real kernel: the same grammar as the CLI, a
result with the message and the data, and a refused bundle as one UsageError line."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_kernel import run_in_kernel


@pytest.fixture
def no_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))  # no user profile


def test_export_and_import_through_the_magic(no_profile: None, tmp_path: Path) -> None:
    source, target = tmp_path / "source", tmp_path / "target"
    bundle = tmp_path / "kernel.tar.zst"
    made, exported, imported, again, refused = run_in_kernel(
        f'%track create "Kernel bundle" --root "{source}"\n'
        f'%track activate "Kernel bundle" --root "{source}"',
        f'r = %track export "Kernel bundle" -o "{bundle}" --root "{source}"\n'
        "print(repr(r).split(' (')[0], r.data['files'])",
        f'r = %track import "{bundle}" --root "{target}"\n'
        "print(r.data['paused'] == [t['track_id'] for t in r.data['tracks']], r.data['renamed'])\n"
        f'df = %track list --root "{target}"\n'
        "print(df['status'].tolist())",
        f'r = %track import "{bundle}" --root "{source}"\n'
        "print(len(r.data['renamed']), 'is now' in repr(r))",
        f'%track import "{tmp_path / "missing.tar.zst"}" --root "{target}"',
    )
    assert made["status"] == "ok"
    assert exported["streams"] == [("stdout", "exported 1 tracks 3\n")]
    assert "".join(text for _, text in imported["streams"]) == "True {}\n['paused']\n"
    assert again["streams"] == [("stdout", "1 True\n")]
    assert (refused["status"], refused["ename"], refused["traceback"]) == (
        "error",
        "UsageError",
        [],
    )
    [(stream, text)] = refused["streams"]
    assert stream == "stderr" and text.count("\n") == 1
    assert "missing.tar.zst: refused, there is no such file; nothing was imported" in text
