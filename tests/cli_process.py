"""The ``conductor`` CLI as a user runs it: a real process in a folder, with
``$CONDUCTOR_ROOT`` set only when a test says so (the suite's own is removed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conductor_nb.store.paths import ROOT_ENV


def conductor_in(
    cwd: Path, *args: str, env_root: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`conductor ARGS` run in ``cwd``."""
    env = {k: v for k, v in os.environ.items() if k != ROOT_ENV}
    if env_root is not None:
        env[ROOT_ENV] = str(env_root)
    return subprocess.run(
        [sys.executable, "-m", "conductor_nb.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
