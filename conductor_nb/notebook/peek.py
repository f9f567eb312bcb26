"""``%track peek TRACK``: another track's panel, read-only, without switching to it.

The panel is the track panel with every control that would change something disabled
(and its transition buttons hidden): it reads the track's files and changes none of
them. Its diff button still works (a diff only reads), and ``--diff CHECKPOINT`` shows
that diff from the start. It stays live, like every panel.
"""

from __future__ import annotations

from typing import Any

from ..engine import Engine
from ..errors import InvalidInput
from . import watch
from .display import escape
from .panel import TrackPanel

__all__ = ["ReadOnlyPanel", "diff_html"]

READ_ONLY_NOTE = (
    "<div class='conductor-read-only' style='color:#6b7280'>peek: read-only "
    "(<code>%track show</code> to work in it)</div>"
)
_READING_ACTIONS = frozenset({"diff"})  # the only panel actions that change nothing


def diff_html(found: dict[str, Any]) -> str:
    """A checkpoint diff (``Checkpoints.diff``) as the panel shows it."""
    lines = [
        f"<div><b>{key}</b>: {escape(', '.join(found[key]) or 'none')}</div>"
        for key in ("added", "removed", "changed")
    ]
    decisions = ", ".join(f"{d['id']} {d['summary']}" for d in found["decisions_added"])
    lines.append(f"<div><b>decisions added</b>: {escape(decisions or 'none')}</div>")
    title = f"<b>diff {escape(found['from'])} &rarr; {escape(found['to'])}</b>"
    return title + "".join(lines)


class ReadOnlyPanel(TrackPanel):
    """A track's panel whose controls cannot change it."""

    def __init__(
        self,
        engine: Engine,
        track: str | None = None,
        *,
        diff: dict[str, Any] | None = None,
        watcher: watch.Watcher | None = None,
        live: bool = True,
    ) -> None:
        super().__init__(engine, track, watcher=watcher, live=live)
        self.add_class("conductor-peek")
        if diff is not None:
            self._show_result("diff", diff_html(diff))

    def _show(self, sections: list[str]) -> None:
        super()._show(sections)
        if "track" in sections:
            self.header.value = READ_ONLY_NOTE + self.header.value
        self._lock_controls()

    def changing_controls(self) -> list[Any]:
        """Every control whose action would change the track."""
        return [
            *self.buttons,
            *(row.checkbox for row in self.step_rows),
            self.new_step,
            self.add_step_button,
            self.decision_summary,
            self.decision_rationale,
            self.decision_alternatives,
            self.decide_button,
            self.assumption_statement,
            self.assume_button,
            self.assumption_choice,
            self.assumption_status,
            self.assumption_note,
            self.mark_button,
            self.check_button,  # records what the checks found
            self.checkpoint_reason,
            self.create_button,
            self.verify_button,
            self.restore_button,
        ]

    def _lock_controls(self) -> None:
        for control in self.changing_controls():
            control.disabled = True
        for button in self.buttons:  # transitions: not offered at all
            button.layout.display = "none"

    def _act(self, verb: str, action: Any) -> bool:
        """Only reading actions run; anything else says the panel is read-only."""
        if verb in _READING_ACTIONS:
            return super()._act(verb, action)
        self.message.error(
            InvalidInput("this panel is read-only (peek): `%track show` it to change it")
        )
        return False

    def _clicked(self, verb: str) -> None:
        self._act(verb or "transition", lambda: None)

    def ask_restore(self) -> None:
        self._act("restore", lambda: None)
