"""An isolated JupyterLab on loopback and Debian's headless Chromium, for the browser
test and the board benchmark.

The server gets its own HOME, Jupyter and IPython folders, a token and a free port, and
is told not to reach the network (no news, no update check, no npm probes).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

# Looked up on PATH: Debian names its package's wrapper script "chromium", Ubuntu and
# others "chromium-browser".
CHROMIUM_NAMES = ("chromium", "chromium-browser")
INSTALL_HINT = (
    "needs Chromium on PATH: apt-get install -y chromium (Debian), or set CONDUCTOR_CHROMIUM "
    "to a Chromium or Chrome executable"
)

# "idle" is also shown while the notebook has "No Kernel"; Run All then runs nothing.
KERNEL_READY = """() => {
  const s = document.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status;
  const k = document.querySelector('.jp-Toolbar-kernelName')?.textContent.trim();
  return s === 'idle' && !!k && k !== 'No Kernel';
}"""


def chromium_path() -> str | None:
    """$CONDUCTOR_CHROMIUM if set (a path or a name on PATH), else the first of
    CHROMIUM_NAMES found on PATH."""
    override = os.environ.get("CONDUCTOR_CHROMIUM")
    if override:
        return shutil.which(override)
    return next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_lab(
    base: Path, env_extra: dict[str, str] | None = None, app: str = "jupyterlab"
) -> Iterator[SimpleNamespace]:
    """Start JupyterLab (or, with ``app="notebook"``, Notebook 7) serving ``base/root``;
    yields url, token, root, app and log path."""
    env = dict(os.environ, **(env_extra or {}))
    for var in (
        "HOME",
        "JUPYTER_CONFIG_DIR",
        "JUPYTER_DATA_DIR",
        "JUPYTER_RUNTIME_DIR",
        "IPYTHONDIR",
    ):
        (base / var).mkdir(parents=True, exist_ok=True)
        env[var] = str(base / var)
    config = base / "JUPYTER_CONFIG_DIR"
    (config / "labconfig").mkdir(exist_ok=True)  # no node build check
    (config / "labconfig/page_config.json").write_text(
        '{"buildCheck": false, "buildAvailable": false}'
    )
    notification = config / "lab/user-settings/@jupyterlab/apputils-extension"
    notification.mkdir(parents=True, exist_ok=True)  # no "Jupyter news?" toast
    (notification / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    root = base / "root"
    root.mkdir(exist_ok=True)
    port, token = _free_port(), secrets.token_hex(16)
    log_path = base / "server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                app,
                "--no-browser",
                "--allow-root",
                "--ip=127.0.0.1",
                f"--port={port}",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={root}",
                "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                "--LabApp.extension_manager=readonly",
                "--LanguageServerManager.autodetect=False",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 90
        try:
            while True:
                try:
                    urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"jupyter lab did not start, see {log_path}") from None
                    time.sleep(0.2)
            yield SimpleNamespace(url=url, token=token, root=root, app=app, log=log_path)
        finally:
            proc.terminate()  # SIGTERM: the server shuts its kernels down
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)


def open_notebook(page, lab: SimpleNamespace, name: str) -> None:
    """Open ``name`` (in JupyterLab: in a fresh workspace) and wait until its kernel is
    really ready."""
    if lab.app == "notebook":
        page.goto(f"{lab.url}/notebooks/{name}?token={lab.token}")
    else:
        page.goto(f"{lab.url}/lab/tree/{name}?reset&token={lab.token}")
    page.wait_for_function(KERNEL_READY, timeout=90_000)


def run_all(page) -> None:
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()


def write_notebook(path: Path, cells: list[str]) -> None:
    """A notebook of code ``cells`` on the python3 kernel, at ``path``."""
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, path)
