"""What recording a cell costs the cell (figures, not a test).

    .venv/bin/python benchmarks/bench_provenance.py [--tracks 1000] [--cells 2000]

In-process IPython, on a root of N tracks with one active:

1. a bare ``run_cell`` of a small cell with recording off (``TrackMagics.provenance =
   False``), and the same cell recorded: the per-cell overhead is the difference of the
   medians (noisy: it is a difference of two timings of the whole cell);
2. the recorder's own hooks (``pre_run_cell`` + ``post_run_cell``: locating the root,
   the active track, the source's sha256, one appended line), timed alone.

Target: under 1 ms per cell.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from IPython.testing import globalipapp

from conductor_nb.engine import Engine

CELL = "total = sum(range(100))\n"


def build(root: Path, count: int) -> None:
    engine = Engine(root)
    for i in range(count):
        engine.create(f"Track number {i}", type=("feature", "bugfix", "refactor")[i % 3])
    engine.transition("Track number 0", "activate")


def timed_cells(shell, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        shell.run_cell(CELL)
        times.append(time.perf_counter() - started)
    return times


def timed_hooks(recorder, count: int) -> list[float]:
    info = SimpleNamespace(raw_cell=CELL, cell_id="bench-cell")
    result = SimpleNamespace(execution_count=1, error_in_exec=None, error_before_exec=None)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        recorder.pre_run_cell(info)
        recorder.post_run_cell(result)
        times.append(time.perf_counter() - started)
    return times


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[int(len(ordered) * 0.95)]
    return f"median {statistics.median(values) * 1000:.3f} ms, p95 {p95 * 1000:.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tracks", type=int, default=1000)
    parser.add_argument("--cells", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / ".claude" / "conductor"
        build(root, args.tracks)
        globalipapp.start_ipython()
        shell = globalipapp.get_ipython()
        shell.extension_manager.load_extension("conductor_nb")
        from conductor_nb.notebook.extension import _loaded

        magics = _loaded[id(shell)]
        magics._root = root
        timed_cells(shell, 200)  # warm both paths
        magics.provenance = False
        bare = timed_cells(shell, args.cells)
        magics.provenance = True
        recorded = timed_cells(shell, args.cells)
        hooks = timed_hooks(magics.recorder, args.cells)
        overhead = statistics.median(recorded) - statistics.median(bare)
        print(f"{args.tracks} tracks, {args.cells} cells of {CELL.strip()!r}")
        print(f"  bare run_cell (recording off): {ms(bare)}")
        print(f"  run_cell recorded:             {ms(recorded)}")
        print(f"  per-cell overhead (medians):   {overhead * 1000:.3f} ms")
        print(f"  the recorder's hooks alone:    {ms(hooks)}")
        magics.close()


if __name__ == "__main__":
    main()
