"""What the board and the track panel share as live views of tracks.

A ``LiveWidget`` holds the engine, a lock that serialises its refreshes (from the
watcher's thread) with its button handlers (from the kernel's), and the ``after_action``
hook the magic gives it (the kernel takes the lease of a track a widget made active).
It runs every action the same way (the result or the error in the message line, then a
refresh), asks before the lifecycle verbs that end a track, offers a switch when
another track is active, and is watched for changes on disk until it is closed.

A subclass provides ``message``, ``confirm``, ``refresh()`` and ``signature()``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ..engine import Engine
from ..errors import ActiveTrackExists
from ..switch_report import SwitchReport
from . import watch
from .controls import CONFIRMED_VERBS, close_tree, run_action

__all__ = ["AfterAction", "LiveWidget"]

AfterAction = Callable[[str], None]


class LiveWidget:
    """Mixed into an ipywidgets box (before it in the bases)."""

    def _setup(
        self, engine: Engine, after_action: AfterAction | None, watcher: watch.Watcher | None
    ) -> None:
        self.engine = engine
        self._after_action = after_action
        self._lock = threading.RLock()
        self._watcher = watcher or watch.watcher()

    def _go_live(self, live: bool) -> None:
        """First reading; then, if ``live``, refreshes whenever the files change."""
        seen = self.signature()  # before reading: a change made meanwhile is seen later
        self.refresh()
        if live:
            self._watcher.watch(self, seen)

    # -- actions -----------------------------------------------------------------------------

    def _act(self, verb: str, action: Callable[[], str | None]) -> bool:
        """Run a button's action: its result or error in the message line, then show the
        files as they now are. True when it succeeded."""
        with self._lock:
            done = run_action(self.message, action)
            self.refresh()
        if done:
            self._acted(verb)
        return done

    def _acted(self, verb: str) -> None:
        if self._after_action is not None:
            self._after_action(verb)

    def _ask_transition(self, verb: str, name: Any, apply: Callable[[str | None], Any]) -> None:
        """A transition button was clicked: verbs that end a track ask first (with a
        reason, except archive); ``apply(reason)`` does it."""
        if verb in CONFIRMED_VERBS:
            self.confirm.ask(f"{verb} {name}?", verb, apply, with_reason=verb != "archive")
        else:
            apply(None)

    def _transition(
        self, track_id: str, verb: str, reason: str | None, name_of: Callable[[str], Any]
    ) -> bool:
        """Apply ``verb``; when another track is active, say so and offer a switch."""

        def transition() -> str:
            try:
                track = self.engine.transition(track_id, verb, reason=reason)
            except ActiveTrackExists as busy:
                wanted = busy.wanted_id  # ``busy`` is unbound once the except block ends
                self.confirm.ask(
                    f"{name_of(busy.active_id)} is active. Pause it (with a checkpoint) and "
                    f"switch to {name_of(wanted)}?",
                    "switch",
                    lambda why: self.switch(wanted, reason=why),
                    with_reason=True,
                )
                raise
            return f"{track['name']} is now {track['status']}"

        return self._act(verb, transition)

    def switch(self, track_id: str, *, reason: str | None = None) -> bool:
        """Pause the active track (with a checkpoint) and activate ``track_id``."""

        def switch() -> str:
            # The kernel's guarded switch when the magic made this widget (switch_guard).
            guarded = getattr(self._after_action, "guarded_switch", None)
            if guarded is not None:
                return guarded(track_id, reason)
            report = SwitchReport(self.engine)  # names the checkpoint it takes
            return report.describe(self.engine.switch(track_id, reason=reason), by_name=True)

        return self._act("switch", switch)

    # -- lifetime ----------------------------------------------------------------------------

    def stop_watching(self, why: str) -> None:
        self._watcher.unwatch(self)
        self.message.ok(why + ": use refresh")

    def close(self) -> None:
        """Stop refreshing and close every widget under this one."""
        self._watcher.unwatch(self)
        close_tree(self)
