"""The driver git runs: ``python -m conductor_nb.gitmerge KIND %O %A %B [%P]``.

It writes the merged document over ``%A`` in the original tool's formatting
(``files.dumps``) and exits 0. On a real conflict it exits 1, so git reports the file as
conflicted, and says what conflicts on stderr:

- track.json, decisions, assumptions: the file holds the merge with standard conflict
  markers (``<<<<<<< ours`` ... ``>>>>>>> theirs``) around just the conflicting lines;
- the registry (two tracks made active): the file stays valid JSON (the newer track is
  ``active_track``), so ``conductor repair`` can settle it.

A version that is not JSON (someone committed conflict markers) falls back to git's own
line merge (``git merge-file``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import ConductorError
from ..store import files
from .merging import merge_notes, merge_registry, merge_track

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

__all__ = ["KINDS", "main", "with_markers"]

KINDS = {"registry": dict, "track": dict, "notes": list}
USAGE = "usage: python -m conductor_nb.gitmerge registry|track|notes BASE OURS THEIRS [PATH]"


def main(argv: Sequence[str]) -> int:
    if len(argv) not in (4, 5) or argv[0] not in KINDS:
        print(USAGE, file=sys.stderr)
        return 2
    kind, base_path, ours_path, theirs_path = argv[:4]
    shown = argv[4] if len(argv) == 5 else ours_path
    shape = KINDS[kind]
    try:
        base = _read(Path(base_path), shape, allow_empty=True)
        ours = _read(Path(ours_path), shape)
        theirs = _read(Path(theirs_path), shape)
    except ConductorError as err:
        print(f"conductor merge: {err.message}: merging {shown} line by line", file=sys.stderr)
        return _line_merge(base_path, ours_path, theirs_path)
    text, conflicts = _merged_text(kind, base, ours, theirs)
    Path(ours_path).write_text(text, encoding="utf-8")
    for conflict in conflicts:
        print(f"conductor merge: conflict in {shown}: {conflict}", file=sys.stderr)
    return 1 if conflicts else 0


def _read(path: Path, shape: type, *, allow_empty: bool = False) -> Any:
    raw = path.read_bytes()
    if allow_empty and not raw.strip():  # no common ancestor (added on both sides)
        return shape()
    return files.parse_json(raw, path, fix="resolve it by hand", shape=shape)


def _merged_text(kind: str, base: Any, ours: Any, theirs: Any) -> tuple[str, list[str]]:
    if kind == "registry":
        doc, conflicts = merge_registry(base, ours, theirs)
        return files.dumps(doc), conflicts
    merge_doc = merge_track if kind == "track" else merge_notes
    doc, merge = merge_doc(base, ours, theirs, "ours")
    if not merge.conflicts:
        return files.dumps(doc), []
    other, _ = merge_doc(base, ours, theirs, "theirs")
    text = with_markers(files.dumps(doc), files.dumps(other))
    return text, [str(c) for c in merge.conflicts]


def with_markers(ours: str, theirs: str, size: int = 7) -> str:
    """``ours`` with git's conflict markers where ``theirs`` differs from it."""
    import difflib  # only on a conflict

    a, b = ours.splitlines(keepends=True), theirs.splitlines(keepends=True)
    out: list[str] = []
    blocks = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in blocks:
        if tag == "equal":
            out += a[i1:i2]
            continue
        out.append("<" * size + " ours\n")
        out += [line if line.endswith("\n") else line + "\n" for line in a[i1:i2]]
        out.append("=" * size + "\n")
        out += [line if line.endswith("\n") else line + "\n" for line in b[j1:j2]]
        out.append(">" * size + " theirs\n")
    return "".join(out)


def _line_merge(base: str, ours: str, theirs: str) -> int:
    import subprocess

    done = subprocess.run(
        ["git", "merge-file", "-L", "ours", "-L", "base", "-L", "theirs", ours, base, theirs],
        check=False,
    )
    return 1 if done.returncode else 0
