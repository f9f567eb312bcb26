"""Live views refresh themselves when their files change on disk (another kernel, the
CLI, a script).

One daemon thread per kernel polls, for every live view, a cheap signature of the files
it shows (``os.stat`` results, no reading) and calls the view's ``refresh`` when the
signature changed. Widget updates made from this thread reach the browser through the
kernel's IOPub thread, which accepts messages from any thread. Views serialise their own
refresh and button handlers with a lock, so a refresh never interleaves with a click.

Only the most recent ``MAX_LIVE`` views stay live: a notebook re-run many times would
otherwise poll for every board it ever showed (``TrackMagics.live_views`` and
``TrackMagics.refresh_interval`` set both through ``configure``). An older view keeps
working; it just refreshes when asked to.
"""

from __future__ import annotations

import os
import threading
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

__all__ = ["LiveView", "Watcher", "configure", "stat_signature", "stop_watcher", "watcher"]

POLL_SECONDS = 0.5
MAX_LIVE = 8
_settings = {"interval": POLL_SECONDS, "max_live": MAX_LIVE}


class LiveView(Protocol):
    def signature(self) -> tuple: ...

    def refresh(self) -> None: ...

    def stop_watching(self, why: str) -> None: ...


def stat_signature(paths: Iterable[Path]) -> tuple:
    """What changes when any of ``paths`` is written, replaced or removed."""
    parts = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            parts.append(None)
            continue
        parts.append((st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(parts)


class Watcher:
    """Polls the signatures of live views and refreshes those whose files changed."""

    def __init__(self, interval: float = POLL_SECONDS, max_live: int = MAX_LIVE) -> None:
        self.interval = interval
        self.max_live = max_live
        self._views: list[tuple[LiveView, tuple]] = []
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, view: LiveView, seen: tuple | None = None) -> None:
        """Poll ``view`` from now on. ``seen``: the signature taken before the view last
        read its files, so a change made while it was reading is not missed."""
        with self._guard:
            self._views.append((view, view.signature() if seen is None else seen))
            retired = self._views[: -self.max_live]
            del self._views[: -self.max_live]
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(
                    target=self._run, name="conductor-watcher", daemon=True
                )
                self._thread.start()
        for old, _ in retired:
            old.stop_watching(f"auto-refresh is off: the last {self.max_live} views stay live")

    def unwatch(self, view: LiveView) -> None:
        with self._guard:
            self._views = [(v, s) for v, s in self._views if v is not view]

    def watching(self, view: LiveView) -> bool:
        with self._guard:
            return any(v is view for v, _ in self._views)

    def stop(self) -> None:
        """Stop polling (extension unload); the views stay usable."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        with self._guard:
            self._views.clear()
            self._thread = None

    def poll_once(self) -> int:
        """Refresh the views whose files changed; returns how many were refreshed."""
        with self._guard:
            views = list(self._views)
        refreshed = 0
        for view, before in views:
            now = view.signature()
            if now == before:
                continue
            with self._guard:
                self._views = [(v, now if v is view else s) for v, s in self._views]
            try:
                view.refresh()
            except Exception:  # a broken view must not stop the others from refreshing
                traceback.print_exc()
            refreshed += 1
        return refreshed

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll_once()


_watcher: Watcher | None = None


def watcher() -> Watcher:
    """The kernel's watcher (created on first use)."""
    global _watcher
    if _watcher is None:
        _watcher = Watcher(**_settings)
    return _watcher


def configure(*, interval: float, max_live: int) -> None:
    """The poll interval and how many views stay live, for the kernel's watcher (now
    and when it is made again): the magic's settings."""
    _settings.update(interval=interval, max_live=max_live)
    if _watcher is not None:
        _watcher.interval = interval
        _watcher.max_live = max_live


def stop_watcher() -> None:
    global _watcher
    if _watcher is not None:
        _watcher.stop()
        _watcher = None
