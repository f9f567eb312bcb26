"""Progress of long work: what the parts report, and the bars that show it.

A part doing long work (the demo, ``rebuild``, checkpoint ``verify``, ``prune``, a
checkpoint or restore, the analytics' reading of a root) takes ``progress=``: ``None``
(the default: nothing is reported) or a callable ``progress(what, done, total)`` (a
"Progress"), called
with ``done=0`` first and then as items finish. The parts never draw: a front end
passes a ``Bars`` (tqdm's bars: in a terminal on stderr, in a notebook a widget bar),
and tqdm is imported only when a bar is shown, so the engine and the CLI stay light.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import Any, TypeVar

    T = TypeVar("T")
    Progress = Callable[[str, int, int], None]

__all__ = ["Bars", "counted", "terminal_bars"]


def counted(
    progress: Progress | None, what: str, items: Iterable[T], total: int | None = None
) -> Iterator[T]:
    """``items``, reporting ``what`` to ``progress`` as each one is done (after the
    caller's loop body ran for it)."""
    if progress is None:
        yield from items
        return
    if total is None:
        items = list(items)
        total = len(items)
    progress(what, 0, total)
    for done, item in enumerate(items, 1):
        yield item
        progress(what, done, total)


class Bars:
    """A ``Progress`` drawn with tqdm: one bar at a time (a new ``what`` closes the last
    one), with counts, rate and time left; a finished bar is removed (``leave=False``),
    so what the command prints afterwards stands alone.

    ``make``: tqdm's bar class to use (``tqdm.notebook.tqdm`` in a notebook); default
    ``tqdm.tqdm`` on ``file`` (stderr)."""

    def __init__(self, make: Callable[..., Any] | None = None, file: Any = None) -> None:
        self._make = make
        self._file = file
        self._bar: Any = None
        self._what: str | None = None

    def __call__(self, what: str, done: int, total: int) -> None:
        if self._bar is None or what != self._what:
            self.close()
            if done >= total:
                return  # nothing to wait for
            self._bar = self._new(what, total)
            self._what = what
        self._bar.update(done - self._bar.n)
        if done >= total:
            self.close()

    def _new(self, what: str, total: int) -> Any:
        make = self._make
        if make is None:
            from tqdm import tqdm as make  # only when a bar is shown

        return make(total=total, desc=what, leave=False, file=self._file, dynamic_ncols=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        self._bar = self._what = None


def terminal_bars(*, as_json: bool) -> Bars | None:
    """The CLI's progress: bars on stderr when it is a terminal and the output is not
    JSON; otherwise none (pipes, files and ``--json`` stay clean)."""
    stream = sys.stderr
    if as_json or stream is None or not stream.isatty():
        return None
    return Bars(file=stream)
