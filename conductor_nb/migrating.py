"""``conductor migrate``: bring a root to the newest format (the steps are in
``migrations``), or, with ``dry_run``, only say what that would change.

A dry run reads and nothing else: no lock, no temp folder, no format file. A real run
refuses a tree with problems the steps do not mend (``conductor repair`` first), then,
in one transaction, checkpoints every track it changes (pinned, kind ``migration``),
applies each step and records the new format: all or nothing. A tree already at the
newest format is left untouched.
"""

from __future__ import annotations

import os

from .errors import ConductorError, RootMissing
from .migrations import TreeReader, steps_from
from .store.formats import check_format, format_document, format_path
from .store.paths import is_root

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from .checkpoints import Checkpoints
    from .maintenance import Maintenance
    from .migrations import FileChange, Step
    from .store.tree import Transaction
    from .trackstore import TrackStore

__all__ = ["MENDED_PROBLEMS", "Migrations"]

# What validate reports that the steps themselves mend; anything else blocks a migration.
MENDED_PROBLEMS = frozenset({"status-mismatch", "field-mismatch", "metadata-drift", "active-track"})
CHECKPOINT_KIND = "migration"


class Migrations:
    """Format upgrades of a store's root (checkpoints taken through ``checkpoints``,
    the tree checked through ``maintenance``)."""

    def __init__(
        self, store: TrackStore, checkpoints: Checkpoints, maintenance: Maintenance
    ) -> None:
        self.store = store
        self.tree = store.tree
        self.checkpoints = checkpoints
        self.maintenance = maintenance

    def migrate(self, *, dry_run: bool = False) -> dict[str, Any]:
        """Upgrade the root to the newest format, losslessly: every field is kept, the
        steps' normalisations aside (see ``migrations``). ``dry_run``: write nothing,
        report what would change, file by file and field by field."""
        root = self.store.root
        if not is_root(root):
            raise RootMissing(str(root), self.store.found.how())
        version = check_format(root)
        recorded = format_path(root).exists()
        steps = steps_from(version)
        if not steps:
            return self._report(version, [], [], [], dry_run=dry_run)
        if dry_run and self._recovery_pending():
            raise ConductorError(
                "a change was left half done by a process that stopped",
                hint="any command finishes it, e.g. `conductor validate`; then migrate again",
            )
        self._refuse_problems()
        if dry_run:
            planned = self._plan(steps, TreeReader(self.store))
            checkpoints = [[track_id, None] for track_id in self._tracks_changed(planned)]
            return self._report(
                version, steps, planned, checkpoints, dry_run=True, recorded=recorded
            )
        with self.tree.transaction() as txn:
            if check_format(root) != version:  # another process migrated meanwhile
                return self.migrate()
            planned = self._plan(steps, TreeReader(self.store, txn))
            tracks = self._tracks_changed(planned)
            taken = [[t, self._checkpoint(txn, t, steps[-1].target)] for t in tracks]
            for _, change in planned:  # each file's last planned content wins
                self._apply(txn, change)
            txn.write_json(format_path(root), format_document(steps[-1].target))
        return self._report(version, steps, planned, taken, dry_run=False, recorded=recorded)

    # -- planning --------------------------------------------------------------------------

    def _recovery_pending(self) -> bool:
        """Whether reading would first finish a stopped writer's change (a write)."""
        wal = getattr(self.tree, "wal", None)  # the write-ahead log, where the tree has one
        return os.path.exists(self.tree.journal_path) or bool(wal and wal.needs_recovery())

    def _refuse_problems(self) -> None:
        problems = [p for p in self.maintenance.validate() if p.kind not in MENDED_PROBLEMS]
        if problems:
            raise ConductorError(
                f"{len(problems)} problems that migrate does not mend, the first: "
                f"{problems[0].message}",
                hint="run `conductor repair` first (`conductor validate` lists them)",
            )

    def _plan(self, steps: list[Step], reader: TreeReader) -> list[tuple[Step, FileChange]]:
        """Every step's changes, each step planned on what the ones before would write."""
        planned = []
        for step in steps:
            changes = step.plan(reader)
            reader.plan(changes)
            planned += [(step, change) for change in changes]
        return planned

    def _tracks_changed(self, planned: list[tuple[Step, FileChange]]) -> list[str]:
        tracks: dict[str, None] = {}
        for _, change in planned:
            parts = self._relative(change.path).split("/")
            if len(parts) > 2 and parts[0] == "tracks" and parts[1].startswith("track-"):
                tracks[parts[1]] = None
        return list(tracks)

    # -- applying --------------------------------------------------------------------------

    def _checkpoint(self, txn: Transaction, track_id: str, target: int) -> str:
        """A pinned checkpoint of the track as it is, before any change. What taking it
        records in track.json and the registry is then replaced by the planned content:
        the checkpoint is listed (``conductor checkpoints``), not named in the track."""
        manifest = self.checkpoints.take(
            txn,
            track_id,
            reason=f"before migrating to format {target}",
            kind=CHECKPOINT_KIND,
            pinned=True,
        )
        return manifest["checkpoint_id"]

    def _apply(self, txn: Transaction, change: FileChange) -> None:
        if change.path == self.tree.registry.path:
            registry = txn.registry
            for track_id, entry in change.content["tracks"].items():
                if registry.tracks.get(track_id) != entry:
                    registry.set_entry(track_id, entry)
            for key, value in change.content.items():
                if key != "tracks" and registry.doc.get(key) != value:
                    registry.doc[key] = value
            txn.registry_changed = True
            return
        label = _backup_label(self._relative(change.path))
        if change.backup and not self._backed_up(txn, change.path, label):
            self.store.backup(txn, change.path, label)
        txn.write_json(change.path, change.content)

    def _backed_up(self, txn: Transaction, path: Path, label: str) -> bool:
        """Whether this transaction keeps a copy of ``path`` already: taking a checkpoint
        keeps one of a track.json whose status disagrees with the registry (under the
        same label, ``<track id>-track.json``)."""
        if txn.pending(path) is None:
            return False
        backups = self.tree.backups_dir
        return any(p.parent == backups and p.name.endswith(f"-{label}") for p in txn.writes)

    # -- the report ------------------------------------------------------------------------

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.store.root).as_posix()

    def _report(
        self,
        version: int,
        steps: list[Step],
        planned: list[tuple[Step, FileChange]],
        checkpoints: list[list[Any]],
        *,
        dry_run: bool,
        recorded: bool = False,
    ) -> dict[str, Any]:
        """What was (or would be) done: the steps, and one row per change: the file, the
        field, ``change`` (add, set, append, remove; checkpoint and backup for the copies
        kept first) and the values before and after. ``recorded``: the root had a format
        file before."""
        if not steps:
            rows: list[dict[str, Any]] = []
        else:
            step = f"{steps[0].source}->{steps[-1].target}"
            rows = [
                _row(step, track_id, f"tracks/{track_id}/checkpoints", "", "checkpoint")
                | {"after": checkpoint_id or f"a pinned checkpoint (kind {CHECKPOINT_KIND})"}
                for track_id, checkpoint_id in checkpoints
            ]
            for each, change in planned:
                rows += self._rows(each, change)
            change = "set" if recorded else "add"
            rows.append(
                _row(step, None, format_path(self.store.root).name, "format", change)
                | {"before": version if recorded else None, "after": steps[-1].target}
            )
        return {
            "root": str(self.store.root),
            "from": version,
            "to": steps[-1].target if steps else version,
            "dry_run": dry_run,
            "steps": [
                {"from": s.source, "to": s.target, "description": s.description} for s in steps
            ],
            "changes": rows,
            "files": len({r["file"] for r in rows if r["change"] not in ("checkpoint", "backup")}),
            "checkpoints": [{"track_id": t, "checkpoint_id": c} for t, c in checkpoints],
        }

    def _rows(self, step: Step, change: FileChange) -> list[dict[str, Any]]:
        relative = self._relative(change.path)
        parts = relative.split("/")
        track_id = parts[1] if len(parts) > 2 and parts[0] == "tracks" else None
        name = f"{step.source}->{step.target}"
        rows = []
        if change.backup:
            rows.append(_row(name, track_id, "backups", "", "backup") | {"after": relative})
        for field in change.fields:
            entry = field["field"].split(".") if change.path == self.tree.registry.path else []
            owner = entry[1] if len(entry) > 2 and entry[0] == "tracks" else track_id
            rows.append(_row(name, owner, relative, field["field"], field["change"]) | field)
        return rows


def _row(step: str, track_id: str | None, file: str, field: str, change: str) -> dict[str, Any]:
    return {
        "step": step,
        "track_id": track_id,
        "file": file,
        "field": field,
        "change": change,
        "before": None,
        "after": None,
    }


def _backup_label(relative: str) -> str:
    """The name a file's copy in backups/ ends with: ``<track id>-track.json`` for a
    track's file (as every write of ours names it), the path with dashes otherwise."""
    parts = relative.split("/")
    return "-".join(parts[1:] if parts[0] == "tracks" and len(parts) > 2 else parts)
