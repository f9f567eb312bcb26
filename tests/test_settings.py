"""Where the root comes from, in real `conductor` processes: --root, then $CONDUCTOR_ROOT,
then `[tool.conductor]` of the nearest pyproject.toml, then the nearest .claude/conductor,
then the default; `conductor root` names the step that won. A bad pyproject value is one
line naming the setting and what it accepts. (The notebook's step, TrackMagics.root,
sits between --root and $CONDUCTOR_ROOT: tests/notebook/test_config.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_process import conductor_in

from conductor_nb.store.paths import ROOT_ENV, locate_root, pyproject_settings

run = conductor_in


def root_of(cwd: Path, *args: str, env_root: Path | None = None) -> dict:
    result = run(cwd, "root", "--json", *args, env_root=env_root)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project whose pyproject.toml names a root, with a .claude/conductor of its own
    (which the pyproject wins over) and a sub-folder to work in."""
    folder = tmp_path / "project"
    (folder / ".claude" / "conductor").mkdir(parents=True)
    (folder / "src" / "deep").mkdir(parents=True)
    (folder / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.conductor]\nroot = "work/tracks-here"\n'
        'templates = "work/templates"\n'
    )
    return folder


def test_each_step_of_the_order_wins_over_the_next(project: Path, tmp_path: Path) -> None:
    deep = project / "src" / "deep"
    given, env = tmp_path / "given", tmp_path / "from-env"
    found = root_of(deep, "--root", str(given), env_root=env)
    assert (found["root"], found["source"]) == (str(given), "option")
    found = root_of(deep, env_root=env)
    assert (found["root"], found["source"]) == (str(env), "environment")
    found = root_of(deep)  # relative to the pyproject's folder, not to the working one
    assert (found["root"], found["source"]) == (str(project / "work" / "tracks-here"), "pyproject")
    (project / "pyproject.toml").write_text('[project]\nname = "x"\n')
    found = root_of(deep)
    assert (found["root"], found["source"]) == (str(project / ".claude" / "conductor"), "ancestor")
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    found = root_of(lonely)
    assert (found["root"], found["source"]) == (str(lonely / ".claude" / "conductor"), "default")


def test_root_says_in_words_which_step_won(project: Path) -> None:
    lines = run(project / "src", "root").stdout.splitlines()
    assert lines[0] == str(project / "work" / "tracks-here")
    assert lines[1] == "from [tool.conductor] root in the nearest pyproject.toml"


def test_the_nearest_pyproject_is_the_only_one_read(project: Path) -> None:
    """A nested package's pyproject.toml without [tool.conductor] stops the search: the
    outer project's setting does not reach into it (discovery goes on as before)."""
    inner = project / "src"
    (inner / "pyproject.toml").write_text('[project]\nname = "inner"\n')
    found = root_of(inner / "deep")
    assert (found["root"], found["source"]) == (str(project / ".claude" / "conductor"), "ancestor")


def test_the_commands_use_the_pyproject_root(project: Path) -> None:
    result = run(project, "create", "--name", "From pyproject", "--json")
    assert result.returncode == 0, result.stderr
    assert (project / "work" / "tracks-here" / "tracks" / "track-registry.json").is_file()
    assert not (project / ".claude" / "conductor" / "tracks").exists()


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("root = 3", "[tool.conductor] root takes a folder path as a string"),
        ('root = ""', "[tool.conductor] root takes a folder path as a string"),
        ("templates = [1]", "[tool.conductor] templates takes a folder path as a string"),
        ('roots = "x"', "[tool.conductor] has no setting 'roots' (root, templates)"),
        ("root = ", "not readable as TOML"),
    ],
)
def test_a_bad_pyproject_value_is_one_line_naming_it(
    tmp_path: Path, table: str, expected: str
) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.conductor]\n{table}\n")
    result = run(tmp_path, "list")
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert expected in result.stderr
    assert str(tmp_path / "pyproject.toml") in result.stderr


def test_templates_are_read_and_exposed(project: Path) -> None:
    """``templates`` is reserved for track templates: read, checked and made absolute."""
    settings = pyproject_settings(project / "src" / "deep")
    assert settings == {
        "file": project / "pyproject.toml",
        "root": project / "work" / "tracks-here",
        "templates": project / "work" / "templates",
    }
    assert pyproject_settings(project.parent) == {}


def test_configured_sits_between_the_option_and_the_environment(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notebook's step in the order (the magic passes TrackMagics.root here)."""
    monkeypatch.setenv(ROOT_ENV, str(project / "env"))
    configured = project / "configured"
    assert locate_root(None, project, configured=configured) == (configured, "config")
    assert locate_root("x", project, configured=configured).source == "option"
    assert locate_root(None, project, configured=None).source == "environment"
