"""What ``%track depend``, ``conflicts``, ``next`` and ``graph`` return in a notebook.

``Report``: the command's text (as the terminal prints it) with its ``.data``.
``draw(graph)``: the dependency graph on a matplotlib Figure (no pyplot: nothing else is
shown or kept open) that shows itself as a PNG in a notebook, and as its layers in text
(``repr``: what a terminal and nbval see); ``.graph`` holds the nodes and edges. It is
laid out by hand in layers: the tracks that wait on nothing on the
left, each track one column right of the last of its prerequisites; an arrow goes from a
track to what it waits on; colours are the statuses' (``colours``).
"""

from __future__ import annotations

import functools
import io
from typing import Any

from ..colours import STATUS_COLOURS
from ..dependency_report import graph_text, layers
from .display import escape

__all__ = ["Report", "draw"]

_COLUMN, _ROW = 3.2, 1.0  # inches per layer and per track in a layer


class Report:
    """A command's text and its data (``.data``); HTML keeps the text's lines."""

    def __init__(self, text: str, data: Any) -> None:
        self.text = text
        self.data = data

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return f"<pre class='conductor-report'>{escape(self.text)}</pre>"


def _label(node: dict[str, Any]) -> str:
    name = str(node.get("name") or node["track_id"])
    name = name if len(name) <= 24 else name[:23] + "…"
    return f"{name}\n[{node['status']}]"


def positions(graph: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """Where each track goes: x by layer, y spread within its layer (top down)."""
    placed = {}
    for column, layer in enumerate(layers(graph)):
        for row, track_id in enumerate(layer):
            placed[track_id] = (column * _COLUMN, -(row - (len(layer) - 1) / 2) * _ROW)
    return placed


@functools.cache
def _figure_class() -> type:
    """A Figure that is its own PNG in a notebook (matplotlib is imported on first use)."""
    from matplotlib.figure import Figure

    class DependencyFigure(Figure):
        graph: dict[str, Any]

        def _repr_png_(self) -> bytes:
            buffer = io.BytesIO()
            self.savefig(buffer, format="png", dpi=90)
            return buffer.getvalue()

        def __repr__(self) -> str:
            return graph_text(self.graph)

    return DependencyFigure


def draw(graph: dict[str, Any]) -> Any:
    """The dependency graph on a new Figure (an empty graph says so on it)."""
    placed = positions(graph)
    columns = max((x for x, _ in placed.values()), default=0) / _COLUMN + 1
    rows = max((len(layer) for layer in layers(graph)), default=1)
    size = (max(4.0, 2.6 * columns), max(2.0, 0.9 * rows + 0.8))
    fig = _figure_class()(figsize=size)
    fig.graph = graph
    ax = fig.add_subplot()
    ax.set_axis_off()
    if not graph["nodes"]:
        ax.text(0.5, 0.5, "no dependencies between open tracks", ha="center", va="center")
        return fig
    for edge in graph["edges"]:
        (x1, y1), (x2, y2) = placed[edge["from"]], placed[edge["to"]]
        ax.annotate(
            "",
            xy=(x2 + 0.9, y2),
            xytext=(x1 - 0.9, y1),
            arrowprops={"arrowstyle": "->", "color": "#6b7280", "shrinkA": 4, "shrinkB": 4},
        )
    for node in graph["nodes"]:
        x, y = placed[node["track_id"]]
        colour = STATUS_COLOURS.get(str(node["status"]), "#6b7280")
        ax.text(
            x,
            y,
            _label(node),
            ha="center",
            va="center",
            fontsize=9,
            color="white",
            bbox={"boxstyle": "round,pad=0.4", "facecolor": colour, "edgecolor": "none"},
        )
    xs = [x for x, _ in placed.values()]
    ys = [y for _, y in placed.values()]
    ax.set_xlim(min(xs) - 1.4, max(xs) + 1.4)
    ax.set_ylim(min(ys) - 0.7, max(ys) + 0.7)
    ax.set_title("dependencies: an arrow points to what a track waits on", fontsize=10)
    return fig
