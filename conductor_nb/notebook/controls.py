"""Pieces the board and the track panel share: the transition buttons a status allows,
a message line for results and errors, and a confirmation bar for actions that end
or overwrite something.

Every piece of user text goes through ``display.escape`` (HTML-escaped) before it reaches an
``HTML`` widget.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from ..errors import ConductorError
from ..lifecycle import TRANSITIONS
from .display import escape

__all__ = [
    "CONFIRMED_VERBS",
    "ConfirmBar",
    "MessageLine",
    "button_pool",
    "close_tree",
    "run_action",
    "set_buttons",
    "widget_tree",
]

# Verbs that end a track (or put it on the way out) ask before they act.
CONFIRMED_VERBS = frozenset({"fail", "cancel", "archive"})
BUTTON_STYLES = {
    "activate": "success",
    "resume": "success",
    "complete": "success",
    "fail": "danger",
    "cancel": "warning",
}
MAX_TRANSITIONS = max(len(targets) for targets in TRANSITIONS.values())


def widget_tree(root: widgets.Widget) -> list[widgets.Widget]:
    """``root`` and every widget under it: children, layouts and styles, each once."""
    found, stack, seen = [], [root], set()
    while stack:
        widget = stack.pop()
        if id(widget) in seen:
            continue
        seen.add(id(widget))
        found.append(widget)
        for name in ("children", "layout", "style"):
            value = getattr(widget, name, None)
            if isinstance(value, widgets.Widget):
                stack.append(value)
            elif isinstance(value, tuple | list):
                stack.extend(v for v in value if isinstance(v, widgets.Widget))
    return found


def close_tree(root: widgets.Widget) -> None:
    """Close ``root`` and every widget under it: closing a box alone leaves its
    children's models alive in the kernel and the browser."""
    for widget in widget_tree(root):
        widgets.Widget.close(widget)  # the base close: no view-specific clean-up again


def set_buttons(buttons: list[widgets.Button], verbs: list[str]) -> None:
    """Show ``verbs`` on the first buttons of a fixed pool, hide the rest: the same
    widgets are reused on every refresh, so nothing is re-created (no flicker)."""
    for index, button in enumerate(buttons):
        if index < len(verbs):
            verb = verbs[index]
            button.description = verb
            button.tooltip = f"{verb} this track"
            button.button_style = BUTTON_STYLES.get(verb, "")
            button.layout.display = None
        else:
            button.description = ""
            button.layout.display = "none"


def button_pool(on_click: Callable[[widgets.Button], None], count: int = MAX_TRANSITIONS):
    pool = []
    for _ in range(count):
        button = widgets.Button(layout=widgets.Layout(width="auto", display="none"))
        button.add_class("conductor-transition")
        button.on_click(on_click)
        pool.append(button)
    return pool


class MessageLine(widgets.HTML):
    """One line under a widget: what the last action did, or the error it met (with the
    engine's hint), escaped."""

    def __init__(self) -> None:
        super().__init__(value="")
        self.add_class("conductor-message")
        self.kind = ""
        self.text = ""
        self._from_reading = False

    def ok(self, text: str) -> None:
        self._show("ok", text, "#166534")

    def error(self, err: BaseException) -> None:
        text = str(err)
        if not isinstance(err, ConductorError):
            text = f"{type(err).__name__}: {err}"
        self._show("error", text, "#b91c1c")

    def reading_failed(self, err: BaseException) -> None:
        """Re-reading the files failed: say so until a reading succeeds again."""
        self.error(err)
        self._from_reading = True

    def reading_worked(self) -> None:
        if self._from_reading:
            self.clear()

    def clear(self) -> None:
        self.kind, self.text, self.value = "", "", ""
        self._from_reading = False

    def _show(self, kind: str, text: str, colour: str) -> None:
        self.kind, self.text, self._from_reading = kind, text, False
        self.value = f"<span class='conductor-{kind}' style='color:{colour}'>{escape(text)}</span>"


def run_action(message: MessageLine, action: Callable[[], str | None]) -> bool:
    """Run a button's action; its result or its error shows in ``message``, never as a
    traceback in the log. True when it succeeded."""
    try:
        text = action()
    except ConductorError as err:
        message.error(err)
        return False
    except Exception as err:  # a bug must still show where the user clicked
        message.error(err)
        return False
    if text:
        message.ok(text)
    else:
        message.clear()
    return True


class ConfirmBar(widgets.HBox):
    """Asks before an action that ends or overwrites something: a question, an optional
    reason field, a confirm and a keep button. Hidden when nothing is asked."""

    def __init__(self) -> None:
        self.question = widgets.HTML()
        self.reason = widgets.Text(placeholder="reason (optional)", layout={"width": "220px"})
        self.confirm = widgets.Button(button_style="danger", layout={"width": "auto"})
        self.keep = widgets.Button(description="keep", layout={"width": "auto"})
        self.confirm.add_class("conductor-confirm")
        self.keep.add_class("conductor-keep")
        super().__init__(
            [self.question, self.reason, self.confirm, self.keep],
            layout={"display": "none", "align_items": "center"},
        )
        self.add_class("conductor-confirm-bar")
        self._pending: Callable[[str | None], Any] | None = None
        self.confirm.on_click(lambda _: self._answer(True))
        self.keep.on_click(lambda _: self._answer(False))

    @property
    def asking(self) -> bool:
        return self._pending is not None

    def ask(
        self,
        question: str,
        label: str,
        then: Callable[[str | None], Any],
        *,
        with_reason: bool = False,
    ) -> None:
        """Show ``question`` (plain text: escaped here); ``then(reason)`` runs on confirm."""
        self._pending = then
        self.question.value = f"<b>{escape(question)}</b>"
        self.confirm.description = label
        self.reason.value = ""
        self.reason.layout.display = None if with_reason else "none"
        self.layout.display = "flex"

    def dismiss(self) -> None:
        self._pending = None
        self.layout.display = "none"

    def _answer(self, yes: bool) -> None:
        then, reason = self._pending, self.reason.value.strip() or None
        self.dismiss()
        if yes and then is not None:
            then(reason)
