"""Time and memory of every analytics frame over 10,000 tracks with 100,000 transitions
(figures, not a test). Targets (the analytics issue): all frames under 1 s in total and
under 300 MB of memory.

    .venv/bin/python benchmarks/bench_analytics.py [--tracks 10000] [--transitions 100000]

Three cases, because reading a root keeps what each track's files say in a column cache
(``<root>/tracks/.conductor-cache``) and reads again only the tracks whose files changed:

- cold: no cache (the first reading of a root): every file is read, and the cache written;
- warm: the cache is there and no track changed since;
- warm, 1% changed: 1% of the track.json files rewritten before each run (as the engine
  writes them), so those are read again and the cache rewritten.

The tree is written directly in the engine's exact format, not through the engine (which
would take most of an hour for 100,000 transitions): each track starts as the engine's
``new_track``, its lifecycle goes through the engine's own ``apply_transition`` (status,
timestamps, history), its metrics through ``compute_metrics``, and the registry is
encoded by the engine's ``RegistryDoc``; each track also gets decisions, and some get
workflow runs and checkpoint manifests, so every file the analytics read is there.
A sample of the tree goes through ``Engine.validate`` to prove it is sound.

Each measurement runs in a fresh subprocess (page cache warm: the tree was just written),
so the memory figures are those of the analytics alone: the peak resident set growth
from after ``import pandas`` to the end, and tracemalloc's peak of Python and numpy
allocations (a separate run: tracemalloc slows Python down).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conductor_nb.analytics import cache as column_cache
from conductor_nb.engine import Engine
from conductor_nb.store import files
from conductor_nb.store.registry import RegistryDoc
from conductor_nb.tracks import (
    apply_transition,
    compute_metrics,
    iso,
    new_track,
    recompute_progress,
    registry_entry,
)

TYPES = ["feature", "bugfix", "refactor", "testing", "documentation", "migration", "custom"]
START = datetime(2025, 1, 6, 9, tzinfo=UTC)


def lifecycle(rng: random.Random, events: int) -> list[tuple[str, str]]:
    """(from, to) pairs after the creation event, ``events - 1`` of them: through ready
    and active, pause/resume loops, a failure and retry now and then, closed at the end."""
    moves = [("draft", "ready"), ("ready", "active")]
    ending = rng.choices(["completed", "failed", "cancelled"], weights=[85, 8, 7])[0]
    closing = [("active", "completed")] if ending == "completed" else [("active", "failed")]
    if ending == "cancelled":
        closing = [("active", "paused"), ("paused", "cancelled")]
    if events - 1 < len(moves) + len(closing):
        return [("draft", "cancelled")]
    while len(moves) + len(closing) < events - 1:
        room = events - 1 - len(moves) - len(closing)
        if room >= 5 and rng.random() < 0.1:
            moves += [("active", "failed"), ("failed", "draft"), ("draft", "ready")]
            moves += [("ready", "active")]
        elif room >= 2:
            moves += [("active", "paused"), ("paused", "active")]
        else:
            moves.append(("active", "paused"))
            closing = [("paused", "failed")] if ending != "cancelled" else [("paused", "cancelled")]
            break
    return moves + closing


def build(root: Path, tracks: int, transitions: int, seed: int = 1) -> int:
    rng = random.Random(seed)
    tracks_dir = root / "tracks"
    tracks_dir.mkdir(parents=True)
    doc = RegistryDoc.empty()
    per_track = transitions // tracks
    extra = transitions - per_track * tracks
    written = 0
    now = START
    for number in range(tracks):
        events = per_track + (1 if number < extra else 0)
        created = START + timedelta(minutes=number * 37)
        track_id = f"track-bench-track-{number}-{int(created.timestamp() * 1000)}"
        track = new_track(
            track_id,
            f"Bench track {number}",
            type=rng.choice(TYPES),
            priority=rng.choice(["P0", "P1", "P2", "P3"]),
            goal="measure the analytics",
            now=iso(created),
            actor="bench",
        )
        moment = created
        for source, target in lifecycle(rng, events):
            moment += timedelta(hours=rng.uniform(0.5, 40))
            apply_transition(track, source, target, now=iso(moment), actor="bench", reason=None)
        if track["status"] == "completed" and rng.random() < 0.2:
            moment += timedelta(days=rng.uniform(1, 20))
            apply_transition(
                track, "completed", "archived", now=iso(moment), actor="bench", reason=None
            )
        written += len(track["history"])
        track["updated_at"] = iso(moment)
        now = max(now, moment)
        recompute_progress(track)
        track["metrics"] = compute_metrics(track, moment)
        folder = tracks_dir / track_id
        (folder / "context").mkdir(parents=True)
        (folder / "workflows").mkdir()
        (folder / "checkpoints").mkdir()
        (folder / "track.json").write_text(files.dumps(track))
        decisions = [
            {"id": f"decision-{i + 1}", "timestamp": iso(created), "summary": "a choice"}
            for i in range(rng.randint(0, 3))
        ]
        (folder / "context" / "decisions.json").write_text(files.dumps(decisions))
        (folder / "context" / "assumptions.json").write_text("[]")
        if rng.random() < 0.3:
            for run_number in range(1, rng.randint(1, 3) + 1):
                began = created + timedelta(hours=run_number)
                took = rng.uniform(60, 3600)
                failed = rng.random() < 0.15
                run = {
                    "run_id": f"run-{run_number:03d}-bench",
                    "track_id": track_id,
                    "name": "bench",
                    "workflow": None,
                    "status": "failed" if failed else "completed",
                    "created_at": iso(began),
                    "updated_at": iso(began + timedelta(seconds=took)),
                    "started_at": iso(began),
                    "finished_at": iso(began + timedelta(seconds=took)),
                    "heartbeat_at": iso(began),
                    "duration_ms": int(took * 1000),
                    "outcome": {"result": "failed" if failed else "completed"},
                    "holder": None,
                }
                run_dir = folder / "workflows" / run["run_id"]
                run_dir.mkdir()
                (run_dir / "run.json").write_text(files.dumps(run))
        for checkpoint in range(rng.randint(0, 2)):
            (folder / "checkpoints" / f"checkpoint-{checkpoint + 1:03d}.json").write_text("{}")
        doc.set_entry(track_id, registry_entry(track, None))
    doc.refresh_metadata(iso(now))
    files.atomic_write(tracks_dir / "track-registry.json", doc.encode())
    return written


MEASURE = """
import gc, json, resource, sys, time, tracemalloc
from datetime import datetime, timezone
root, mode, now = sys.argv[1], sys.argv[2], datetime.fromisoformat(sys.argv[3])
import numpy, pandas
from conductor_nb.analytics.frames import Analytics
gc.collect()
rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
if mode == "tracemalloc":
    tracemalloc.start()
started, cpu_started = time.perf_counter(), time.process_time()
analytics = Analytics(root, now=now)
loaded = time.perf_counter()
steps = {}
for name, build in (
    ("tracks", analytics.tracks),
    ("transitions", analytics.transitions),
    ("success by type, priority, month",
     lambda: [analytics.success(by) for by in ("type", "priority", "month")]),
    ("flow (weekly)", lambda: analytics.flow("W")),
    ("flow (daily)", lambda: analytics.flow("D")),
    ("overruns", analytics.overruns),
    ("paths", analytics.paths),
    ("runs, runs by type", lambda: (analytics.runs(), analytics.runs("type"))),
    ("summary", analytics.summary),
):
    begin = time.perf_counter()
    build()
    steps[name] = time.perf_counter() - begin
total = time.perf_counter() - started
cpu = time.process_time() - cpu_started
result = {"load": loaded - started, "steps": steps, "total": total, "cpu": cpu,
          "rows": [len(analytics.tracks()), len(analytics.transitions())]}
if mode == "tracemalloc":
    result["traced_peak"] = tracemalloc.get_traced_memory()[1]
rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result["rss_before"] = rss_before * 1024
result["rss_peak"] = rss_after * 1024
print(json.dumps(result))
"""


def measure(root: Path, mode: str, now: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(root), mode, now],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.splitlines()[-1])


def drop_cache(root: Path) -> None:
    shutil.rmtree(root / "tracks" / column_cache.FOLDER, ignore_errors=True)


def rewrite_tracks(root: Path, share: float, rng: random.Random) -> int:
    """Rewrite ``share`` of the track.json files as they are (a new file, as the engine's
    atomic writes make): their signatures change, their content does not."""
    folders = sorted(p for p in (root / "tracks").iterdir() if p.name.startswith("track-"))
    chosen = rng.sample(folders, max(1, int(len(folders) * share)))
    for folder in chosen:
        files.atomic_write(folder / "track.json", (folder / "track.json").read_bytes())
    return len(chosen)


def run_case(root: Path, case: str, repeats: int, now: str) -> list[dict]:
    rng = random.Random(7)
    if case != "cold":
        measure(root, "time", now)  # the cache complete (files just written are not kept)
    runs = []
    for _ in range(repeats):
        if case == "cold":
            drop_cache(root)
        elif case == "changed":
            rewrite_tracks(root, 0.01, rng)
        runs.append(measure(root, "time", now))
    return runs


CASES = {"cold": "cold (no cache)", "warm": "warm (cache, nothing changed)"}
CASES["changed"] = "warm, 1% of tracks changed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=10_000)
    parser.add_argument("--transitions", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    now = "2026-01-01T00:00:00+00:00"
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        root = Path(tmp) / ".claude" / "conductor"
        began = time.perf_counter()
        written = build(root, args.tracks, args.transitions)
        print(
            f"built {args.tracks:,} tracks with {written:,} transitions in "
            f"{time.perf_counter() - began:.1f} s ({tmp})"
        )
        engine = Engine(root)
        sample = list(engine.registry().tracks)[:: max(1, args.tracks // 200)]
        for track_id in sample:  # the engine reads them as its own
            track = engine.track(track_id)
            assert track["history"] and track["status"] == engine.entry(track_id)["status"]
        problems = [p for p in engine.validate() if p.track_id in set(sample)]
        assert problems == [], problems[:3]
        print(f"engine.track and validate agree on a sample of {len(sample)} tracks")
        results = {case: run_case(root, case, args.repeats, now) for case in CASES}
        drop_cache(root)
        traced = measure(root, "tracemalloc", now)  # cold: the most memory
    for runs in results.values():
        assert runs[0]["rows"] == [args.tracks, written], runs[0]["rows"]
    load = os.getloadavg()[0]
    print(f"\nall frames, {args.repeats} fresh processes per case (median, range; CPU median):")
    for case, runs in results.items():
        totals = sorted(r["total"] for r in runs)
        cpu = statistics.median(r["cpu"] for r in runs)
        print(
            f"  {CASES[case]:<32} {statistics.median(totals):.3f} s "
            f"({totals[0]:.3f}-{totals[-1]:.3f}); CPU {cpu:.3f} s; "
            f"reading the root {statistics.median(r['load'] for r in runs):.3f} s"
        )
    print(
        f"  (load average {load:.1f} on {os.cpu_count()} CPUs: above 0 means other work competed)"
    )
    best = min(results["warm"], key=lambda r: r["total"])
    print("\nthe frames, after reading (best warm run):")
    for name, seconds in best["steps"].items():
        print(f"  {name:<46} {seconds:.3f} s")
    mb = 1024 * 1024
    every = [r for runs in results.values() for r in runs]
    growth = max(r["rss_peak"] - r["rss_before"] for r in every) / mb
    peak = max(r["rss_peak"] for r in every) / mb
    print("\nmemory (the most of any case):")
    print(f"  peak RSS growth during the frames          {growth:.0f} MB")
    print(f"  peak RSS of the process (with pandas)      {peak:.0f} MB")
    print(f"  tracemalloc peak, cold (Python + numpy)    {traced['traced_peak'] / mb:.0f} MB")
    print("\ntargets: all frames under 1 s, under 300 MB:")
    for case, runs in results.items():
        median = statistics.median(r["total"] for r in runs)
        print(f"  {CASES[case]:<32} {median:.2f} s ({'ok' if median < 1.0 else 'MISSED'})")
    print(f"  memory {growth:.0f} MB ({'ok' if growth < 300 else 'MISSED'})")


if __name__ == "__main__":
    main()
