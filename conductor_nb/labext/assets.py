"""The prebuilt front end in ``conductor_nb/labextension`` is committed, so installing
needs no node. Its build stamps it with a hash of the sources it was built from
(``labextension/``: package.json, tsconfig.json, src/ and style/), and a test compares
that stamp with the sources as they are: a change to the sources without a rebuild
fails the suite.

Build (from a checkout, with node and the test dependencies):
``cd labextension && npm install && PATH="$PWD/../.venv/bin:$PATH" npm run build``.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

__all__ = ["ASSETS", "SOURCES", "STAMP", "source_hash", "write_stamp"]

ASSETS = Path(__file__).resolve().parents[1] / "labextension"
SOURCES = Path(__file__).resolve().parents[2] / "labextension"  # only in a checkout
STAMP = "source.sha256"
SOURCE_FILES = ("package.json", "tsconfig.json")
SOURCE_FOLDERS = ("src", "style")


def _sources(folder: Path) -> list[Path]:
    found = [folder / name for name in SOURCE_FILES]
    for sub in SOURCE_FOLDERS:
        found += [p for p in (folder / sub).rglob("*") if p.is_file()]
    return sorted(found)


def source_hash(folder: Path = SOURCES) -> str:
    """SHA-256 over the sources' paths (relative, with /) and contents."""
    digest = hashlib.sha256()
    for path in _sources(folder):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()


def write_stamp(sources: Path = SOURCES, assets: Path = ASSETS) -> str:
    value = source_hash(sources)
    (assets / STAMP).write_text(value + "\n")
    return value


if __name__ == "__main__":
    print(f"{ASSETS / STAMP}: {write_stamp()}", file=sys.stderr)
