"""The cost of logging a metric: 1,000 ``run.log`` calls inside ``conductor_nb.run`` beside
1,000 ``mlflow.log_metric`` calls on a local SQLite tracking store, in the same folder on
the same disk, in one run (figures, not a test). For reference, it also times the design
the metrics file replaces: rewriting run.json through the root's lock on every call.

    /tmp/bench-venv/bin/python benchmarks/bench_runs.py      # with mlflow (PYTHONPATH=.)
    .venv/bin/python benchmarks/bench_runs.py                # ours alone, with a note
    ... [--calls 1000] [--dir FOLDER]

Every ``run.log`` that returns is durable (one append, one fdatasync), as an MLflow
``log_metric`` that returns is committed to SQLite. Target (issue #19): the 1,000
``run.log`` calls take less time in total than the 1,000 ``mlflow.log_metric`` calls.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from conductor_nb.engine import Engine
from conductor_nb.tracking import TrackedRun


def timed(call: Callable[[int], object], count: int) -> list[float]:
    """Milliseconds of each of ``count`` calls (after one warm-up call)."""
    call(-1)
    times = []
    for i in range(count):
        started = time.perf_counter_ns()
        call(i)
        times.append((time.perf_counter_ns() - started) / 1e6)
    return times


def line(label: str, times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{label:<44} median {statistics.median(times):7.3f} ms   p99 {p99:7.3f} ms   "
        f"total {sum(times) / 1000:6.2f} s"
    )


def ours(folder: Path, count: int) -> tuple[list[float], list[float]]:
    engine = Engine(folder / "conductor")
    engine.create("Benchmark")
    engine.transition("Benchmark", "activate")
    with TrackedRun(engine, "bench") as run:
        logs = timed(lambda i: run.log(step=max(i, 0), loss=1.0 / (i + 2)), count)
        rewrites = timed(lambda i: engine.heartbeat(run.track_id, run.run_id), count // 5)
    assert len(run.metrics()) == count + 1
    return logs, rewrites


def theirs(folder: Path, count: int) -> list[float] | None:
    try:
        import mlflow
    except ImportError:
        return None
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    mlflow.set_experiment("bench")
    with mlflow.start_run():
        return timed(lambda i: mlflow.log_metric("loss", 1.0 / (i + 2), step=max(i, 0)), count)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--dir", help="where to make the stores (default: the temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-runs-", dir=args.dir) as tmp:
        folder = Path(tmp)
        print(f"{args.calls} calls each, stores in {folder} (python {sys.version.split()[0]})")
        logs, rewrites = ours(folder, args.calls)
        print(line("conductor_nb run.log (append + fdatasync)", logs))
        print(line("  for reference: run.json rewrite, locked", rewrites))
        mlflow_times = theirs(folder, args.calls)
        if mlflow_times is None:
            print(
                "mlflow is not importable here: run with a venv that has it, e.g.\n"
                f"  bash /work/shared/bench/setup.sh && PYTHONPATH={os.getcwd()} "
                "/tmp/bench-venv/bin/python benchmarks/bench_runs.py"
            )
            return 0
        import mlflow

        print(line(f"mlflow {mlflow.__version__} log_metric (SQLite)", mlflow_times))
        ratio = sum(mlflow_times) / sum(logs)
        verdict = "faster" if sum(logs) < sum(mlflow_times) else "SLOWER"
        print(f"run.log is {verdict}: {ratio:.1f}x the speed of mlflow.log_metric in total")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
