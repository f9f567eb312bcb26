"""conductor_nb in JupyterLab and Notebook 7: a server extension answering REST calls
under ``<base_url>/conductor/api/`` (``routes``) for the prebuilt front end (the
``labextension`` folder: a status bar item with the active track, a sidebar with the
board, palette commands).

The server loads it through ``jupyter-config/jupyter_server_config.d/conductor_nb.json``,
which the wheel installs; ``conductor_nb._jupyter_server_extension_points`` names this
module.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["load_server_extension"]


def load_server_extension(server_app: Any) -> None:
    """Add the REST handlers; tracks are found from the server's root folder (or
    $CONDUCTOR_ROOT, as the CLI finds them)."""
    from .routes import setup_handlers

    state = setup_handlers(server_app.web_app, server_app.root_dir)
    server_app.log.info(f"conductor_nb: tracks of {state.found.path} ({state.found.how()})")


_load_jupyter_server_extension = load_server_extension
