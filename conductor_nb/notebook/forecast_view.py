"""The panel's forecast line: when the track will be done (``conductor_nb.forecast``),
or why it cannot say (too little history, a finished track)."""

from __future__ import annotations

from typing import Any

from ..errors import ConductorError
from ..forecast import forecast_text
from .display import escape

__all__ = ["forecast_html", "load_forecast"]


def load_forecast(engine: Any, track_id: str) -> dict[str, Any] | None:
    """The track's forecast; None when a file it needs cannot be read (the panel shows
    the rest of the track all the same)."""
    try:
        return engine.forecast(track_id)
    except ConductorError:
        return None


def forecast_html(data: dict[str, Any] | None) -> str:
    """One line under the goal: the expected finish with its interval and basis."""
    if data is None:
        return ""
    colour = "#111827" if data["forecast"] else "#6b7280"
    return (
        f"<div class='conductor-forecast' style='color:{colour}'><b>Forecast:</b> "
        f"{escape(forecast_text(data, named=False))}</div>"
    )
