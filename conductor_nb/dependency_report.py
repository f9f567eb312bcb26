"""Dependencies, conflicts and ``next`` in words: the text the CLI prints and the
notebook shows, and the layers the dependency graph is drawn in (prerequisites first)."""

from __future__ import annotations

from .errors import track_label

TYPE_CHECKING = False  # typing costs ~15 ms to import; the CLI needs it only for checkers
if TYPE_CHECKING:
    from typing import Any

__all__ = ["conflicts_text", "dependencies_text", "graph_text", "layers", "next_text"]


def _linked(item: dict[str, Any]) -> str:
    return f"{track_label(item['track_id'], item.get('name'))} [{item['status']}]"


def _name(node: dict[str, Any] | None, track_id: str) -> str:
    return repr(node["name"]) if node and node.get("name") else track_id


def dependencies_text(listing: dict[str, Any]) -> str:
    """A track's prerequisites (done or waited on), the tracks it blocks, its related ones."""
    lines = [f"{track_label(listing['track_id'], listing.get('name'))} [{listing['status']}]"]
    for key, heading in (
        ("prerequisites", "waits on"),
        ("blocks", "blocks"),
        ("related", "related to"),
    ):
        items = listing[key]
        if not items:
            lines.append(f"  {heading}: nothing")
            continue
        lines.append(f"  {heading}:")
        for item in items:
            done = ("  done" if item["done"] else "  not done") if key == "prerequisites" else ""
            lines.append(f"    {_linked(item)}{done}")
    if listing["waiting_on"]:
        count = len(listing["waiting_on"])
        lines.append(f"  cannot start: {count} prerequisite{'s' if count != 1 else ''} not done")
    return "\n".join(lines)


def conflicts_text(found: list[dict[str, Any]]) -> str:
    if not found:
        return "no conflicts: no two open tracks target the same files or folders"
    lines = [f"{len(found)} conflict{'s' if len(found) != 1 else ''} between open tracks:"]
    for pair in found:
        lines.append(
            f"  {track_label(pair['track_id'], pair['name'])} [{pair['status']}] and "
            f"{track_label(pair['other_id'], pair['other_name'])} [{pair['other_status']}]"
        )
        lines += [f"    {overlap}" for overlap in pair["overlaps"]]
    return "\n".join(lines)


def next_text(data: dict[str, Any], everything: bool) -> str:
    """The proposal and why (or why nothing can start); ``everything``: the whole ranking
    and the tracks that wait, too."""
    if not everything:
        return data["reason"]
    from .render import table  # only for the ranking

    lines = [data["reason"], ""]
    if data["ranking"]:
        rows = [(r["rank"], r["track_id"], r["name"], r["why"]) for r in data["ranking"]]
        lines.append(table(["rank", "id", "name", "why"], rows))
    if data["waiting"]:
        rows = [
            (r["track_id"], r["name"], r["status"], ", ".join(_linked(p) for p in r["waiting_on"]))
            for r in data["waiting"]
        ]
        lines += ["", table(["waiting", "name", "status", "on"], rows)]
    return "\n".join(lines).rstrip()


def layers(graph: dict[str, Any]) -> list[list[str]]:
    """The graph's track ids in layers: a track comes one layer after the last of its
    prerequisites (those that wait on nothing first); in a layer, by id. A cycle written
    by hand is cut where it is met."""
    waits_on: dict[str, list[str]] = {node["track_id"]: [] for node in graph["nodes"]}
    for edge in graph["edges"]:
        waits_on.setdefault(edge["from"], []).append(edge["to"])
        waits_on.setdefault(edge["to"], [])
    depth: dict[str, int] = {}

    def place(track_id: str, seen: frozenset[str]) -> int:
        if track_id not in depth:
            below = [place(p, seen | {track_id}) for p in waits_on[track_id] if p not in seen]
            depth[track_id] = 1 + max(below) if below else 0
        return depth[track_id]

    for track_id in sorted(waits_on):
        place(track_id, frozenset())
    found: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for track_id in sorted(depth):
        found[depth[track_id]].append(track_id)
    return found


def graph_text(graph: dict[str, Any]) -> str:
    """The dependency graph as layers, each track with what it waits on."""
    if not graph["edges"]:
        return "no dependencies between open tracks"
    nodes = {node["track_id"]: node for node in graph["nodes"]}
    waits_on: dict[str, list[str]] = {}
    for edge in graph["edges"]:
        waits_on.setdefault(edge["from"], []).append(edge["to"])
    lines = []
    for number, layer in enumerate(layers(graph), 1):
        lines.append(f"layer {number}:")
        for track_id in layer:
            prereqs = [_name(nodes.get(p), p) for p in waits_on.get(track_id, [])]
            after = f"  <- waits on {', '.join(prereqs)}" if prereqs else ""
            lines.append(f"  {_linked(nodes[track_id])}{after}")
    return "\n".join(lines)
