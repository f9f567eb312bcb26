"""A shared in-process IPython shell with the extension loaded, pointed at a fresh root
per test."""

from __future__ import annotations

from pathlib import Path

import pytest
from IPython.testing import globalipapp


@pytest.fixture(scope="session")
def ip():
    globalipapp.start_ipython()  # returns the shell on its first call only
    shell = globalipapp.get_ipython()
    shell.extension_manager.load_extension("conductor_nb")
    return shell


@pytest.fixture
def magics(ip, root: Path):
    """The loaded TrackMagics, using this test's root."""
    from conductor_nb.notebook.extension import _loaded

    if id(ip) not in _loaded:
        ip.extension_manager.load_extension("conductor_nb")
    instance = _loaded[id(ip)]
    instance.close()
    instance._root, instance._engines = root, {}
    yield instance
    instance.close()


@pytest.fixture
def track(ip, magics):
    """Run ``%track LINE`` and return its value."""
    return lambda line: ip.run_line_magic("track", line)
