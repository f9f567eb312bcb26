"""The key figures of ``Analytics.summary()`` as a few lines of text (the terminal's
``conductor analytics``, and the text of the notebook panel). No pandas here."""

from __future__ import annotations

from typing import Any

__all__ = ["days", "percent", "success_line", "summary_text"]


def percent(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{100 * value:.{digits}f}%"


def days(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 24:.1f} h" if value < 1 else f"{value:.1f} d"


def success_line(summary: dict[str, Any]) -> str:
    if not summary.get("closed"):
        return "success: no closed tracks yet"
    return (
        f"success {percent(summary['success_rate'])} "
        f"(95% CI {percent(summary['ci_low'])} to {percent(summary['ci_high'])}): "
        f"{summary['completed']} completed, {summary['failed']} failed, "
        f"{summary['cancelled']} cancelled"
    )


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
        f"runs: {summary['runs']}, {percent(summary['run_failure_rate'])} of finished ones failed",
    ]
    if summary.get("top_path"):
        lines.append(
            f"most common path ({percent(summary['top_path_share'], 0)} of tracks): "
            f"{summary['top_path']}"
        )
    if summary.get("reconstructed_histories"):
        lines.append(
            f"{summary['reconstructed_histories']} tracks have no recorded history: "
            "their durations come from their timestamps"
        )
    return "\n".join(lines)
