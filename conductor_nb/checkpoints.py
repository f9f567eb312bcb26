"""Checkpoints that restore a whole track: content-addressed, zstd-compressed blobs shared
by all checkpoints of the track, and a checksummed manifest per checkpoint.

    <track>/checkpoints/blobs/ab/<sha256>.zst      one blob per distinct file content
    <track>/checkpoints/checkpoint-NNN.json        manifest (the seed's checkpoint fields)
    <track>/checkpoints/stat-cache.json            path -> (size, mtime, inode) -> sha256

A manifest lists every file of the track (track.json, context, workflow runs) with its
sha256 and size; ``checksum`` is the sha256 of the manifest's canonical JSON without
that field. Blobs are written before their manifest and never change, so a checkpoint
that was reported created is complete. The stat cache lets a checkpoint of an unchanged
track skip reading its files; a file modified within the last two seconds is always
re-read (the "racy" window of coarse file-system clocks).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path

from .errors import ConductorError, CorruptFile, InvalidInput, PathOutsideRoot
from .store import files
from .store.paths import check_relative_name, inside
from .tracks import parse_time, registry_entry

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

    from .engine import Engine
    from .store.tree import Transaction

FORMAT = 1
CHECKPOINT_RE = re.compile(r"checkpoint-([0-9]{3,})")
RUN_FILE_RE = re.compile(r"workflows/[^/]+/run\.json")
CHECKPOINTS_DIR = "checkpoints"
RACY_SECONDS = 2.0
LEVEL = 3
# Top-level track.json keys that describe where the track is in its lifecycle: a restore
# brings back the work (context, steps, runs), never an older lifecycle.
LIFECYCLE_KEYS = (
    "status",
    "history",
    "started_at",
    "ready_at",
    "paused_at",
    "pause_reason",
    "resumed_at",
    "completed_at",
    "failed_at",
    "failure_reason",
    "cancelled_at",
    "cancel_reason",
    "archived_at",
    "outcomes",
    "metrics",
    "last_checkpoint",
    "last_checkpoint_at",
)
PINNED_KINDS = frozenset({"milestone"})
_PROJECT = "project/"  # manifest prefix of project files a track registers
# Per-process state, not the track's work: never snapshotted, never restored.
UNSNAPSHOTTED = frozenset({"lease.json"})


def canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def manifest_checksum(manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    return "sha256:" + hashlib.sha256(canonical(body)).hexdigest()


def _compressor():
    import zstandard  # imported where used: the CLI's other commands never pay for it

    return zstandard.ZstdCompressor(level=LEVEL)


def read_blob(path: Path, size: int) -> bytes:
    """Decompress a blob, refusing one that holds more than the ``size`` its manifest
    declares (a decompression bomb) or less (damage)."""
    import zstandard

    try:
        with open(path, "rb") as raw, zstandard.ZstdDecompressor().stream_reader(raw) as reader:
            data = reader.read(size + 1) if size else reader.read(1)
            while len(data) <= size:
                more = reader.read(size + 1 - len(data))
                if not more:
                    break
                data += more
    except FileNotFoundError:
        raise CorruptFile(str(path), "the blob is missing", "conductor checkpoint verify") from None
    except zstandard.ZstdError as exc:
        raise CorruptFile(
            str(path), f"not a valid zstd blob ({exc})", "conductor checkpoint verify"
        ) from None
    if len(data) > size:
        raise CorruptFile(
            str(path), f"holds more than the {size} bytes declared", "conductor checkpoint verify"
        )
    if len(data) < size:
        raise CorruptFile(
            str(path), f"holds {len(data)} bytes, {size} declared", "conductor checkpoint verify"
        )
    return data


class CheckpointsMixin:
    """Engine methods for checkpoints."""

    # -- paths ---------------------------------------------------------------------------

    def _checkpoints_dir(self: Engine, track_id: str) -> Path:
        return self.tree.track_file(track_id, CHECKPOINTS_DIR)

    def _blob_path(self: Engine, track_id: str, sha: str, folder: Path | None = None) -> Path:
        """``folder``: the track's checkpoints folder when the caller already checked it
        (each check resolves the whole path: a loop over many files pays it once)."""
        if not re.fullmatch(r"[0-9a-f]{64}", sha):
            raise CorruptFile(sha, "not a sha256", "conductor checkpoint verify")
        return (folder or self._checkpoints_dir(track_id)) / "blobs" / sha[:2] / f"{sha}.zst"

    def _manifest_path(self: Engine, track_id: str, checkpoint_id: str) -> Path:
        if not CHECKPOINT_RE.fullmatch(checkpoint_id):
            raise InvalidInput(f"{checkpoint_id!r} is not a checkpoint id (checkpoint-NNN)")
        return self._checkpoints_dir(track_id) / f"{checkpoint_id}.json"

    # -- reading -------------------------------------------------------------------------

    def checkpoints(self: Engine, ref: str | None) -> list[dict[str, Any]]:
        """Manifests of the track, newest first."""
        track_id = self.resolve(ref)
        folder = self._checkpoints_dir(track_id)
        names = sorted(
            (n[:-5] for n in os.listdir(folder) if CHECKPOINT_RE.fullmatch(n[:-5]))
            if folder.is_dir()
            else (),
            key=lambda n: int(n.split("-")[1]),
            reverse=True,
        )
        return [self.checkpoint(track_id, name) for name in names]

    def checkpoint(self: Engine, ref: str | None, checkpoint_ref: str) -> dict[str, Any]:
        track_id = self.resolve(ref)
        checkpoint_id = self._resolve_checkpoint(track_id, checkpoint_ref)
        path = self._manifest_path(track_id, checkpoint_id)
        manifest = files.read_json(path, fix="conductor checkpoint verify", default=None)
        if not isinstance(manifest, dict):
            raise InvalidInput(f"track {track_id} has no checkpoint {checkpoint_id}")
        return manifest

    def _resolve_checkpoint(self: Engine, track_id: str, checkpoint_ref: str) -> str:
        text = str(checkpoint_ref)
        if text == "last":
            folder = self._checkpoints_dir(track_id)
            numbers = [
                int(n[11:-5])
                for n in (os.listdir(folder) if folder.is_dir() else ())
                if CHECKPOINT_RE.fullmatch(n[:-5])
            ]
            if not numbers:
                raise InvalidInput(f"track {track_id} has no checkpoints yet")
            return f"checkpoint-{max(numbers):03d}"
        if text.isdigit():
            return f"checkpoint-{int(text):03d}"
        if not CHECKPOINT_RE.fullmatch(text):
            raise InvalidInput(
                f"{text!r} is not a checkpoint id (checkpoint-NNN, a number or 'last')"
            )
        return text

    # -- creating ------------------------------------------------------------------------

    def create_checkpoint(
        self: Engine,
        ref: str | None,
        *,
        reason: str = "manual checkpoint",
        kind: str = "manual",
        pinned: bool = False,
    ) -> dict[str, Any]:
        """Snapshot every file of the track; unchanged contents are stored once."""
        with self.tree.transaction() as txn:
            track_id = self.resolve(ref, txn.registry)
            manifest = self._checkpoint_in(txn, track_id, reason=reason, kind=kind, pinned=pinned)
        return manifest

    def _checkpoint_in(
        self: Engine, txn: Transaction, track_id: str, *, reason: str, kind: str, pinned: bool
    ) -> dict[str, Any]:
        """Create a checkpoint inside an open transaction (pause and switch use this).

        A track whose track.json is unreadable is still snapshotted as it is on disk (its
        bytes stay recoverable); its track.json is then left alone."""
        try:
            track: dict[str, Any] | None = self._load(txn, track_id)
        except CorruptFile:
            track = None
        state = track or txn.registry.tracks[track_id]
        track_dir = self.tree.track_dir(track_id)
        folder = self._checkpoints_dir(track_id)
        cache_path = folder / "stat-cache.json"
        cache = (
            files.read_json(cache_path, fix="delete it", default={}) if cache_path.exists() else {}
        )
        if not isinstance(cache, dict):
            cache = {}
        new_cache: dict[str, list[Any]] = {}
        index_path = folder / "blobs" / "index.json"
        index = (
            files.read_json(index_path, fix="delete it", default={}) if index_path.exists() else {}
        )
        if not isinstance(index, dict):
            index = {}
        now = time.time()
        entries = []
        total = stored = new_bytes = 0
        compressor = None
        # Folders of blobs just written, or found but not in the index (a killed checkpoint
        # left them): synced before the manifest. An indexed blob's folder was synced
        # before the checkpoint that indexed it committed.
        unsynced: set[Path] = set()
        snapshot = self._track_files(track_dir, txn) + self._project_files(state, txn)
        for relative, path in snapshot:
            pending = txn.pending(path)
            if pending is not None:  # this transaction's own, not yet committed, content
                data, sha, st = pending, hashlib.sha256(pending).hexdigest(), None
            else:
                st = os.stat(path)
                signature = [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]
                cached = cache.get(relative)
                if cached and cached[:4] == signature:
                    data, sha = None, cached[4]
                else:
                    data = path.read_bytes()
                    sha = hashlib.sha256(data).hexdigest()
                if now - st.st_mtime > RACY_SECONDS:
                    new_cache[relative] = [*signature, sha]
            size = len(data) if data is not None else st.st_size
            blob = self._blob_path(track_id, sha, folder)
            if not blob.exists():
                unsynced.add(blob.parent)
                if data is None:
                    data = path.read_bytes()
                compressor = compressor or _compressor()
                packed = compressor.compress(data)
                blob.parent.mkdir(parents=True, exist_ok=True)
                files.atomic_write(blob, packed, tmp_dir=self.tree.tmp_dir, sync_dir=False)
                new_bytes += len(packed)
                index[sha] = hashlib.sha256(packed).hexdigest()
                self.tree.lock.refresh()
            elif sha not in index:  # an index lost or older than the blob: hash the blob
                index[sha] = hashlib.sha256(blob.read_bytes()).hexdigest()
                unsynced.add(blob.parent)
            stored_size = blob.stat().st_size
            total += size
            stored += stored_size
            entries.append(
                {
                    "path": relative,
                    "sha256": sha,
                    "size": size,
                    "blob_sha256": index[sha],
                    "stored_size": stored_size,
                }
            )
        if unsynced:  # new blob folders must survive a power cut too: sync their parents
            unsynced |= {folder / "blobs", folder}
        for blob_dir in unsynced:
            files.fsync_dir(blob_dir)
        number = (
            max(
                (int(n[11:-5]) for n in os.listdir(folder) if CHECKPOINT_RE.fullmatch(n[:-5])),
                default=0,
            )
            if folder.is_dir()
            else 0
        )
        checkpoint_id = f"checkpoint-{number + 1:03d}"
        runs = [
            e
            for e in entries
            if e["path"].startswith("workflows/") and e["path"].endswith("/run.json")
        ]
        manifest = {
            "checkpoint_id": checkpoint_id,
            "track_id": track_id,
            "created_at": self.stamp(),
            "reason": reason,
            "kind": kind,
            "pinned": bool(pinned or kind in PINNED_KINDS),
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
                for d in self._read_list(track_id, "decisions.json", txn)
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
                "actor": self.actor,
            },
        }
        manifest["checksum"] = manifest_checksum(manifest)
        txn.write_json(folder / f"{checkpoint_id}.json", manifest)
        txn.write(cache_path, json.dumps(new_cache))
        txn.write(index_path, json.dumps(index))
        if track is not None:
            track["last_checkpoint"] = checkpoint_id
            track["last_checkpoint_at"] = manifest["created_at"]
            metrics = track.setdefault("metrics", {})
            metrics["snapshots_created"] = int(metrics.get("snapshots_created") or 0) + 1
            self._save(txn, track, touch=False)
        return manifest

    def _run_state(self: Engine, track_id: str, relative: str, txn: Transaction) -> dict[str, Any]:
        run = self._read_run(track_id, relative.split("/")[1], txn)
        return {k: run.get(k) for k in ("run_id", "name", "status", "updated_at")}

    def _project_files(
        self: Engine, track: dict[str, Any], txn: Transaction | None
    ) -> list[tuple[str, Path]]:
        """Files of the project the track registers (``context.checkpoint_files``, e.g. the
        notebooks it works in), as ``project/<path>``; missing ones are skipped."""
        found = []
        for name in (track.get("context") or {}).get("checkpoint_files") or []:
            try:
                path = self._project_path(_PROJECT + check_relative_name(name))
            except ConductorError:
                continue  # validated when registered; an edited track.json is not trusted
            if (txn is not None and txn.pending(path) is not None) or (
                path.is_file() and not path.is_symlink()
            ):
                found.append((_PROJECT + name, path))
        return found

    def _project_path(self: Engine, relative: str) -> Path:
        """Where a manifest path ``project/<path>`` lives: inside the project, or refused."""
        return inside(self.tree.base, *relative[len(_PROJECT) :].split("/"))

    def _track_files(
        self: Engine, track_dir: Path, txn: Transaction | None
    ) -> list[tuple[str, Path]]:
        """Every regular file of the track except its checkpoints (sorted, '/' separated),
        plus files this transaction is about to create."""
        found: dict[str, Path] = {}
        for dirpath, dirnames, filenames in os.walk(track_dir):
            here = Path(dirpath)
            if here == track_dir:
                dirnames[:] = [d for d in dirnames if d != CHECKPOINTS_DIR]
                filenames = [f for f in filenames if f not in UNSNAPSHOTTED]
            dirnames[:] = [d for d in dirnames if not (here / d).is_symlink()]
            for name in filenames:
                path = here / name
                if path.is_symlink() or not path.is_file():
                    continue  # a symlink may point anywhere: never follow it into a snapshot
                found[path.relative_to(track_dir).as_posix()] = path
        if txn is not None:
            for path in txn.writes:
                try:
                    relative = path.relative_to(track_dir).as_posix()
                except ValueError:
                    continue
                if not relative.startswith(CHECKPOINTS_DIR + "/") and relative not in UNSNAPSHOTTED:
                    found[relative] = path
        return sorted(found.items())

    # -- automatic checkpoints (execution.checkpoint_frequency) --------------------------

    def _frequency(self: Engine, txn: Transaction, track_id: str) -> str | None:
        return (self._load(txn, track_id).get("execution") or {}).get("checkpoint_frequency")

    def _auto_checkpoint(
        self: Engine, txn: Transaction, track_id: str, *, kind: str, reason: str
    ) -> dict[str, Any] | None:
        """Checkpoint a track being suspended, unless its frequency is 'never'."""
        if self._frequency(txn, track_id) == "never":
            return None
        return self._checkpoint_in(
            txn, track_id, reason=reason.strip(": "), kind=kind, pinned=False
        )

    def _step_checkpoint(
        self: Engine, txn: Transaction, track_id: str, step: dict[str, Any]
    ) -> None:
        frequency = self._frequency(txn, track_id)
        if frequency == "per-step":
            reason = f"step {step['step_id']} {step['status']}"
            self._checkpoint_in(txn, track_id, reason=reason, kind="step", pinned=False)
        elif frequency == "per-milestone" and step.get("type") == "checkpoint":
            reason = f"milestone {step['step_id']}: {step.get('name')}"
            self._checkpoint_in(txn, track_id, reason=reason, kind="milestone", pinned=True)

    def _after_change(self: Engine, txn: Transaction, track_id: str) -> None:
        """'hourly': a change more than an hour after the last checkpoint takes one."""
        track = self._load(txn, track_id)
        if (track.get("execution") or {}).get("checkpoint_frequency") != "hourly":
            return
        last = parse_time(track.get("last_checkpoint_at"))
        if last is None or (self.now() - last).total_seconds() >= 3600:
            self._checkpoint_in(txn, track_id, reason="hourly", kind="hourly", pinned=False)

    def _bring_back(self: Engine, txn: Transaction, track_id: str) -> str | None:
        """Before a paused track becomes active again: if its files were changed behind
        conductor's back since its last checkpoint (conductor's own edits move the track's
        updated_at and are kept), keep what is there in a safety checkpoint and restore
        the last checkpoint."""
        track = self._load(txn, track_id)
        last = track.get("last_checkpoint")
        if self._frequency(txn, track_id) == "never" or not isinstance(last, str):
            return None
        if not CHECKPOINT_RE.fullmatch(last) or not self._manifest_path(track_id, last).exists():
            return None  # e.g. the original tool's snapshot ids: nothing of ours to restore
        manifest = self.checkpoint(track_id, last)
        if manifest.get("track_state", {}).get("updated_at") != track.get("updated_at"):
            return None  # conductor itself changed the track since: that work stands
        diff = self.diff_checkpoints(track_id, last)
        changed = [
            p
            for key in ("added", "removed", "changed")
            for p in diff[key]
            if p != "track.json" and not RUN_FILE_RE.fullmatch(p)  # heartbeats go on
        ]
        if not changed:
            return None
        done = self.restore_checkpoint(track_id, last)
        return done["safety_checkpoint"]

    # -- verifying -----------------------------------------------------------------------

    def verify_checkpoint(
        self: Engine, ref: str | None, checkpoint_ref: str
    ) -> list[dict[str, str]]:
        """Recompute every checksum; returns the damage found (empty when intact)."""
        track_id = self.resolve(ref)
        checkpoint_id = self._resolve_checkpoint(track_id, checkpoint_ref)
        path = self._manifest_path(track_id, checkpoint_id)
        damage = []
        try:
            manifest = files.read_json(path, fix="conductor checkpoint verify")
        except FileNotFoundError:
            raise InvalidInput(f"track {track_id} has no checkpoint {checkpoint_id}") from None
        except CorruptFile as err:
            return [{"checkpoint": checkpoint_id, "path": str(path), "problem": err.reason}]
        if not isinstance(manifest, dict) or manifest.get("checksum") != manifest_checksum(
            manifest
        ):
            damage.append(
                {
                    "checkpoint": checkpoint_id,
                    "path": str(path),
                    "problem": "manifest checksum mismatch",
                }
            )
            return damage
        for entry in manifest.get("files", []):
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

    def _verify_file(self: Engine, track_id: str, entry: dict[str, Any]) -> str | None:
        try:
            _safe_relative(entry.get("path"))
            blob = self._blob_path(track_id, str(entry.get("sha256")))
            if (
                blob.is_file()
                and hashlib.sha256(blob.read_bytes()).hexdigest() != entry["blob_sha256"]
            ):
                return "the stored blob does not match its sha256"
            data = read_blob(blob, int(entry["size"]))
        except (CorruptFile, PathOutsideRoot, InvalidInput) as err:
            return err.reason if isinstance(err, CorruptFile) else err.message
        except (KeyError, TypeError, ValueError):
            return "malformed manifest entry"
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            return "content does not match its sha256"
        return None

    # -- diff ----------------------------------------------------------------------------

    def diff_checkpoints(
        self: Engine, ref: str | None, older: str, newer: str | None = None
    ) -> dict[str, Any]:
        """Files added, removed and changed from ``older`` to ``newer`` (a checkpoint, or
        the track as it is now when None); decisions added."""
        track_id = self.resolve(ref)
        before = self.checkpoint(track_id, older)
        if newer is None:
            after_files = {
                rel: hashlib.sha256(path.read_bytes()).hexdigest()
                for rel, path in self._track_files(self.tree.track_dir(track_id), None)
                + self._project_files(self.track(track_id), None)
            }
            after_decisions = self.decisions(track_id)
            after_name = "current"
        else:
            after = self.checkpoint(track_id, newer)
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

    def restore_checkpoint(self: Engine, ref: str | None, checkpoint_ref: str) -> dict[str, Any]:
        """Replace the track's files by the checkpoint's, all or nothing. The checkpoint is
        verified first and the current state is checkpointed before anything changes."""
        with self.tree.transaction() as txn:
            track_id = self.resolve(ref, txn.registry)
            checkpoint_id = self._resolve_checkpoint(track_id, checkpoint_ref)
            damage = self.verify_checkpoint(track_id, checkpoint_id)
            if damage:
                first = damage[0]
                raise CorruptFile(
                    f"{checkpoint_id} of {track_id}",
                    f"{first['path']}: {first['problem']} ({len(damage)} problems)",
                    f"conductor checkpoint verify {track_id} {checkpoint_id}",
                )
            manifest = self.checkpoint(track_id, checkpoint_id)
            # The safety checkpoint commits with the restore: either both happen or neither.
            safety = self._checkpoint_in(
                txn,
                track_id,
                reason=f"before restoring {checkpoint_id}",
                kind="safety",
                pinned=False,
            )
            track_dir = self.tree.track_dir(track_id)
            try:
                current = self._load(txn, track_id)
            except CorruptFile:  # unreadable now: the registry still knows the status
                current = None
            # A file already holding the checkpoint's bytes (the safety checkpoint just
            # hashed it) is left alone: neither rewritten nor copied into the journal.
            on_disk = {e["path"]: e["sha256"] for e in safety["files"]}
            for path in txn.deletes:  # going away with this change: not "already there"
                if path.is_relative_to(track_dir):
                    on_disk.pop(path.relative_to(track_dir).as_posix(), None)
            kept, wanted = set(), {}
            for entry in manifest["files"]:
                relative = _safe_relative(entry["path"])
                kept.add(relative)
                if relative != "track.json" and on_disk.get(relative) == entry["sha256"]:
                    continue
                wanted[relative] = read_blob(
                    self._blob_path(track_id, entry["sha256"]), entry["size"]
                )
            wanted["track.json"] = _restored_track_json(
                wanted.get("track.json"), current, txn.registry.tracks[track_id]["status"]
            )
            for relative, path in self._track_files(track_dir, None):
                if relative not in kept:
                    txn.delete(path)
            for relative, data in wanted.items():
                if relative == "track.json":
                    continue
                if relative.startswith(_PROJECT):  # a project file the track registers
                    txn.write(self._project_path(relative), data)
                else:
                    txn.write(inside(track_dir, *relative.split("/")), data)
            restored = json.loads(wanted["track.json"])
            txn.write(track_dir / "track.json", wanted["track.json"])
            registry = txn.registry
            registry.set_entry(track_id, registry_entry(restored, registry.tracks.get(track_id)))
            registry.refresh_metadata(self.stamp())
            txn.registry_changed = True
        return {
            "track_id": track_id,
            "restored": checkpoint_id,
            "safety_checkpoint": safety["checkpoint_id"],
        }

    # -- prune ---------------------------------------------------------------------------

    def prune_checkpoints(self: Engine, ref: str | None, *, keep: int = 10) -> dict[str, Any]:
        """Delete all but the newest ``keep`` checkpoints (never pinned ones, never the
        track's last_checkpoint), then the blobs no remaining checkpoint uses."""
        if keep < 1:
            raise InvalidInput("keep at least one checkpoint (--keep 1 or more)")
        with self.tree.transaction() as txn:
            track_id = self.resolve(ref, txn.registry)
            track = self._load(txn, track_id)
            manifests = self.checkpoints(track_id)
            kept, dropped = [], []
            for index, manifest in enumerate(manifests):
                protected = manifest.get("pinned") or manifest["checkpoint_id"] == track.get(
                    "last_checkpoint"
                )
                (kept if index < keep or protected else dropped).append(manifest)
            folder = self._checkpoints_dir(track_id)
            for manifest in dropped:
                txn.delete(folder / f"{manifest['checkpoint_id']}.json")
            used = {e["sha256"] for m in kept for e in m.get("files", [])}
            blobs = []
            for blob in (folder / "blobs").glob("*/*.zst") if (folder / "blobs").is_dir() else ():
                if blob.name[:-4] not in used:
                    txn.delete(blob)
                    blobs.append(blob.name[:-4])
            index_path = folder / "blobs" / "index.json"
            if blobs and index_path.exists():
                index = files.read_json(index_path, fix="delete it", default={})
                if isinstance(index, dict):
                    txn.write(index_path, json.dumps({k: v for k, v in index.items() if k in used}))
        return {
            "track_id": track_id,
            "removed": [m["checkpoint_id"] for m in dropped],
            "kept": [m["checkpoint_id"] for m in kept],
            "blobs_removed": len(blobs),
        }


def _safe_relative(value: Any) -> str:
    """A manifest path may name nothing outside the track, nor its checkpoints."""
    if not isinstance(value, str):
        raise PathOutsideRoot(f"manifest path {value!r} is not text")
    relative = check_relative_name(value)
    if relative == CHECKPOINTS_DIR or relative.startswith(CHECKPOINTS_DIR + "/"):
        raise PathOutsideRoot(f"manifest path {value!r} points into the checkpoints")
    return relative


def _restored_track_json(
    snapshot: bytes | None, current: dict[str, Any] | None, status: str
) -> bytes:
    """The checkpoint's track.json with the current lifecycle (status, history, ...):
    byte for byte the checkpoint's when the lifecycle has not moved since."""
    if snapshot is None:
        raise CorruptFile("checkpoint", "it holds no track.json", "conductor checkpoint verify")
    restored = json.loads(snapshot)
    if current is None:
        current = {**restored, "status": status}
    changed = False
    for key in LIFECYCLE_KEYS:
        if restored.get(key) != current.get(key):
            changed = True
            if key in current:
                restored[key] = current[key]
            else:
                restored.pop(key, None)
    if not changed:
        return snapshot
    restored["updated_at"] = current.get("updated_at", restored.get("updated_at"))
    return files.dumps(restored).encode("utf-8")
