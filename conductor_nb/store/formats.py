"""The format version of a root: ``<root>/conductor-format.json``.

The original tool reads only ``tracks/track-registry.json``, the ``tracks/track-*/``
folders and its own files, so this file is invisible to it and the tree stays its
tree. A root without the file is format 1: the original tool's layout as it writes it.
A root this code creates records the current format once, with its first change
(``RecordingTree``); ``conductor migrate`` records it for older trees. A root from a
newer format than this code knows is refused in one line (``FormatTooNew``) instead of
misread.

Reading the version costs one ``stat`` per call: the parsed value is cached against
the file's stat signature, as the registry is.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager, suppress
from pathlib import Path

from ..errors import CorruptFile, FormatTooNew
from . import files
from .tree import Tree

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from .registry import RegistryDoc
    from .tree import Transaction

__all__ = [
    "CURRENT_FORMAT",
    "FORMAT_NAME",
    "ORIGINAL_FORMAT",
    "RecordingTree",
    "check_format",
    "format_document",
    "format_path",
    "read_format",
]

FORMAT_NAME = "conductor-format.json"
ORIGINAL_FORMAT = 1  # the original tool's layout, and any root without the file
CURRENT_FORMAT = 2  # the last target of conductor_nb.migrations.STEPS (a test checks)

_cache: dict[str, tuple[tuple[int, ...], int]] = {}


def format_path(root: Path) -> Path:
    return Path(root) / FORMAT_NAME


def format_document(version: int) -> dict[str, object]:
    """What the file holds: the format and the release that wrote it."""
    # the package is loaded before any of its modules (importing it here would be a cycle)
    release = getattr(sys.modules[__name__.split(".")[0]], "__version__", "unknown")
    return {"format": version, "written_by": f"conductor_nb {release}"}


def read_format(root: Path) -> int:
    """The root's format version (1 when it has no format file)."""
    name = os.path.join(root, FORMAT_NAME)  # checked twice a transaction: no pathlib
    try:
        st = os.stat(name)
    except (FileNotFoundError, NotADirectoryError):
        return ORIGINAL_FORMAT
    signature = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    cached = _cache.get(name)
    if cached is not None and cached[0] == signature:
        return cached[1]
    path = Path(name)
    fix = f"rm {path} && conductor migrate"  # without the file the root reads as format 1
    doc = files.read_json(path, fix=fix, shape=dict)
    version = files.require(doc.get("format"), int, path, "its 'format'", fix)
    if version < ORIGINAL_FORMAT:
        raise CorruptFile(str(path), f"its 'format' is {version}, below 1", fix)
    _cache[name] = (signature, version)
    return version


def check_format(root: Path) -> int:
    """The root's format version; a FormatTooNew when this code cannot read it."""
    version = read_format(root)
    if version > CURRENT_FORMAT:
        raise FormatTooNew(str(root), version, CURRENT_FORMAT)
    return version


class RecordingTree(Tree):
    """The tree of a root that checks the root's format on every read and write (a
    ``stat``: see ``read_format``), and whose first change records the current format
    when that change creates the root: in the same commit, so a crash leaves the root
    as it was (nothing) or with its first change and its format, never one without the
    other."""

    def check_format_at_open(self) -> None:
        """Refuse a root from a newer format as soon as it is opened. A format file that
        cannot be read may be one a crash left half written (the write-ahead log replaces
        files without syncing them): the recovery that the first read or write runs
        rewrites it, and that read or write checks it then."""
        with suppress(CorruptFile):
            check_format(self.root)

    def load_registry(self) -> RegistryDoc:
        registry = super().load_registry()  # a stopped writer's change is finished first
        check_format(self.root)
        return registry

    @contextmanager
    def transaction(self, **options: Any) -> Iterator[Transaction]:
        self.check_format_at_open()  # a newer root is refused before it is even locked
        with super().transaction(**options) as txn:
            check_format(self.root)  # after the recovery the transaction runs first
            yield txn
            # the outermost change of the hold that created tracks/, if it writes anything
            new_root = self.lock.depth == 1 and self.lock.made_folders
            if new_root and (txn.writes or txn.deletes or txn.registry_changed):
                path = format_path(self.root)
                if not path.exists():
                    txn.write_json(path, format_document(CURRENT_FORMAT))
