"""A track's report: the facts gathered once, the charts drawn once, rendered as HTML
or Markdown on demand. In a notebook the object shows the report inline."""

from __future__ import annotations

import os
from typing import Any

from ..errors import track_label
from . import render_html, render_markdown
from .facts import gather
from .output import format_for, write_new

__all__ = ["TrackReport", "build_report"]


def build_report(engine: Any, ref: str | None = None, *, charts: bool = True) -> TrackReport:
    """The report of track ``ref`` (default: the active track) of ``engine``'s root;
    ``charts=False`` leaves the charts out (and matplotlib unimported)."""
    facts = gather(engine, ref)
    drawn: list[Any] = []
    if charts:
        from .charts import draw_all  # matplotlib: only when charts are wanted

        drawn = draw_all(facts)
    return TrackReport(facts, drawn)


class TrackReport:
    """``facts`` (JSON-ready: what --json prints), ``charts`` and the two renderings."""

    def __init__(self, facts: dict[str, Any], charts: list[Any]) -> None:
        self.facts = facts
        self.charts = charts
        self.written: dict[str, Any] | None = None  # where write() put it last

    @property
    def track_id(self) -> str:
        return self.facts["track"]["track_id"]

    @property
    def label(self) -> str:
        return track_label(self.track_id, self.facts["track"].get("name"))

    def html(self) -> str:
        """The whole HTML file (self-contained: opens offline)."""
        return render_html.document(self.facts, self.charts)

    def markdown(self) -> str:
        return render_markdown.document(self.facts, self.charts)

    def write(self, path: str | os.PathLike[str], *, force: bool = False) -> dict[str, Any]:
        """Write the report to ``path``: HTML for .html/.htm, Markdown for .md/.markdown;
        an existing file only with ``force``; never inside the root."""
        fmt = format_for(path)
        content = self.html() if fmt == "html" else self.markdown()
        target = write_new(path, content, force=force, outside=self.facts["root"])
        self.written = {"path": str(target), "format": fmt, "bytes": len(content.encode())}
        return self.written

    def _repr_html_(self) -> str:
        return render_html.fragment(self.facts, self.charts)

    def __repr__(self) -> str:
        counts = ", ".join(
            f"{len(self.facts[key])} {key}"
            for key in ("decisions", "assumptions", "steps", "runs", "checkpoints", "artifacts")
        )
        where = f", written to {self.written['path']}" if self.written else ""
        return f"TrackReport({self.label}: {counts}{where})"
