"""When a track will be done: its progress, and how long finished tracks of its type took.

The history is the completed tracks of the same type (archived ones that had completed
too). With an estimate on the track and at least ``NEEDED`` of them estimated, the
forecast scales the remaining work by how far they overran (their actual / estimate
ratios); without, the typical duration of those tracks stands in for the estimate. The
remaining work is the estimate times the share of steps not done yet (no steps: the
estimate less the time spent so far). Time spent is active time: pauses do not count.
The expected finish uses the median, the interval the 10th and 90th percentiles.

Pure functions over track documents and a clock: ``Estimates.forecast`` reads them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .durations import format_duration
from .errors import track_label
from .tracks import active_intervals, iso, parse_time
from .vocab import DONE_STEP_STATUSES, TrackStatus

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

    from .tracks import TrackDoc

__all__ = [
    "ESTIMATE_FIELD",
    "NEEDED",
    "QUANTILES",
    "active_minutes",
    "finished_at",
    "forecast",
    "forecast_text",
    "quantile",
    "track_estimate",
]

ESTIMATE_FIELD = "estimated_duration_minutes"  # the schema's name (a step's timing has it)
NEEDED = 3  # finished tracks of the type, fewer and a forecast would be a guess
QUANTILES = {"low": 0.1, "expected": 0.5, "high": 0.9}


def quantile(values: list[float], q: float) -> float:
    """The ``q`` quantile, interpolated linearly between the sorted values."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def track_estimate(track: TrackDoc) -> int | None:
    value = track.get(ESTIMATE_FIELD)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def finished_at(track: TrackDoc) -> datetime | None:
    """When a track completed (an archived one too, if it had), else None."""
    if track.get("status") not in (TrackStatus.COMPLETED, TrackStatus.ARCHIVED):
        return None
    return parse_time(track.get("completed_at"))


def active_minutes(track: TrackDoc, now: datetime) -> float:
    """Minutes the track was active up to ``now`` (or its completion), pauses left out."""
    end = finished_at(track) or now
    spans = active_intervals(track, end)
    return sum((min(b, end) - a).total_seconds() for a, b in spans if a < end) / 60


def _step_share(track: TrackDoc) -> tuple[int, int]:
    steps = [s for s in track.get("steps") or [] if isinstance(s, dict)]
    return sum(1 for s in steps if s.get("status") in DONE_STEP_STATUSES), len(steps)


def _history(track: TrackDoc, finished: list[TrackDoc]) -> tuple[str, list[float]]:
    """The method and its sample: actual / estimate ratios, or durations in minutes."""
    same = [t for t in finished if t.get("type") == track.get("type")]
    took = [(active_minutes(t, finished_at(t)), track_estimate(t)) for t in same if finished_at(t)]
    took = [(minutes, estimate) for minutes, estimate in took if minutes > 0]
    ratios = [minutes / estimate for minutes, estimate in took if estimate]
    if track_estimate(track) and len(ratios) >= NEEDED:
        return "estimate", ratios
    return "duration", [minutes for minutes, _ in took]


def forecast(track: TrackDoc, finished: list[TrackDoc], now: datetime) -> dict[str, Any]:
    """The forecast of ``track`` given the ``finished`` tracks (any type: those of its
    type are picked) at ``now``: expected finish, low, high and the basis, or why not."""
    done, total = _step_share(track)
    spent = active_minutes(track, now)
    method, sample = _history(track, finished)
    basis: dict[str, Any] = {
        "method": method if len(sample) >= NEEDED else None,
        "history": len(sample),
        "needed": NEEDED,
        "steps_done": done,
        "steps_total": total,
        "active_minutes": round(spent, 1),
        "estimate_minutes": track_estimate(track),
    }
    data: dict[str, Any] = {
        "track_id": track.get("track_id"),
        "name": track.get("name"),
        "type": track.get("type"),
        "status": track.get("status"),
        "forecast": False,
        "expected_finish": None,
        "low": None,
        "high": None,
        "basis": basis,
    }
    if track.get("status") in (TrackStatus.COMPLETED, TrackStatus.ARCHIVED):
        data["reason"] = f"it is {track.get('status')}: nothing left to forecast"
    elif track.get("status") in (TrackStatus.FAILED, TrackStatus.CANCELLED):
        data["reason"] = f"it is {track.get('status')}: it will not finish as it is"
    elif len(sample) < NEEDED:
        data["reason"] = (
            f"too little history to forecast ({len(sample)} {track.get('type')} tracks "
            f"completed, need {NEEDED})"
        )
    else:
        _fill(data, method, sample, now)
    return data


def _fill(data: dict[str, Any], method: str, sample: list[float], now: datetime) -> None:
    """The remaining minutes at each quantile, and the finish moments they give."""
    basis = data["basis"]
    spread = {name: quantile(sample, q) for name, q in QUANTILES.items()}
    basis["ratios" if method == "estimate" else "durations_minutes"] = {
        name: round(value, 3 if method == "estimate" else 1) for name, value in spread.items()
    }
    remaining = {}
    for name, value in spread.items():
        whole = value * basis["estimate_minutes"] if method == "estimate" else value
        if basis["steps_total"]:
            left = whole * (1 - basis["steps_done"] / basis["steps_total"])
        else:
            left = max(0.0, whole - basis["active_minutes"])
        remaining[name] = round(left, 1)
    basis["remaining_minutes"] = remaining
    data["forecast"] = True
    data["expected_finish"] = iso(now + timedelta(minutes=remaining["expected"]))
    data["low"] = iso(now + timedelta(minutes=remaining["low"]))
    data["high"] = iso(now + timedelta(minutes=remaining["high"]))


def _day(value: str | None) -> str:
    moment = parse_time(value)
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "-"


def forecast_text(data: dict[str, Any], *, named: bool = True) -> str:
    """The forecast in one line: the CLI's message, the magic's and (not ``named``: the
    track is plain to see there) the panel's."""
    label = f"{track_label(str(data['track_id']), data.get('name'))}: " * named
    basis = data["basis"]
    if not data["forecast"]:
        return f"{label}{data['reason']}"
    steps = f"{basis['steps_done']}/{basis['steps_total']} steps done, " * bool(
        basis["steps_total"]
    )
    if basis["method"] == "estimate":
        ratios = basis["ratios"]
        how = (
            f"estimate {format_duration(basis['estimate_minutes'])} scaled by "
            f"{basis['history']} completed {data['type']} tracks (actual/estimate "
            f"{ratios['low']:.2f}-{ratios['high']:.2f}, median {ratios['expected']:.2f})"
        )
    else:
        typical = basis["durations_minutes"]
        how = (
            f"{basis['history']} completed {data['type']} tracks took "
            f"{format_duration(typical['low'])} to {format_duration(typical['high'])} "
            f"(median {format_duration(typical['expected'])})"
        )
    return (
        f"{label}expected to finish {_day(data['expected_finish'])} "
        f"(between {_day(data['low'])} and {_day(data['high'])}); {steps}"
        f"{format_duration(basis['active_minutes'])} active so far; {how}"
    )
