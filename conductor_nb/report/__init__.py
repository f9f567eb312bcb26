"""A track's report for a review or a hand-over: one self-contained HTML file (or
Markdown) with the goal, success criteria, timeline, decisions, assumptions, steps,
workflow runs and their metrics, checkpoints, artifacts and charts.

    report = build_report(engine, "OAuth login")
    report.write("oauth.html")

``facts`` gathers through the engine's reading verbs, ``sections`` says what each part
shows, ``render_html`` and ``render_markdown`` lay it out, ``charts`` draws with
matplotlib and ``output`` writes the file.
"""

from __future__ import annotations

from .document import TrackReport, build_report

__all__ = ["TrackReport", "build_report"]
