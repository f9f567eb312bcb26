"""Which assumption checks this machine may run.

An expression or command check runs code. It runs only once someone on this machine
approved it: the user who created it (approved at creation), or the user who ran
``conductor assumptions --approve ID`` after reading a check that arrived from someone
else (a bundle import, a git merge). Approvals live beside the hooks' trust file
(``$XDG_DATA_HOME/conductor_nb/approved-checks.json``), outside every root, keyed by the
project folder and the sha256 of the check's definition: a check edited since is not
approved again, and approving ``make test`` in one project does not run another
project's Makefile.
"""

from __future__ import annotations

import json
from pathlib import Path

from .hooks import trust_file
from .store import files

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "RUNS_CODE",
    "approvals_file",
    "approve",
    "check_digest",
    "is_approved",
    "needs_approval",
]

# Kinds of check that run code (the others read a file or a package's version).
RUNS_CODE = frozenset({"expr", "command"})


def approvals_file() -> Path:
    """This machine's record of approved checks (next to the trusted hooks)."""
    return trust_file().with_name("approved-checks.json")


def check_digest(check: dict[str, Any]) -> str:
    """The sha256 of a check's definition (its JSON, keys sorted)."""
    text = json.dumps(check, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return files.sha256_hex(text.encode("utf-8"))


def needs_approval(check: dict[str, Any]) -> bool:
    return check.get("kind") in RUNS_CODE


def _record() -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(approvals_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def is_approved(project: Path, check: dict[str, Any]) -> bool:
    """Whether the check may run here (checks that run no code always may)."""
    if not needs_approval(check):
        return True
    approved = _record().get(str(project))
    return isinstance(approved, dict) and check_digest(check) in approved


def approve(project: Path, check: dict[str, Any], *, label: str, at: str) -> None:
    """Record the check as approved in ``project`` (``label`` names its assumption)."""
    if not needs_approval(check):
        return
    record = _record()
    approved = record.get(str(project))
    approved = approved if isinstance(approved, dict) else {}
    approved[check_digest(check)] = {"assumption": label, "approved_at": at}
    record[str(project)] = approved
    path = approvals_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    files.atomic_write(path, json.dumps(record, indent=2, sort_keys=True))
