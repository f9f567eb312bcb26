"""What ``%track stats`` and ``%track analytics`` show in a notebook.

``StatsSummary``: the registry's counts and the success rate, compact. ``AnalyticsPanel``:
an ipywidgets VBox with the key figures and a Tab of charts (PNG images rendered with
matplotlib, without pyplot). Both have a short, stable text repr (what nbval compares)
and escape every piece of user text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ipywidgets as widgets

from ..analytics.outcomes import OUTCOMES
from ..analytics.report import days, path_text, percent, runs_text, success_text
from ..analytics.stats import wilson
from ..errors import track_label
from .display import badge, escape, html_rows

__all__ = ["AnalyticsPanel", "StatsSummary", "key_figures_html"]


class StatsSummary:
    """``%track stats``: counts by status, type and priority, and the success rate
    (completed / closed). ``archived_outcomes``: how many archived tracks ended in each
    outcome (``analytics.outcomes.read_archived_outcomes``, the frames' rule); an archived
    track whose outcome is unknown (None) counts in none. ``active_name``: the active
    track's name, shown with its id. ``.data`` holds the figures."""

    def __init__(
        self,
        stats: dict[str, Any],
        archived_outcomes: Mapping[str | None, int] | None = None,
        active_name: str | None = None,
    ) -> None:
        by_status = stats["by_status"]
        had = archived_outcomes or {}
        ended = {name: by_status.get(name, 0) + had.get(name, 0) for name in OUTCOMES}
        completed, failed, cancelled = ended["completed"], ended["failed"], ended["cancelled"]
        closed = sum(ended.values())
        low, high = wilson(completed, closed)
        open_count = sum(by_status.get(s, 0) for s in ("draft", "ready", "active", "paused"))
        self.data = {
            **stats,
            "open": open_count,
            "completed": completed,
            "failed": failed,
            "cancelled": cancelled,
            "closed": closed,
            "success_rate": completed / closed if closed else None,
            "ci_low": low if closed else None,
            "ci_high": high if closed else None,
            "active_name": active_name,
        }

    def __repr__(self) -> str:
        d = self.data
        rate = (
            f"success {percent(d['success_rate'], 0)} of {d['closed']} closed "
            f"[{percent(d['ci_low'], 0)}, {percent(d['ci_high'], 0)}]"
            if d["closed"]
            else "none closed yet"
        )
        return (
            f"Stats({d['total']} tracks: {d['open']} open, {d['completed']} completed, "
            f"{d['failed']} failed, {d['cancelled']} cancelled; {rate}; "
            f"active: {_active(d)})"
        )

    def _repr_html_(self) -> str:
        d = self.data
        statuses = " ".join(f"{badge(s)} {escape(n)}" for s, n in d["by_status"].items() if n)
        groups = [
            [
                escape(group.replace("by_", "")),
                escape(", ".join(f"{k} {v}" for k, v in d[group].items())),
            ]
            for group in ("by_type", "by_priority")
        ]
        success = (
            f"{percent(d['success_rate'])} of {escape(d['closed'])} closed "
            f"(95% CI {percent(d['ci_low'])} to {percent(d['ci_high'])})"
            if d["closed"]
            else "no closed tracks yet"
        )
        return (
            f"<div class='conductor-stats'><b>{escape(d['total'])} tracks</b> &middot; active: "
            f"{_active_html(d)}<div>{statuses or '-'}</div>"
            f"<div><b>Success:</b> {success}</div>{html_rows(['', 'counts'], groups)}</div>"
        )


def _active(d: dict[str, Any]) -> str:
    if not d["active_track"]:
        return "none"
    return track_label(d["active_track"], d.get("active_name"))


def _active_html(d: dict[str, Any]) -> str:
    if not d["active_track"]:
        return "none"
    name = f"<b>{escape(d['active_name'])}</b> " if d.get("active_name") else ""
    return f"{name}<code>{escape(d['active_track'])}</code>"


def key_figures_html(summary: dict[str, Any]) -> str:
    s = summary
    rows = [
        [
            "tracks",
            f"{escape(s['tracks'])} ({escape(s['open'])} open, {escape(s['wip'])} in progress)",
        ],
        ["success", escape(success_text(s))],
        ["median lead time", escape(days(s["median_lead_days"]))],
        ["median cycle time", escape(days(s["median_cycle_days"]))],
        ["median active time", escape(days(s["median_active_days"]))],
        ["completed, last 4 weeks", escape(s["completed_last_4_weeks"])],
        ["overruns", f"{escape(s['overruns'])} ({escape(s['overruns_open'])} still open)"],
        ["workflow runs", escape(runs_text(s))],
        ["most common path", escape(path_text(s))],
    ]
    if len(s.get("projects") or []) > 1:
        rows.insert(0, ["projects", escape(", ".join(s["projects"]))])
    body = "".join(
        f"<tr><th style='text-align:left;padding-right:12px'>{escape(k)}</th><td>{v}</td></tr>"
        for k, v in rows
    )
    return (
        f"<div class='conductor-analytics'><h4 style='margin:4px 0'>Track analytics</h4>"
        f"<div style='color:#6b7280'>as of {escape(str(s['as_of'])[:16].replace('T', ' '))} UTC"
        f"</div><table>{body}</table></div>"
    )


class AnalyticsPanel(widgets.VBox):
    """``%track analytics``: key figures above a Tab of charts. ``.analytics`` is the
    ``conductor_nb.analytics.Analytics`` behind it (every frame), ``.summary`` the
    figures."""

    def __init__(self, analytics: Any, summary: dict[str, Any] | None = None) -> None:
        from ..analytics import charts

        summary = summary if summary is not None else analytics.summary()
        names = list(charts.CHARTS) if summary["tracks"] else []
        images = [
            widgets.Image(value=charts.png(charts.figure(analytics, name)), format="png")
            for name in names
        ]
        tabs = widgets.Tab(children=images)
        tabs.titles = names
        super().__init__(children=[widgets.HTML(key_figures_html(summary)), tabs])
        self.analytics = analytics
        self.summary = summary
        self.chart_names = names

    def __repr__(self) -> str:
        s = self.summary
        rate = (
            f"success {percent(s['success_rate'], 0)} "
            f"[{percent(s['ci_low'], 0)}, {percent(s['ci_high'], 0)}]"
            if s["closed"]
            else "none closed"
        )
        return f"AnalyticsPanel({s['tracks']} tracks, {rate}, {len(self.chart_names)} charts)"
