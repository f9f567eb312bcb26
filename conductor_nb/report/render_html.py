"""The report as one self-contained HTML file: inline CSS, charts as base64 PNG data
URLs, the facts as JSON for machines, and nothing fetched from anywhere (a Content
Security Policy forbids any request and any script). Every piece of user text is escaped,
in the markup and in the embedded JSON."""

from __future__ import annotations

import base64
import html
import json
import math
from typing import Any

from ..colours import STATUS_COLOURS
from .sections import Section, sections
from .words import when

__all__ = ["DATA_ID", "document", "fragment", "script_json"]

DATA_ID = "conductor-report-data"
# No script runs, nothing loads from outside the file: images from data URLs only.
_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_STYLE = """
.conductor-report{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
 color:#111827;max-width:1100px;margin:0 auto;padding:8px 16px}
.conductor-report h1{font-size:1.6em;margin:.4em 0 .1em}
.conductor-report h2{font-size:1.2em;margin:1.4em 0 .4em;border-bottom:1px solid #e5e7eb}
.conductor-report .meta{color:#6b7280;margin:0 0 1em}
.conductor-report table{border-collapse:collapse;width:100%;margin:.3em 0}
.conductor-report th,.conductor-report td{border:1px solid #e5e7eb;padding:3px 6px;
 text-align:left;vertical-align:top;overflow-wrap:break-word}
.conductor-report .scroll{overflow-x:auto}
.conductor-report th{background:#f3f4f6}
.conductor-report dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px}
.conductor-report dt{font-weight:600}.conductor-report dd{margin:0;overflow-wrap:anywhere}
.conductor-report .badge{color:#fff;padding:1px 7px;border-radius:8px;font-size:.85em;
 white-space:nowrap}
.conductor-report figure{margin:.8em 0}.conductor-report img{max-width:100%}
.conductor-report figcaption{color:#6b7280;font-size:.9em}
.conductor-report .empty{color:#6b7280;font-style:italic}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def script_json(data: Any) -> str:
    """``data`` as JSON safe inside a ``<script>`` element: ``<``, ``>`` and ``&`` (and
    the line separators JavaScript once refused) are written as \\u escapes, so no text
    can close the element; non-finite numbers are written as text, as the store does."""
    raw = json.dumps(_finite(data), ensure_ascii=False, allow_nan=False, sort_keys=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        raw = raw.replace(char, escaped)
    return raw.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def document(facts: dict[str, Any], charts: list[Any]) -> str:
    """The whole HTML file."""
    title = f"Track report: {facts['track'].get('name')}"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_POLICY}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n</head>\n<body>\n"
        f"{fragment(facts, charts)}\n</body>\n</html>\n"
    )


def fragment(facts: dict[str, Any], charts: list[Any]) -> str:
    """The report as one element (what a notebook shows inline): its style is scoped to
    ``.conductor-report``, so it leaves the page around it alone."""
    track = facts["track"]
    by_key = {chart.key: chart for chart in charts}
    parts = [
        f'<div class="conductor-report"><style>{_STYLE}</style>',
        f"<h1>{_e(track.get('name'))} {_badge(track.get('status'))}</h1>",
        f'<p class="meta">Track report generated {_e(when(facts["generated_at"]))} '
        f"from {_e(facts['root'])}</p>",
    ]
    parts += [_section(section, by_key) for section in sections(facts)]
    parts.append(
        f'<script type="application/json" id="{DATA_ID}">{script_json(facts)}</script></div>'
    )
    return "\n".join(parts)


def _badge(status: Any) -> str:
    colour = STATUS_COLOURS.get(str(status), "#6b7280")
    return f'<span class="badge" style="background:{colour}">{_e(status)}</span>'


def _section(section: Section, charts: dict[str, Any]) -> str:
    body = [f'<section id="{section.key}">', f"<h2>{_e(section.title)}</h2>"]
    if section.facts:
        items = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in section.facts)
        body.append(f"<dl>{items}</dl>")
    if section.bullets:
        body.append("<ul>" + "".join(f"<li>{_e(b)}</li>" for b in section.bullets) + "</ul>")
    if section.rows:
        body.append(_table(section))
    elif section.empty and not section.bullets:
        body.append(f'<p class="empty">{_e(section.empty)}</p>')
    body += [_figure(charts[key]) for key in section.charts if key in charts]
    body.append("</section>")
    return "\n".join(body)


def _table(section: Section) -> str:
    status = section.headers.index("status") if "status" in section.headers else None
    head = "".join(f"<th>{_e(h)}</th>" for h in section.headers)
    rows = []
    for row in section.rows:
        cells = [_badge(v) if i == status else _e(v) for i, v in enumerate(row)]
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    return f'<div class="scroll">{table}</div>'


def _figure(chart: Any) -> str:
    data = base64.b64encode(chart.png).decode("ascii")
    return (
        f'<figure class="chart" data-chart="{_e(chart.key)}">'
        f'<img alt="{_e(chart.title)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{_e(chart.title)}</figcaption></figure>"
    )
