"""matplotlib charts of the analytics frames: each draws on an Axes you give it (so they
work with pyplot in a notebook and without it, as PNGs for the notebook panel).

    fig, ax = plt.subplots(figsize=(9, 4))
    charts.cumulative_flow(analytics, ax)
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..colours import STATUS_COLOURS
from ..vocab import TYPICAL_DAYS, TrackType
from .stats import wilson_arrays

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .frames import Analytics

__all__ = [
    "CHARTS",
    "cumulative_flow",
    "durations",
    "figure",
    "png",
    "success",
    "throughput",
    "timeline",
]

DAY = pd.Timedelta(days=1)
# Bottom to top in a cumulative flow diagram: done work at the bottom, new work on top.
FLOW_ORDER = ("archived", "completed", "cancelled", "failed", "paused", "active", "ready", "draft")
TIMELINE_STATUSES = ("draft", "ready", "active", "paused", "failed")


def _date_axis(ax: Axes) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _naive(times: pd.Series) -> np.ndarray:
    """UTC instants as naive datetime64 (what matplotlib's date axis takes)."""
    return times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()


def durations(a: Analytics, ax: Axes, measure: str = "cycle_time") -> Axes:
    """Box plot of a duration (days) of completed tracks by type, with the seed's typical
    range of each type shaded."""
    tracks = a.tracks()
    done = tracks[tracks["outcome"] == "completed"]
    groups = [
        (kind, (group[measure] / DAY).dropna().to_numpy())
        for kind, group in done.groupby("type", observed=True)
    ]
    groups = [(kind, values) for kind, values in groups if len(values)]
    if not groups:
        ax.text(0.5, 0.5, "no completed tracks yet", ha="center", transform=ax.transAxes)
        return ax
    positions = np.arange(1, len(groups) + 1)
    for position, (kind, _) in zip(positions, groups, strict=True):
        typical = TYPICAL_DAYS.get(TrackType(kind))
        if typical:
            low, high = typical
            ax.bar(position, high - low, bottom=low, width=0.8, color="#16a34a", alpha=0.15)
    ax.boxplot([values for _, values in groups], positions=positions, widths=0.5)
    ax.set_xticks(positions, [kind for kind, _ in groups], rotation=35, ha="right")
    ax.set_ylabel(f"{measure.replace('_', ' ')} (days)")
    ax.set_title(f"{measure.replace('_', ' ').capitalize()} of completed tracks by type")
    ax.text(
        0.99, 0.97, "shaded: typical range", ha="right", va="top", transform=ax.transAxes,
        fontsize=8, color="#166534",
    )  # fmt: skip
    return ax


def success(a: Analytics, ax: Axes, by: str = "type") -> Axes:
    """Success rate per group with its 95% Wilson interval; n = closed tracks."""
    rates = a.success(by)
    if a.multi:
        rates = rates.groupby(by, observed=True, as_index=False)[
            ["completed", "failed", "cancelled", "closed"]
        ].sum()
        rate, low, high = wilson_arrays(rates["completed"], rates["closed"])
        rates["success_rate"], rates["ci_low"], rates["ci_high"] = rate, low, high
    if rates.empty:
        ax.text(0.5, 0.5, "no closed tracks yet", ha="center", transform=ax.transAxes)
        return ax
    x = np.arange(len(rates))
    errors = np.vstack(
        [rates["success_rate"] - rates["ci_low"], rates["ci_high"] - rates["success_rate"]]
    ).clip(0)  # p = 1 can sit a rounding error above its upper bound
    ax.bar(x, rates["success_rate"], color="#0d9488", alpha=0.8)
    ax.errorbar(x, rates["success_rate"], yerr=errors, fmt="none", ecolor="#111827", capsize=3)
    for position, count in zip(x, rates["closed"], strict=True):
        ax.text(position, 0.02, f"n={count}", ha="center", fontsize=7, color="white")
    ax.set_xticks(x, [str(v) for v in rates[by]], rotation=35, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("completed / closed")
    ax.set_title(f"Success rate by {by} (95% Wilson interval)")
    return ax


def throughput(a: Analytics, ax: Axes, freq: str = "W") -> Axes:
    """Tracks completed per period, with failures and cancellations stacked above."""
    flow = a.flow(freq)
    if a.multi:
        flow = flow.groupby("period", as_index=False)[
            ["throughput", "failures", "cancellations"]
        ].sum()
    x = _naive(flow["period"])
    width = {"D": 0.8, "W": 5.5, "M": 24}[freq]
    bottom = np.zeros(len(flow))
    for column, colour in (
        ("throughput", STATUS_COLOURS["completed"]),
        ("failures", STATUS_COLOURS["failed"]),
        ("cancellations", STATUS_COLOURS["cancelled"]),
    ):
        values = flow[column].to_numpy()
        ax.bar(x, values, bottom=bottom, width=width, color=colour, label=column, align="edge")
        bottom = bottom + values
    ax.set_ylabel("tracks")
    ax.set_title({"D": "Daily", "W": "Weekly", "M": "Monthly"}[freq] + " throughput")
    ax.legend(loc="upper left", fontsize=8)
    _date_axis(ax)
    return ax


def cumulative_flow(a: Analytics, ax: Axes, freq: str = "D") -> Axes:
    """Tracks in each status at the end of every period, stacked (a cumulative flow
    diagram): bands that widen show where work piles up."""
    flow = a.flow(freq)
    if a.multi:
        flow = flow.groupby("period", as_index=False)[list(FLOW_ORDER)].sum()
    x = _naive(flow["period"])
    ax.stackplot(
        x,
        *[flow[status].to_numpy() for status in FLOW_ORDER],
        labels=list(FLOW_ORDER),
        colors=[STATUS_COLOURS[status] for status in FLOW_ORDER],
        alpha=0.85,
    )
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], labels[::-1], loc="upper left", fontsize=8)
    ax.set_ylabel("tracks")
    ax.set_title("Cumulative flow")
    _date_axis(ax)
    return ax


def timeline(a: Analytics, ax: Axes, limit: int = 30) -> Axes:
    """A Gantt-style timeline of the ``limit`` most recently created tracks: one row per
    track, one bar per stretch in a status; a dot marks completion, a cross failure or
    cancellation."""
    from matplotlib.patches import Patch

    tracks = a.tracks().sort_values(["created_at", "track_id"]).tail(limit)
    if tracks.empty:
        ax.text(0.5, 0.5, "no tracks yet", ha="center", transform=ax.transAxes)
        return ax
    keys = ["project", "track_id"] if a.multi else ["track_id"]
    row = pd.Series(np.arange(len(tracks)), index=pd.MultiIndex.from_frame(tracks[keys]))
    events = a.transitions()
    events = events[events["to"].isin(TIMELINE_STATUSES) & events["time_in_status"].notna()]
    events = events.merge(row.rename("row").reset_index(), on=keys, how="inner")
    for status in TIMELINE_STATUSES:
        part = events[events["to"] == status]
        if part.empty:
            continue
        ax.barh(
            part["row"],
            (part["time_in_status"] / DAY).to_numpy(),
            left=_naive(part["at"]),
            height=0.6,
            color=STATUS_COLOURS[status],
        )
    for outcome, marker in (("completed", "o"), ("failed", "x"), ("cancelled", "x")):
        done = tracks[tracks["outcome"] == outcome]
        ax.scatter(
            _naive(done["done_at"]),
            np.flatnonzero((tracks["outcome"] == outcome).to_numpy()),
            marker=marker,
            color=STATUS_COLOURS[outcome],
            zorder=3,
            s=18,
        )
    ax.set_yticks(np.arange(len(tracks)), [_short(name) for name in tracks["name"]], fontsize=7)
    ax.invert_yaxis()
    _date_axis(ax)
    ax.set_title(f"Timeline of the {len(tracks)} most recent tracks")
    ax.legend(
        handles=[Patch(color=STATUS_COLOURS[s], label=s) for s in TIMELINE_STATUSES],
        loc="lower left",
        fontsize=7,
        ncols=5,
    )
    return ax


def _short(name: object, width: int = 32) -> str:
    text = str(name)
    return text if len(text) <= width else text[: width - 1] + "…"


CHARTS = {
    "Durations": (durations, (8, 4)),
    "Success": (success, (8, 4)),
    "Throughput": (throughput, (8, 3.5)),
    "Cumulative flow": (cumulative_flow, (8, 4)),
    "Timeline": (timeline, (9, 6)),
}


def figure(a: Analytics, name: str) -> Figure:
    """One of ``CHARTS`` on a new Figure (no pyplot: nothing is shown or kept open)."""
    from matplotlib.figure import Figure

    draw, size = CHARTS[name]
    fig = Figure(figsize=size, layout="constrained")
    draw(a, fig.subplots())
    return fig


def png(fig: Figure, dpi: int = 90) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
