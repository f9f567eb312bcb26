"""The report's charts, drawn with matplotlib (no pyplot: nothing global, no display)
into PNG bytes the renderers embed: time spent per status, each run's metrics over time,
and the runs' durations. User text in a chart (a metric's name) is drawn as text, never
parsed as math."""

from __future__ import annotations

import io
import math
from collections import namedtuple
from datetime import UTC
from typing import Any

import matplotlib
import matplotlib.dates as mdates
from matplotlib.figure import Figure

from ..colours import STATUS_COLOURS
from ..tracks import parse_time

__all__ = ["MAX_METRICS", "Chart", "draw_all", "metrics_chart", "runs_chart", "status_chart"]

# The most metrics charted (the first ones logged; the runs table lists every one), and
# the most runs named in a panel's legend.
MAX_METRICS = 6
MAX_LEGEND = 10
_GREY = "#6b7280"
_UNITS = ((86_400, "days"), (3_600, "hours"), (60, "minutes"), (1, "seconds"))


class Chart(namedtuple("Chart", "key title png")):
    """One chart: a stable ``key``, its ``title`` (alt text) and its ``png`` bytes."""

    __slots__ = ()


def draw_all(facts: dict[str, Any]) -> list[Chart]:
    """Every chart the facts have data for, in the order the report shows them."""
    charts = [status_chart(facts["time_in_status"]), runs_chart(facts["runs"])]
    charts.append(metrics_chart(facts["runs"]))
    return [chart for chart in charts if chart is not None]


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return buffer.getvalue()


def _unit(longest: float) -> tuple[float, str]:
    """The largest unit in which the longest duration is at least 2 of them."""
    return next(((size, name) for size, name in _UNITS if longest >= 2 * size), _UNITS[-1])


def status_chart(spent: list[dict[str, Any]]) -> Chart | None:
    """Horizontal bars: the time the track spent in each status."""
    if not spent:
        return None
    size, unit = _unit(max(item["seconds"] for item in spent))
    with matplotlib.rc_context({"text.parse_math": False}):
        fig = Figure(figsize=(7, 0.5 + 0.45 * len(spent)), layout="constrained")
        ax = fig.add_subplot()
        labels = [item["status"] for item in spent][::-1]
        values = [item["seconds"] / size for item in spent][::-1]
        colours = [STATUS_COLOURS.get(label, _GREY) for label in labels]
        ax.barh(labels, values, color=colours)
        ax.set_xlabel(unit)
        ax.set_title("Time spent per status")
        return Chart("time-in-status", "Time spent per status", _png(fig))


def runs_chart(runs: list[dict[str, Any]]) -> Chart | None:
    """Bars: each finished run's duration, coloured by its status."""
    timed = [r for r in runs if isinstance(r.get("duration_ms"), int | float)]
    if not timed:
        return None
    size, unit = _unit(max(r["duration_ms"] for r in timed) / 1000)
    with matplotlib.rc_context({"text.parse_math": False}):
        fig = Figure(figsize=(7, 3), layout="constrained")
        ax = fig.add_subplot()
        labels = [str(r.get("run_id")) for r in timed]
        values = [r["duration_ms"] / 1000 / size for r in timed]
        colours = [_run_colour(r.get("status")) for r in timed]
        ax.bar(range(len(timed)), values, color=colours)
        ax.set_xticks(range(len(timed)), labels, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel(unit)
        ax.set_title("Duration of the workflow runs")
        return Chart("run-durations", "Duration of the workflow runs", _png(fig))


def _run_colour(status: Any) -> str:
    return {"completed": "#0d9488", "failed": "#dc2626", "running": "#16a34a"}.get(
        str(status), _GREY
    )


def _series(runs: list[dict[str, Any]]) -> dict[str, dict[str, list[tuple[Any, float]]]]:
    """metric name -> run id -> (time, value) points, in the order first logged; values
    that are not finite (a NaN loss) leave a gap."""
    found: dict[str, dict[str, list[tuple[Any, float]]]] = {}
    for run in runs:
        for row in run.get("metric_series") or []:
            at, value = parse_time(row.get("time")), row.get("value")
            if at is None or not isinstance(value, int | float) or not math.isfinite(value):
                continue
            points = found.setdefault(str(row.get("key")), {}).setdefault(str(run["run_id"]), [])
            points.append((at, float(value)))
    return found


def metrics_chart(runs: list[dict[str, Any]]) -> Chart | None:
    """One panel per metric (the first ``MAX_METRICS``): its values over time, a line
    per run."""
    series = _series(runs)
    if not series:
        return None
    names = list(series)[:MAX_METRICS]
    with matplotlib.rc_context({"text.parse_math": False}):
        fig = Figure(figsize=(7, 2.4 * len(names)), layout="constrained")
        axes = fig.subplots(len(names), 1, squeeze=False)[:, 0]
        for ax, name in zip(axes, names, strict=True):
            _plot_runs(ax, series[name])
            ax.set_title(name, loc="left", fontsize=10)
        axes[-1].set_xlabel("time (UTC)")
        fig.suptitle("Metrics of the workflow runs over time")
        return Chart("run-metrics", "Metrics of the workflow runs over time", _png(fig))


def _plot_runs(ax: Any, runs: dict[str, list[tuple[Any, float]]]) -> None:
    """A line per run on a UTC date axis (matplotlib takes naive datetimes)."""
    for run_id, points in runs.items():
        times = [at.astimezone(UTC).replace(tzinfo=None) for at, _ in points]
        ax.plot(times, [value for _, value in points], marker=".", label=run_id)
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    if len(runs) <= MAX_LEGEND:
        ax.legend(fontsize=7, loc="best")
