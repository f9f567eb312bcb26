"""The key figures of ``Analytics.summary()`` as a few lines of text (the terminal's
``conductor analytics``, and the text of the notebook panel). No pandas here."""

from __future__ import annotations

from typing import Any

__all__ = [
    "days",
    "path_text",
    "percent",
    "runs_text",
    "success_line",
    "success_text",
    "summary_text",
]


def percent(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{100 * value:.{digits}f}%"


def days(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 24:.1f} h" if value < 1 else f"{value:.1f} d"


def success_text(summary: dict[str, Any]) -> str:
    """The success rate, without a label (a panel's row says "success")."""
    if not summary.get("closed"):
        return "no closed tracks yet"
    return (
        f"{percent(summary['success_rate'])} "
        f"(95% CI {percent(summary['ci_low'])} to {percent(summary['ci_high'])}): "
        f"{summary['completed']} completed, {summary['failed']} failed, "
        f"{summary['cancelled']} cancelled"
    )


def success_line(summary: dict[str, Any]) -> str:
    text = success_text(summary)
    return f"success: {text}" if not summary.get("closed") else f"success {text}"


def runs_text(summary: dict[str, Any]) -> str:
    """How many workflow runs, and what share of the finished ones failed."""
    runs, rate = summary["runs"], summary.get("run_failure_rate")
    if not runs:
        return "none"
    if rate is None:
        return f"{runs}, none finished yet"
    return f"{runs}, {percent(rate)} of the finished ones failed"


def path_text(summary: dict[str, Any]) -> str:
    """The most common path through the statuses, and the share of tracks on it."""
    path, share = summary.get("top_path"), percent(summary.get("top_path_share"), 0)
    if not path:
        return "-"
    if " > " not in path:  # tracks that never moved
        return f"still {path}, no transition yet ({share} of tracks)"
    return f"{path} ({share} of tracks)"


def summary_text(summary: dict[str, Any]) -> str:
    projects = summary.get("projects") or []
    lines = [
        f"{summary['tracks']} tracks ({summary['open']} open, {summary['wip']} in progress), "
        f"{summary['transitions']} transitions"
        + (f", {len(projects)} projects" if len(projects) > 1 else "")
        + f"; as of {str(summary['as_of'])[:16].replace('T', ' ')} UTC",
        success_line(summary),
        f"completed tracks: median lead time {days(summary['median_lead_days'])}, "
        f"cycle time {days(summary['median_cycle_days'])}, "
        f"active time {days(summary['median_active_days'])}",
        f"throughput: {summary['completed_last_4_weeks']} completed in the last 4 weeks",
        f"overruns: {summary['overruns']} tracks beyond their type's typical duration "
        f"({summary['overruns_open']} still open)",
        f"runs: {runs_text(summary)}",
    ]
    if summary.get("top_path"):
        lines.append(f"most common path: {path_text(summary)}")
    if summary.get("reconstructed_histories"):
        lines.append(
            f"{summary['reconstructed_histories']} tracks have no recorded history: "
            "their durations come from their timestamps"
        )
    return "\n".join(lines)
