"""What a switch says it did: the track it activated, and the checkpoint it took of the
track it paused (``conductor switch``, ``%track switch`` and the widgets' switch say the
same thing)."""

from __future__ import annotations

from .errors import track_label

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

    from .engine import Engine

__all__ = ["SwitchReport"]


class SwitchReport:
    """Taken before a switch (which track is active, and its last checkpoint), then
    ``describe``d after it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        active = engine.get_active()
        self.paused_id: str | None = active["track_id"] if active else None
        self.paused_name = active.get("name") if active else None
        self._checkpoint_before = self._last_checkpoint()

    def _last_checkpoint(self) -> Any:
        if self.paused_id is None:
            return None
        return self.engine.track(self.paused_id).get("last_checkpoint")

    def checkpoint(self) -> str | None:
        """The checkpoint the switch took of the track it paused (None: it took none, as
        for a track whose checkpoint_frequency is 'never')."""
        taken = self._last_checkpoint()
        return taken if taken and taken != self._checkpoint_before else None

    def describe(self, track: dict[str, Any], *, by_name: bool = False) -> str:
        """``switched to X; paused 'A' (track-a-1) with checkpoint checkpoint-003``."""
        target = track.get("name") if by_name else track["track_id"]
        text = f"switched to {target}"
        if self.paused_id is None:
            return text
        paused = track_label(self.paused_id, self.paused_name)
        taken = self.checkpoint()
        if taken is None:
            return f"{text}; paused {paused} (no checkpoint: its checkpoint_frequency is never)"
        return f"{text}; paused {paused} with checkpoint {taken}"
