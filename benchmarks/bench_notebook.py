"""Notebook start-up and %track list latency (figures, not a test).

    .venv/bin/python benchmarks/bench_notebook.py [--tracks 1000]

1. In a fresh kernel with auto-load turned off: the time of `%load_ext conductor_nb`
   plus the first `%track list` (what a user pays beyond IPython's own start), beside
   the kernel's start itself. Target: under 300 ms beyond IPython's start.
2. In-process: `%track list` at N tracks, warm (median and p95). Target: under 50 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from jupyter_client.manager import start_new_kernel

from conductor_nb.engine import Engine


def build(root: Path, count: int) -> None:
    engine = Engine(root)
    for i in range(count):
        engine.create(f"Track number {i}", type=("feature", "bugfix", "refactor")[i % 3])
    engine.transition("Track number 0", "activate")


def kernel_figures(root: Path, ipython_dir: Path, *, pause: bool) -> tuple[float, float, float]:
    """Kernel start, %load_ext, first %track list (after a 1 s pause when ``pause``)."""
    profile = ipython_dir / "profile_default"
    profile.mkdir(parents=True, exist_ok=True)
    (profile / "ipython_kernel_config.py").write_text(
        "c.InteractiveShellApp.extra_extensions = []\n"
    )
    os.environ.update(IPYTHONDIR=str(ipython_dir), CONDUCTOR_ROOT=str(root))
    started = time.perf_counter()
    km, kc = start_new_kernel(kernel_name="python3", startup_timeout=90)
    try:
        kc.execute_interactive("pass", timeout=60)
        kernel_start = time.perf_counter() - started
        out: list[str] = []
        code = (
            "import time\n"
            "_t = time.perf_counter()\n"
            "get_ipython().run_line_magic('load_ext', 'conductor_nb')\n"
            "_load = time.perf_counter() - _t\n"
            + ("time.sleep(1)\n" if pause else "")
            + "_t1 = time.perf_counter()\n"
            "_df = get_ipython().run_line_magic('track', 'list')\n"
            "print(_load, time.perf_counter() - _t1, len(_df))\n"
        )
        kc.execute_interactive(
            code,
            timeout=60,
            output_hook=lambda m: m["msg_type"] == "stream" and out.append(m["content"]["text"]),
        )
        load, first_list, _rows = "".join(out).split()
        return kernel_start, float(load), float(first_list)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def warm_list(root: Path, repeats: int) -> list[float]:
    from IPython.testing import globalipapp

    globalipapp.start_ipython()
    shell = globalipapp.get_ipython()
    shell.extension_manager.load_extension("conductor_nb")
    shell.run_line_magic("track", f"list --root {root}")
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        shell.run_line_magic("track", f"list --root {root}")
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        started = time.perf_counter()
        build(root, args.tracks)
        elapsed = time.perf_counter() - started
        print(f"built {args.tracks} tracks through the engine in {elapsed:.1f} s")
        kernel_start, load, first_list = kernel_figures(root, Path(tmp) / "ipython", pause=False)
        times = sorted(warm_list(root, args.repeats))
    p95 = times[int(len(times) * 0.95) - 1]
    rows = [
        ("kernel start (IPython's own, to first reply)", f"{kernel_start * 1000:.0f} ms", ""),
        ("%load_ext conductor_nb", f"{load * 1000:.1f} ms", ""),
        (
            f"first %track list ({args.tracks} tracks, imports pandas)",
            f"{first_list * 1000:.1f} ms",
            "",
        ),
        (
            "load + first list, beyond IPython's start",
            f"{(load + first_list) * 1000:.0f} ms",
            "< 300 ms",
        ),
        (
            f"%track list warm, {args.tracks} tracks: median / p95",
            f"{statistics.median(times) * 1000:.1f} / {p95 * 1000:.1f} ms",
            "< 50 ms",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>16}  {target}")


if __name__ == "__main__":
    main()
