"""`%track hooks` and `%track git-setup`: the CLI's commands through the shared grammar,
returning objects; a refusing pre-hook is one UsageError line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from IPython.core.error import UsageError


@pytest.fixture
def trust_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg"


def test_hooks_are_listed_trusted_and_refuse_in_a_notebook(track, root: Path, trust_home) -> None:
    track('create --name "Notebook track"')
    (root / "hooks.json").write_text(
        json.dumps({"pre-activate": "echo 'tests are red' >&2; exit 1"})
    )
    listed = track("hooks")
    assert "pre-activate" in repr(listed) and "not trusted" in repr(listed)
    assert listed.data["trusted"] is False

    trusted = track("hooks --trust")
    assert trusted.data["trusted"] is True
    assert (trust_home / "conductor_nb" / "trusted.json").exists()
    with pytest.raises(UsageError, match=r"pre-activate hook .* refused \(exit 1\): tests are red"):
        track('activate "Notebook track"')
    assert track('show "Notebook track"').track["status"] == "draft"


def test_git_setup_from_a_notebook(track, root: Path, tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    track('create --name "Shared track"')
    result = track("git-setup")
    assert "merge driver conductor-registry: set in .git/config" in repr(result)
    assert "merge=conductor-track" in (tmp_path / ".gitattributes").read_text()
    assert "already" in repr(track("git-setup"))
