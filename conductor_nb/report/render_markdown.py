"""The report as Markdown (CommonMark with GitHub tables): the same sections as the HTML,
charts as base64 PNG data URLs. User text is escaped so it shows as written: Markdown
and HTML syntax in it are backslash-escaped and line breaks become spaces."""

from __future__ import annotations

import base64
import re
from typing import Any

from .sections import Section, sections
from .words import when

__all__ = ["document", "md"]

# ASCII punctuation that Markdown, its HTML and its common extensions (tables,
# strikethrough, math) read as syntax; CommonMark lets a backslash escape any of it.
_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~$&])")


def md(value: Any) -> str:
    """Text shown as it is, on one line (a leading ``-``, ``=`` or number cannot start a
    list or a heading: the text never starts a line in the report)."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def document(facts: dict[str, Any], charts: list[Any]) -> str:
    track = facts["track"]
    by_key = {chart.key: chart for chart in charts}
    lines = [
        f"# Track report: {md(track.get('name'))}",
        "",
        f"Generated {md(when(facts['generated_at']))} from `{_code(facts['root'])}`.",
    ]
    for section in sections(facts):
        lines += ["", *_section(section, by_key)]
    return "\n".join(lines) + "\n"


def _code(value: Any) -> str:
    """Text inside a code span (a backtick in it would end the span)."""
    return " ".join(str(value).split()).replace("`", "'")


def _section(section: Section, charts: dict[str, Any]) -> list[str]:
    lines = [f"## {md(section.title)}", ""]
    lines += [f"- **{md(label)}:** {md(value)}" for label, value in section.facts]
    lines += [f"- {md(bullet)}" for bullet in section.bullets]
    if section.rows:
        lines += _table(section.headers, section.rows)
    elif section.empty and not section.bullets:
        lines.append(f"_{md(section.empty)}_")
    for key in section.charts:
        if key in charts:
            data = base64.b64encode(charts[key].png).decode("ascii")
            lines += ["", f"![{md(charts[key].title)}](data:image/png;base64,{data})"]
    return lines


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(md(h) for h in headers) + " |"]
    out.append("|" + "---|" * len(headers))
    out += ["| " + " | ".join(md(cell) for cell in row) + " |" for row in rows]
    return out
