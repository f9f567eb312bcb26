"""validate, repair and rebuild: finding and mending disagreements between the registry
and the track files (trees written by the original tool have several)."""

from __future__ import annotations

from collections import namedtuple
from datetime import UTC

from .damage import find_damage, mend
from .errors import ConductorError, CorruptFile, RegistryMissing, TrackIdMismatch
from .progress import counted
from .store import files
from .store.paths import TRACK_ID_RE
from .store.registry import RegistryDoc, track_folders
from .tracks import parse_time, registry_entry
from .vocab import Priority, TrackStatus, TrackType

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any

    from .progress import Progress
    from .store.tree import Transaction
    from .trackstore import TrackStore
    from .transitions import Transitions

__all__ = ["Maintenance", "Problem"]

REPAIR, REBUILD = "conductor repair", "conductor rebuild"
_ENUMS = {"status": TrackStatus, "type": TrackType, "priority": Priority}


class Problem(namedtuple("Problem", "kind track_id message fix")):
    """One thing `validate` found: what (``kind``), where (``track_id``), the details,
    and the command that mends it (``fix``)."""

    __slots__ = ()

    def as_dict(self) -> dict[str, Any]:
        return self._asdict()


class Maintenance:
    """validate, repair and rebuild of a store's tree (repair pauses extra active tracks
    through ``transitions``)."""

    def __init__(self, store: TrackStore, transitions: Transitions) -> None:
        self.store = store
        self.tree = store.tree
        self.transitions = transitions

    def validate(self) -> list[Problem]:
        """Every disagreement between the registry and the track files, and every file of
        the tree that cannot be read or has the wrong shape (an fsck: see ``damage``)."""
        problems: list[Problem] = []
        folders = list(track_folders(self.tree.tracks_dir))
        try:
            registry = self._registry(problems)
        except (CorruptFile, RegistryMissing) as err:
            problems.append(Problem("registry", None, str(err.message), REBUILD))
            return problems + self._damage(folders)
        for key, entry in registry.tracks.items():
            problems += self._check_entry(key, entry)
        for name in folders:
            if name not in registry.tracks:
                problems.append(
                    Problem("orphan-folder", name, f"{name}/ is not in the registry", REPAIR)
                )
        problems += _check_metadata(registry)
        return problems + self._damage(_in_order(registry, folders))

    def _registry(self, problems: list[Problem]) -> RegistryDoc:
        """The registry; a journal that cannot be read is reported and the registry read
        as it is (the journal is not replayed)."""
        try:
            return self.tree.load_registry()
        except CorruptFile as err:
            if err.path not in (str(self.tree.journal_path), str(self.tree.wal.path)):
                raise
            problems.append(Problem("corrupt-file", None, err.message, REPAIR))
        return self.tree.registry.load()

    def _damage(self, track_ids: list[str]) -> list[Problem]:
        return [
            Problem("corrupt-file", d.track_id, d.error.message, REPAIR)
            for d in find_damage(self.store, [t for t in track_ids if TRACK_ID_RE.fullmatch(t)])
        ]

    def _check_entry(self, key: str, entry: dict[str, Any]) -> list[Problem]:
        found: list[Problem] = []
        if not TRACK_ID_RE.fullmatch(key):
            return [
                Problem("unsafe-id", key, f"registry key {key!r} is not a valid track id", REBUILD)
            ]
        if entry.get("track_id") != key:
            found.append(
                Problem(
                    "key-mismatch",
                    key,
                    f"entry {key} says its track_id is {entry.get('track_id')!r}",
                    REPAIR,
                )
            )
        for field, enum in _ENUMS.items():
            if entry.get(field) not in enum.__members__.values():
                found.append(
                    Problem(
                        "unknown-value",
                        key,
                        f"registry {field} of {key} is {entry.get(field)!r}, "
                        "not one of the schema's",
                        f"conductor update --track-id {key} --field {field} --value ...",
                    )
                )
        try:
            track = self.store.read_track(key)
        except CorruptFile as err:
            kind = "corrupt-track-file"
            if "missing" in err.reason:
                kind = "missing-track-file"
            elif isinstance(err, TrackIdMismatch):
                kind = "id-mismatch"
            return [*found, Problem(kind, key, err.message, REPAIR)]
        for field in ("status", "name", "type", "priority"):
            if track.get(field) != entry.get(field):
                kind = "status-mismatch" if field == "status" else "field-mismatch"
                found.append(
                    Problem(
                        kind,
                        key,
                        f"{field} of {key}: registry says {entry.get(field)!r}, "
                        f"track.json says {track.get(field)!r}",
                        REPAIR,
                    )
                )
        return found

    def repair(self) -> list[str]:
        """Mend what ``validate`` reports: every track.json in line with the registry, the
        counts with the entries, every damaged file replaced (see ``damage``); a copy of
        everything replaced is kept in backups/. Returns what was done. The registry is
        rewritten only when something in it changed: the rest of a tree stays byte for byte."""
        done = self._set_aside_journal() + self._set_aside_log()
        with self.tree.transaction() as txn:
            registry = txn.registry
            # checked first: saving a repaired track recounts the metadata as it goes
            drifted = bool(_check_metadata(registry))
            folders = list(track_folders(self.tree.tracks_dir))
            sound = [name for name in folders if TRACK_ID_RE.fullmatch(name)]
            done += [mend(self.store, txn, d) for d in find_damage(self.store, sound)]
            for track_id, entry in list(registry.tracks.items()):
                if TRACK_ID_RE.fullmatch(track_id) and entry.get("track_id") == track_id:
                    done += self._repair_track(txn, track_id, entry)
            changed = [
                a
                for name in folders
                if name not in registry.tracks
                for a in self._adopt_folder(txn, name)
            ]
            changed += self._one_active(txn)
            if drifted or _check_metadata(registry):
                changed.append("recounted the registry metadata")
            active = registry.ids(status=TrackStatus.ACTIVE)
            if registry.active_track != (active[0] if active else None):
                registry.set_active(active[0] if active else None)
                changed.append(f"active track pointer set to {registry.active_track}")
            if changed:
                registry.refresh_metadata(self.store.stamp())
                txn.registry_changed = True
        return done + changed

    def _set_aside_journal(self) -> list[str]:
        """A journal that cannot be read is moved to backups/ (under the lock, before any
        transaction would refuse it). Whether its change reached the commit point cannot
        be known: if it did, the registry holds it and repair then brings track.json in
        line; the other files it would have written are in the kept copy."""
        path = self.tree.journal_path
        with self.tree.lock:
            try:
                self.tree.read_journal()
                return []
            except CorruptFile as err:
                stamp = self.store.now().astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
                backup = self.tree.backups_dir / f"{stamp}-{path.name.lstrip('.')}"
                files.make_dirs(self.tree.backups_dir)
                files.atomic_write(backup, path.read_bytes())
                files.remove_quietly(path)
                files.fsync_dir(path.parent)
                return [
                    f"the journal was unreadable ({err.reason}); kept as {backup}, not replayed"
                ]

    def _set_aside_log(self) -> list[str]:
        """A write-ahead log that cannot be read is kept in backups/ and removed, after
        every file system is synced (what its records replaced is then durable)."""
        stamp = self.store.now().astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        backup = self.tree.backups_dir / f"{stamp}-{self.tree.wal.path.name.lstrip('.')}"
        with self.tree.lock:
            if not self.tree.wal.set_aside(backup):
                return []
        self.tree.registry.invalidate()
        return [f"the write-ahead log was damaged; kept as {backup}, the tree synced as it is"]

    def _repair_track(self, txn: Transaction, track_id: str, entry: dict[str, Any]) -> list[str]:
        path = self.tree.track_file(track_id, "track.json")
        done: list[str] = []
        try:
            track = self.store.read_track(track_id, txn)
        except TrackIdMismatch as err:  # a copied folder: keep its content, fix its id
            self.store.backup(txn, path, f"{track_id}-track.json")
            track = files.read_json(path, fix=REPAIR)
            track["track_id"] = track_id
            txn.write_json(path, track)
            done.append(f"{track_id}: track.json {err.reason}; its track_id is now {track_id}")
        except CorruptFile as err:
            if path.exists():
                self.store.backup(txn, path, f"{track_id}-track.json")
            txn.write_json(path, _track_from_entry(entry))
            return [f"{track_id}: rewrote track.json from the registry ({err.reason})"]
        if entry.get("status") not in TrackStatus.__members__.values():
            return [
                *done,
                f"{track_id}: left as is, the registry status {entry.get('status')!r} is unknown",
            ]
        changed = [
            field
            for field in ("status", "name", "type", "priority")
            if track.get(field) != entry.get(field)
            and (field == "name" or entry.get(field) in _ENUMS[field].__members__.values())
        ]
        if not changed:
            return done
        track = self.store.load(txn, track_id)  # keeps a copy and reconciles the status
        for field in changed:
            if field != "status":
                track[field] = entry[field]
        self.store.save(txn, track, touch=False)
        return [*done, f"{track_id}: track.json {', '.join(changed)} now as in the registry"]

    def _adopt_folder(self, txn: Transaction, name: str) -> list[str]:
        try:
            track = self.store.read_track(name, txn)
        except (CorruptFile, ConductorError) as err:
            return [f"{name}: left as is, its track.json is unusable ({err})"]
        txn.registry.set_entry(name, registry_entry(track, None))
        return [f"{name}: added to the registry from its track.json"]

    def _one_active(self, txn) -> list[str]:
        """Keep the most recently updated active track, pause the others."""
        active = txn.registry.ids(status=TrackStatus.ACTIVE)
        if len(active) < 2:
            return []
        active.sort(key=lambda tid: str(txn.registry.tracks[tid].get("updated_at") or ""))
        done = []
        for track_id in active[:-1]:
            self.transitions.suspend(
                txn, track_id, f"repair: only one track may be active ({active[-1]} kept)"
            )
            done.append(f"{track_id}: paused, {active[-1]} stays active")
        return done

    def rebuild(self, *, progress: Progress | None = None) -> list[str]:
        """Regenerate the registry from the track files (a lost or corrupt registry). The
        old file, if any, is kept in backups/; statuses come from the track files.
        ``progress``: reported as track folders are read."""
        path = self.tree.registry.path
        done: list[str] = []
        doc = RegistryDoc.empty()
        with self.tree.transaction(replace_registry=doc) as txn:
            if path.exists():
                backup = self.store.backup(txn, path, "track-registry.json")
                done.append(f"kept the old registry as {backup}")
            folders = sorted(
                track_folders(self.tree.tracks_dir), key=_created_order(self.tree.tracks_dir)
            )
            for name in counted(progress, "rebuild: tracks", folders, len(folders)):
                done += self._adopt_folder(txn, name)
            done += self._one_active(txn)
            active = doc.ids(status=TrackStatus.ACTIVE)
            doc.set_active(active[0] if active else None)
            doc.refresh_metadata(self.store.stamp())
        done.append(f"registry rebuilt with {len(doc.tracks)} tracks")
        return done


def _in_order(registry: RegistryDoc, folders: list[str]) -> list[str]:
    """Track folders, those in the registry first and in its order."""
    present = set(folders)
    return [t for t in registry.tracks if t in present] + [
        f for f in folders if f not in registry.tracks
    ]


def _created_order(tracks_dir: Path) -> Callable[[str], str]:
    """Sort key of track folders: when their track.json says they were created."""

    def key(name: str) -> str:
        try:
            track = files.read_json(tracks_dir / name / "track.json", fix=REPAIR)
        except (OSError, CorruptFile):
            return ""
        moment = parse_time(track.get("created_at")) if isinstance(track, dict) else None
        return moment.isoformat() if moment else ""

    return key


def _check_metadata(registry: RegistryDoc) -> list[Problem]:
    problems = []
    metadata = (
        registry.doc.get("metadata") if isinstance(registry.doc.get("metadata"), dict) else {}
    )
    actual = {
        "total_tracks": len(registry.tracks),
        "active_count": registry.count(TrackStatus.ACTIVE),
        "completed_count": registry.count(TrackStatus.COMPLETED),
    }
    for key, value in actual.items():
        if metadata.get(key) != value:
            problems.append(
                Problem(
                    "metadata-drift",
                    None,
                    f"metadata.{key} is {metadata.get(key)!r} but the entries give {value}",
                    REPAIR,
                )
            )
    active = registry.ids(status=TrackStatus.ACTIVE)
    if len(active) > 1:
        problems.append(
            Problem(
                "multiple-active",
                None,
                f"{len(active)} tracks are active: {', '.join(active)}",
                REPAIR,
            )
        )
    expected = active[0] if len(active) == 1 else None
    if registry.active_track != expected and len(active) < 2:
        problems.append(
            Problem(
                "active-track",
                registry.active_track,
                f"active_track is {registry.active_track!r} but the active entry is {expected!r}",
                REPAIR,
            )
        )
    return problems


def _track_from_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """A minimal track.json from what the registry knows (when the file is lost)."""
    track = {k: entry[k] for k in ("track_id", "name", "type", "status", "priority") if k in entry}
    for key in ("created_at", "updated_at", "started_at", "completed_at", "last_checkpoint"):
        if key in entry:
            track[key] = entry[key]
    if isinstance(entry.get("parent_track"), str):  # a sub-track stays under its parent
        track["parent_track"] = entry["parent_track"]
    track.update(
        {
            "context": {
                "goal": "",
                "success_criteria": [],
                "target_files": [],
                "prerequisites": [],
            },
            "steps": [],
            "progress": entry.get("progress")
            or {"current_step": 0, "completed_steps": 0, "total_steps": 0, "percentage": 0},
            "execution": {"mode": "interactive", "auto_advance": False, "pause_on_failure": True},
        }
    )
    return track
