"""Reading the files of a track folder: bytes with the stat signature of exactly what was
read, JSON decoded with msgspec (several times faster than ``json``) and ``json`` deciding
whatever msgspec refuses, and the few values the analytics keep from each file.

No pandas here, and nothing kept but plain values: see ``loading`` for the columns.
"""

from __future__ import annotations

import json
import os
import re
import struct
from typing import Any

import msgspec

from ..store.paths import RUN_ID_RE
from ..vocab import TrackStatus

__all__ = [
    "DOC_KEYS",
    "MISSING",
    "RUN_KEYS",
    "SIGNATURE_SIZE",
    "STATUSES",
    "STATUS_CODE",
    "TIME_FIELDS",
    "UNSET",
    "Signature",
    "TrackFields",
    "count_checkpoints",
    "count_decisions",
    "decode_json",
    "list_runs",
    "outcome_result",
    "parse_json",
    "parse_track",
    "read_bytes",
    "read_run",
    "run_row",
    "settled",
    "signature",
    "status_code",
    "step_counts",
]

STATUSES: tuple[str, ...] = tuple(s.value for s in TrackStatus)
STATUS_CODE: dict[str, int] = {s: i for i, s in enumerate(STATUSES)}
CHECKPOINT_NAME_RE = re.compile(r"checkpoint-\d+\.json")

# A file or folder is unchanged while its (st_dev, st_ino, st_size, st_mtime_ns,
# st_ctime_ns) are (ctime too: no tool can set it back); packed in 40 bytes, which the
# garbage collector need not track (a tuple it would), zeros when it is missing, empty
# when the values do not fit (a time past 2262: never cached).
Signature = bytes
_PACKED = struct.Struct("<QQqqq")
SIGNATURE_SIZE = _PACKED.size
MISSING = bytes(SIGNATURE_SIZE)

# Timestamps of track.json kept for tracks whose history does not tell (legacy, damaged).
TIME_FIELDS = (
    "created_at",
    "updated_at",
    "started_at",
    "completed_at",
    "failed_at",
    "cancelled_at",
)
# Values of track.json for which the registry entry stands in when track.json lacks them.
DOC_KEYS = ("name", "type", "priority", "status", *TIME_FIELDS)
RUN_KEYS = ("name", "status", "created_at", "started_at", "finished_at")


def status_code(value: Any) -> int:
    """The code of a status name; -1 for anything else (a damaged file may hold a list)."""
    return STATUS_CODE.get(value, -1) if type(value) is str else -1


def signature(path: str) -> Signature:
    try:
        return _pack(os.stat(path))
    except OSError:
        return MISSING


def _pack(st: os.stat_result) -> Signature:
    try:
        return _PACKED.pack(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    except struct.error:
        return b""


def settled(signatures: bytes, horizon_ns: int) -> bool:
    """Whether none of the files of these signatures (whole ones, one after the other)
    changed at or after ``horizon_ns``."""
    return all(max(sig[3], sig[4]) < horizon_ns for sig in _PACKED.iter_unpack(signatures))


def read_bytes(path: str) -> tuple[bytes | None, Signature]:
    """The file's bytes (None when it cannot be read) and the signature of that very
    file. os.open/os.read: the file object of open() costs more than the read itself,
    10,000 times over."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None, MISSING
    try:
        st = os.fstat(fd)
        data = os.read(fd, st.st_size + 1)
        if len(data) > st.st_size:  # it grew since the fstat: the rest of it
            chunks = [data]
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            data = b"".join(chunks)
    except OSError:
        return None, MISSING
    finally:
        os.close(fd)
    return data, _pack(st)


def parse_json(data: bytes | None) -> Any:
    """Parsed JSON, or None when missing or broken (analytics reads what it can)."""
    return decode_json(data)[0]


def decode_json(data: bytes | None) -> tuple[Any, bool]:
    """Parsed JSON (None when missing or broken), and whether msgspec decoded it.

    Whatever msgspec refuses (other encodings than UTF-8, NaN, lone surrogates) goes to
    ``json``, so the value is always what ``json.loads`` gives; values msgspec decoded
    also survive msgspec's encoding unchanged (the cache's)."""
    if data is None:
        return None, True
    try:
        return _DECODE(data), True
    except (ValueError, RecursionError):  # msgspec.DecodeError is a ValueError
        return _json_loads(data), False


def _json_loads(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):  # RecursionError: nested too deep
        return None


_DECODE = msgspec.json.Decoder().decode


class TrackFields(msgspec.Struct):
    """The keys of track.json the analytics read, DOC_KEYS first (absent ones UNSET).
    msgspec skips the others (context, progress, metrics...) without building them:
    decoding takes a quarter of the time ``json.loads`` does."""

    name: Any = msgspec.UNSET
    type: Any = msgspec.UNSET
    priority: Any = msgspec.UNSET
    status: Any = msgspec.UNSET
    created_at: Any = msgspec.UNSET
    updated_at: Any = msgspec.UNSET
    started_at: Any = msgspec.UNSET
    completed_at: Any = msgspec.UNSET
    failed_at: Any = msgspec.UNSET
    cancelled_at: Any = msgspec.UNSET
    outcomes: Any = msgspec.UNSET
    steps: Any = msgspec.UNSET
    history: Any = msgspec.UNSET


UNSET: Any = msgspec.UNSET
_TRACK_FIELDS = frozenset(TrackFields.__struct_fields__)
if TrackFields.__struct_fields__[: len(DOC_KEYS)] != DOC_KEYS:  # what extracts relies on
    raise ImportError("TrackFields must begin with DOC_KEYS, in their order")
_DECODE_TRACK = msgspec.json.Decoder(TrackFields).decode


def parse_track(data: bytes | None) -> tuple[TrackFields | None, bool]:
    """track.json's values (None when it is missing, broken or not an object), and
    whether msgspec decoded it.

    The same values as ``json.loads`` would give: msgspec skips the keys not read without
    checking their strings are UTF-8, so a file that is not ASCII is checked first, and
    what msgspec refuses goes to ``json``. (One difference: an integer of more than 4,300
    digits in a key not read, which ``json`` refuses by Python's limit, is skipped.)"""
    if data is None:
        return None, True
    try:
        if not data.isascii():
            data.decode()  # strict UTF-8, or json decides below
        return _DECODE_TRACK(data), True
    except (ValueError, RecursionError):
        doc = _json_loads(data)
    if type(doc) is not dict:
        return None, False
    return TrackFields(**{key: value for key, value in doc.items() if key in _TRACK_FIELDS}), False


def step_counts(steps: Any) -> tuple[int, int]:
    """How many steps, and how many of them completed."""
    if type(steps) is not list or not steps:
        return 0, 0
    done = sum(1 for s in steps if type(s) is dict and s.get("status") == "completed")
    return len(steps), done


def outcome_result(outcomes: Any) -> Any:
    return outcomes.get("result") if type(outcomes) is dict else None


def count_decisions(path: str) -> tuple[int, Signature]:
    data, sig = read_bytes(path)
    decisions = parse_json(data) if data and data != b"[]" else None
    return (len(decisions) if type(decisions) is list else 0), sig


def count_checkpoints(folder: str) -> tuple[int, Signature]:
    """Checkpoint manifests in ``folder``. A folder's signature changes when an entry is
    added, removed or renamed, which is all a count depends on; stat first, so a change
    during the listing shows in the next signature."""
    sig = signature(folder)
    try:
        names = os.listdir(folder)
    except OSError:
        return 0, sig
    return sum(1 for name in names if CHECKPOINT_NAME_RE.fullmatch(name)), sig


def list_runs(folder: str) -> tuple[tuple[str, ...], Signature]:
    """The run folders in ``folder`` (a track's workflows/), in order."""
    sig = signature(folder)
    try:
        names = os.listdir(folder)
    except OSError:
        return (), sig
    return tuple(sorted(name for name in names if RUN_ID_RE.fullmatch(name))), sig


def read_run(path: str, folder_name: str) -> tuple[tuple[Any, ...] | None, Signature, bool]:
    """The run's row (None when run.json is missing or not an object), its signature,
    and whether msgspec decoded it."""
    data, sig = read_bytes(path)
    run, exact = decode_json(data)
    return run_row(run, folder_name), sig, exact


def run_row(run: Any, folder_name: str) -> tuple[Any, ...] | None:
    """(run_id, name, status, created_at, started_at, finished_at, duration_ms,
    error_type) of a parsed run.json, or None when it is not an object."""
    if type(run) is not dict:
        return None
    texts = [value if type(value := run.get(key)) is str else None for key in RUN_KEYS]
    outcome = run.get("outcome")
    return (
        run.get("run_id", folder_name),
        *texts,
        _milliseconds(run.get("duration_ms")),
        outcome.get("error_type") if type(outcome) is dict else None,
    )


def _milliseconds(value: Any) -> float | None:
    if type(value) not in (int, float):  # not bool either
        return None
    try:
        return float(value)
    except OverflowError:  # an integer too large for a float is no duration
        return None
