"""Damaged files: every file of a tree read the way the tool reads it (``validate``), and
what ``repair`` puts in place of one that cannot be used.

| file                               | unreadable when              | repair (a copy in backups/) |
| context/decisions, assumptions     | not a list of objects        | an empty list               |
| workflows/<run>/run.json           | not an object of its run_id  | the newest checkpoint's     |
|                                    |                              | copy, else an interrupted   |
|                                    |                              | run record                  |
| lease.json                         | not an object                | removed (no one holds it)   |
| checkpoints/checkpoint-NNN.json    | wrong shape, checksum        | removed: the checkpoint is  |
|                                    |                              | unusable                    |
| project.json                       | not an object of rules,      | ``{}``                      |
|                                    | stack and agents             |                             |
| context/snapshots/snap-*.json.gz   | not a gzip JSON object       | removed                     |

track.json, the registry and the journal have their own rules (``maintenance``, ``store.tree``).
"""

from __future__ import annotations

import os
from collections import namedtuple

from .checkpoint_format import (
    CHECKPOINTS_DIR,
    blob_path,
    checkpoint_numbers,
    manifest_checksum,
    read_blob,
    read_manifest,
)
from .context import PROJECT_FILE, read_project
from .errors import CorruptFile
from .leases import LEASE_FILE
from .legacy import SNAPSHOT_RE, read_snapshot
from .notes import ASSUMPTIONS, DECISIONS
from .runs import read_run, run_record
from .store import files
from .store.paths import RUN_ID_RE
from .vocab import RunStatus

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from .store.tree import Transaction
    from .trackstore import TrackStore

__all__ = ["Damage", "find_damage", "mend"]

REPAIR = "conductor repair"


class Damage(namedtuple("Damage", "kind track_id path error")):
    """A file that cannot be used: its ``kind`` (decisions, assumptions, run, lease,
    manifest, project, snapshot), its track (None for the root's), and the CorruptFile."""

    __slots__ = ()


def find_damage(store: TrackStore, track_ids: list[str]) -> list[Damage]:
    """Every damaged file of the tracks ``track_ids`` and of the root, in that order."""
    found: list[Damage] = []
    for track_id in track_ids:
        for kind, path, read in _track_files(store, track_id):
            found += _check(kind, track_id, path, read)
    project = store.root / PROJECT_FILE
    found += _check("project", None, project, lambda: read_project(project))
    for path in _snapshots(store.root):
        found += _check("snapshot", None, path, lambda path=path: read_snapshot(path))
    return found


def _check(kind: str, track_id: str | None, path: Path, read) -> list[Damage]:
    try:
        read()
    except CorruptFile as err:
        return [Damage(kind, track_id, path, err)]
    except FileNotFoundError:
        pass
    return []


def _track_files(store: TrackStore, track_id: str):
    """(kind, path, reader) of each file of a track besides track.json."""
    track_dir = store.tree.track_dir(track_id)
    for kind, name in (("decisions", DECISIONS), ("assumptions", ASSUMPTIONS)):
        yield kind, track_dir / "context" / name, lambda name=name: store.read_list(track_id, name)
    for run_id in _names(track_dir / "workflows", RUN_ID_RE.fullmatch):
        path = track_dir / "workflows" / run_id / "run.json"
        yield "run", path, lambda path=path, run_id=run_id: read_run(path, run_id)
    lease = track_dir / LEASE_FILE
    yield "lease", lease, lambda: files.read_json(lease, fix=REPAIR, shape=dict)
    folder = track_dir / CHECKPOINTS_DIR
    for number in sorted(checkpoint_numbers(folder)):
        checkpoint_id = f"checkpoint-{number:03d}"
        path = folder / f"{checkpoint_id}.json"
        yield "manifest", path, lambda path=path, cid=checkpoint_id: _read_sound(path, cid)


def _read_sound(path: Path, checkpoint_id: str) -> dict[str, Any]:
    """A manifest that reads and whose checksum holds (its blobs are ``verify``'s)."""
    manifest = read_manifest(path, checkpoint_id)
    if manifest.get("checksum") != manifest_checksum(manifest):
        raise CorruptFile(str(path), "its checksum does not match its content", REPAIR)
    return manifest


def _names(folder: Path, wanted) -> list[str]:
    try:
        return sorted(name for name in os.listdir(folder) if wanted(name))
    except (FileNotFoundError, NotADirectoryError):
        return []


def _snapshots(root: Path) -> list[Path]:
    folder = root / "context" / "snapshots"
    names = _names(folder, lambda n: n.endswith(".json.gz") and SNAPSHOT_RE.fullmatch(n[:-8]))
    return [folder / name for name in names]


def mend(store: TrackStore, txn: Transaction, damage: Damage) -> str:
    """Keep a copy of the damaged file in backups/ and put the best replacement there is
    in its place (see the module's table); returns what was done, in one line."""
    path, prefix = damage.path, f"{damage.track_id}: " if damage.track_id else ""
    base = store.tree.track_dir(damage.track_id) if damage.track_id else store.root
    label = "-".join(path.relative_to(base.parent if damage.track_id else base).parts)
    backup = store.backup(txn, path, label)
    kept = f"{path.name} was unreadable ({damage.error.reason}); kept as {backup}"
    if damage.kind in ("decisions", "assumptions"):
        txn.write(path, "[]")
        return f"{prefix}{kept}; started empty"
    if damage.kind == "project":
        txn.write(path, "{}")
        return f"{prefix}{kept}; started empty"
    if damage.kind == "run":
        data, source = _rebuilt_run(store, txn, damage.track_id, path.parent.name)
        txn.write(path, data)
        return f"{prefix}{kept}; rebuilt from {source}"
    txn.delete(path)  # a lease, a manifest or a snapshot: nothing to rebuild it from
    if damage.kind == "manifest":
        return f"{prefix}{kept}; removed, that checkpoint can no longer be restored"
    return f"{prefix}{kept}; removed"


def _rebuilt_run(
    store: TrackStore, txn: Transaction, track_id: str, run_id: str
) -> tuple[bytes, str]:
    """run.json from the newest checkpoint that holds a sound copy, else a record of an
    interrupted run (its outcome says why)."""
    folder = store.tree.track_file(track_id, CHECKPOINTS_DIR)
    relative = f"workflows/{run_id}/run.json"
    for number in sorted(checkpoint_numbers(folder), reverse=True):
        checkpoint_id = f"checkpoint-{number:03d}"
        try:
            manifest = _read_sound(folder / f"{checkpoint_id}.json", checkpoint_id)
            for entry in manifest["files"]:
                if entry["path"] == relative:
                    data = read_blob(blob_path(folder, entry["sha256"]), entry["size"])
                    run = files.parse_json(data, relative, fix=REPAIR, shape=dict)
                    if run.get("run_id") == run_id:
                        return data, checkpoint_id
        except (CorruptFile, FileNotFoundError):
            continue
    run = run_record(
        run_id,
        track_id,
        run_id,
        store.stamp(),
        status=RunStatus.INTERRUPTED.value,
        outcome={"result": "interrupted", "message": "run.json was unreadable (repair)"},
    )
    return files.dumps(run).encode("utf-8"), "nothing: an interrupted run record"
