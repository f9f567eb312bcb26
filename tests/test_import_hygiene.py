"""The engine and the CLI never load IPython, ipywidgets, pandas or matplotlib (nor pydantic
on the CLI's hot paths), checked in a real subprocess; and the public API exports exactly
what it means to."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import conductor_nb

HEAVY = ("IPython", "ipywidgets", "pandas", "matplotlib")

PROBE = """
import json, sys, os
from conductor_nb.cli import main
from conductor_nb.engine import Engine
e = Engine(os.environ["CONDUCTOR_ROOT"])
e.create("Probe track")
e.transition("Probe track", "activate")
e.decide(None, "probe")
e.validate()
for argv in (["list"], ["stats"], ["show"], ["create", "--name", "Second probe"], ["pause"]):
    assert main(argv) == 0, argv
print(json.dumps(sorted(m.split(".")[0] for m in sys.modules)))
"""


def _loaded(code: str, root: Path) -> set[str]:
    env = {**os.environ, "CONDUCTOR_ROOT": str(root)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_engine_and_cli_load_no_notebook_or_analytics_library(root: Path) -> None:
    """Running the engine and the CLI's commands imports none of the heavy libraries."""
    loaded = _loaded(PROBE, root)
    assert not loaded & set(HEAVY), loaded & set(HEAVY)
    assert "conductor_nb" in loaded


def test_cli_list_does_not_import_pydantic_or_filelock(root: Path) -> None:
    """`conductor list` (the hot read path) imports neither pydantic nor filelock."""
    from conductor_nb.engine import Engine

    Engine(root).create("Listed track")  # a root to read (a missing one is an error)
    code = (
        "import sys, json\nfrom conductor_nb.cli import main\nassert main(['list']) == 0\n"
        "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))"
    )
    loaded = _loaded(code, root)
    assert "pydantic" not in loaded and "filelock" not in loaded


def test_cli_writes_import_only_what_they_use(root: Path) -> None:
    """`conductor create` and `activate` (the hot write paths) lock with fcntl alone and
    load nothing they do not use: no filelock, typing, msgspec, shutil (argparse asks it
    for the terminal width), hashlib or gzip (issue #14: start-up). (A pause checkpoints,
    which hashes and compresses: it loads hashlib and zstandard, and zstandard typing.)"""
    code = (
        "import sys, json\nfrom conductor_nb.cli import main\n"
        "assert main(['create', '--name', 'Written track']) == 0\n"
        "assert main(['activate', 'Written track']) == 0\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    loaded = _loaded(code, root)
    unused = {"filelock", "typing", "msgspec", "shutil", "hashlib", "gzip", "pydantic"}
    assert not loaded & unused, loaded & unused


def test_a_pause_and_resume_hash_without_loading_openssl(root: Path) -> None:
    """A pause checkpoints a small track and a resume diffs it against that checkpoint:
    both hash a few KB, which CPython's own sha256 does without hashlib's ~2.5 ms load."""
    code = (
        "import sys, json\nfrom conductor_nb.cli import main\n"
        "for argv in (['create', '--name', 'Hashed'], ['activate', 'Hashed'], ['pause', 'Hashed'],"
        " ['resume', 'Hashed'], ['checkpoints', 'Hashed']):\n"
        "    assert main(argv) == 0, argv\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    loaded = _loaded(code, root)
    assert "hashlib" not in loaded and "_hashlib" not in loaded
    assert "zstandard" in loaded  # the checkpoint was taken (and compressed)


def test_sha256_hex_gives_hashlib_digest_on_both_paths() -> None:
    """Small data goes to the built-in sha256 while hashlib is not loaded, large data (and
    all data once it is) to hashlib: the digest is the same either way."""
    import hashlib

    from conductor_nb.store import files

    sizes = (0, 1, 63, 64, 65, files._SMALL_HASH, files._SMALL_HASH + 1, 3 * files._SMALL_HASH)
    for size in sizes:
        data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
        assert files._builtin_sha256()(data).hexdigest() == hashlib.sha256(data).hexdigest()
        assert files.sha256_hex(data) == hashlib.sha256(data).hexdigest()


def test_the_actor_is_getpass_user_without_importing_getpass(monkeypatch) -> None:
    """With no user in the environment, the actor's name comes from the password database,
    as getpass.getuser() gives it."""
    import getpass

    from conductor_nb import trackstore

    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.delenv(name, raising=False)
    assert trackstore._user() == getpass.getuser()
    monkeypatch.setenv("USER", "someone-else")
    assert trackstore._user() == "someone-else" == getpass.getuser()


def test_public_api_is_exactly_the_exports() -> None:
    """Every name in __all__ resolves, and nothing public is exported by accident."""
    for name in conductor_nb.__all__:
        value = getattr(conductor_nb, name)
        # a class or function of that very name from the package itself (not a stray
        # re-export): the functions are the tracked-run API (run, tracked_run, current_run)
        assert isinstance(value, type | types.FunctionType), (name, value)
        assert value.__name__ == name, (name, value)
        assert value.__module__.startswith("conductor_nb."), (name, value.__module__)
        if isinstance(value, type) and issubclass(value, Exception):  # one base for all
            assert issubclass(value, conductor_nb.ConductorError), name
    public = {n for n in dir(conductor_nb) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(conductor_nb, n)).__name__ == "module"}
    # load/unload_ipython_extension are public by IPython's protocol, not by import.
    extension_hooks = {"load_ipython_extension", "unload_ipython_extension"}
    helpers = {"annotations", "import_module", "TYPE_CHECKING", "Any"}
    assert public - modules - helpers - extension_hooks == set(conductor_nb.__all__)


def test_ruff_bans_heavy_imports_in_engine(tmp_path: Path) -> None:
    """The ruff banned-api rule fires for pandas in an engine module (the lint keeps layers)."""
    probe = Path(conductor_nb.__file__).parent / "_ban_probe.py"
    probe.write_text("import pandas  # noqa: F401\n")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "ruff", "check", "--select", "TID251", str(probe)],
            capture_output=True,
            text=True,
            cwd=Path(conductor_nb.__file__).parents[1],
        )
    finally:
        probe.unlink()
    assert result.returncode == 1 and "TID251" in result.stdout
