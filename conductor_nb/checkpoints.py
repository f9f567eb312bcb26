"""Checkpoints that restore a whole track: create, list, verify, diff, restore, prune.

The format (blobs, manifests, the stat cache) is described in ``checkpoint_format``.
"""

from __future__ import annotations

import json
import os
import time

from .checkpoint_format import (
    CHECKPOINT_RE,
    CHECKPOINTS_DIR,
    FORMAT,
    PINNED_KINDS,
    PROJECT_PREFIX,
    RACY_SECONDS,
    blob_path,
    checkpoint_numbers,
    compressor,
    manifest_checksum,
    project_files,
    project_path,
    read_blob,
    read_manifest,
    restored_track_json,
    safe_relative,
    track_files,
)
from .errors import CorruptFile, InvalidInput, PathOutsideRoot
from .progress import counted
from .store import files
from .store.paths import inside
from .store.tree import commit_protocol
from .tracks import registry_entry

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from .progress import Progress
    from .runs import Runs
    from .store.tree import Transaction, Tree
    from .trackstore import TrackStore

__all__ = ["Checkpoints"]


class Checkpoints:
    """Checkpoints of the tracks in a store (run states are read through ``runs``)."""

    def __init__(self, store: TrackStore, runs: Runs) -> None:
        self.store = store
        self.tree = store.tree
        self.runs = runs

    # -- paths ---------------------------------------------------------------------------

    def folder(self, track_id: str) -> Path:
        return self.tree.track_file(track_id, CHECKPOINTS_DIR)

    def blob_path(self, track_id: str, sha: str) -> Path:
        return blob_path(self.folder(track_id), sha)

    def manifest_path(self, track_id: str, checkpoint_id: str) -> Path:
        if not CHECKPOINT_RE.fullmatch(checkpoint_id):
            raise InvalidInput(f"{checkpoint_id!r} is not a checkpoint id (checkpoint-NNN)")
        return self.folder(track_id) / f"{checkpoint_id}.json"

    # -- reading -------------------------------------------------------------------------

    def list(self, ref: str | None) -> list[dict[str, Any]]:
        """Manifests of the track, newest first."""
        track_id = self.store.resolve(ref)
        numbers = sorted(checkpoint_numbers(self.folder(track_id)), reverse=True)
        return [self.get(track_id, f"checkpoint-{n:03d}") for n in numbers]

    def get(self, ref: str | None, checkpoint_ref: str) -> dict[str, Any]:
        track_id = self.store.resolve(ref)
        checkpoint_id = self.resolve(track_id, checkpoint_ref)
        path = self.manifest_path(track_id, checkpoint_id)
        try:
            return read_manifest(path, checkpoint_id)
        except FileNotFoundError:
            raise InvalidInput(
                f"{self.store.label(track_id)} has no checkpoint {checkpoint_id}"
            ) from None

    def resolve(self, track_id: str, checkpoint_ref: str) -> str:
        """A checkpoint id from an id, a number or 'last'."""
        text = str(checkpoint_ref)
        if text == "last":
            numbers = checkpoint_numbers(self.folder(track_id))
            if not numbers:
                raise InvalidInput(f"{self.store.label(track_id)} has no checkpoints yet")
            return f"checkpoint-{max(numbers):03d}"
        if text.isdigit():
            return f"checkpoint-{int(text):03d}"
        if not CHECKPOINT_RE.fullmatch(text):
            raise InvalidInput(
                f"{text!r} is not a checkpoint id (checkpoint-NNN, a number or 'last')"
            )
        return text

    def last_good(self, track_id: str) -> str | None:
        """The newest checkpoint that verifies."""
        for manifest in self.list(track_id):
            if not self.verify(track_id, manifest["checkpoint_id"]):
                return manifest["checkpoint_id"]
        return None

    # -- creating ------------------------------------------------------------------------

    def create(
        self,
        ref: str | None,
        *,
        reason: str = "manual checkpoint",
        kind: str = "manual",
        pinned: bool = False,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Snapshot every file of the track; unchanged contents are stored once.
        ``progress``: reported as files are stored (``conductor_nb.progress``)."""
        with self.tree.transaction() as txn:
            track_id = self.store.resolve(ref, txn.registry)
            manifest = self.take(
                txn, track_id, reason=reason, kind=kind, pinned=pinned, progress=progress
            )
        return manifest

    def take(
        self,
        txn: Transaction,
        track_id: str,
        *,
        reason: str,
        kind: str,
        pinned: bool,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Create a checkpoint inside an open transaction (pause and switch use this).

        A track whose track.json is unreadable is still snapshotted as it is on disk (its
        bytes stay recoverable); its track.json is then left alone."""
        try:
            track: dict[str, Any] | None = self.store.load(txn, track_id)
        except CorruptFile:
            track = None
        state = track or txn.registry.tracks[track_id]
        folder = self.folder(track_id)
        snapshot = track_files(self.tree.track_dir(track_id), txn) + project_files(
            self.tree.base, state, txn
        )
        blobs = _BlobWriter(self.tree, folder, txn)
        entries, new_bytes = blobs.store(snapshot, progress)
        number = max(checkpoint_numbers(folder), default=0) + 1
        manifest = self._manifest(
            txn, track_id, state, entries, f"checkpoint-{number:03d}", new_bytes=new_bytes
        )
        manifest.update(reason=reason, kind=kind, pinned=bool(pinned or kind in PINNED_KINDS))
        manifest["checksum"] = manifest_checksum(manifest)
        txn.write_json(folder / f"{manifest['checkpoint_id']}.json", manifest)
        blobs.save_caches()
        if track is not None:
            track["last_checkpoint"] = manifest["checkpoint_id"]
            track["last_checkpoint_at"] = manifest["created_at"]
            metrics = track.setdefault("metrics", {})
            metrics["snapshots_created"] = int(metrics.get("snapshots_created") or 0) + 1
            self.store.save(txn, track, touch=False)
        return manifest

    def _manifest(
        self,
        txn: Transaction,
        track_id: str,
        state: dict[str, Any],
        entries: list[dict[str, Any]],
        checkpoint_id: str,
        *,
        new_bytes: int,
    ) -> dict[str, Any]:
        """The manifest's fields, in the seed's order (reason, kind and pinned are set
        by the caller, in place, so the order stays)."""
        total = sum(e["size"] for e in entries)
        stored = sum(e["stored_size"] for e in entries)
        runs = [e for e in entries if e["path"].startswith("workflows/")]
        runs = [e for e in runs if e["path"].endswith("/run.json")]
        return {
            "checkpoint_id": checkpoint_id,
            "track_id": track_id,
            "created_at": self.store.stamp(),
            "reason": None,
            "kind": None,
            "pinned": None,
            "track_state": {
                "status": state.get("status"),
                "progress": state.get("progress"),
                "updated_at": state.get("updated_at"),
            },
            "workflow_states": [self._run_state(track_id, e["path"], txn) for e in runs],
            "artifacts_snapshot": [
                {"path": e["path"], "sha256": e["sha256"], "size": e["size"]}
                for e in entries
                if e["path"].startswith("context/artifacts/")
            ],
            "decisions": [
                {"id": d.get("id"), "summary": d.get("summary")}
                for d in self.store.read_list(track_id, "decisions.json", txn)
            ],
            "files": entries,
            "metadata": {
                "format": FORMAT,
                "compression": "zstd",
                "file_count": len(entries),
                "size_bytes": total,
                "stored_bytes": stored,
                "new_bytes": new_bytes,
                "compression_ratio": round(1 - stored / total, 4) if total else 0.0,
                "actor": self.store.actor,
            },
        }

    def _run_state(self, track_id: str, relative: str, txn: Transaction) -> dict[str, Any]:
        run = self.runs.read(track_id, relative.split("/")[1], txn)
        return {k: run.get(k) for k in ("run_id", "name", "status", "updated_at")}

    # -- verifying -----------------------------------------------------------------------

    def verify(
        self, ref: str | None, checkpoint_ref: str, *, progress: Progress | None = None
    ) -> list[dict[str, str]]:
        """Recompute every checksum; returns the damage found (empty when intact).
        ``progress``: reported as files are checked."""
        track_id = self.store.resolve(ref)
        checkpoint_id = self.resolve(track_id, checkpoint_ref)
        path = self.manifest_path(track_id, checkpoint_id)
        try:
            manifest = read_manifest(path, checkpoint_id)
        except FileNotFoundError:
            raise InvalidInput(
                f"{self.store.label(track_id)} has no checkpoint {checkpoint_id}"
            ) from None
        except CorruptFile as err:
            return [{"checkpoint": checkpoint_id, "path": str(path), "problem": err.reason}]
        if manifest.get("checksum") != manifest_checksum(manifest):
            problem = "manifest checksum mismatch"
            return [{"checkpoint": checkpoint_id, "path": str(path), "problem": problem}]
        damage = []
        entries = manifest.get("files", [])
        for entry in counted(progress, f"verify {checkpoint_id}", entries, len(entries)):
            problem = self._verify_file(track_id, entry)
            if problem:
                damage.append(
                    {
                        "checkpoint": checkpoint_id,
                        "path": str(entry.get("path")),
                        "problem": problem,
                    }
                )
        return damage

    def _verify_file(self, track_id: str, entry: dict[str, Any]) -> str | None:
        try:
            safe_relative(entry.get("path"))
            blob = self.blob_path(track_id, str(entry.get("sha256")))
            if blob.is_file() and files.sha256_hex(blob.read_bytes()) != entry["blob_sha256"]:
                return "the stored blob does not match its sha256"
            data = read_blob(blob, int(entry["size"]))
        except (CorruptFile, PathOutsideRoot, InvalidInput) as err:
            return err.reason if isinstance(err, CorruptFile) else err.message
        except (KeyError, TypeError, ValueError):
            return "malformed manifest entry"
        if files.sha256_hex(data) != entry["sha256"]:
            return "content does not match its sha256"
        return None

    # -- diff ----------------------------------------------------------------------------

    def diff(self, ref: str | None, older: str, newer: str | None = None) -> dict[str, Any]:
        """Files added, removed and changed from ``older`` to ``newer`` (a checkpoint, or
        the track as it is now when None); decisions added."""
        track_id = self.store.resolve(ref)
        before = self.get(track_id, older)
        if newer is None:
            current = track_files(self.tree.track_dir(track_id), None) + project_files(
                self.tree.base, self.store.track(track_id), None
            )
            after_files = {rel: files.sha256_hex(path.read_bytes()) for rel, path in current}
            after_decisions = self.store.read_list(track_id, "decisions.json")
            after_name = "current"
        else:
            after = self.get(track_id, newer)
            after_files = {e["path"]: e["sha256"] for e in after["files"]}
            after_decisions = after.get("decisions", [])
            after_name = after["checkpoint_id"]
        before_files = {e["path"]: e["sha256"] for e in before["files"]}
        known = {d.get("id") for d in before.get("decisions", [])}
        return {
            "from": before["checkpoint_id"],
            "to": after_name,
            "added": sorted(set(after_files) - set(before_files)),
            "removed": sorted(set(before_files) - set(after_files)),
            "changed": sorted(
                p for p in set(before_files) & set(after_files) if before_files[p] != after_files[p]
            ),
            "decisions_added": [
                {"id": d.get("id"), "summary": d.get("summary")}
                for d in after_decisions
                if d.get("id") not in known
            ],
        }

    # -- restore -------------------------------------------------------------------------

    def restore(
        self, ref: str | None, checkpoint_ref: str, *, progress: Progress | None = None
    ) -> dict[str, Any]:
        """Replace the track's files by the checkpoint's, all or nothing. The checkpoint is
        verified first and the current state is checkpointed before anything changes.
        ``progress``: reported while verifying, checkpointing and reading back files."""
        with self.tree.transaction() as txn:
            track_id = self.store.resolve(ref, txn.registry)
            checkpoint_id = self.resolve(track_id, checkpoint_ref)
            self._refuse_damaged(track_id, checkpoint_id, progress)
            manifest = self.get(track_id, checkpoint_id)
            # The safety checkpoint commits with the restore: either both happen or neither.
            safety = self.take(
                txn,
                track_id,
                reason=f"before restoring {checkpoint_id}",
                kind="safety",
                pinned=False,
                progress=progress,
            )
            try:
                current = self.store.load(txn, track_id)
            except CorruptFile:  # unreadable now: the registry still knows the status
                current = None
            wanted = self._wanted_files(txn, track_id, manifest, safety, progress)
            wanted["track.json"] = restored_track_json(
                wanted.get("track.json"), current, txn.registry.tracks[track_id]["status"]
            )
            self._put_back(txn, track_id, manifest, wanted)
        return {
            "track_id": track_id,
            "restored": checkpoint_id,
            "safety_checkpoint": safety["checkpoint_id"],
        }

    def _refuse_damaged(
        self, track_id: str, checkpoint_id: str, progress: Progress | None = None
    ) -> None:
        damage = self.verify(track_id, checkpoint_id, progress=progress)
        if damage:
            first = damage[0]
            raise CorruptFile(
                f"{checkpoint_id} of {track_id}",
                f"{first['path']}: {first['problem']} ({len(damage)} problems)",
                f"conductor checkpoint verify {track_id} {checkpoint_id}",
            )

    def _wanted_files(
        self,
        txn: Transaction,
        track_id: str,
        manifest: dict[str, Any],
        safety: dict[str, Any],
        progress: Progress | None = None,
    ) -> dict[str, bytes]:
        """The checkpoint's files whose bytes differ from what is on disk (track.json
        always). A file already holding the checkpoint's bytes (the safety checkpoint just
        hashed it) is left alone: neither rewritten nor copied into the journal."""
        track_dir = self.tree.track_dir(track_id)
        on_disk = {e["path"]: e["sha256"] for e in safety["files"]}
        for path in txn.deletes:  # going away with this change: not "already there"
            if path.is_relative_to(track_dir):
                on_disk.pop(path.relative_to(track_dir).as_posix(), None)
        wanted = {}
        entries = manifest["files"]
        for entry in counted(progress, "read back files", entries, len(entries)):
            relative = safe_relative(entry["path"])
            if relative != "track.json" and on_disk.get(relative) == entry["sha256"]:
                continue
            wanted[relative] = read_blob(self.blob_path(track_id, entry["sha256"]), entry["size"])
        return wanted

    def _put_back(
        self, txn: Transaction, track_id: str, manifest: dict[str, Any], wanted: dict[str, bytes]
    ) -> None:
        """Delete the track's files the checkpoint does not have, write ``wanted``, and
        bring the registry entry in line with the restored track.json."""
        track_dir = self.tree.track_dir(track_id)
        kept = {safe_relative(entry["path"]) for entry in manifest["files"]}
        for relative, path in track_files(track_dir, None):
            if relative not in kept:
                txn.delete(path)
        for relative, data in wanted.items():
            if relative == "track.json":
                continue
            if relative.startswith(PROJECT_PREFIX):  # a project file the track registers
                txn.write(project_path(self.tree.base, relative), data)
            else:
                txn.write(inside(track_dir, *relative.split("/")), data)
        restored = json.loads(wanted["track.json"])
        txn.write(track_dir / "track.json", wanted["track.json"])
        registry = txn.registry
        registry.set_entry(track_id, registry_entry(restored, registry.tracks.get(track_id)))
        registry.refresh_metadata(self.store.stamp())
        txn.registry_changed = True

    # -- prune ---------------------------------------------------------------------------

    def prune(
        self, ref: str | None, *, keep: int = 10, progress: Progress | None = None
    ) -> dict[str, Any]:
        """Delete all but the newest ``keep`` checkpoints (never pinned ones, never the
        track's last_checkpoint), then the blobs no remaining checkpoint uses.
        ``progress``: reported as the blobs are looked at."""
        if keep < 1:
            raise InvalidInput("keep at least one checkpoint (--keep 1 or more)")
        with self.tree.transaction() as txn:
            track_id = self.store.resolve(ref, txn.registry)
            track = self.store.load(txn, track_id)
            kept, dropped = [], []
            for index, manifest in enumerate(self.list(track_id)):
                protected = manifest.get("pinned") or manifest["checkpoint_id"] == track.get(
                    "last_checkpoint"
                )
                (kept if index < keep or protected else dropped).append(manifest)
            folder = self.folder(track_id)
            for manifest in dropped:
                txn.delete(folder / f"{manifest['checkpoint_id']}.json")
            used = {e["sha256"] for m in kept for e in m.get("files", [])}
            blobs = _drop_unused_blobs(txn, folder, used, progress)
        return {
            "track_id": track_id,
            "removed": [m["checkpoint_id"] for m in dropped],
            "kept": [m["checkpoint_id"] for m in kept],
            "blobs_removed": len(blobs),
        }


def _drop_unused_blobs(
    txn: Transaction, folder: Path, used: set[str], progress: Progress | None = None
) -> list[str]:
    """Delete the blobs of ``folder`` that no sha in ``used`` names, and their index
    entries; returns the shas deleted."""
    blobs = []
    stored = list((folder / "blobs").glob("*/*.zst")) if (folder / "blobs").is_dir() else []
    for blob in counted(progress, "prune blobs", stored, len(stored)):
        if blob.name[:-4] not in used:
            txn.delete(blob)
            blobs.append(blob.name[:-4])
    index_path = folder / "blobs" / "index.json"
    if blobs and index_path.exists():
        index = _cache_file(index_path)[0]
        if index:
            txn.write(index_path, json.dumps({k: v for k, v in index.items() if k in used}))
    return blobs


# A blob up to this size is written with the checkpoint's commit (under the write-ahead
# log: in its record, durable with its one sync); a larger one is written and synced
# first, so a checkpoint of big artifacts does not fill the log.
LOGGED_BLOB_BYTES = 64 * 1024


class _BlobWriter:
    """Stores the blobs of one checkpoint, reusing what the stat cache and the blob index
    already know, and writes both back with the checkpoint's transaction."""

    def __init__(self, tree: Tree, folder: Path, txn: Transaction) -> None:
        self.tree, self.folder, self.txn = tree, folder, txn
        self.cache_path = folder / "stat-cache.json"
        self.index_path = folder / "blobs" / "index.json"
        self.cache, cache_text = _cache_file(self.cache_path)
        self.index, index_text = _cache_file(self.index_path)
        self.texts_on_disk = {self.cache_path: cache_text, self.index_path: index_text}
        self.new_cache: dict[str, list[Any]] = {}
        self.now = time.time()
        self.compressor = None
        # Folders of blobs just written, or found but not in the index (a killed checkpoint
        # left them): synced before the manifest. An indexed blob's folder was synced
        # before the checkpoint that indexed it committed.
        self.unsynced: set[Path] = set()

    def store(
        self, snapshot: list[tuple[str, Path]], progress: Progress | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """One manifest entry per file of ``snapshot``, and the bytes newly stored."""
        entries, new_bytes = [], 0
        for relative, path in counted(progress, "checkpoint files", snapshot, len(snapshot)):
            data, sha, size = self._content(relative, path)
            blob = blob_path(self.folder, sha)
            pending = self.txn.pending(blob)
            if pending is not None:  # a second file with the same content
                stored_size = len(pending)
            elif not blob.exists():
                stored_size = self._write_blob(blob, sha, path if data is None else data)
                new_bytes += stored_size
            elif sha not in self.index:  # an index lost or older than the blob: hash the blob
                self.index[sha] = files.sha256_hex(blob.read_bytes())
                self.unsynced.add(blob.parent)
                stored_size = blob.stat().st_size
            else:
                stored_size = blob.stat().st_size
            entries.append(
                {
                    "path": relative,
                    "sha256": sha,
                    "size": size,
                    "blob_sha256": self.index[sha],
                    "stored_size": stored_size,
                }
            )
        if self.unsynced:  # new blob folders must survive a power cut too: sync their parents
            self.unsynced |= {self.folder / "blobs", self.folder}
        for blob_dir in self.unsynced:
            files.fsync_dir(blob_dir)
        return entries, new_bytes

    def save_caches(self) -> None:
        """Write the caches that changed: a checkpoint of files all too new to cache (a
        new track's first) writes no stat cache, where a file would cost an inode, the
        dearest part of a small write."""
        for path, value in ((self.cache_path, self.new_cache), (self.index_path, self.index)):
            text = json.dumps(value)
            if text != self.texts_on_disk[path]:
                self.txn.write(path, text)

    def _content(self, relative: str, path: Path) -> tuple[bytes | None, str, int]:
        """(bytes if read, sha256, size) of a file, from the stat cache when it still
        describes the file (then the bytes are not read: None)."""
        pending = self.txn.pending(path)
        if pending is not None:  # this transaction's own, not yet committed, content
            return pending, files.sha256_hex(pending), len(pending)
        st = os.stat(path)
        signature = [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]
        cached = self.cache.get(relative)
        if isinstance(cached, list) and len(cached) == 5 and cached[:4] == signature:
            data, sha = None, cached[4]
        else:
            data = path.read_bytes()
            sha = files.sha256_hex(data)
        if self.now - st.st_mtime > RACY_SECONDS:
            self.new_cache[relative] = [*signature, sha]
        return data, sha, len(data) if data is not None else st.st_size

    def _write_blob(self, blob: Path, sha: str, content: bytes | Path) -> int:
        data = content.read_bytes() if not isinstance(content, bytes) else content
        self.compressor = self.compressor or compressor()
        packed = self.compressor.compress(data)
        self.index[sha] = files.sha256_hex(packed)
        self.tree.lock.refresh()  # a long checkpoint keeps the original tool's lock fresh
        if len(packed) <= LOGGED_BLOB_BYTES and commit_protocol() == "wal":
            self.txn.write(blob, packed)  # made durable by the commit's one log sync
            return len(packed)
        files.make_dirs(blob.parent)  # a first checkpoint's folders survive a power cut too
        files.atomic_write(blob, packed, tmp_dir=self.tree.tmp_dir, sync_dir=False)
        self.unsynced.add(blob.parent)
        return len(packed)


def _cache_file(path: Path) -> tuple[dict[str, Any], str | None]:
    """A cache file's object and the text it is written back as while unchanged: ``{}``
    when the file is missing, None when it is damaged or not an object (rebuilt then)."""
    try:
        found = files.read_json(path, fix="delete it", default=None, shape=dict)
    except CorruptFile:
        return {}, None
    return ({}, "{}") if found is None else (found, json.dumps(found))
