"""Loading and unloading the IPython extension (``%load_ext conductor_nb``)."""

from __future__ import annotations

from . import completion
from .magics import TrackMagics

__all__ = ["load", "unload"]

_loaded: dict[int, TrackMagics] = {}


def load(shell) -> None:
    if id(shell) in _loaded:  # loading twice is harmless
        return
    magics = TrackMagics(shell)
    shell.register_magics(magics)
    completion.install(shell, lambda: magics.engine().list(), magics.engine)
    magics.recorder.register(shell)  # cells run while a track is active are recorded
    magics.switch_guard.register(shell)  # when this kernel's cells last ran
    magics.kernel_recovery.register(shell)  # notices of tracks left by dead kernels
    _loaded[id(shell)] = magics
    magics.announce_interrupted()


def unload(shell) -> None:
    """IPython has no call to unregister a magic: remove our entries from the manager."""
    magics = _loaded.pop(id(shell), None)
    if magics is None:
        return
    for kind in ("line", "cell"):
        table = shell.magics_manager.magics[kind]
        if getattr(table.get("track"), "__self__", None) is magics:
            del table["track"]
    shell.magics_manager.registry.pop(type(magics).__name__, None)
    completion.uninstall(shell)
    magics.recorder.unregister()
    magics.switch_guard.unregister()
    magics.kernel_recovery.unregister()
    magics.close()
