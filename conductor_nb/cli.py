"""The ``conductor`` command: parse, run one engine verb, print a table or JSON, exit.

A user mistake is one line on stderr and exit code 1 (2 for a malformed command line),
never a traceback.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
from collections.abc import Sequence

from .commands import HelpRequested, Outcome, UsageProblem, execute, parse
from .errors import ConductorError
from .progress import terminal_bars
from .store.jsontext import dumps_indented

__all__ = ["main", "run"]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        ns = parse(args)
    except HelpRequested as help_:
        print(help_.text, end="")
        return 0
    except UsageProblem as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        from .engine import Engine

        engine = Engine(ns.root)
        # Runs started here belong to the caller (a shell, an agent), not to this process.
        engine.holder_pid = os.getppid()
        ns.progress = terminal_bars(as_json=ns.json)  # a bar on stderr, on a terminal only
        outcome = execute(engine, ns)
    except UsageProblem as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ConductorError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except OSError as err:  # the file system said no (permissions, disk full, ...)
        where = f": {err.filename}" if err.filename else ""
        print(f"error: {err.strerror or err}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    try:
        _print(outcome, as_json=ns.json)
        sys.stdout.flush()
    except BrokenPipeError:  # `conductor list | head`: the reader has what it wanted
        # Python would report the flush at exit as an error: point stdout at nothing.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return outcome.exit_code


def run() -> None:
    """The ``conductor`` executable: :func:`main`, then an exit that skips the interpreter's
    teardown (freeing every object and module one by one: ~4 ms of a 35 ms call, more
    after a listing). Everything else an exit does still happens first: threads are
    joined, exit handlers run (the registry index is written), output is flushed. The
    store needs nothing more: each verb's change was durable when it returned."""
    ending = _Ending()
    atexit.register(ending.leave)  # registered first, so run last, after every other handler
    try:
        ending.code = main()
    except SystemExit as stop:  # from deeper down: keep the code Python would give
        ending.code = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
        raise
    except KeyboardInterrupt:  # outside a verb (a verb's is caught in main)
        ending.code = 130
        raise
    sys.exit(ending.code)


class _Ending:
    """How the process ends: 1 unless main returns (an uncaught error's traceback is
    printed before the exit handlers run)."""

    code = 1

    def leave(self) -> None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing to say
                stream.flush()
        os._exit(self.code)


def _print(outcome: Outcome, *, as_json: bool) -> None:
    if as_json:
        cut = outcome.extra.get("json")  # the text as the store holds it, when it can tell
        data = cut() if cut is not None else None
        if data is None:
            print(dumps_indented(outcome.data))
            return
        out = getattr(sys.stdout, "buffer", None)  # none when replaced (by a test)
        if out is None:
            print(data.decode("utf-8"))
            return
        sys.stdout.flush()
        out.write(data)  # as the store's UTF-8: no decoding and encoding 5 MB again
        out.write(b"\n")
        return
    from .render import render

    print(render(outcome))


if __name__ == "__main__":
    run()
