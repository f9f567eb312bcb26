"""One colour per track status, defined once: the notebook's badges and widgets and the
analytics charts all read it (here, below both, so neither reaches into the other)."""

from __future__ import annotations

__all__ = ["STATUS_COLOURS"]

STATUS_COLOURS = {
    "draft": "#6b7280",
    "ready": "#2563eb",
    "active": "#16a34a",
    "paused": "#d97706",
    "completed": "#0d9488",
    "failed": "#dc2626",
    "cancelled": "#9ca3af",
    "archived": "#4b5563",
}
