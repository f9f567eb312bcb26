"""``%track show``: one track as a live ipywidgets panel.

The panel shows the goal and success criteria, progress, and tabs for the steps (a
checklist that can be ticked), decisions (with a form to record one), assumptions,
artifacts, workflow runs, the timeline of transitions and the checkpoint history (create,
verify, diff against the current state, restore after a confirmation). Transition
buttons sit under the header. Every action goes through the engine; its result or its
error shows in the panel's message line.

Each tab is reloaded only when its own files changed (``signature``), so a refresh reads
little; values that did not change are not sent again (no flicker). The text form and
the HTML fallback are ``TrackView``'s: the rich repr of part 1 of the workbench.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from ..assumption_checks import checks_summary
from ..engine import Engine
from ..errors import InvalidInput
from ..lifecycle import transition_verbs
from ..provenance import CELLS_FILE, ROTATED_FILE, notebook_summary, read_cells
from ..run_records import METRICS_FILE, latest_metrics, read_metrics
from ..store.paths import project_dir
from ..tracks import parse_time, reconstruct_history
from ..vocab import DONE_STEP_STATUSES, FINISHED_STATUSES, AssumptionStatus
from . import watch
from .assumption_views import attention_html, check_cell, checks_html
from .controls import (
    ConfirmBar,
    MessageLine,
    button_pool,
    close_tree,
    set_buttons,
)
from .dependency_view import dependency_html, read_dependencies
from .display import TrackView, badge, escape
from .family import family_html
from .forecast_view import forecast_html, load_forecast
from .live import AfterAction, LiveWidget

__all__ = ["StepRow", "TrackPanel", "when"]

SECTIONS = ("track", "decisions", "assumptions", "artifacts", "runs", "cells", "checkpoints")
TAB_TITLES = (
    "Steps",
    "Decisions",
    "Assumptions",
    "Artifacts",
    "Runs",
    "Cells",
    "Timeline",
    "Checkpoints",
)


def _split(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


_CELL = "style='text-align:left;padding:2px 12px 2px 0;vertical-align:top'"


def when(value: Any) -> str:
    """A timestamp as people read it (UTC, to the second); anything else escaped as is."""
    moment = parse_time(value)
    if moment is None:
        return escape(value)
    return escape(f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC")


def _metrics_cell(latest: dict[str, Any], most: int = 6) -> str:
    """A run's latest metrics, ``name=value`` each (numbers to 4 significant digits)."""
    shown = [
        f"{escape(key)}={escape(f'{value:.4g}' if isinstance(value, float) else value)}"
        for key, value in list(latest.items())[:most]
    ]
    more = len(latest) - most
    return ", ".join(shown) + (f" (+{more})" if more > 0 else "")


def _table(headers: list[str], rows: list[list[str]], empty: str) -> str:
    """An HTML table of already escaped cells, or a grey note when there are no rows."""
    if not rows:
        return f"<i style='color:#6b7280'>{escape(empty)}</i>"
    head = "".join(f"<th {_CELL}>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td {_CELL}>{cell}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class StepRow(widgets.HBox):
    """A step: a checkbox (ticked when completed or skipped) and its status."""

    def __init__(self, step: dict[str, Any], on_tick: Callable[[str, bool], None]) -> None:
        self.step_id = step["step_id"]
        # Checkbox descriptions are shown as text, not HTML (description_allow_html=False).
        self.checkbox = widgets.Checkbox(indent=False, layout={"width": "auto"})
        self.state = widgets.HTML()
        super().__init__([self.checkbox, self.state], layout={"align_items": "center"})
        self.add_class("conductor-step")
        self._quiet = False
        self.checkbox.observe(self._changed, "value")
        self._on_tick = on_tick
        self.show(step, closed=False)

    def show(self, step: dict[str, Any], *, closed: bool) -> None:
        self._quiet = True  # a refresh is not a click
        try:
            self.checkbox.description = f"{step.get('name')}"
            self.checkbox.value = step.get("status") in DONE_STEP_STATUSES
            self.checkbox.disabled = closed
            self.state.value = badge(step.get("status"))
        finally:
            self._quiet = False

    def _changed(self, change: dict[str, Any]) -> None:
        if not self._quiet:
            self._on_tick(self.step_id, bool(change["new"]))


class TrackPanel(LiveWidget, widgets.VBox):
    """One track, live. ``refresh()`` reloads the sections whose files changed."""

    def __init__(
        self,
        engine: Engine,
        track: str | None = None,
        *,
        after_action: AfterAction | None = None,
        watcher: watch.Watcher | None = None,
        live: bool = True,
    ) -> None:
        self._setup(engine, after_action, watcher)
        self.track_id = engine.resolve(track)
        self.track: dict[str, Any] = {}
        self.decisions: list[dict[str, Any]] = []
        self.assumptions: list[dict[str, Any]] = []
        self.artifacts: list[dict[str, Any]] = []
        self.runs: list[dict[str, Any]] = []
        self.run_metrics: dict[str, dict[str, Any]] = {}  # run id -> latest values
        self.checkpoints: list[dict[str, Any]] = []
        self.cells: list[dict[str, Any]] = []  # per notebook: its recorded cells (provenance)
        self._seen: dict[str, tuple] = {}
        self.timeline_length = 0

        self.header = widgets.HTML()
        self.header.add_class("conductor-panel-header")
        self.buttons = button_pool(lambda button: self._clicked(button.description))
        self.refresh_button = widgets.Button(description="refresh", layout={"width": "auto"})
        self.refresh_button.on_click(lambda _: self.refresh())
        self.progress = widgets.IntProgress(min=0, max=100, layout={"width": "240px"})
        self.progress_label = widgets.Label()
        self.confirm = ConfirmBar()
        self.message = MessageLine()

        self.artifacts_table = widgets.HTML()
        self.runs_table = widgets.HTML()
        self.cells_table = widgets.HTML()
        self.timeline = widgets.HTML()
        self.tabs = widgets.Tab(
            children=[
                self._steps_tab(),
                self._decisions_tab(),
                self._assumptions_tab(),
                self.artifacts_table,
                self.runs_table,
                self.cells_table,
                self.timeline,
                self._checkpoints_tab(),
            ]
        )
        super().__init__(
            [
                self.header,
                widgets.HBox([*self.buttons, self.refresh_button, self.attention]),
                widgets.HBox([self.progress, self.progress_label]),
                self.confirm,
                self.message,
                self.tabs,
            ]
        )
        self.add_class("conductor-panel")
        self._go_live(live)

    # -- building the tabs -------------------------------------------------------------------

    def _steps_tab(self) -> widgets.Widget:
        self.step_rows: list[StepRow] = []
        self.no_steps = widgets.HTML(_table([], [], "no steps yet"))
        self.steps_box = widgets.VBox([self.no_steps])
        self.new_step = widgets.Text(placeholder="new step", layout={"width": "300px"})
        self.add_step_button = widgets.Button(description="add step", layout={"width": "auto"})
        self.add_step_button.on_click(lambda _: self.add_step())
        return widgets.VBox([self.steps_box, widgets.HBox([self.new_step, self.add_step_button])])

    def _decisions_tab(self) -> widgets.Widget:
        self.decisions_table = widgets.HTML()
        self.decision_summary = widgets.Text(placeholder="decision, in one line")
        self.decision_rationale = widgets.Textarea(placeholder="rationale")
        self.decision_alternatives = widgets.Text(placeholder="alternatives, comma-separated")
        self.decide_button = widgets.Button(description="record decision", button_style="info")
        self.decide_button.on_click(lambda _: self.decide())
        return widgets.VBox(
            [
                self.decisions_table,
                self.decision_summary,
                self.decision_rationale,
                self.decision_alternatives,
                self.decide_button,
            ]
        )

    def _assumptions_tab(self) -> widgets.Widget:
        self.assumptions_table = widgets.HTML()
        self.attention = widgets.HTML()  # by the buttons: "needs attention" (a check failed)
        self.assumption_statement = widgets.Text(placeholder="assumption")
        self.assume_button = widgets.Button(description="record assumption")
        self.assume_button.on_click(lambda _: self.assume())
        self.assumption_choice = widgets.Dropdown(description="mark", options=[])
        self.assumption_status = widgets.Dropdown(
            options=[s.value for s in AssumptionStatus if s.value != "open"],
            layout={"width": "140px"},
        )
        self.assumption_note = widgets.Text(placeholder="evidence (optional)")
        self.mark_button = widgets.Button(description="set", layout={"width": "auto"})
        self.mark_button.on_click(lambda _: self.mark_assumption())
        self.check_button = widgets.Button(
            description="check assumptions", icon="check", layout={"width": "auto"}
        )
        self.check_button.add_class("conductor-check-assumptions")
        self.check_button.on_click(lambda _: self.check_assumptions())
        self.check_results = widgets.HTML()  # what the latest run of checks found
        marking = [
            self.assumption_choice,
            self.assumption_status,
            self.assumption_note,
            self.mark_button,
        ]
        return widgets.VBox(
            [
                self.assumptions_table,
                widgets.HBox([self.assumption_statement, self.assume_button]),
                widgets.HBox(marking),
                widgets.HBox([self.check_button]),
                self.check_results,
            ]
        )

    def _checkpoints_tab(self) -> widgets.Widget:
        self.checkpoints_table = widgets.HTML()
        self.checkpoint_choice = widgets.Dropdown(description="checkpoint", options=[])
        self.checkpoint_reason = widgets.Text(placeholder="reason (optional)")
        self.create_button = widgets.Button(description="create checkpoint", button_style="info")
        self.verify_button = widgets.Button(description="verify")
        self.diff_button = widgets.Button(description="diff with now")
        self.restore_button = widgets.Button(description="restore", button_style="warning")
        self.checkpoint_result = widgets.HTML()  # the latest result of each action, kept
        self.checkpoint_result.add_class("conductor-checkpoint-result")
        self.checkpoint_results: dict[str, str] = {}
        self.create_button.on_click(lambda _: self.create_checkpoint())
        self.verify_button.on_click(lambda _: self.verify())
        self.diff_button.on_click(lambda _: self.diff())
        self.restore_button.on_click(lambda _: self.ask_restore())
        actions = [
            self.checkpoint_choice,
            self.verify_button,
            self.diff_button,
            self.restore_button,
        ]
        return widgets.VBox(
            [
                self.checkpoints_table,
                widgets.HBox([self.checkpoint_reason, self.create_button]),
                widgets.HBox(actions),
                self.checkpoint_result,
            ]
        )

    # -- reading ---------------------------------------------------------------------------

    def _paths(self) -> dict[str, list[Path]]:
        tree, track_id = self.engine.tree, self.track_id
        workflows = tree.track_file(track_id, "workflows")
        runs = sorted(workflows.glob("*/run.json")) if workflows.is_dir() else []
        runs += sorted(workflows.glob(f"*/{METRICS_FILE}")) if workflows.is_dir() else []
        return {
            # the registry too: a sub-track's change shows in its parent's family
            "track": [tree.track_file(track_id, "track.json"), tree.registry.path],
            "decisions": [tree.track_file(track_id, "context", "decisions.json")],
            "assumptions": [tree.track_file(track_id, "context", "assumptions.json")],
            "artifacts": [tree.track_file(track_id, "context", "artifacts")],
            "runs": [workflows, *runs],
            "cells": [
                tree.track_file(track_id, CELLS_FILE),
                tree.track_file(track_id, ROTATED_FILE),
            ],
            "checkpoints": [tree.track_file(track_id, "checkpoints")],
        }

    def _signatures(self) -> dict[str, tuple]:
        return {name: watch.stat_signature(paths) for name, paths in self._paths().items()}

    def signature(self) -> tuple:
        return tuple(self._signatures().values())

    def refresh(self, *, everything: bool = False) -> None:
        """Reload what changed on disk (``everything``: all of it) and show it."""
        with self._lock:
            now = self._signatures()
            changed = [n for n in SECTIONS if everything or now[n] != self._seen.get(n)]
            try:
                self._load(changed)
            except Exception as err:  # e.g. the track was deleted or a file is damaged
                self.message.reading_failed(err)
                return
            self.message.reading_worked()
            self._seen = now
            with self.hold_sync():
                self._show(changed)

    def _load(self, sections: list[str]) -> None:
        engine, track_id = self.engine, self.track_id
        if "track" in sections:
            self.track = engine.track(track_id)
            self.family = engine.family(track_id)  # its parent and sub-tracks
            self.links = read_dependencies(engine, track_id)  # waits on, blocks, related
            self.forecast = load_forecast(engine, track_id)  # registry: finished tracks too
        if "decisions" in sections:
            self.decisions = engine.decisions(track_id)
        if "assumptions" in sections:
            self.assumptions = engine.assumptions(track_id)
        if "artifacts" in sections:
            self.artifacts = engine.artifacts(track_id)
        if "runs" in sections:
            self.runs = engine.runs(track_id)
            self.run_metrics = self._latest_metrics()
        if "cells" in sections:
            self.cells = notebook_summary(read_cells(engine.tree.track_dir(track_id)))
        if "checkpoints" in sections:
            self.checkpoints = engine.checkpoints(track_id)

    def _show(self, sections: list[str]) -> None:
        if "track" in sections:
            self._show_track()
        if "decisions" in sections:
            self._show_decisions()
        if "assumptions" in sections:
            self._show_assumptions()
        if "artifacts" in sections:
            self._show_artifacts()
        if "runs" in sections:
            self._show_runs()
        if "cells" in sections:
            self._show_cells()
        if "checkpoints" in sections:
            self._show_checkpoints()
        counts = [
            len(self.track.get("steps") or []),
            len(self.decisions),
            len(self.assumptions),
            len(self.artifacts),
            len(self.runs),
            sum(n["cells"] for n in self.cells),
            self.timeline_length,
            len(self.checkpoints),
        ]
        self.tabs.titles = tuple(f"{t} ({n})" for t, n in zip(TAB_TITLES, counts, strict=True))

    def _show_track(self) -> None:
        t = self.track
        context = t.get("context") or {}
        progress = t.get("progress") or {}
        criteria = context.get("success_criteria") or []
        parts = [
            f"<h3 style='margin:4px 0'>{escape(t.get('name'))} {badge(t.get('status'))}</h3>",
            f"<div><code>{escape(self.track_id)}</code> &middot; {escape(t.get('type'))} &middot; "
            f"{escape(t.get('priority'))}</div>",
            f"<div><b>Goal:</b> {escape(context.get('goal') or '-')}</div>",
        ]
        if criteria:
            items = "".join(f"<li>{escape(c)}</li>" for c in criteria)
            parts.append(f"<div><b>Success criteria</b><ul style='margin:2px 0'>{items}</ul></div>")
        if t.get("pause_reason"):
            parts.append(f"<div><b>Paused:</b> {escape(t['pause_reason'])}</div>")
        parts.append(forecast_html(self.forecast))
        parts.append(family_html(self.family))
        parts.append(dependency_html(self.links))
        self.header.value = "".join(parts)
        set_buttons(self.buttons, transition_verbs(str(t.get("status"))))
        percent = progress.get("percentage") or 0
        self.progress.value = max(0, min(100, round(float(percent))))
        total = progress.get("total_steps") or 0
        self.progress_label.value = (
            f"{progress.get('completed_steps', 0)}/{total} steps · {self.progress.value}%"
            if total
            else "no steps"
        )
        self._show_steps()
        history = t.get("history") or []
        note = ""
        if not history:  # written by the original tool: rebuilt from its timestamps
            history = reconstruct_history(t)
            note = "<i>rebuilt from the track's timestamps (no history recorded)</i>" * bool(
                history
            )
        self.timeline_length = len(history)
        rows = [
            [
                when(h.get("at")),
                f"{escape(h.get('from'))} &rarr; {badge(h.get('to'))}",
                escape(h.get("reason")),
                escape(h.get("actor")),
            ]
            for h in history
        ]
        self.timeline.value = note + _table(
            ["at", "transition", "reason", "by"], rows, "no history"
        )

    def _show_steps(self) -> None:
        steps = self.track.get("steps") or []
        closed = self.track.get("status") in FINISHED_STATUSES
        if [s["step_id"] for s in steps] != [r.step_id for r in self.step_rows]:
            for old in self.step_rows:  # the list changed: new rows, old models closed
                close_tree(old)
            self.step_rows = [StepRow(step, self.tick) for step in steps]
            self.steps_box.children = self.step_rows or [self.no_steps]
        for row, step in zip(self.step_rows, steps, strict=True):
            row.show(step, closed=closed)
        self.new_step.disabled = self.add_step_button.disabled = closed

    def _show_artifacts(self) -> None:
        rows = [
            [
                escape(a["name"]),
                escape(a["size"]),
                f"<code>{escape(a['sha256'][:12])}</code>",
                when(a["modified_at"]),
            ]
            for a in self.artifacts
        ]
        self.artifacts_table.value = _table(
            ["name", "bytes", "sha256", "modified"], rows, "no artifacts"
        )

    def _latest_metrics(self) -> dict[str, dict[str, Any]]:
        """The latest value of each metric of each run: run.json's summary once the run
        has finished, its metrics file while it runs."""
        found = {}
        for run in self.runs:
            latest = run.get("metrics")
            if not isinstance(latest, dict):
                path = self.engine.run_records.metrics_path(self.track_id, run["run_id"])
                latest = latest_metrics(read_metrics(path))
            found[run.get("run_id")] = latest
        return found

    def _show_runs(self) -> None:
        rows = [
            [
                escape(r.get("run_id")),
                escape(r.get("name")),
                badge(r.get("status")),
                when(r.get("started_at")),
                escape(r.get("duration_ms")),
                _metrics_cell(self.run_metrics.get(r.get("run_id")) or {}),
            ]
            for r in self.runs
        ]
        headers = ["run", "name", "status", "started", "ms", "latest metrics"]
        self.runs_table.value = _table(headers, rows, "no runs")

    def _show_cells(self) -> None:
        """Which notebooks did the work: their cells, runs of them and time spent."""
        rows = [
            [
                escape(n["notebook"]),
                escape(n["cells"]),
                escape(n["runs"]),
                escape(f"{n['seconds']:.1f} s"),
                escape(n["raised"]),
                when(n["last"]),
            ]
            for n in self.cells
        ]
        headers = ["notebook", "cells", "runs", "time", "raised", "last run"]
        self.cells_table.value = _table(headers, rows, "no cells recorded yet")

    def _show_decisions(self) -> None:
        rows = [
            [
                escape(d.get("id")),
                escape(d.get("summary")),
                escape(d.get("rationale")),
                escape(", ".join(d.get("alternatives") or []) or None),
            ]
            for d in self.decisions
        ]
        self.decisions_table.value = _table(
            ["id", "decision", "rationale", "alternatives"], rows, "no decisions yet"
        )

    def _show_assumptions(self) -> None:
        project = project_dir(self.engine.root)  # where checks are approved
        rows = [
            [
                escape(a.get("id")),
                escape(a.get("statement")),
                badge(a.get("status")),
                escape(a.get("note")),
                check_cell(a, project),
            ]
            for a in self.assumptions
        ]
        self.assumptions_table.value = _table(
            ["id", "assumption", "status", "note", "check"], rows, "no assumptions yet"
        )
        self.attention.value = attention_html(self.assumptions)
        # Dropdown labels are shown as text by the browser (not HTML).
        chosen = self.assumption_choice.value
        self.assumption_choice.options = [
            (f"{a.get('id')}: {a.get('statement')}"[:80], a.get("id")) for a in self.assumptions
        ]
        ids = [a.get("id") for a in self.assumptions]
        still_open = [a.get("id") for a in self.assumptions if a.get("status") == "open"]
        fallback = still_open[0] if still_open else (ids[0] if ids else None)
        self.assumption_choice.value = chosen if chosen in ids else fallback

    def _show_checkpoints(self) -> None:
        rows = [
            [
                escape(c.get("checkpoint_id")),
                when(c.get("created_at")),
                escape(c.get("kind")),
                "pinned" if c.get("pinned") else "",
                escape((c.get("metadata") or {}).get("file_count")),
                escape(c.get("reason")),
            ]
            for c in self.checkpoints
        ]
        self.checkpoints_table.value = _table(
            ["checkpoint", "created", "kind", "", "files", "reason"], rows, "no checkpoints yet"
        )
        chosen = self.checkpoint_choice.value
        self.checkpoint_choice.options = [
            (f"{c['checkpoint_id']} ({c.get('kind')})", c["checkpoint_id"])
            for c in self.checkpoints
        ]
        ids = [c["checkpoint_id"] for c in self.checkpoints]
        # Keep the user's choice across refreshes; else the newest checkpoint.
        self.checkpoint_choice.value = chosen if chosen in ids else (ids[0] if ids else None)
        for button in (self.verify_button, self.diff_button, self.restore_button):
            button.disabled = not ids

    # -- actions ---------------------------------------------------------------------------

    def _clicked(self, verb: str) -> None:
        if verb:
            name = self.track.get("name")
            self._ask_transition(verb, name, lambda reason: self.transition(verb, reason=reason))

    def transition(self, verb: str, *, reason: str | None = None) -> bool:
        """Apply a lifecycle verb, as its button does (confirmation already given)."""
        return self._transition(self.track_id, verb, reason, self._name_of)

    def _name_of(self, track_id: str) -> str:
        return self.track.get("name") if track_id == self.track_id else track_id

    def tick(self, step_id: str, done: bool) -> bool:
        """Tick (complete) or untick (reopen) a step."""
        verb = "complete" if done else "reopen"

        def step() -> str:
            changed = self.engine.step(self.track_id, step_id, verb)
            return f"{step_id} is now {changed['status']}"

        return self._act("step", step)

    def add_step(self) -> bool:
        def add() -> str:
            step = self.engine.add_step(self.track_id, self.new_step.value)
            self.new_step.value = ""
            return f"added {step['step_id']}"

        return self._act("step", add)

    def decide(self) -> bool:
        def decide() -> str:
            decision = self.engine.decide(
                self.track_id,
                self.decision_summary.value,
                rationale=self.decision_rationale.value.strip() or None,
                alternatives=_split(self.decision_alternatives.value),
            )
            self.decision_summary.value = ""
            self.decision_rationale.value = ""
            self.decision_alternatives.value = ""
            return f"recorded {decision['id']}"

        return self._act("decide", decide)

    def assume(self) -> bool:
        def assume() -> str:
            item = self.engine.assume(self.track_id, self.assumption_statement.value)
            self.assumption_statement.value = ""
            return f"recorded {item['id']}"

        return self._act("assume", assume)

    def mark_assumption(self) -> bool:
        def mark() -> str:
            chosen = self.assumption_choice.value
            if chosen is None:
                raise InvalidInput("choose an assumption to mark first")
            item = self.engine.set_assumption(
                self.track_id,
                chosen,
                self.assumption_status.value,
                note=self.assumption_note.value.strip() or None,
            )
            self.assumption_note.value = ""
            return f"{item['id']} is now {item['status']}"

        return self._act("assume", mark)

    def check_assumptions(self) -> bool:
        """Run the track's assumption checks and record what they found (the "check
        assumptions" button)."""

        def check() -> str:
            rows = self.engine.check_assumptions(self.track_id)
            self.check_results.value = checks_html(rows)
            return checks_summary(rows)

        return self._act("assume", check)

    def create_checkpoint(self) -> bool:
        def create() -> str:
            reason = self.checkpoint_reason.value.strip() or "manual checkpoint"
            manifest = self.engine.create_checkpoint(self.track_id, reason=reason)
            self.checkpoint_reason.value = ""
            files = manifest["metadata"].get("file_count")
            return f"created {manifest['checkpoint_id']} ({files} files)"

        return self._act("checkpoint", create)

    def _chosen_checkpoint(self) -> str:
        chosen = self.checkpoint_choice.value
        if chosen is None:
            raise InvalidInput("choose a checkpoint first")
        return chosen

    def verify(self) -> bool:
        def verify() -> str:
            chosen = self._chosen_checkpoint()
            damage = self.engine.verify_checkpoint(self.track_id, chosen)
            if not damage:
                self._show_result("verify", f"<b>verify {escape(chosen)}</b>: intact")
                return f"{chosen} is intact"
            rows = [[escape(d["path"]), escape(d["problem"])] for d in damage]
            table = _table(["file", "problem"], rows, "")
            self._show_result("verify", f"<b>verify {escape(chosen)}</b>: damaged{table}")
            return f"{chosen} is damaged: {len(damage)} problems"

        return self._act("verify", verify)

    def diff(self) -> bool:
        def diff() -> str:
            chosen = self._chosen_checkpoint()
            found = self.engine.diff_checkpoints(self.track_id, chosen)
            lines = [
                f"<div><b>{label}</b>: {escape(', '.join(found[key]) or 'none')}</div>"
                for label, key in (
                    ("added", "added"),
                    ("removed", "removed"),
                    ("changed", "changed"),
                )
            ]
            decisions = ", ".join(f"{d['id']} {d['summary']}" for d in found["decisions_added"])
            lines.append(f"<div><b>decisions added</b>: {escape(decisions or 'none')}</div>")
            self._show_result(
                "diff",
                f"<b>diff {escape(found['from'])} &rarr; {escape(found['to'])}</b>"
                + "".join(lines),
            )
            changes = sum(len(found[k]) for k in ("added", "removed", "changed"))
            return f"{changes} files differ since {chosen}"

        return self._act("diff", diff)

    def _show_result(self, action: str, html: str) -> None:
        """Show ``action``'s result, keeping the other actions' latest ones beside it (a
        verify does not wipe the diff shown before it)."""
        self.checkpoint_results[action] = html
        self.checkpoint_result.value = "".join(
            f"<div class='conductor-result-{name}'>{value}</div>"
            for name, value in self.checkpoint_results.items()
        )

    def ask_restore(self) -> None:
        chosen = self.checkpoint_choice.value
        if chosen is None:
            self.message.error(InvalidInput("choose a checkpoint first"))
            return
        self.confirm.ask(
            f"Restore {chosen}? The track's files go back to that checkpoint; the current "
            "state is checkpointed first.",
            "restore",
            lambda _reason: self.restore(chosen),
        )

    def restore(self, checkpoint: str) -> bool:
        """Restore from ``checkpoint`` (confirmation already given)."""

        def restore() -> str:
            result = self.engine.restore_checkpoint(self.track_id, checkpoint)
            safety = result.get("safety_checkpoint")
            kept = f"; the state before is {safety}" if safety else ""
            return f"restored {checkpoint}{kept}"

        return self._act("restore", restore)

    # -- lifetime and text forms -------------------------------------------------------------

    def view(self) -> TrackView:
        return TrackView(
            self.track, decisions=self.decisions, runs=self.runs, checkpoints=self.checkpoints
        )

    def __repr__(self) -> str:
        return repr(self.view())

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/plain"] = repr(self)
        bundle["text/html"] = self.view()._repr_html_()
        return bundle
