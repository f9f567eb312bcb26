"""Track templates: one built in per track type, a project's own (overriding them),
``{{variables}}``, explicit options winning, and a broken template or an escaping name
refused in one line by the real CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cli_process import conductor_in

from conductor_nb import templates
from conductor_nb.engine import Engine
from conductor_nb.errors import InvalidInput, PathOutsideRoot
from conductor_nb.vocab import StepType, TrackType

RELEASE = {
    "description": "A release of {{product}}",
    "type": "maintenance",
    "priority": "P1",
    "track_name": "Release {{version}}",
    "goal": "Ship {{product}} {{version}}",
    "variables": {"product": "the app"},
    "success_criteria": ["{{version}} is tagged"],
    "tags": ["release"],
    "steps": [
        {"name": "Tag {{version}}", "type": "checkpoint", "description": "git tag {{version}}"},
        {"name": "Announce", "type": "review"},
    ],
}


def write_template(folder: Path, name: str, content: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def on_disk(engine: Engine, track_id: str) -> dict:
    return json.loads(engine.tree.track_file(track_id, "track.json").read_text())


# -- built-in templates ------------------------------------------------------------------


def test_every_track_type_has_a_built_in_template_that_is_sound(engine: Engine) -> None:
    listed = {row["name"]: row for row in engine.templates()}
    assert set(listed) == {t.value for t in TrackType}
    for track_type in TrackType:
        row = listed[track_type.value]
        assert row["origin"] == "built-in"
        assert row["type"] == track_type.value
        assert row["steps"] >= 3
        template = templates.load(engine.root, track_type.value)
        assert template["success_criteria"]
        assert {step.get("type", "action") for step in template["steps"]} <= set(StepType)


def test_a_track_from_a_built_in_template_has_its_steps_criteria_and_source(
    engine: Engine,
) -> None:
    track = engine.create_track("Login crash", template="bugfix")
    builtin = json.loads((templates.BUILTIN_FOLDER / "bugfix.json").read_text())
    saved = on_disk(engine, track["track_id"])
    assert [s["name"] for s in saved["steps"]] == [s["name"] for s in builtin["steps"]]
    assert [s["type"] for s in saved["steps"]] == [s["type"] for s in builtin["steps"]]
    assert [s["step_id"] for s in saved["steps"]] == [
        f"step-{n}" for n in range(1, len(builtin["steps"]) + 1)
    ]
    assert {s["status"] for s in saved["steps"]} == {"pending"}
    assert saved["context"]["success_criteria"] == builtin["success_criteria"]
    assert saved["context"]["goal"] == "Fix Login crash"  # {{name}} is the track's name
    assert (saved["type"], saved["priority"]) == ("bugfix", builtin["priority"])
    assert saved["source"]["type"] == "template"
    assert saved["source"]["template_id"] == "bugfix"
    entry = engine.registry().tracks[track["track_id"]]
    assert entry["progress"]["total_steps"] == len(builtin["steps"])
    # the steps work like any other
    engine.step(track["track_id"], "1", "complete")
    assert on_disk(engine, track["track_id"])["progress"]["completed_steps"] == 1


def test_explicit_options_win_over_the_template(tmp_path: Path, root: Path) -> None:
    made = conductor_in(
        tmp_path,
        *("create", "--name", "Checkout", "--template", "feature", "--type", "security"),
        *("--priority", "P0", "--goal", "My own goal", "--criterion", "Mine", "--json"),
        env_root=root,
    )
    assert made.returncode == 0, made.stderr
    track = json.loads(made.stdout)
    assert (track["type"], track["priority"]) == ("security", "P0")
    assert track["context"]["goal"] == "My own goal"
    assert track["context"]["success_criteria"] == ["Mine"]
    assert len(track["steps"]) == len(templates.load(root, "feature")["steps"])
    assert track["source"] == {**track["source"], "type": "template", "template_id": "feature"}


# -- the project's own templates -----------------------------------------------------------


def test_a_project_template_fills_its_variables_and_overrides_a_built_in(
    tmp_path: Path, root: Path
) -> None:
    folder = root / templates.USER_FOLDER
    write_template(folder, "release", RELEASE)
    write_template(folder, "bugfix", {**RELEASE, "track_name": "Hotfix {{version}}"})
    made = conductor_in(
        tmp_path, "create", "--template", "release", "--var", "version=2.0", "--json",
        env_root=root,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    track = json.loads(made.stdout)
    assert track["name"] == "Release 2.0"  # the template's track_name, filled
    assert track["context"]["goal"] == "Ship the app 2.0"  # a default, then --var
    assert track["context"]["success_criteria"] == ["2.0 is tagged"]
    assert track["metadata"]["tags"] == ["release"]
    assert [(s["name"], s["type"]) for s in track["steps"]] == [
        ("Tag 2.0", "checkpoint"),
        ("Announce", "review"),
    ]
    assert track["steps"][0]["description"] == "git tag 2.0"
    assert track["source"]["template_id"] == "release"

    listed = conductor_in(tmp_path, "templates", "--json", env_root=root)
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["bugfix"]["origin"] == rows["release"]["origin"] == "project"
    assert rows["bugfix"]["type"] == "maintenance"  # the project's, not the built-in
    assert rows["feature"]["origin"] == "built-in"
    assert rows["release"]["steps"] == 2

    text = conductor_in(tmp_path, "templates", env_root=root).stdout
    line = next(x for x in text.splitlines() if x.startswith("release "))
    assert line.split()[:4] == ["release", "project", "maintenance", "2"]


def test_a_variable_without_a_value_is_one_error_naming_it(tmp_path: Path, root: Path) -> None:
    write_template(root / templates.USER_FOLDER, "release", RELEASE)
    result = conductor_in(tmp_path, "create", "--template", "release", env_root=root)
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "needs the variable 'version'" in result.stderr
    assert "--var version=VALUE" in result.stderr
    assert not (root / "tracks").exists()  # nothing was made


def test_var_without_a_template_or_an_equals_sign_is_refused(tmp_path: Path, root: Path) -> None:
    alone = conductor_in(tmp_path, "create", "--name", "Alone", "--var", "a=1", env_root=root)
    assert alone.returncode == 2
    assert "--var fills a template's variables" in alone.stderr
    bad = conductor_in(
        tmp_path, "create", "--name", "Bad", "--template", "feature", "--var", "oops",
        env_root=root,
    )  # fmt: skip
    assert bad.returncode == 1
    assert "--var takes KEY=VALUE" in bad.stderr


def test_the_pyproject_may_name_the_templates_folder(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    (project / ".claude" / "conductor").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[tool.conductor]\ntemplates = "ops/templates"\n')
    write_template(project / "ops" / "templates", "audit", {"type": "security", "steps": []})
    root = project / ".claude" / "conductor"
    assert templates.templates_folder(root) == project / "ops" / "templates"
    made = conductor_in(project, "create", "--name", "Audit Q3", "--template", "audit", "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["type"] == "security"


# -- broken templates and names that would escape -----------------------------------------

BROKEN = [
    ('{"steps": [', "not valid JSON"),
    ("[1, 2]", "the template must be a JSON object"),
    ({"type": "epic"}, "type 'epic' is not one of: onboarding, feature"),
    ({"goal": 3}, "goal must be text, not a number"),
    ({"success_criteria": "one"}, "success_criteria must be a list of texts"),
    ({"steps": {"name": "x"}}, "steps must be a list"),
    ({"steps": [{"name": "ok"}, {"name": "x", "type": "dance"}]}, "steps[2].type 'dance'"),
    ({"steps": [{"type": "action"}]}, "steps[1].name is missing"),
    ({"steps": [{"name": "x", "owner": "me"}]}, "steps[1].owner is not a step field"),
    ({"stepz": []}, "'stepz' is not a template field"),
    ({"variables": {"a": 1}}, "variables must be an object of texts"),
]


@pytest.mark.parametrize(("content", "expected"), BROKEN)
def test_a_broken_template_is_one_line_naming_the_file_and_the_field(
    tmp_path: Path, root: Path, content: object, expected: str
) -> None:
    path = write_template(root / templates.USER_FOLDER, "broken", content)
    result = conductor_in(
        tmp_path, "create", "--name", "From broken", "--template", "broken", env_root=root
    )
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert str(path) in result.stderr
    assert expected in result.stderr
    assert not (root / "tracks").exists()
    # the listing still shows every other template, and names the broken one's problem
    listed = json.loads(conductor_in(tmp_path, "templates", "--json", env_root=root).stdout)
    broken = next(row for row in listed if row["name"] == "broken")
    assert expected in broken["problem"]
    assert len(listed) == len(TrackType) + 1


@pytest.mark.parametrize("name", ["../x", "a/b", "..", "/etc/passwd", "x\\y"])
def test_a_template_name_that_names_a_path_is_refused(
    tmp_path: Path, root: Path, name: str
) -> None:
    write_template(root, "x", RELEASE)  # what ../x would reach from track-templates/
    result = conductor_in(tmp_path, "create", "--name", "Escape", "--template", name, env_root=root)
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "may not name a path" in result.stderr
    with pytest.raises(PathOutsideRoot):
        templates.check_template_name(name)


def test_a_symlinked_template_leading_out_of_the_folder_is_refused(root: Path) -> None:
    outside = write_template(root.parent / "elsewhere", "secret", RELEASE)
    folder = root / templates.USER_FOLDER
    folder.mkdir(parents=True)
    os.symlink(outside, folder / "secret.json")
    with pytest.raises(PathOutsideRoot):
        templates.load(root, "secret")


def test_an_unknown_template_suggests_the_close_one(engine: Engine) -> None:
    with pytest.raises(InvalidInput, match="did you mean") as err:
        engine.create_track("Close one", template="bugfx")
    assert "bugfix" in str(err.value)


def test_the_python_api_creates_from_a_template_under_a_parent(root: Path) -> None:
    from conductor_nb import Conductor

    write_template(root / templates.USER_FOLDER, "release", RELEASE)
    conductor = Conductor(root)
    epic = conductor.create("Releases")
    track = conductor.create(template="release", variables={"version": "3.1"}, parent="Releases")
    assert track.name == "Release 3.1"
    assert track.type == "maintenance"
    assert track.source.template_id == "release"
    assert [step.name for step in track.steps] == ["Tag 3.1", "Announce"]
    assert track.parent_track == epic.track_id
    assert conductor.create("Plain one").type == "feature"  # no template: the defaults
    assert conductor.set_parent(track.track_id, None).parent_track is None
