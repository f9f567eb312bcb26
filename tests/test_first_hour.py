"""A newcomer's first hour with the `conductor` command, each step in a real process:
where the tracks are, what a mistake says, and every message, default and table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_process import conductor_in

from conductor_nb.store.paths import ROOT_ENV


def run(cwd: Path, *args: str, root_env: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`conductor ARGS` run in ``cwd``, with $CONDUCTOR_ROOT set only when given."""
    return conductor_in(cwd, *args, env_root=root_env)


def ok(cwd: Path, *args: str, root_env: Path | None = None) -> str:
    result = run(cwd, *args, root_env=root_env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def everything_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# -- where the tracks are -----------------------------------------------------------------


def test_root_says_the_root_in_use_and_how_it_was_found(tmp_path: Path) -> None:
    """`conductor root`: the absolute root on the first line, then how it was found."""
    project = tmp_path / "project"
    deep = project / "src" / "deep"
    deep.mkdir(parents=True)
    first, how, missing = ok(project, "root").splitlines()
    assert (first, missing) == (str(project / ".claude" / "conductor"), missing)
    assert "default" in how and "conductor create" in missing
    ok(project, "create", "--name", "Docs refresh")
    lines = ok(deep, "root").splitlines()
    assert lines[0] == str(project / ".claude" / "conductor") and "nearest" in lines[1]
    assert len(lines) == 2  # it exists: nothing more to say
    assert "given with --root" in ok(deep, "root", "--root", str(tmp_path / "x")).splitlines()[1]
    env_lines = ok(deep, "root", root_env=tmp_path / "elsewhere").splitlines()
    assert env_lines[0] == str(tmp_path / "elsewhere") and f"${ROOT_ENV}" in env_lines[1]
    data = json.loads(ok(deep, "root", "--json"))
    assert data == {"root": lines[0], "source": "ancestor", "exists": True}


@pytest.mark.parametrize("command", [["list"], ["stats"], ["validate"], ["show"], ["board"]])
def test_reads_of_a_missing_root_say_where_they_looked(tmp_path: Path, command) -> None:
    """A read where no root exists is one line naming where it looked, and what makes
    one; never an empty answer with exit 0."""
    result = run(tmp_path, *command)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert str(tmp_path / ".claude" / "conductor") in result.stderr
    assert "conductor create" in result.stderr


def test_stats_and_validate_show_the_root(tmp_path: Path) -> None:
    ok(tmp_path, "create", "--name", "Docs refresh")
    root = tmp_path / ".claude" / "conductor"
    assert ok(tmp_path, "stats").splitlines()[0] == f"root {root}"
    assert ok(tmp_path, "validate").strip() == f"no problems found in {root}"


def test_root_option_takes_the_project_folder(tmp_path: Path) -> None:
    """--root PROJECT uses PROJECT/.claude/conductor when it has one (as git -C takes a
    work tree); a folder with neither is a root of its own, which create makes."""
    project = tmp_path / "project"
    project.mkdir()
    ok(project, "create", "--name", "Docs refresh")
    listed = ok(tmp_path, "list", "--root", str(project))
    assert "Docs refresh" in listed
    first = ok(tmp_path, "root", "--root", str(project)).splitlines()[0]
    assert first == str(project / ".claude" / "conductor")
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run(tmp_path, "list", "--root", str(empty))
    assert result.returncode == 1 and str(empty) in result.stderr
    ok(tmp_path, "create", "--name", "Here it is", "--root", str(empty))
    assert (empty / "tracks" / "track-registry.json").is_file()


@pytest.mark.parametrize(
    "command", [["activate", "x"], ["step", "add", "y"], ["pause"], ["decide", "Use PKCE"]]
)
def test_a_failed_command_creates_nothing(tmp_path: Path, command) -> None:
    result = run(tmp_path, *command)
    assert result.returncode == 1
    assert everything_under(tmp_path) == []


def test_a_failed_write_in_a_new_root_leaves_no_lock_or_temp_folder(tmp_path: Path) -> None:
    """Through the Python API a write reaches its transaction (and so the lock) before it
    fails: the folders the lock made are removed again, and a later write works."""
    code = (
        "import sys\n"
        "from conductor_nb.engine import Engine\n"
        "from conductor_nb.errors import ConductorError\n"
        "engine = Engine(sys.argv[1])\n"
        "for attempt in (lambda: engine.add_step(None, 'y'),\n"
        "                lambda: engine.transition('x', 'activate')):\n"
        "    try:\n"
        "        attempt()\n"
        "    except ConductorError as err:\n"
        "        print(err)\n"
    )
    root = tmp_path / "project" / ".claude" / "conductor"
    result = subprocess.run(
        [sys.executable, "-c", code, str(root)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "no track is active" in result.stdout and "no track matches 'x'" in result.stdout
    assert everything_under(tmp_path) == []
    ok(tmp_path, "create", "--name", "Docs refresh", "--root", str(root))
    assert "Docs refresh" in ok(tmp_path, "list", "--root", str(root))


# -- messages and help ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["creat"], "did you mean `create`?"),
        (["step", "ad", "Write it"], "did you mean `add`?"),
        (["list", "--status", "actve"], "did you mean `active`?"),
        (["create", "--name", "Docs", "--type", "fetaure"], "did you mean `feature`?"),
        (["help", "creat"], "did you mean `create`?"),
    ],
)
def test_a_misspelling_suggests_the_closest(tmp_path: Path, args, expected) -> None:
    result = run(tmp_path, *args)
    assert result.returncode == 2 and expected in result.stderr
    assert result.stderr.count("\n") == 1 and "retry" not in result.stderr  # not all 43


def test_help_of_a_sub_action_and_the_defaults(tmp_path: Path) -> None:
    step_add = ok(tmp_path, "step", "add", "--help")
    assert step_add.startswith("usage: conductor step add")
    assert "add a step to a track" in step_add and "default: action" in step_add
    create = " ".join(ok(tmp_path, "create", "--help").split())
    assert "(default: feature)" in create and "(default: P2)" in create
    top = " ".join(ok(tmp_path, "--help").split())
    assert "else ./.claude/conductor" in top
    assert "root the root in use, and how it was found" in top


def test_errors_name_tracks_as_the_user_does(tmp_path: Path) -> None:
    docs = json.loads(ok(tmp_path, "create", "--name", "Docs refresh", "--json"))["track_id"]
    ok(tmp_path, "create", "--name", "Payment bugfix")
    ok(tmp_path, "activate", "Docs refresh")
    refused = run(tmp_path, "activate", "Payment bugfix")
    assert f"'Docs refresh' ({docs}) is active" in refused.stderr
    done = run(tmp_path, "complete", "Payment bugfix")
    assert "cannot complete 'Payment bugfix' (track-payment-bugfix-" in done.stderr
    no_checkpoint = run(tmp_path, "restore", "7", "--track-id", "Payment bugfix")
    assert "'Payment bugfix' (track-payment-bugfix-" in no_checkpoint.stderr
    assert "has no checkpoint checkpoint-007" in no_checkpoint.stderr
    no_run = run(tmp_path, "run", "start", "9")
    assert f"'Docs refresh' ({docs}) has no run '9'" in no_run.stderr


# -- output ---------------------------------------------------------------------------------


def test_tables_pad_wide_characters_by_display_width(tmp_path: Path) -> None:
    from wcwidth import wcswidth

    for name in ("数据迁移计划", "🚀 Launch day", "Plain name"):
        ok(tmp_path, "create", "--name", name)
    lines = ok(tmp_path, "list").splitlines()
    columns = {wcswidth(line[: line.index(" draft")]) for line in lines[1:]}
    assert len(columns) == 1  # the status column starts at the same screen column


def test_show_says_it_in_words_with_decisions_and_assumptions(tmp_path: Path) -> None:
    ok(tmp_path, "create", "--name", "Docs refresh")
    ok(tmp_path, "activate", "Docs refresh")
    ok(tmp_path, "pause")
    ok(tmp_path, "resume", "Docs refresh")
    for n in range(1, 6):
        ok(tmp_path, "decide", f"Decision number {n}")
    ok(tmp_path, "assume", "Readers use the web site")
    shown = ok(tmp_path, "show")
    assert "paused once" in shown and "paused 1 times" not in shown
    assert "progress  no steps" in shown
    assert "decisions: 5, the latest 3" in shown and "Decision number 5" in shown
    assert "Decision number 2" not in shown
    assert "assumptions: 1" in shown and "Readers use the web site" in shown
    assert "active: 'Docs refresh' (track-docs-refresh-" in ok(tmp_path, "stats")


def test_reasons_belong_to_the_events_they_explain(tmp_path: Path) -> None:
    """switch --reason explains the pause of the track it suspends, not the activation;
    a pause without a reason records none."""
    ok(tmp_path, "create", "--name", "Docs refresh")
    ok(tmp_path, "create", "--name", "Payment bugfix")
    ok(tmp_path, "activate", "Docs refresh")
    ok(tmp_path, "switch", "--to", "Payment bugfix", "--reason", "customer outage")
    docs = json.loads(ok(tmp_path, "show", "Docs refresh", "--json"))
    payment = json.loads(ok(tmp_path, "show", "Payment bugfix", "--json"))
    assert docs["pause_reason"] == "customer outage"
    assert docs["history"][-1]["reason"] == "customer outage"
    reasons = [event.get("reason") for event in payment["history"]]
    assert "customer outage" not in reasons
    assert reasons[-1] == f"switched from {docs['track_id']}"
    ok(tmp_path, "pause")
    paused = json.loads(ok(tmp_path, "show", "Payment bugfix", "--json"))
    assert "pause_reason" not in paused and paused["history"][-1].get("reason") is None


def test_failed_first_writers_never_lose_a_concurrent_create(tmp_path: Path) -> None:
    """On fresh roots, writers that fail (and so remove the folders they made) race with
    writers that create: every create lands, and the root validates."""
    code = (
        "import sys\n"
        "from conductor_nb.engine import Engine\n"
        "from conductor_nb.errors import ConductorError\n"
        "engine = Engine(sys.argv[1], lock_timeout=60)\n"
        "for i in range(5):\n"
        "    if sys.argv[2] == 'fail':\n"
        "        try:\n"
        "            engine.add_step(None, 'y')\n"
        "        except ConductorError:\n"
        "            pass\n"
        "    else:\n"
        "        engine.create(f'{sys.argv[2]} {i}')\n"
    )
    roots = [tmp_path / f"root{n}" for n in range(4)]
    roles = ["fail", "alpha", "fail", "beta", "fail"]
    processes = [
        subprocess.Popen([sys.executable, "-c", code, str(root), role])
        for root in roots
        for role in roles
    ]
    assert [p.wait(timeout=120) for p in processes] == [0] * len(processes)
    from conductor_nb.engine import Engine

    for root in roots:
        engine = Engine(root)
        names = sorted(entry["name"] for entry in engine.list())
        assert names == sorted(f"{who} {i}" for who in ("alpha", "beta") for i in range(5))
        assert engine.validate() == []


def test_the_notebooks_show_values_not_enum_reprs() -> None:
    """The tour's saved outputs (what nbval compares) show statuses as text, never as
    `<TrackStatus.DRAFT: 'draft'>`."""
    notebooks = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
    assert notebooks
    for notebook in notebooks:
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        outputs = json.dumps([cell.get("outputs", []) for cell in cells])
        for enum in ("<TrackStatus.", "<TrackType.", "<Priority."):
            assert enum not in outputs, (notebook.name, enum)


def test_the_readme_opens_the_workbench_as_anyone_and_shows_the_root_command() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    first = readme.split("```bash\n", 1)[1].split("\n```", 1)[0]
    assert "jupyter lab --ServerApp.allow_root=True notebooks/01-getting-started.ipynb" in first
    assert "http://localhost:8888/lab?token=" in readme
    assert "conductor root" in readme and "%track root" in readme


def test_a_misspelt_value_given_to_update_suggests_the_closest(tmp_path: Path) -> None:
    ok(tmp_path, "create", "--name", "Docs refresh")
    for args, expected in (
        (["--field", "priorty", "--value", "P1"], "did you mean `priority`?"),
        (["--field", "type", "--value", "fetaure"], "did you mean `feature`?"),
        (["--field", "status", "--value", "actve"], "did you mean `active`?"),
    ):
        result = run(tmp_path, "update", "Docs refresh", *args)
        assert result.returncode == 1 and expected in result.stderr, result.stderr


def _summary(**changes: object) -> dict:
    summary = {
        "projects": ["shop"],
        "as_of": "2026-03-01T00:00:00+00:00",
        "tracks": 3,
        "transitions": 4,
        "open": 1,
        "wip": 0,
        "closed": 2,
        "completed": 2,
        "failed": 0,
        "cancelled": 0,
        "success_rate": 1.0,
        "ci_low": 0.342,
        "ci_high": 1.0,
        "median_lead_days": 2.0,
        "median_cycle_days": 1.0,
        "median_active_days": 1.0,
        "completed_last_4_weeks": 2,
        "overruns": 0,
        "overruns_open": 0,
        "runs": 0,
        "run_failure_rate": None,
        "top_path": "draft",
        "top_path_share": 1 / 3,
    }
    return {**summary, **changes}


def test_analytics_wording() -> None:
    """No "runs: 0, - of finished ones failed", no path "draft" that reads as a path, no
    "success | success 86.6%" row."""
    from conductor_nb.analytics.report import summary_text
    from conductor_nb.notebook.analytics_panel import key_figures_html

    text = summary_text(_summary())
    assert "runs: none" in text and "- of" not in text
    assert "most common path: still draft, no transition yet (33% of tracks)" in text
    moving = summary_text(_summary(runs=4, run_failure_rate=0.25, top_path="draft > ready"))
    assert "runs: 4, 25.0% of the finished ones failed" in moving
    assert "most common path: draft > ready (33% of tracks)" in moving
    assert "runs: 2, none finished yet" in summary_text(_summary(runs=2))
    html = key_figures_html(_summary())
    assert ">success</th><td>100.0% (95% CI" in html and "success success" not in html
