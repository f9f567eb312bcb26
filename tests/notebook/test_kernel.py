"""In a real kernel process: %track is there without %load_ext (the installed
jupyter-config), a user can opt out, and a mistake is one UsageError line."""

from __future__ import annotations

from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel

PROBE = "print(get_ipython().find_line_magic('track') is not None)"


def run_in_kernel(*cells: str) -> list[dict]:
    """Execute cells in a fresh kernel; returns each reply's content with its streams."""
    km, kc = start_new_kernel(kernel_name="python3", startup_timeout=90)
    try:
        replies = []
        for code in cells:
            streams: list[tuple[str, str]] = []

            def hook(msg, streams=streams):
                if msg["msg_type"] == "stream":
                    streams.append((msg["content"]["name"], msg["content"]["text"]))

            reply = kc.execute_interactive(code, timeout=60, output_hook=hook)
            replies.append({**reply["content"], "streams": streams})
        return replies
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.fixture
def kernel_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, root: Path) -> Path:
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))  # no user profile
    monkeypatch.setenv("CONDUCTOR_ROOT", str(root))
    return tmp_path / "ipython"


def test_track_is_autoloaded_in_a_new_kernel(kernel_env: Path) -> None:
    """Every new kernel has %track, and it works against the configured root."""
    probe, pandas_mode, create, listed, bad = run_in_kernel(
        PROBE,
        # loading the extension must not make pandas think it runs in a terminal
        "import pandas\nprint(pandas.get_option('display.max_columns'))",
        '%track create --name "Kernel track"',
        "df = %track list\nprint(len(df), df['status'].iloc[0])",
        "%track activate nope",
    )
    assert probe["streams"] == [("stdout", "True\n")]
    assert pandas_mode["streams"] == [("stdout", "20\n")]
    assert create["status"] == "ok"
    assert listed["streams"] == [("stdout", "1 draft\n")]
    assert (bad["status"], bad["ename"], bad["traceback"]) == ("error", "UsageError", [])
    assert bad["streams"] == [
        ("stderr", "UsageError: no track matches 'nope' (see `conductor list`)\n")
    ]


def test_user_can_opt_out(kernel_env: Path) -> None:
    """extra_extensions = [] in the profile's kernel config turns auto-load off."""
    profile = kernel_env / "profile_default"
    profile.mkdir(parents=True)
    (profile / "ipython_kernel_config.py").write_text(
        "c.InteractiveShellApp.extra_extensions = []\n"
    )
    (probe,) = run_in_kernel(PROBE)
    assert probe["streams"] == [("stdout", "False\n")]
