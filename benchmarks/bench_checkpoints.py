"""Checkpoint and switch figures, printed as a table with the target beside each.

    .venv/bin/python benchmarks/bench_checkpoints.py [--mb 50] [--tracks 1000] [--keep DIR]

1. A track holding ``--mb`` MB of artifacts (40% JSON and text, 60% random binary; files
   of 2 KB to 4 MB) is checkpointed: cold, then again with nothing changed. A file
   modified within the last 2 s is always re-read (the stat cache's racy window), so
   every file's mtime is first set 60 s in the past with os.utime. That also changes
   each file's ctime, which the cache signature includes: the first checkpoint after it
   re-reads and hashes every file (the "files re-read" figure, no blob written), the
   following ones only stat them ("stat cache warm", median of 3).
2. Compression ratio of the JSON and text artifacts (1 - stored/size), binary apart.
3. verify_checkpoint throughput over the cold checkpoint (logical MB/s, page cache warm).
4. restore_checkpoint of the cold checkpoint after changing 5 files (median of 3).
5. ``switch`` back and forth between two tracks of 5 MB each in a registry of
   ``--tracks`` tracks built through Engine.create (its time is printed). The first
   switch away from each track takes its first checkpoint (compressing its 5 MB) and is
   shown apart; the figure is the median of the following switches.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conductor_nb.engine import Engine

MB = 1_000_000
SIZES = (2_000, 16_000, 64_000, 256_000, 1_000_000, 4_000_000)
SIZE_WEIGHTS = (30, 25, 20, 12, 8, 5)  # mostly small files, a few large ones
TEXT_EXTS = (".json", ".txt", ".md", ".log", ".csv")
_VOCABULARY = (
    "the of and to in a is that for it as was with be by on not he this are or his from at "
    "which but have an they you were her she there been one all we their has would when if "
    "so no will can more other its time only new some could these two may first then do any "
    "like my now over such our man me even most made after also did many before must through "
    "track checkpoint restore artifact registry engine journal commit lock blob manifest "
    "training model dataset epoch loss accuracy batch gradient optimizer schedule warmup "
    "notebook kernel cell output figure table result metric baseline ablation experiment"
)
_WORDS = _VOCABULARY.split()
_WEIGHTS = [1 / (rank + 1) for rank in range(len(_WORDS))]  # Zipf-like, as in prose
_EVENTS = ("step_started", "step_completed", "checkpoint", "metric", "warning", "retry")
_LEVELS = ("INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR")


# -- content ----------------------------------------------------------------------------


def _prose(rng: random.Random, size: int) -> bytes:
    out, total = [], 0
    while total < size:
        words = rng.choices(_WORDS, _WEIGHTS, k=rng.randint(6, 18))
        line = " ".join(words).capitalize() + ".\n"
        if rng.random() < 0.04:
            line = f"\n## {' '.join(rng.choices(_WORDS, k=3)).title()}\n\n"
        out.append(line)
        total += len(line)
    return "".join(out).encode()[:size]


def _log(rng: random.Random, size: int) -> bytes:
    out, total, t = [], 0, 1_772_355_600.0
    while total < size:
        t += rng.expovariate(5)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"
        words = " ".join(rng.choices(_WORDS, _WEIGHTS, k=rng.randint(3, 9)))
        line = (
            f"{stamp} {rng.choice(_LEVELS)} worker-{rng.randint(0, 7)} {words} "
            f"step={rng.randint(0, 5000)} loss={rng.uniform(0, 3):.4f}\n"
        )
        out.append(line)
        total += len(line)
    return "".join(out).encode()[:size]


def _json(rng: random.Random, size: int) -> bytes:
    rows, total = [], 2
    while total < size:
        row = {
            "id": len(rows) + 1,
            "event": rng.choice(_EVENTS),
            "user": f"user-{rng.randint(1, 400)}",
            "step": rng.randint(0, 5000),
            "duration_ms": rng.randint(1, 90_000),
            "score": round(rng.random(), 4),
            "tags": rng.sample(_WORDS[-30:], rng.randint(0, 3)),
            "note": " ".join(rng.choices(_WORDS, _WEIGHTS, k=rng.randint(2, 8))),
        }
        rows.append(row)
        total += 190
    indent = 2 if rng.random() < 0.5 else None
    return json.dumps(rows, indent=indent).encode()


def _csv(rng: random.Random, size: int) -> bytes:
    """A training metrics table: noisy curves (their noise digits do not compress)."""
    out, total, step = ["epoch,step,loss,accuracy,lr\n"], 0, 0
    while total < size:
        step += 50
        progress = 1 - math.exp(-step / 20_000)
        line = (
            f"{step // 2_000},{step},{3 * (1 - progress) + rng.gauss(0, 0.05):.5f},"
            f"{0.9 * progress + rng.gauss(0, 0.01):.5f},{1e-3 * 0.5 ** (step // 10_000):.6g}\n"
        )
        out.append(line)
        total += len(line)
    return "".join(out).encode()


TEXT_MAKERS = ((".md", _prose), (".txt", _prose), (".log", _log), (".json", _json), (".csv", _csv))


def mixed_files(total: int, rng: random.Random) -> dict[str, bytes]:
    """About ``total`` bytes: 40% JSON and text, 60% random binary, in files of 2 KB-4 MB."""
    found: dict[str, bytes] = {}
    for budget, is_text in ((total * 0.4, True), (total * 0.6, False)):
        done = 0
        while done < budget:
            size = min(rng.choices(SIZES, SIZE_WEIGHTS)[0], max(2_000, int(budget - done)))
            n = len(found)
            if is_text:
                ext, make = rng.choice(TEXT_MAKERS)
                data = make(rng, size)
            else:
                ext, data = rng.choice((".bin", ".npy", ".pt")), rng.randbytes(size)
            found[f"{('data', 'notes', 'runs', 'outputs')[n % 4]}/file-{n:04d}{ext}"] = data
            done += len(data)
    return found


# -- measuring --------------------------------------------------------------------------


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def age_files(track_dir: Path, seconds: float = 60.0) -> None:
    """Set every track file's mtime ``seconds`` in the past (out of the racy window)."""
    past = time.time() - seconds
    for path in track_dir.rglob("*"):
        if path.is_file() and "checkpoints" not in path.relative_to(track_dir).parts:
            os.utime(path, (past, past))


def fill_track(engine: Engine, track_id: str, total: int, seed: int) -> dict[str, bytes]:
    contents = mixed_files(total, random.Random(seed))
    for name, data in contents.items():
        engine.add_artifact(track_id, name, data=data)
    return contents


def checkpoint_figures(base: Path, megabytes: float) -> list[tuple[str, str, str, bool | None]]:
    rows: list[tuple[str, str, str, bool | None]] = []
    engine = Engine(base / "checkpoints-root")
    track_id = engine.create("Fifty megabytes")["track_id"]
    engine.transition(track_id, "activate")
    track_dir = engine.tree.track_dir(track_id)
    start = time.perf_counter()
    contents = fill_track(engine, track_id, int(megabytes * MB), seed=1)
    total = sum(map(len, contents.values()))
    text = sum(len(d) for n, d in contents.items() if n.endswith(TEXT_EXTS))
    print(
        f"setup: {len(contents)} artifacts, {total / MB:.1f} MB "
        f"({text / total:.0%} JSON/text), added in {time.perf_counter() - start:.1f} s"
    )

    cold = timed(lambda: engine.create_checkpoint(track_id, reason="cold"))
    first = engine.checkpoint(track_id, "last")
    rows.append((f"checkpoint, {total / MB:.0f} MB, cold", f"{cold:.2f} s", "-", None))

    age_files(track_dir)
    reread = timed(lambda: engine.create_checkpoint(track_id, reason="unchanged"))
    rows.append(
        ("2nd checkpoint, unchanged, files re-read", f"{reread:.3f} s", "< 0.5 s", reread < 0.5)
    )
    warm = statistics.median(
        timed(lambda: engine.create_checkpoint(track_id, reason="unchanged")) for _ in range(3)
    )
    rows.append(
        ("2nd checkpoint, unchanged, stat cache", f"{warm * 1000:.1f} ms", "< 50 ms", warm < 0.05)
    )

    entries = [e for e in first["files"] if e["path"].startswith("context/artifacts/")]
    textual = [e for e in entries if e["path"].endswith(TEXT_EXTS)]
    binary = [e for e in entries if not e["path"].endswith(TEXT_EXTS)]

    def ratio(items: list[dict]) -> float:
        return 1 - sum(e["stored_size"] for e in items) / sum(e["size"] for e in items)

    kinds = [(ext, [e for e in textual if e["path"].endswith(ext)]) for ext in TEXT_EXTS]
    print(
        "compression of the synthetic text by kind (zstd level 3): "
        + ", ".join(f"{ext[1:]} {ratio(items):.0%}" for ext, items in kinds if items)
    )
    rows.append(
        (
            "compression, JSON + text artifacts",
            f"{ratio(textual):.1%}",
            ">= 70%",
            ratio(textual) >= 0.7,
        )
    )
    rows.append(("compression, binary artifacts", f"{ratio(binary):.1%}", "-", None))
    rows.append(
        ("compression, whole track", f"{first['metadata']['compression_ratio']:.1%}", "-", None)
    )

    checkpoint_id = first["checkpoint_id"]
    damage: list = []
    verify = statistics.median(
        timed(lambda: damage.extend(engine.verify_checkpoint(track_id, checkpoint_id)))
        for _ in range(3)
    )
    assert not damage, damage
    size = first["metadata"]["size_bytes"]
    rows.append(("verify throughput", f"{size / MB / verify:.0f} MB/s", "-", None))

    artifacts = track_dir / "context" / "artifacts"
    names = sorted(contents)
    rng = random.Random(2)
    restores = []
    for round_ in range(3):
        for name in rng.sample(names, 4):  # 4 files changed, 1 added
            (artifacts / name).write_bytes(contents[name][:-10] + b"changed!\n")
        (artifacts / f"scratch-{round_}.txt").write_bytes(b"scratch\n" * 1000)
        restores.append(timed(lambda: engine.restore_checkpoint(track_id, checkpoint_id)))
        current = {
            p.relative_to(artifacts).as_posix(): p.read_bytes()
            for p in artifacts.rglob("*")
            if p.is_file()
        }
        assert current == contents, "restore did not bring the artifacts back"
    rows.append(
        (
            "restore, 5 files changed (median of 3)",
            f"{statistics.median(restores):.2f} s",
            "-",
            None,
        )
    )
    return rows


def switch_figures(
    base: Path, tracks: int, switches: int
) -> list[tuple[str, str, str, bool | None]]:
    engine = Engine(base / "switch-root")
    pair = []
    for name, seed in (("Alpha five megabytes", 3), ("Beta five megabytes", 4)):
        track_id = engine.create(name, goal="switch benchmark")["track_id"]
        fill_track(engine, track_id, 5 * MB, seed)
        age_files(engine.tree.track_dir(track_id))
        pair.append(track_id)
    start = time.perf_counter()
    for n in range(tracks - 2):
        engine.create(
            f"Filler track {n:04d}",
            type=("feature", "bugfix", "refactor")[n % 3],
            goal=f"background work item {n} of the registry",
            tags=["filler", f"batch-{n // 100}"],
        )
    built = time.perf_counter() - start
    registry_size = engine.tree.registry.path.stat().st_size
    print(
        f"setup: registry of {len(engine.registry().tracks)} tracks "
        f"({registry_size / 1000:.0f} KB), "
        f"built with Engine.create in {built:.1f} s ({built / (tracks - 2) * 1000:.1f} ms each)"
    )
    alpha, beta = pair
    engine.transition(alpha, "activate")
    cold = [timed(lambda: engine.switch(beta)), timed(lambda: engine.switch(alpha))]
    times = []
    for n in range(switches):
        times.append(timed(lambda n=n: engine.switch(beta if n % 2 == 0 else alpha)))
    assert engine.get_active()["track_id"] == (alpha if switches % 2 == 0 else beta)
    median = statistics.median(times)
    return [
        (
            f"switch, first away from each ({tracks} tracks)",
            " / ".join(f"{t * 1000:.0f}" for t in cold) + " ms",
            "-",
            None,
        ),
        (
            f"switch, 5 MB tracks, {tracks} tracks (median of {switches})",
            f"{median * 1000:.1f} ms",
            "< 100 ms",
            median < 0.1,
        ),
        ("switch, slowest of those", f"{max(times) * 1000:.1f} ms", "-", None),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=50, help="size of the checkpointed track")
    parser.add_argument("--tracks", type=int, default=1000, help="tracks in the switch registry")
    parser.add_argument("--switches", type=int, default=9, help="switches measured")
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-checkpoints-") as scratch:
        base = args.keep or Path(scratch)
        base.mkdir(parents=True, exist_ok=True)
        rows = checkpoint_figures(base, args.mb)
        rows += switch_figures(base, args.tracks, args.switches)
    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'figure':<{width}}  {'measured':>12}  {'target':>9}")
    print("-" * (width + 30))
    for name, value, target, ok in rows:
        verdict = "" if ok is None else ("ok" if ok else "MISSED")
        print(f"{name:<{width}}  {value:>12}  {target:>9}  {verdict}")
    print(
        f"\ntotal run time {time.perf_counter() - started:.0f} s (python {sys.version.split()[0]})"
    )


if __name__ == "__main__":
    main()
