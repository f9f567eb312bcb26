"""The JupyterLab front end is committed built (users never run node): the build must
be the one of the sources as they are, small, and installed where JupyterLab and the
Jupyter server look for it."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

from conductor_nb.labext.assets import ASSETS, SOURCES, STAMP, source_hash

REPO = Path(__file__).resolve().parents[1]
REBUILD = 'cd labextension && npm install && PATH="$PWD/../.venv/bin:$PATH" npm run build'


def test_the_committed_build_is_of_the_current_sources():
    assert SOURCES == REPO / "labextension" and (SOURCES / "src" / "index.ts").is_file()
    stamped = (ASSETS / STAMP).read_text().strip()
    assert stamped == source_hash(), f"the built front end is stale: {REBUILD}"


def test_the_stamp_changes_with_any_source(tmp_path: Path):
    """The hash covers every source file, so an edit anywhere makes the test above fail."""
    copy = tmp_path / "labextension"
    shutil.copytree(SOURCES, copy, ignore=shutil.ignore_patterns("node_modules", "lib"))
    original = source_hash(copy)
    assert original == source_hash()
    for edited in ("src/sidebar.ts", "style/base.css", "package.json"):
        path = copy / edited
        text = path.read_bytes()
        path.write_bytes(text + b"\n")
        assert source_hash(copy) != original, edited
        path.write_bytes(text)
    (copy / "src" / "extra.ts").write_text("export {};\n")
    assert source_hash(copy) != original


def test_the_build_is_a_small_production_build():
    built = json.loads((ASSETS / "package.json").read_text())
    assert built["name"] == "conductor-nb"
    assert json.loads((SOURCES / "package.json").read_text())["name"] == built["name"]
    entry = ASSETS / built["jupyterlab"]["_build"]["load"]
    assert entry.is_file()
    files = [p for p in (ASSETS / "static").iterdir() if p.is_file()]
    assert not [p for p in files if p.suffix == ".map"]  # production: no source maps
    assert sum(p.stat().st_size for p in files) < 200_000
    # Each chunk once: a rebuild leaves no files of an older build behind.
    chunks = [p.name.split(".")[0] for p in files if p.suffix == ".js"]
    assert len(chunks) == len(set(chunks))


def test_the_wheel_installs_the_front_end_and_enables_the_server_extension():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    shared = project["tool"]["hatch"]["build"]["targets"]["wheel"]["shared-data"]
    assert shared["conductor_nb/labextension"] == "share/jupyter/labextensions/conductor-nb"
    config = "jupyter-config/jupyter_server_config.d/conductor_nb.json"
    assert shared[config] == "etc/jupyter/jupyter_server_config.d/conductor_nb.json"
    enabled = json.loads((REPO / config).read_text())["ServerApp"]["jpserver_extensions"]
    assert enabled == {"conductor_nb": True}
    import conductor_nb

    points = conductor_nb._jupyter_server_extension_points()
    assert points == [{"module": "conductor_nb.labext"}]
    from conductor_nb import labext

    assert callable(labext._load_jupyter_server_extension)
