"""``%track board``: every track of a root as a live ipywidgets board.

Filters (status, type, priority, text search) and a sort order narrow the tracks; they
show one page at a time on a fixed pool of row widgets, so a board of thousands of
tracks costs the browser no more than one page, and a refresh only changes the values
that differ (nothing is re-created: no flicker). Each row has a progress bar and one
button per transition its status allows; the active track's row is highlighted; "open"
shows the track's panel under the board.

The board refreshes by itself within about a second when the registry changes on disk
(see ``watch``). Its text form (``repr``, what nbval compares) and its HTML fallback
(shown where widgets cannot render) list the rows of the current page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from ..board_filter import select
from ..engine import Engine
from ..hierarchy import family_progress, tree_order
from ..lifecycle import transition_verbs
from ..vocab import Priority, TrackStatus, TrackType
from . import watch
from .assumption_views import attention_text, entry_attention_html, mark_attention
from .controls import (
    ConfirmBar,
    MessageLine,
    button_pool,
    set_buttons,
)
from .display import badge, escape, html_rows, progress_bar
from .live import AfterAction, LiveWidget
from .next_line import NEXT_CLASS, next_html, next_text, read_next
from .waiting import mark_waiting, waiting_html, waiting_text

__all__ = ["Board", "BoardRow", "NewTrackForm"]

PAGE_SIZE = 20
OPEN = ("active", "paused", "ready", "draft")
CLOSED = ("completed", "failed", "cancelled", "archived")
# A filter's value is the tuple of values it accepts; () accepts all. (Not None: a
# Dropdown whose value is None shows no selection at all.)
STATUS_OPTIONS: list[tuple[str, tuple[str, ...]]] = [
    ("all statuses", ()),
    ("open", OPEN),
    ("closed", CLOSED),
    *[(s.value, (s.value,)) for s in TrackStatus],
]
_STATUS_RANK = {status: rank for rank, status in enumerate(OPEN + CLOSED)}


def _updated(entry: dict[str, Any]) -> str:
    return str(entry.get("updated_at") or "")


def _percent(entry: dict[str, Any]) -> int:
    progress = entry.get("progress") or {}
    try:
        return max(0, min(100, round(float(progress.get("percentage") or 0))))
    except (TypeError, ValueError):
        return 0


# Sort keys; ties keep the most recently updated first (the sort is stable and runs
# over entries already in that order).
SORTS: dict[str, Callable[[dict[str, Any]], Any] | None] = {
    "status": lambda entry: _STATUS_RANK.get(entry.get("status"), 99),
    "recently updated": None,
    "priority": lambda entry: str(entry.get("priority")),
    "name": lambda entry: str(entry.get("name") or "").casefold(),
    "progress": lambda entry: -_percent(entry),
}


def _status_option(statuses: list[str] | None) -> tuple[str, ...]:
    """The status filter's value for ``--status a,b``: a named group when it is one."""
    wanted = tuple(statuses or ())
    for _, value in STATUS_OPTIONS:
        if set(value) == set(wanted):
            return value
    return wanted


def _singles(everything: str, values: list[str]) -> list[tuple[str, tuple[str, ...]]]:
    return [(everything, ())] + [(value, (value,)) for value in values]


def _filter(
    label: str,
    options: list[tuple[str, tuple[str, ...]]],
    chosen: list[str] | tuple[str, ...] | None,
    *,
    width: str,
) -> widgets.Dropdown:
    """A filter whose values are tuples of accepted values (``()``: all of them). A
    choice of several values from the magic's options becomes an option of its own."""
    value = tuple(chosen or ())
    if value not in [v for _, v in options]:
        options = [*options, (",".join(value), value)]
    return widgets.Dropdown(
        options=options, value=value, description=label, layout={"width": width}
    )


class BoardRow(widgets.HBox):
    """One track on the board: label, progress, transition buttons and "open"."""

    def __init__(self, on_verb: Callable[[str, str], None], on_open: Callable[[str], None]):
        self.track_id: str | None = None
        self.entry: dict[str, Any] = {}
        self.depth = 0  # how deep a sub-track it is (0: top-level, or its parent is not shown)
        self.label = widgets.HTML(layout={"flex": "1 1 auto", "min_width": "300px"})
        self.bar = widgets.IntProgress(min=0, max=100, layout={"width": "120px"})
        self.percent = widgets.Label(layout={"width": "44px"})
        self.buttons = button_pool(lambda button: on_verb(self.track_id, button.description))
        self.open_button = widgets.Button(description="open", layout={"width": "auto"})
        self.open_button.add_class("conductor-open")
        self.open_button.on_click(lambda _: on_open(self.track_id))
        super().__init__(
            [
                self.label,
                self.bar,
                self.percent,
                # a fixed width keeps the bars aligned however many buttons a row has
                widgets.HBox(self.buttons, layout={"width": "250px"}),
                self.open_button,
            ],
            layout={"display": "none", "align_items": "center", "padding": "2px 4px"},
        )
        self.add_class("conductor-board-row")

    @property
    def verbs(self) -> list[str]:
        """The transition buttons shown, left to right."""
        return [b.description for b in self.buttons if b.layout.display != "none"]

    @property
    def active(self) -> bool:
        return "conductor-active" in self._dom_classes

    def show(
        self,
        entry: dict[str, Any],
        *,
        opened: bool = False,
        depth: int = 0,
        percent: int | None = None,
        parent: str | None = None,
    ) -> None:
        """Show ``entry``; ``opened``: its panel is open under the board. A sub-track is
        indented ``depth`` levels and names its ``parent``; ``percent``: its family's."""
        self.track_id, self.entry, self.depth = entry["track_id"], entry, depth
        status = str(entry.get("status"))
        percent = _percent(entry) if percent is None else percent
        under = f" &middot; sub-track of {escape(parent)}" if parent else ""
        with self.hold_sync():
            self.label.value = (
                f"<div style='line-height:1.3;padding-left:{24 * depth}px'>"
                f"{'&#8627; ' if depth else ''}{badge(status)} <b>{escape(entry.get('name'))}</b>"
                f"<br><span style='font-size:0.8em;color:#6b7280'>{escape(entry['track_id'])} "
                f"&middot; {escape(entry.get('type'))} "
                f"&middot; {escape(entry.get('priority'))}{under}</span>{waiting_html(entry)}"
                f"{entry_attention_html(entry)}</div>"
            )
            self.bar.value = percent
            self.bar.bar_style = "success" if status == "completed" else ""
            self.percent.value = f"{percent}%"
            set_buttons(self.buttons, transition_verbs(status))
            self.open_button.description = "close" if opened else "open"
            if status == "active":
                self.add_class("conductor-active")
                self.layout.border = "2px solid #16a34a"
            else:
                self.remove_class("conductor-active")
                self.layout.border = "1px solid transparent"
            self.layout.display = "flex"

    def hide(self) -> None:
        self.track_id, self.entry, self.depth = None, {}, 0
        self.layout.display = "none"


class NewTrackForm(widgets.HBox):
    """Name, type, priority and goal of a new track, and a create button."""

    def __init__(self, on_create: Callable[[], None]) -> None:
        self.name = widgets.Text(placeholder="name of the new track", layout={"width": "240px"})
        self.type = widgets.Dropdown(
            options=[t.value for t in TrackType], value="feature", layout={"width": "140px"}
        )
        self.priority = widgets.Dropdown(
            options=[p.value for p in Priority], value="P2", layout={"width": "70px"}
        )
        self.goal = widgets.Text(placeholder="goal (optional)", layout={"width": "280px"})
        self.create = widgets.Button(description="create", layout={"width": "auto"})
        self.create.add_class("conductor-create")
        self.create.on_click(lambda _: on_create())
        super().__init__(
            [self.name, self.type, self.priority, self.goal, self.create],
            layout={"flex_flow": "row wrap"},
        )

    def clear(self) -> None:
        self.name.value = self.goal.value = ""


class Board(LiveWidget, widgets.VBox):
    """All tracks of a root, filtered, paged, live. ``refresh()`` re-reads the registry;
    filters and paging work on what was read."""

    def __init__(
        self,
        engine: Engine,
        *,
        status: list[str] | None = None,
        type: list[str] | None = None,  # noqa: A002
        priority: list[str] | None = None,
        search: str = "",
        page_size: int = PAGE_SIZE,
        after_action: AfterAction | None = None,
        watcher: watch.Watcher | None = None,
        live: bool = True,
    ) -> None:
        self._setup(engine, after_action, watcher)
        self.page_size = page_size
        self.page = 0
        self.entries: list[dict[str, Any]] = []
        self.matching: list[dict[str, Any]] = []
        self.depths: dict[str, int] = {}  # sub-tracks: how far under their parent
        self.proposed: dict[str, Any] | None = None  # what `next` says, read with the registry
        self.panel = None

        self.status_filter = _filter(
            "status", STATUS_OPTIONS, _status_option(status), width="200px"
        )
        self.type_filter = _filter(
            "type", _singles("all types", [t.value for t in TrackType]), type, width="200px"
        )
        self.priority_filter = _filter(
            "priority", _singles("all", [p.value for p in Priority]), priority, width="160px"
        )
        self.search = widgets.Text(
            value=search, placeholder="search name or id", layout={"width": "200px"}
        )
        self.sort = widgets.Dropdown(
            options=list(SORTS), value="status", description="sort", layout={"width": "210px"}
        )
        self.refresh_button = widgets.Button(description="refresh", layout={"width": "auto"})
        self.refresh_button.add_class("conductor-refresh")
        self.summary = widgets.HTML()
        self.summary.add_class("conductor-board-summary")
        self.next_up = widgets.HTML()  # "Next: NAME (why)", at the top
        self.next_up.add_class(NEXT_CLASS)
        self.confirm = ConfirmBar()
        self.message = MessageLine()
        self.rows = [BoardRow(self._clicked, self.open_track) for _ in range(page_size)]
        self.previous = widgets.Button(description="previous", layout={"width": "auto"})
        self.next = widgets.Button(description="next", layout={"width": "auto"})
        self.page_label = widgets.Label()
        self.detail = widgets.VBox()
        self.new_track = NewTrackForm(self.create)
        adding = widgets.Accordion([self.new_track], titles=("new track",), selected_index=None)

        for control in (self.status_filter, self.type_filter, self.priority_filter, self.sort):
            control.observe(self._filters_changed, "value")
        self.search.observe(self._filters_changed, "value")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.previous.on_click(lambda _: self.turn(-1))
        self.next.on_click(lambda _: self.turn(+1))

        toolbar = widgets.HBox(
            [
                self.status_filter,
                self.type_filter,
                self.priority_filter,
                self.search,
                self.sort,
                self.refresh_button,
            ],
            layout={"flex_flow": "row wrap"},
        )
        pager = widgets.HBox([self.previous, self.page_label, self.next])
        super().__init__(
            [
                self.next_up,
                toolbar,
                adding,
                self.summary,
                self.confirm,
                self.message,
                widgets.VBox(self.rows),
                pager,
                self.detail,
            ]
        )
        self.add_class("conductor-board")
        self._go_live(live)

    # -- reading -------------------------------------------------------------------------

    def signature(self) -> tuple:
        return watch.stat_signature([self.engine.tree.registry.path])

    def refresh(self) -> None:
        """Re-read the registry and show the current page again."""
        with self._lock:
            try:
                self.entries = mark_waiting(self.engine, self.engine.list())
                self.entries = mark_attention(self.engine, self.entries)  # a check failed
            except Exception as err:  # a damaged registry shows in the board, not as a crash
                self.message.reading_failed(err)
                return
            self.message.reading_worked()
            self.proposed = read_next(self.engine)
            self.next_up.value = next_html(self.proposed)
            self._render()

    @property
    def visible(self) -> list[dict[str, Any]]:
        """The entries on the current page."""
        start = self.page * self.page_size
        return self.matching[start : start + self.page_size]

    def row(self, track: str) -> BoardRow:
        """The row showing ``track`` (id or name) on the current page."""
        for row in self.rows:
            if row.track_id is not None and track in (row.track_id, row.entry.get("name")):
                return row
        raise KeyError(f"{track} is not on this page of the board")

    def _filters_changed(self, _change: dict[str, Any]) -> None:
        with self._lock:
            self.page = 0
            self._render()

    def turn(self, pages: int) -> None:
        with self._lock:
            self.page += pages
            self._render()

    def _match(self) -> list[dict[str, Any]]:
        found = select(
            self.entries,
            status=self.status_filter.value,
            type=self.type_filter.value,
            priority=self.priority_filter.value,
            search=self.search.value,
        )
        found.sort(key=_updated, reverse=True)
        key = SORTS[self.sort.value]
        if key is not None:
            found.sort(key=key)
        ordered = tree_order(found, self._by_id())  # sub-tracks right under their parent
        self.depths = {entry["track_id"]: depth for entry, depth in ordered}
        return [entry for entry, _ in ordered]

    def _by_id(self) -> dict[str, dict[str, Any]]:
        return {entry["track_id"]: entry for entry in self.entries}

    def _row_facts(
        self, entry: dict[str, Any], family: dict[str, float], by_id: dict[str, dict[str, Any]]
    ) -> dict[str, Any]:
        """What a row shows of the hierarchy: depth, family progress, parent's name."""
        parent = by_id.get(entry.get("parent_track") or "")
        percent = family.get(entry["track_id"])
        return {
            "depth": self.depths.get(entry["track_id"], 0),
            "percent": None if percent is None else round(percent),
            "parent": parent.get("name") if parent else None,
        }

    def _render(self) -> None:
        self.matching = self._match()
        pages = max(1, -(-len(self.matching) // self.page_size))
        self.page = max(0, min(self.page, pages - 1))
        shown = self.visible
        opened = self.panel.track_id if self.panel is not None else None
        by_id = self._by_id()
        family = family_progress(by_id)
        with self.hold_sync():
            for index, row in enumerate(self.rows):
                if index < len(shown):
                    facts = self._row_facts(shown[index], family, by_id)
                    row.show(shown[index], opened=shown[index]["track_id"] == opened, **facts)
                else:
                    row.hide()
            self.summary.value = self._summary_html(len(shown))
            self.page_label.value = f"page {self.page + 1} of {pages}"
            self.previous.disabled = self.page == 0
            self.next.disabled = self.page >= pages - 1

    def _summary_html(self, shown: int) -> str:
        active = next((x for x in self.entries if x.get("status") == "active"), None)
        start = self.page * self.page_size
        span = f"{start + 1}&ndash;{start + shown}" if shown else "none"
        active_text = f"<b>{escape(active.get('name'))}</b>" if active else "none"
        return (
            f"{span} of {len(self.matching)} matching &middot; {len(self.entries)} tracks "
            f"&middot; active: {active_text}"
        )

    # -- actions ---------------------------------------------------------------------------

    def _clicked(self, track_id: str | None, verb: str) -> None:
        if track_id is None or not verb:
            return
        self._ask_transition(
            verb,
            self._name_of(track_id),
            lambda reason: self.act(track_id, verb, reason=reason),
        )

    def _name_of(self, track_id: str) -> str:
        entry = next((x for x in self.entries if x["track_id"] == track_id), {})
        return entry.get("name") or track_id

    def act(self, track_id: str, verb: str, *, reason: str | None = None) -> bool:
        """Apply ``verb`` to a track, as its button does (confirmation already given)."""
        return self._transition(track_id, verb, reason, self._name_of)

    def create(self) -> bool:
        """Create a track from the form (a draft, shown on the board at once)."""
        form = self.new_track

        def create() -> str:
            track = self.engine.create(
                form.name.value,
                type=form.type.value,
                priority=form.priority.value,
                goal=form.goal.value.strip(),
            )
            form.clear()
            return f"created {track['name']} ({track['track_id']}), a draft"

        return self._act("create", create)

    def open_track(self, track_id: str | None) -> None:
        """Show the track's panel under the board (again: close it)."""
        if track_id is None:
            return
        from .panel import TrackPanel

        with self._lock:
            previous, self.panel = self.panel, None
            self.detail.children = ()
            if previous is not None:
                previous.close()
            if previous is None or previous.track_id != track_id:
                try:
                    self.panel = TrackPanel(
                        self.engine, track_id, after_action=self._panel_acted, watcher=self._watcher
                    )
                except Exception as err:  # e.g. the track is gone: say so in the board
                    self.message.error(err)
                else:
                    self.detail.children = (self.panel,)
            self._render()

    def _panel_acted(self, verb: str) -> None:
        """The open panel changed its track: show it on the board now, not at the next poll."""
        self.refresh()
        self._acted(verb)

    # -- lifetime and text forms -------------------------------------------------------------

    def close(self) -> None:
        """Stop refreshing and close every widget of the board (and of its open panel)."""
        if self.panel is not None:
            self.panel.close()
        super().close()

    def __repr__(self) -> str:
        lines = [self._summary_text()]
        if self.proposed is not None:
            lines.append(next_text(self.proposed))
        family = family_progress(self._by_id())  # a parent's bar is its family's progress
        for entry in self.visible:
            verbs = " ".join(transition_verbs(str(entry.get("status"))))
            marker = "*" if entry.get("status") == "active" else " "
            indent = "  " * self.depths.get(entry["track_id"], 0)  # a sub-track
            percent = round(family.get(entry["track_id"], _percent(entry)))
            lines.append(
                f"{marker} {indent}{entry['track_id']}  {entry.get('name')}  "
                f"[{entry.get('status')}] {percent}%  ({verbs}){waiting_text(entry)}"
                f"{attention_text(entry)}"
            )
        return "\n".join(lines)

    def _summary_text(self) -> str:
        active = next((x for x in self.entries if x.get("status") == "active"), None)
        return (
            f"Board: {len(self.visible)} shown of {len(self.matching)} matching, "
            f"{len(self.entries)} tracks; active: {active.get('name') if active else 'none'}"
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/plain"] = repr(self)
        bundle["text/html"] = self._fallback_html()
        return bundle

    def _fallback_html(self) -> str:
        family = family_progress(self._by_id())  # sub-tracks indented, a parent's family bar
        rows = [
            [
                badge(x.get("status")),
                "&nbsp;&nbsp;&nbsp;" * self.depths.get(x["track_id"], 0) + escape(x.get("name")),
                f"<code>{escape(x['track_id'])}</code>",
                progress_bar(family.get(x["track_id"], _percent(x))),
            ]
            for x in self.visible
        ]
        return (
            f"<div class='conductor-board-fallback'><b>{escape(self._summary_text())}</b>"
            + next_html(self.proposed)
            + html_rows(["status", "name", "id", "progress"], rows)
            + "</div>"
        )
