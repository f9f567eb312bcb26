"""Engine latency per operation at 1,000 and 10,000 tracks, beside the cost of a bare
atomic write of a registry of the same size on the same disk, then the CLI (whole process:
start-up, imports, the verb, exit) beside `python -c pass` (figures, not a test).

    .venv/bin/python benchmarks/bench_engine.py [--sizes 1000,10000] [--quick]

About 40 s on two cores (`--quick`: 100 and 1,000 tracks, fewer repeats, ~6 s).
Trees are built in a temp folder under $BENCH_DIR (default: the system's, /tmp), which
must be a real disk, not tmpfs (/dev/shm): fsync is the cost of a write. They are made
by cloning one engine-made track (same files, new ids and names) and writing the
registry with the engine's own encoder, which takes seconds where 10,000 creates through
the engine would take minutes; `validate` is run on each to prove the tree is sound, and
the build is synced before anything is measured. Create, the transitions and the bare
write are timed in turn, in rounds of blocks that each start on a synced disk (see
``interleaved``). The
package is byte-compiled first and the CLI runs without PYTHONDONTWRITEBYTECODE, as an
installed one does. Targets (issue #14): a plain transition within 1.5x the bare write
at 1,000 tracks and 1.2x at 10,000; the CLI at 10,000 tracks faster than Taskwarrior's
(create 75 ms, status change 124 ms, get 116 ms), at 1,000 create and status change
within 5x `python -c pass`.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from conductor_nb.engine import Engine
from conductor_nb.store import files
from conductor_nb.store.registry import RegistryDoc
from conductor_nb.tracks import registry_entry


def build(root: Path, count: int) -> Engine:
    engine = Engine(root)
    template = engine.create("Track number 0")
    tracks_dir = root / "tracks"
    doc = RegistryDoc.empty()
    doc.set_entry(template["track_id"], registry_entry(template, None))
    millis = int(template["track_id"].rsplit("-", 1)[1])
    for i in range(1, count):
        track_id = f"track-track-number-{i}-{millis + i}"
        track = {**template, "track_id": track_id, "name": f"Track number {i}"}
        folder = tracks_dir / track_id
        (folder / "context").mkdir(parents=True)
        (folder / "track.json").write_text(files.dumps(track))
        (folder / "context" / "decisions.json").write_text("[]")
        (folder / "context" / "assumptions.json").write_text("[]")
        doc.set_entry(track_id, registry_entry(track, None))
    doc.refresh_metadata(template["created_at"])
    files.atomic_write(tracks_dir / "track-registry.json", doc.encode())
    engine = Engine(root)
    engine.tree.registry.invalidate()
    problems = engine.validate()
    assert problems == [], problems[:3]
    return engine


def timed(func: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter_ns()
        func()
        times.append((time.perf_counter_ns() - started) / 1e6)
    return sorted(times)


def summary(times: list[float]) -> tuple[float, float]:
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def bare_writer(path: Path) -> Callable[[], None]:
    """temp file in the same folder + fsync + rename + folder fsync, of the registry's bytes."""
    data = path.read_bytes()
    target = path.with_name("bench-bare.json")
    return lambda: files.atomic_write(target, data, tmp_dir=None)


def naive_rmw(path: Path, track_id: str, repeats: int) -> list[float]:
    """What a straightforward implementation does: parse, change one status, indent, write."""
    target = path.with_name("bench-naive.json")

    def once() -> None:
        doc = json.loads(path.read_bytes())
        doc["tracks"][track_id]["status"] = "paused"
        files.atomic_write(target, json.dumps(doc, indent=2), tmp_dir=None)

    return timed(once, repeats)


def whole_process(argv: list[str], env: dict[str, str], repeats: int) -> float:
    times = []
    for i in range(repeats):
        args = [a.replace("{i}", str(i)) for a in argv]
        started = time.perf_counter()
        subprocess.run(args, env=env, check=True, capture_output=True)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def cli_rows(engine: Engine, root: Path, runs: int) -> list[tuple[str, float]]:
    """Median whole-process times of the CLI's verbs on ``root``, and of `python -c pass`."""
    env = {**os.environ, "CONDUCTOR_ROOT": str(root)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed CLI runs from bytecode
    cli = [sys.executable, "-m", "conductor_nb.cli"]
    track = list(engine.registry().tracks)[2]  # not one measure() changed
    engine.update(track, "checkpoint_frequency", "never")  # the transition alone
    switch = [[*cli, "activate", track, "--force"], [*cli, "pause", track, "--reason", "b"]]

    def status_change() -> None:
        for args in switch:
            subprocess.run(args, env=env, check=True, capture_output=True)

    toggles = [(time.perf_counter(), status_change(), time.perf_counter()) for _ in range(runs)]
    return [
        ("python -c pass", whole_process([sys.executable, "-c", "pass"], env, runs)),
        ("conductor create", whole_process([*cli, "create", "--name", "CLI {i}"], env, runs)),
        ("conductor activate/pause", statistics.median((b - a) * 500 for a, _, b in toggles)),
        ("conductor show (get)", whole_process([*cli, "show", track], env, runs)),
        ("conductor list", whole_process([*cli, "list"], env, runs)),
    ]


def print_cli(size: int, rows: list[tuple[str, float]]) -> None:
    python = rows[0][1]
    print(f"\nwhole process at {size:,} tracks (median):")
    for label, value in rows:
        ratio = "" if label.startswith("python") else f"  {value / python:.1f}x python -c pass"
        print(f"  {label:<26} {value:7.1f} ms{ratio}")
    print()


def interleaved(ops: dict[str, Callable[[], object]], repeats: int, rounds: int = 4):
    """``repeats`` timings of each op, taken in ``rounds`` rounds that run every op in
    turn: what the machine is doing meanwhile (another process, the host) lands on all of
    them alike. Each block starts on a synced disk (untimed): no op pays for the writeback
    another kind of op left, while an op's own writeback lands on the ones after it, as
    it does in use."""
    times: dict[str, list[float]] = {name: [] for name in ops}
    each = max(2, repeats // rounds // 2 * 2)  # even: a resume/pause cycle ends as it began
    for _ in range(rounds):
        for name, op in ops.items():
            os.sync()
            times[name] += timed(op, each)
    return [(name, sorted(found)) for name, found in times.items()]


def measure(engine: Engine, registry: Path, repeats: int) -> list[tuple[str, list[float]]]:
    ids = iter(engine.registry().tracks)
    plain, checkpointed = next(ids), next(ids)
    # a transition alone: this track takes no automatic checkpoints
    engine.update(plain, "checkpoint_frequency", "never")
    for track in (plain, checkpointed):  # both paused: each resumes and pauses in turn
        engine.transition(track, "activate")
        engine.transition(track, "pause")
    counter = iter(range(10**9))
    plain_verbs = iter(["resume", "pause"] * repeats * 2)
    checkpointed_verbs = iter(["resume", "pause"] * repeats * 2)
    rows = interleaved(
        {
            "create": lambda: engine.create(f"Bench {next(counter)}"),
            "transition": lambda: engine.transition(plain, next(plain_verbs)),
            "pause/resume + checkpoint": lambda: engine.transition(
                checkpointed, next(checkpointed_verbs)
            ),
            "bare atomic write": bare_writer(registry),
        },
        repeats,
    )
    rows.append(("naive read-modify-write", naive_rmw(registry, plain, max(5, repeats // 4))))
    rows.append(("get by id (entry)", timed(lambda: engine.entry(plain), repeats * 10)))
    rows.append(
        ("get by id (registry)", timed(lambda: engine.registry().entry(plain), repeats * 10))
    )
    rows.append(("list", timed(engine.list, repeats)))
    rows.append(("stats", timed(engine.stats, repeats)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--quick", action="store_true", help="100 and 1,000 tracks, fewer repeats")
    args = parser.parse_args()
    sizes = [100, 1000] if args.quick else [int(s) for s in args.sizes.split(",")]
    compileall.compile_dir(Path(__file__).parents[1] / "conductor_nb", quiet=1)
    load = os.getloadavg()[0]
    print(f"load average {load:.2f} on {os.cpu_count()} cores at the start")
    print(f"{'tracks':>7} {'operation':<26} {'median ms':>10} {'p99 ms':>9}  note")
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        for size in sizes:
            repeats = 20 if args.quick else (200 if size <= 1000 else 50)
            root = Path(tmp) / f"root-{size}"
            started = time.perf_counter()
            engine = build(root, size)
            os.sync()  # the build's writeback is not left to land in the first measures
            built = time.perf_counter() - started
            registry = root / "tracks" / "track-registry.json"
            rows = measure(engine, registry, repeats)
            print_rows(size, rows)
            kb = registry.stat().st_size / 1024
            print(f"{size:>7} (registry {kb:.0f} KB; tree built in {built:.1f} s)")
            print_cli(size, cli_rows(engine, root, 5 if args.quick else 11))
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


def print_rows(size: int, rows: list[tuple[str, list[float]]]) -> None:
    bare_median = summary(dict(rows)["bare atomic write"])[0]
    relative = ("transition", "create", "naive read-modify-write", "pause/resume + checkpoint")
    for name, times in rows:
        median, p99 = summary(times)
        note = ""
        if name in relative:
            note = f"{median / bare_median:.1f}x the bare write"
        if name.startswith("get by id"):
            note = f"{median * 1000:.1f} us"
        print(f"{size:>7} {name:<26} {median:>10.3f} {p99:>9.3f}  {note}")


if __name__ == "__main__":
    main()
