"""The magic's settings the Jupyter way: traitlets on TrackMagics, set with ``%config``
(taking effect for the next ``%track`` line) or in the kernel's config file; the root's
order (--root, then the config, then $CONDUCTOR_ROOT, then pyproject, then discovery);
one line for a bad value; and a progress bar for long work."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from IPython.utils.capture import capture_output
from traitlets import TraitError
from traitlets.config import Config

from conductor_nb.notebook import watch
from conductor_nb.store.paths import ROOT_ENV

from .test_kernel import run_in_kernel

WIDGET = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def configurable(ip, magics, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """The loaded TrackMagics with no root given (so the settings decide) and its
    settings back to their defaults afterwards; the working directory a fresh folder."""
    monkeypatch.delenv(ROOT_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    magics._root = None
    yield magics
    ip.config.pop("TrackMagics", None)  # %config lines are kept in the shell's config too
    magics.config = Config()
    for name in ("root", "refresh_interval", "live_views", "progress", "progress_delay"):
        magics.set_trait(name, magics.traits()[name].default_value)


def where(track) -> tuple[str, str]:
    found = track("root").data
    return found["root"], found["source"]


def test_config_root_takes_effect_on_the_next_line(ip, configurable, track, tmp_path) -> None:
    chosen = tmp_path / "chosen"
    ip.run_line_magic("config", f'TrackMagics.root = "{chosen}"')
    assert where(track) == (str(chosen), "config")
    track('create --name "In the configured root"')
    assert (chosen / "tracks" / "track-registry.json").is_file()


def test_the_order_of_precedence_in_a_notebook(
    ip, configurable, track, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path  # the working directory
    (project / ".claude" / "conductor").mkdir(parents=True)
    assert where(track) == (str(project / ".claude" / "conductor"), "ancestor")
    (project / "pyproject.toml").write_text('[tool.conductor]\nroot = "from-pyproject"\n')
    assert where(track) == (str(project / "from-pyproject"), "pyproject")
    monkeypatch.setenv(ROOT_ENV, str(tmp_path / "from-env"))
    assert where(track) == (str(tmp_path / "from-env"), "environment")
    ip.run_line_magic("config", f'TrackMagics.root = "{tmp_path / "from-config"}"')
    assert where(track) == (str(tmp_path / "from-config"), "config")
    found = track(f"root --root {tmp_path / 'given'}").data
    assert (found["root"], found["source"]) == (str(tmp_path / "given"), "option")
    ip.run_line_magic("config", "TrackMagics.root = None")  # back to the next steps
    assert where(track) == (str(tmp_path / "from-env"), "environment")


def test_root_says_the_notebook_config_won(ip, configurable, track, tmp_path) -> None:
    ip.run_line_magic("config", f'TrackMagics.root = "{tmp_path}"')
    assert repr(track("root")).splitlines()[:2] == [
        str(tmp_path),
        "from the notebook's configuration (TrackMagics.root)",
    ]


def test_watch_settings_reach_the_live_views(ip, configurable) -> None:
    ip.run_line_magic("config", "TrackMagics.refresh_interval = 0.2")
    ip.run_line_magic("config", "TrackMagics.live_views = 3")
    assert (watch.watcher().interval, watch.watcher().max_live) == (0.2, 3)
    watch.stop_watcher()  # a new watcher gets them too
    assert (watch.watcher().interval, watch.watcher().max_live) == (0.2, 3)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            'TrackMagics.refresh_interval = "fast"',
            "TrackMagics.refresh_interval: 'fast' is not seconds between live refreshes, "
            "from 0.05 to 3600",
        ),
        (
            "TrackMagics.refresh_interval = 0.001",
            "TrackMagics.refresh_interval: 0.001 is not seconds between live refreshes, "
            "from 0.05 to 3600",
        ),
        (
            "TrackMagics.live_views = 0",
            "TrackMagics.live_views: 0 is not how many views stay live, a whole number "
            "from 1 to 1000",
        ),
        (
            "TrackMagics.root = 42",
            "TrackMagics.root: 42 is not a folder path (the conductor root or a project "
            "folder), or None",
        ),
        ('TrackMagics.progress = "yes"', "TrackMagics.progress: 'yes' is not True or False"),
        (
            "TrackMagics.progress_delay = -1.5",
            "TrackMagics.progress_delay: -1.5 is not seconds of work before a progress bar "
            "appears, from 0 to 3600",
        ),
    ],
)
def test_a_bad_value_is_one_line_naming_the_setting(
    ip, configurable, caplog: pytest.LogCaptureFixture, line: str, expected: str
) -> None:
    before = {name: getattr(configurable, name) for name in ("root", "refresh_interval")}
    with caplog.at_level(logging.ERROR):
        ip.run_line_magic("config", line)
    assert [record.getMessage() for record in caplog.records] == [expected]
    assert {name: getattr(configurable, name) for name in before} == before
    ip.run_line_magic("config", "TrackMagics.live_views = 5")  # the bad value was not kept
    assert configurable.live_views == 5


def test_setting_a_bad_value_in_code_says_the_same(configurable) -> None:
    with pytest.raises(TraitError, match=r"^TrackMagics.live_views: 5000 is not how many"):
        configurable.live_views = 5000


def test_long_work_shows_a_widget_bar(ip, configurable, track, tmp_path: Path) -> None:
    """tqdm's widget bar, once the work has run ``progress_delay`` seconds (here at
    once); quick work under the default delay (1 s) and ``progress = False`` show none."""
    with capture_output() as quick:
        track(f"demo --tracks 6 --root {tmp_path / 'demo-1'}")
    assert not any(WIDGET in output.data for output in quick.outputs)
    ip.run_line_magic("config", "TrackMagics.progress_delay = 0")
    with capture_output() as shown:
        track(f"demo --tracks 6 --root {tmp_path / 'demo-2'}")
    bars = [output.data for output in shown.outputs if WIDGET in output.data]
    assert len(bars) == 1 and "demo tracks:" in bars[0]["text/plain"]
    ip.run_line_magic("config", "TrackMagics.progress = False")
    with capture_output() as quiet:
        track(f"demo --tracks 6 --root {tmp_path / 'demo-3'}")
    assert not any(WIDGET in output.data for output in quiet.outputs)


def test_the_kernel_config_file_sets_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root: Path
) -> None:
    """c.TrackMagics.* in ipython_kernel_config.py, in a real kernel: it wins over
    $CONDUCTOR_ROOT; a bad value in %config there is one line on stderr."""
    profile = tmp_path / "ipython" / "profile_default"
    profile.mkdir(parents=True)
    chosen = tmp_path / "from-kernel-config"
    (profile / "ipython_kernel_config.py").write_text(
        f"c.TrackMagics.root = {str(chosen)!r}\nc.TrackMagics.refresh_interval = 0.25\n"
    )
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv(ROOT_ENV, str(root))
    found, interval, bad = run_in_kernel(
        "r = %track root\nprint(r.data['root'], r.data['source'])",
        "from conductor_nb.notebook import watch\nprint(watch.watcher().interval)",
        "%config TrackMagics.live_views = 'many'",
    )
    assert found["streams"] == [("stdout", f"{chosen} config\n")]
    assert interval["streams"] == [("stdout", "0.25\n")]
    (stream,) = bad["streams"]
    expected = (
        "TrackMagics.live_views: 'many' is not how many views stay live, a whole number "
        "from 1 to 1000"
    )
    assert stream[0] == "stderr"
    assert stream[1].strip().endswith(expected)
    assert len(stream[1].strip().splitlines()) == 1
