"""Expression checks of assumptions, evaluated in the kernel's user namespace.

``%track assumptions --check``, ``%track resume``, ``%track switch`` and the panel's
"check assumptions" button run through the magic's engine, whose checks use this
evaluator: ``len(df) > 1000`` sees the notebook's ``df``. An exception is what was found
("raised KeyError: 'x'"): the assumption failed, the cell did not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["kernel_evaluator"]

_SHOWN = 200  # characters of a value kept as evidence


def kernel_evaluator(shell: Any) -> Callable[[str], tuple[bool, str]]:
    """Evaluate an expression in ``shell``'s user namespace: (whether it is true, what
    was found)."""

    def evaluate(expression: str) -> tuple[bool, str]:
        try:
            value = eval(compile(expression, "<assumption check>", "eval"), shell.user_ns)
            holds = bool(value)
        except Exception as err:  # the user's expression: any error is a finding
            return False, f"raised {type(err).__name__}: {err}"[:_SHOWN]
        return holds, _shown(value)

    return evaluate


def _shown(value: Any) -> str:
    try:
        text = repr(value)
    except Exception as err:  # a repr that fails still says what was there
        text = f"<{type(value).__name__}: repr raised {type(err).__name__}>"
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."
