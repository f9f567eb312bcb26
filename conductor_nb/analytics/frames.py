"""Tidy DataFrames over one conductor root or several, built with vectorised numpy/pandas.

``Analytics(source, now=...)`` reads the roots once (``loading``) and derives every frame
from two flat tables: one row per track, one row per history event. All times are UTC
(``datetime64[us, UTC]``); durations are exact differences of UTC instants
(``timedelta64[us]``), so a daylight-saving change or a time-zone offset in a timestamp
never adds or removes an hour.

Definitions (a track's *outcome* is its last closed status: completed, failed or
cancelled; an archived track keeps the outcome it had before archiving; open tracks
have none):

- ``done_at``: when the track reached its outcome (the last event into it);
- ``lead_time``: ``done_at - created_at``; ``cycle_time``: ``done_at - started_at``
  (first activation); both NaT for open tracks;
- ``elapsed``: ``cycle_time`` for closed tracks, ``now - started_at`` for open ones;
- ``time_<status>``: total time spent in that status (an open status counts up to
  ``now``); ``active_time`` is ``time_active``: the work, excluding pauses;
- a track with no history (written by the original tool) gets one from its timestamps,
  so it has the durations those allow (``history`` column: recorded, reconstructed or
  missing when track.json could not be read).
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from itertools import pairwise, repeat
from typing import Any

import numpy as np
import pandas as pd

from ..run_records import METRICS_FILE, metric_rows, read_metrics
from ..store.paths import RUN_ID_RE, TRACK_ID_RE
from ..vocab import TYPICAL_DAYS, Priority, RunStatus, TrackType
from .loading import STATUSES, read_root, resolve_sources
from .outcomes import OUTCOMES, archived_outcome_codes
from .stats import wilson_arrays

__all__ = ["Analytics"]

S = {status: code for code, status in enumerate(STATUSES)}
OPEN_CODES = np.array([S["draft"], S["ready"], S["active"], S["paused"]], dtype=np.int8)
CLOSED_CODES = np.array([S["completed"], S["failed"], S["cancelled"]], dtype=np.int8)
TIMED_STATUSES = ("draft", "ready", "active", "paused", "failed")

STATUS_DTYPE = pd.CategoricalDtype(list(STATUSES))
OUTCOME_DTYPE = pd.CategoricalDtype(list(OUTCOMES))
TYPE_DTYPE = pd.CategoricalDtype([t.value for t in TrackType])
PRIORITY_DTYPE = pd.CategoricalDtype([p.value for p in Priority], ordered=True)
RUN_STATUS_DTYPE = pd.CategoricalDtype([s.value for s in RunStatus])

NAT = np.iinfo(np.int64).min  # NaT as int64 microseconds
US_PER_DAY = 86_400_000_000
US_PER_WEEK = 7 * US_PER_DAY
FREQS = {"D": "day", "W": "week (from Monday)", "M": "month"}


_ZONED = re.compile(r"(?:[Zz]|[+-]\d\d(?::?\d\d)?)$")


def _zoned(value: Any) -> str | None:
    """``value`` with an explicit offset: a time without one is UTC (pandas 2 would give it
    the offset of the string before it)."""
    if type(value) is not str:
        return None
    if value[-1:] == "Z" or _ZONED.search(value) or ("T" not in value and " " not in value.strip()):
        return value
    return value + "+00:00"


def _parse(values: list[str | None]) -> np.ndarray:
    """ISO 8601 strings (any offset, 'Z' or none = UTC) as int64 UTC microseconds."""
    if not values:
        return np.empty(0, dtype=np.int64)
    try:  # all in the engine's format? (map: a loop in C, for 100,000 values)
        engine_format = all(map(str.endswith, values, repeat("Z")))
    except TypeError:  # a None among them
        engine_format = False
    if not engine_format:
        values = [_zoned(value) for value in values]
    parsed = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
    return np.asarray(parsed.as_unit("us").asi8, dtype=np.int64)


def _times(us: np.ndarray) -> pd.Series:
    return pd.Series(us.view("M8[us]"), copy=False).dt.tz_localize("UTC")


def _durations(us: np.ndarray) -> np.ndarray:
    return us.view("m8[us]")


def _first_last(idx: np.ndarray, mask: np.ndarray, n: int, *, last: bool) -> np.ndarray:
    """For each track, the position (in the event arrays) of its first or last event in
    ``mask``; -1 where none. ``idx`` is sorted (events are grouped by track)."""
    out = np.full(n, -1, dtype=np.int64)
    where = np.flatnonzero(mask)
    if not len(where):
        return out
    tracks = idx[where]
    if last:
        keep = np.ones(len(where), dtype=bool)
        keep[:-1] = tracks[1:] != tracks[:-1]
    else:
        keep = np.ones(len(where), dtype=bool)
        keep[1:] = tracks[1:] != tracks[:-1]
    out[tracks[keep]] = where[keep]
    return out


def _pick(values: np.ndarray, positions: np.ndarray, default: Any) -> np.ndarray:
    out = np.full(len(positions), default, dtype=values.dtype)
    found = positions >= 0
    out[found] = values[positions[found]]
    return out


def _now(now: Any) -> pd.Timestamp:
    moment = pd.Timestamp(now if now is not None else datetime.now(UTC))
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware (e.g. datetime(..., tzinfo=UTC))")
    return moment.tz_convert("UTC").as_unit("us")


class Analytics:
    """Every analytics frame over one root (a path, an Engine, None for the usual root)
    or several (a list of roots, or ``{project name: root}``: frames get a ``project``
    column and aggregates are per project).

    ``now`` (timezone-aware, default: the current time) ends the intervals of open
    tracks. ``cache``: keep what each track's files say in the root's column cache and
    reuse it while they are unchanged (``loading``). Frames are computed on first use and
    cached; each call returns a copy."""

    def __init__(
        self, source: Any = None, *, now: Any = None, cache: bool = True, progress: Any = None
    ) -> None:
        pairs, self.multi = resolve_sources(source)
        self.projects = [name for name, _ in pairs]
        self.roots = [root for _, root in pairs]
        self.now = _now(now)
        self._now_us = int(self.now.value // 1000)
        self._cache: dict[str, pd.DataFrame] = {}
        self._assemble(
            [read_root(root, name, cache=cache, progress=progress) for name, root in pairs]
        )

    # -- assembling the flat tables ----------------------------------------------------

    def _assemble(self, raws: list) -> None:
        t: dict[str, list[Any]] = {key: [] for key in raws[0].tracks} if raws else {}
        ev: dict[str, list[Any]] = {key: [] for key in raws[0].events} if raws else {}
        rn: dict[str, list[Any]] = {key: [] for key in raws[0].runs} if raws else {}
        project: list[np.ndarray] = []
        ev_track: list[np.ndarray] = []
        run_track: list[np.ndarray] = []
        offset = 0
        for code, raw in enumerate(raws):
            for key, values in raw.tracks.items():
                t[key].extend(values)
            for key, values in raw.events.items():
                if key != "counts":
                    ev[key].extend(values)
            for key, values in raw.runs.items():
                if key != "track":
                    rn[key].extend(values)
            project.append(np.full(len(raw), code, dtype=np.int32))
            positions = np.arange(offset, offset + len(raw), dtype=np.int64)
            ev_track.append(np.repeat(positions, np.asarray(raw.events["counts"], dtype=np.int64)))
            run_track.append(np.asarray(raw.runs["track"], dtype=np.int64) + offset)
            offset += len(raw)
        self.n = offset
        empty = np.empty(0, dtype=np.int64)
        self._project = np.concatenate(project) if project else np.empty(0, dtype=np.int32)
        self._t = t
        self._ev_idx = np.concatenate(ev_track) if ev_track else empty
        self._ev_from = np.asarray(ev.get("from", []), dtype=np.int8)
        self._ev_to = np.asarray(ev.get("to", []), dtype=np.int8)
        self._ev_at = _parse(ev.get("at", []))
        self._ev_text = {key: ev.get(key, []) for key in ("reason", "actor")}
        self._run_idx = np.concatenate(run_track) if run_track else empty
        self._rn = rn
        self._event_durations()

    def _event_durations(self) -> None:
        """How long each event's target status lasted: until the track's next event,
        or until now when it is the last one and the status is open."""
        idx, at, to = self._ev_idx, self._ev_at, self._ev_to
        count = len(idx)
        self._has_next = np.zeros(count, dtype=bool)
        self._has_next[:-1] = idx[1:] == idx[:-1]
        self._has_prev = np.zeros(count, dtype=bool)
        self._has_prev[1:] = self._has_next[:-1]
        following = np.full(count, NAT, dtype=np.int64)
        following[:-1] = at[1:]
        is_open = np.isin(to, OPEN_CODES)
        end = np.where(self._has_next, following, np.where(is_open, self._now_us, NAT)).astype(
            np.int64
        )
        valid = (at != NAT) & (end != NAT)
        self._ev_valid = valid
        self._ev_dur = np.where(valid, np.maximum(end - at, 0), NAT)

    def _names(self, key: str) -> np.ndarray:
        return np.asarray(self._t.get(key, []), dtype=object)

    @functools.cached_property
    def _types(self) -> pd.Categorical:
        return pd.Categorical(self._t.get("type", []), dtype=TYPE_DTYPE)

    @functools.cached_property
    def _priorities(self) -> pd.Categorical:
        return pd.Categorical(self._t.get("priority", []), dtype=PRIORITY_DTYPE)

    # -- tracks --------------------------------------------------------------------------

    def _cached(self, key: str, build) -> pd.DataFrame:
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key].copy()

    def tracks(self) -> pd.DataFrame:
        """One row per track: attributes, outcome and derived durations (see the module)."""
        return self._cached("tracks", self._build_tracks)

    def _build_tracks(self) -> pd.DataFrame:
        n, t = self.n, self._t
        idx, at, to, frm = self._ev_idx, self._ev_at, self._ev_to, self._ev_from
        status = np.asarray(t.get("status", []), dtype=np.int8)
        fields = {key: _parse(t.get(key, [])) for key in ("created_at", "started_at")}
        for key in OUTCOMES:
            fields[f"{key}_at"] = _parse(t.get(f"{key}_at", []))

        valid_at = at != NAT
        first_active = _first_last(idx, (to == S["active"]) & valid_at, n, last=False)
        last_closed = _first_last(idx, np.isin(to, CLOSED_CODES) & valid_at, n, last=True)
        first_event = _first_last(idx, valid_at, n, last=False)

        # the outcome: the registry's closed status, or for an archived track the closed
        # status it had before (the rule of ``outcomes.archived_outcome``)
        outcome = np.where(np.isin(status, CLOSED_CODES), status, -1).astype(np.int8)
        before = _pick(to, last_closed, -1)
        had = archived_outcome_codes(
            before,
            t.get("result", []),
            fields["completed_at"] != NAT,
            fields["cancelled_at"] != NAT,
        )
        outcome = np.where(status == S["archived"], had, outcome).astype(np.int8)

        # when it got there: the last event into that status, else its timestamp field
        done = np.where(before == outcome, _pick(at, last_closed, NAT), NAT)
        for key in OUTCOMES:
            fallback = (outcome == S[key]) & (done == NAT)
            done = np.where(fallback, fields[f"{key}_at"], done)
        done = np.where(outcome >= 0, done, NAT)
        started = _pick(at, first_active, NAT)
        started = np.where(started == NAT, fields["started_at"], started)
        created = fields["created_at"]
        created = np.where(created == NAT, _pick(at, first_event, NAT), created)

        def span(end: np.ndarray, begin: np.ndarray) -> np.ndarray:
            ok = (end != NAT) & (begin != NAT)
            return np.where(ok, np.maximum(end - begin, 0), NAT)

        closed = outcome >= 0
        end_or_now = np.where(closed, done, self._now_us)
        weights = np.where(self._ev_valid, self._ev_dur, 0).astype(np.float64)
        in_status = {}
        for name in TIMED_STATUSES:
            mask = to == S[name]
            total = np.bincount(idx[mask], weights=weights[mask], minlength=n)
            in_status[name] = np.rint(total).astype(np.int64)

        def count(mask: np.ndarray) -> np.ndarray:
            return np.bincount(idx[mask], minlength=n).astype(np.int64)

        runs_failed = np.bincount(
            self._run_idx[np.asarray(self._rn.get("status", []), dtype=object) == "failed"],
            minlength=n,
        )
        columns: dict[str, Any] = {}
        if self.multi:
            columns["project"] = self._project_column(self._project)
        columns.update(
            {
                "track_id": self._names("track_id"),
                "name": self._names("name"),
                "type": self._types,
                "priority": self._priorities,
                "status": pd.Categorical.from_codes(status, dtype=STATUS_DTYPE),
                "outcome": pd.Categorical.from_codes(
                    np.where(closed, outcome - S["completed"], -1), dtype=OUTCOME_DTYPE
                ),
                "created_at": _times(created),
                "started_at": _times(started),
                "done_at": _times(done),
                "lead_time": _durations(span(done, created)),
                "cycle_time": _durations(span(done, started)),
                "elapsed": _durations(span(end_or_now, started)),
                "active_time": _durations(in_status["active"]),
                **{f"time_{name}": _durations(in_status[name]) for name in TIMED_STATUSES},
                "pauses": count(to == S["paused"]),
                "retries": count((frm == S["failed"]) & (to == S["draft"])),
                "transitions": np.bincount(idx, minlength=n).astype(np.int64),
                "decisions": np.asarray(t.get("decisions", []), dtype=np.int64),
                "runs": np.bincount(self._run_idx, minlength=n).astype(np.int64),
                "runs_failed": runs_failed.astype(np.int64),
                "checkpoints": np.asarray(t.get("checkpoints", []), dtype=np.int64),
                "steps": np.asarray(t.get("steps", []), dtype=np.int64),
                "steps_completed": np.asarray(t.get("steps_completed", []), dtype=np.int64),
                "history": pd.Categorical(
                    t.get("history", []), categories=["recorded", "reconstructed", "missing"]
                ),
            }
        )
        return pd.DataFrame(columns)

    def _project_column(self, codes: np.ndarray) -> pd.Categorical:
        return pd.Categorical.from_codes(codes, categories=self.projects)

    # -- transitions ---------------------------------------------------------------------

    def transitions(self) -> pd.DataFrame:
        """One row per history event: the move, when, why, by whom, and how long the
        track then stayed in the new status (``time_in_status``: until its next event;
        the last event of an open status counts up to now; NaT after a closed one)."""
        return self._cached("transitions", self._build_transitions)

    def _build_transitions(self) -> pd.DataFrame:
        idx = self._ev_idx
        starts = np.flatnonzero(~self._has_prev)
        group_start = np.repeat(starts, np.diff(np.append(starts, len(idx))))
        codes, uniques = pd.factorize(self._names("track_id"))
        columns: dict[str, Any] = {}
        if self.multi:
            columns["project"] = self._project_column(self._project[idx])
        types, priorities = self._types, self._priorities
        columns.update(
            {
                "track_id": pd.Categorical.from_codes(codes[idx], categories=uniques),
                "type": types.take(idx),
                "priority": priorities.take(idx),
                "seq": (np.arange(len(idx)) - group_start).astype(np.int32),
                "from": pd.Categorical.from_codes(self._ev_from, dtype=STATUS_DTYPE),
                "to": pd.Categorical.from_codes(self._ev_to, dtype=STATUS_DTYPE),
                "at": _times(self._ev_at),
                "time_in_status": _durations(self._ev_dur),
                "reason": self._ev_text["reason"],  # text (pandas 3 infers its str dtype)
                "actor": pd.Categorical(self._ev_text["actor"]),
            }
        )
        return pd.DataFrame(columns)

    # -- success rates -------------------------------------------------------------------

    def success(self, by: str | list[str] | None = None, *, confidence: float = 0.95):
        """completed / (completed + failed + cancelled) over closed tracks, with counts and
        the Wilson score interval; ``by``: None (overall), "type", "priority", "month"
        (of ``done_at``, UTC), "week", or any column of ``tracks()``, or a list of them."""
        keys = [by] if isinstance(by, str) else list(by or [])
        if self.multi and "project" not in keys:
            keys.insert(0, "project")
        tracks = self._cache.get("tracks")
        if tracks is None:
            tracks = self.tracks()
        closed = tracks[tracks["outcome"].notna()]
        frame = pd.DataFrame({key: self._key(closed, key) for key in keys}, index=closed.index)
        for name in OUTCOMES:
            frame[name] = (closed["outcome"] == name).to_numpy().astype(np.int64)
        if keys:
            counts = frame.groupby(keys, observed=True, sort=True)[list(OUTCOMES)].sum()
            counts = counts.reset_index()
        else:
            counts = pd.DataFrame({name: [int(frame[name].sum())] for name in OUTCOMES})
        counts.insert(len(keys), "closed", counts[list(OUTCOMES)].sum(axis=1).astype(np.int64))
        rate, low, high = wilson_arrays(counts["completed"], counts["closed"], confidence)
        counts["success_rate"], counts["ci_low"], counts["ci_high"] = rate, low, high
        return counts

    @staticmethod
    def _key(frame: pd.DataFrame, key: str) -> Any:
        if key == "month":
            return _period_labels(frame["done_at"], "M")
        if key == "week":
            return _period_labels(frame["done_at"], "W")
        if key not in frame:
            raise KeyError(f"unknown grouping {key!r}: month, week or a column of tracks()")
        return frame[key]

    # -- flow ----------------------------------------------------------------------------

    def flow(self, freq: str = "W") -> pd.DataFrame:
        """Per period (``freq``: "D", "W" weeks from Monday, "M"; UTC): tracks in each
        status at the end of the period (the data of a cumulative flow diagram), ``wip``
        (active + paused), ``arrivals`` (created), ``throughput`` (completed in the
        period), ``failures`` and ``cancellations`` (transitions in the period)."""
        if freq not in FREQS:
            raise ValueError(f"freq must be one of {', '.join(FREQS)} (got {freq!r})")
        return self._cached(f"flow-{freq}", lambda: self._build_flow(freq))

    def _build_flow(self, freq: str) -> pd.DataFrame:
        valid = self._ev_at != NAT
        period = _floor(self._ev_at[valid], freq)
        frames = []
        groups = range(len(self.projects)) if self.multi else [None]
        for project in groups:
            mask = valid if project is None else valid & (self._project[self._ev_idx] == project)
            in_project = mask[valid]
            frame = self._flow_of(mask, period[in_project], freq)
            if project is not None:
                frame.insert(0, "project", self.projects[project])
            frames.append(frame)
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        if self.multi:
            frame["project"] = pd.Categorical(frame["project"], categories=self.projects)
        return frame

    def _flow_of(self, mask: np.ndarray, period: np.ndarray, freq: str) -> pd.DataFrame:
        """The flow of the events of ``mask`` (those with a time, of one project), in the
        periods ``period``: each moves its track into its status and out of the status of
        the track's event before it (the one before it that has a time)."""
        to, idx = self._ev_to[mask], self._ev_idx[mask]
        first = np.ones(len(idx), dtype=bool)  # the track's first event: its arrival
        first[1:] = idx[1:] != idx[:-1]
        previous = np.empty(len(to), dtype=np.int8)
        previous[1:] = to[:-1]
        previous[first] = -1
        now_period = _floor(np.array([self._now_us]), freq)[0]
        if len(period):
            grid = _grid(int(period.min()), max(int(period.max()), now_period), freq)
        else:
            grid = _grid(now_period, now_period, freq)
        pos = np.searchsorted(grid, period)
        width = len(STATUSES)
        entered, left = to >= 0, previous >= 0
        cells = len(grid) * width  # (period, status) as one index: bincount, not add.at
        counts = np.bincount(pos[entered] * width + to[entered], minlength=cells)
        counts -= np.bincount(pos[left] * width + previous[left], minlength=cells)
        level = counts.reshape(len(grid), width).cumsum(axis=0)
        columns: dict[str, Any] = {"period": _times(grid)}
        for code, name in enumerate(STATUSES):
            columns[name] = level[:, code]
        columns["wip"] = level[:, S["active"]] + level[:, S["paused"]]

        def per_period(selected: np.ndarray) -> np.ndarray:
            return np.bincount(pos[selected], minlength=len(grid)).astype(np.int64)

        columns["arrivals"] = per_period(first)
        columns["throughput"] = per_period(to == S["completed"])
        columns["failures"] = per_period(to == S["failed"])
        columns["cancellations"] = per_period(to == S["cancelled"])
        return pd.DataFrame(columns)

    # -- overruns ------------------------------------------------------------------------

    def overruns(self, measure: str = "cycle") -> pd.DataFrame:
        """Tracks whose duration exceeds the seed's typical range for their type, open
        ones included (measured up to now). ``measure``: "cycle" (first start to done, or
        now), "lead" (created to done, or now) or "active" (time active)."""
        if measure not in ("cycle", "lead", "active"):
            raise ValueError(f"measure must be cycle, lead or active (got {measure!r})")
        tracks = self.tracks()
        low = tracks["type"].map(_typical(0)).astype(float)
        high = tracks["type"].map(_typical(1)).astype(float)
        if measure == "cycle":
            duration = tracks["elapsed"]
        elif measure == "active":
            duration = tracks["active_time"]
        else:
            end = tracks["done_at"].fillna(self.now)
            duration = end - tracks["created_at"]
        days = duration / pd.Timedelta(days=1)
        over = (days > high).to_numpy()
        keep = ["project"] if self.multi else []
        keep += ["track_id", "name", "type", "priority", "status", "outcome"]
        keep += ["created_at", "started_at", "done_at"]
        frame = tracks.loc[over, keep].copy()
        frame.insert(frame.columns.get_loc("outcome") + 1, "open", frame["outcome"].isna())
        frame["days"] = days[over]
        frame["typical_low"] = low[over]
        frame["typical_high"] = high[over]
        frame["over_by_days"] = frame["days"] - frame["typical_high"]
        frame["ratio"] = frame["days"] / frame["typical_high"]
        return frame.sort_values(["ratio", "track_id"], ascending=[False, True]).reset_index(
            drop=True
        )

    # -- lifecycle paths -----------------------------------------------------------------

    def paths(self, *, simplify: bool = True) -> pd.DataFrame:
        """The lifecycle paths (statuses in order, ``draft > ready > active > completed``)
        by how many tracks took each, and how often each ends in success (completed /
        closed). ``simplify`` folds every stretch of pausing and resuming into one
        ``active~paused`` step, so paths differ by shape rather than by pause count."""
        return self._cached(f"paths-{simplify}", lambda: self._build_paths(simplify))

    def _build_paths(self, simplify: bool) -> pd.DataFrame:
        tracks = self._cache.get("tracks")
        if tracks is None:
            tracks = self.tracks()
        starts = np.flatnonzero(~self._has_prev)
        codes = self._ev_to.tolist()  # list slices: ten times cheaper than np.split
        bounds = [*starts.tolist(), len(codes)]
        spell = functools.lru_cache(maxsize=None)(lambda path: _spell(path, simplify))
        paths = np.full(self.n, "(no history)", dtype=object)
        paths[self._ev_idx[starts]] = [
            spell(tuple(codes[begin:end])) for begin, end in pairwise(bounds)
        ]
        frame = pd.DataFrame({"path": paths})
        keys = ["path"]
        if self.multi:
            frame.insert(0, "project", tracks["project"])
            keys.insert(0, "project")
        outcome = tracks["outcome"]
        for name in OUTCOMES:
            frame[name] = (outcome == name).to_numpy().astype(np.int64)
        frame["open"] = outcome.isna().to_numpy().astype(np.int64)
        frame["tracks"] = 1
        grouped = frame.groupby(keys, observed=True, sort=False)
        result = grouped[["tracks", *OUTCOMES, "open"]].sum().reset_index()
        result["closed"] = result[list(OUTCOMES)].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            result["success_rate"] = result["completed"] / result["closed"].where(
                result["closed"] > 0
            )
        if self.multi:
            total = result.groupby("project", observed=True)["tracks"].transform("sum")
        else:
            total = result["tracks"].sum()
        result.insert(len(keys) + 1, "share", result["tracks"] / total)
        result["steps"] = result["path"].str.count(" > ") + 1
        order = [*keys[:-1], "tracks", "path"]
        ascending = [True] * (len(keys) - 1) + [False, True]
        return result.sort_values(order, ascending=ascending).reset_index(drop=True)

    # -- workflow runs -------------------------------------------------------------------

    def runs(self, by: str | list[str] | None = None) -> pd.DataFrame:
        """One row per workflow run (``by`` None), or per group (``by``: "track_id",
        "type", "priority" or a list): runs, finished, failed, ``failure_rate`` (failed /
        finished) and duration median, mean, 90th percentile and total."""
        frame = self._cached("runs", self._build_runs)
        if by is None:
            return frame
        keys = [by] if isinstance(by, str) else list(by)
        if self.multi and "project" not in keys:
            keys.insert(0, "project")
        frame["finished"] = frame["status"].isin(["completed", "failed"])
        frame["seconds"] = frame["duration"].dt.total_seconds()
        grouped = frame.groupby(keys, observed=True, sort=True)
        result = grouped.agg(
            runs=("run_id", "size"),
            finished=("finished", "sum"),
            failed=("failed", "sum"),
            median=("seconds", "median"),
            mean=("seconds", "mean"),
            p90=("seconds", lambda s: s.quantile(0.9)),
            total=("seconds", "sum"),
        ).reset_index()
        with np.errstate(invalid="ignore", divide="ignore"):
            result.insert(
                len(keys) + 3,
                "failure_rate",
                result["failed"] / result["finished"].where(result["finished"] > 0),
            )
        for name in ("median", "mean", "p90", "total"):
            result[f"duration_{name}"] = pd.to_timedelta(result.pop(name), unit="s")
        return result

    def _build_runs(self) -> pd.DataFrame:
        rn, idx = self._rn, self._run_idx
        columns: dict[str, Any] = {}
        if self.multi:
            columns["project"] = self._project_column(self._project[idx])
        track_ids = self._names("track_id")
        columns["track_id"] = track_ids[idx] if len(idx) else np.empty(0, dtype=object)
        columns["type"] = self._types.take(idx)
        columns["run_id"] = np.asarray(rn.get("run_id", []), dtype=object)
        columns["name"] = np.asarray(rn.get("name", []), dtype=object)
        columns["status"] = pd.Categorical(rn.get("status", []), dtype=RUN_STATUS_DTYPE)
        times = {
            key: _parse(rn.get(key, [])) for key in ("created_at", "started_at", "finished_at")
        }
        for key, value in times.items():
            columns[key] = _times(value)
        recorded = np.asarray(
            [np.nan if v is None else v for v in rn.get("duration_ms", [])], dtype=float
        )
        measured = np.where(
            (times["finished_at"] != NAT) & (times["started_at"] != NAT),
            (times["finished_at"] - times["started_at"]) / 1000,
            np.nan,
        )
        ms = np.where(np.isnan(recorded), measured, recorded)
        columns["duration"] = pd.to_timedelta(ms, unit="ms")
        columns["failed"] = columns["status"] == "failed"
        columns["error_type"] = np.asarray(rn.get("error_type", []), dtype=object)
        return pd.DataFrame(columns)

    def run_metrics(self) -> pd.DataFrame:
        """One row per metric value logged on a workflow run (``run.log``): track_id,
        run_id, key, value, step and time (UTC). Read from the runs' metrics files on the
        first call (they are outside the column cache: they can be long)."""
        return self._cached("run_metrics", self._build_run_metrics)

    def cells(self) -> pd.DataFrame:
        """One row per notebook cell recorded for a track (``analytics.cell_time``), read
        now from the roots (cell records are outside the column cache)."""
        from .cell_time import cells_frame

        roots = dict(zip(self.projects, self.roots, strict=True)) if self.multi else self.roots[0]
        return cells_frame(roots)

    def notebook_time(self) -> pd.DataFrame:
        """Per track and notebook: cells, runs and seconds spent (``analytics.cell_time``)."""
        from .cell_time import notebook_time

        return notebook_time(self.cells())

    def estimates(self, by: str = "type") -> pd.DataFrame:
        """Estimate against actual (``analytics.estimate_frames``), read now from the roots:
        ``by="type"`` per track type, ``"step_type"`` per step type, ``"track"`` or
        ``"step"`` one row each."""
        from .estimate_frames import estimates

        roots = dict(zip(self.projects, self.roots, strict=True)) if self.multi else self.roots[0]
        return estimates(roots, by)

    def _build_run_metrics(self) -> pd.DataFrame:
        runs = self._cached("runs", self._build_runs)
        codes = self._project[self._run_idx] if len(self._run_idx) else []
        rows: dict[str, list[Any]] = {k: [] for k in ("code", "track_id", "run_id")}
        values: list[dict[str, Any]] = []
        for code, track_id, run_id in zip(codes, runs["track_id"], runs["run_id"], strict=True):
            if not (TRACK_ID_RE.fullmatch(str(track_id)) and RUN_ID_RE.fullmatch(str(run_id))):
                continue  # ids from the files: never a path elsewhere
            folder = self.roots[code] / "tracks" / track_id / "workflows" / run_id
            logged = metric_rows(read_metrics(folder / METRICS_FILE))
            for key, value in (("code", code), ("track_id", track_id), ("run_id", run_id)):
                rows[key].extend(repeat(value, len(logged)))
            values.extend(logged)
        columns: dict[str, Any] = {}
        if self.multi:
            columns["project"] = self._project_column(np.asarray(rows["code"], dtype=np.int32))
        columns["track_id"] = np.asarray(rows["track_id"], dtype=object)
        columns["run_id"] = np.asarray(rows["run_id"], dtype=object)
        columns["key"] = np.asarray([v["key"] for v in values], dtype=object)
        columns["value"] = np.asarray([v["value"] for v in values], dtype=float)
        steps = [v["step"] if isinstance(v["step"], int) else None for v in values]
        columns["step"] = pd.array(steps, dtype="Int64")
        columns["time"] = _times(_parse([v["time"] for v in values]))
        return pd.DataFrame(columns)

    # -- key figures ---------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """The key figures, JSON-ready (the CLI's `analytics`, the notebook panel)."""
        tracks = self.tracks()
        closed = tracks["outcome"].notna()
        overall = self.success()
        totals = {name: int(overall[name].sum()) for name in (*OUTCOMES, "closed")}
        k, n = totals["completed"], totals["closed"]
        rate, low, high = wilson_arrays(np.array([k]), np.array([n]))
        completed = tracks["outcome"] == "completed"
        four_weeks = self.now - pd.Timedelta(days=28)
        runs = self._cached("runs", self._build_runs)
        finished_runs = runs["status"].isin(["completed", "failed"])
        overruns = self.overruns()
        # over all projects at once: a project's own shares are in paths()
        by_path = self.paths().groupby("path", observed=True, sort=False)["tracks"].sum()
        top = by_path.reset_index().sort_values(["tracks", "path"], ascending=[False, True])
        top = top.head(1).assign(share=top["tracks"] / max(1, int(by_path.sum())))

        def median_days(series: pd.Series) -> float | None:
            value = series.median()
            return None if pd.isna(value) else round(value / pd.Timedelta(days=1), 2)

        return {
            "projects": list(self.projects),
            "as_of": self.now.isoformat(),
            "tracks": len(tracks),
            "transitions": len(self._ev_idx),
            "open": int((~closed).sum()),
            "by_status": {
                name: int(value)
                for name, value in tracks["status"].value_counts(sort=False).items()
                if value
            },
            **totals,
            "success_rate": _float(rate[0]),
            "ci_low": _float(low[0]),
            "ci_high": _float(high[0]),
            "median_lead_days": median_days(tracks.loc[completed, "lead_time"]),
            "median_cycle_days": median_days(tracks.loc[completed, "cycle_time"]),
            "median_active_days": median_days(tracks.loc[completed, "active_time"]),
            "completed_last_4_weeks": int((tracks.loc[completed, "done_at"] > four_weeks).sum()),
            "wip": int(tracks["status"].isin(["active", "paused"]).sum()),
            "overruns": len(overruns),
            "overruns_open": int(overruns["open"].sum()),
            "runs": len(runs),
            "runs_failed": int(runs["failed"].sum()),
            "run_failure_rate": _float(
                runs["failed"].sum() / finished_runs.sum() if finished_runs.any() else None
            ),
            "top_path": None if top.empty else str(top["path"].iloc[0]),
            "top_path_share": None if top.empty else _float(top["share"].iloc[0]),
            "reconstructed_histories": int((tracks["history"] != "recorded").sum()),
        }

    def frames(self) -> dict[str, pd.DataFrame]:
        """Every frame at once (what the benchmark times)."""
        return {
            "tracks": self.tracks(),
            "transitions": self.transitions(),
            "success_by_type": self.success("type"),
            "success_by_priority": self.success("priority"),
            "success_by_month": self.success("month"),
            "flow": self.flow("W"),
            "overruns": self.overruns(),
            "paths": self.paths(),
            "runs": self.runs(),
            "runs_by_type": self.runs("type"),
        }


def _float(value: Any) -> float | None:
    if value is None or pd.isna(value):
        return None
    return round(float(value), 4)


def _typical(which: int) -> dict[str, float]:
    return {t.value: (r[which] if r else np.nan) for t, r in TYPICAL_DAYS.items()}


def _floor(us: np.ndarray, freq: str) -> np.ndarray:
    """Start of the UTC day, week (Monday) or month of each instant (int64 microseconds)."""
    days = np.floor_divide(us, US_PER_DAY)
    if freq == "D":
        return days * US_PER_DAY
    if freq == "W":
        weekday = (days + 3) % 7  # 1970-01-01 was a Thursday
        return (days - weekday) * US_PER_DAY
    months = us.view("M8[us]").astype("M8[M]")
    return months.astype("M8[us]").view(np.int64)


def _grid(first: int, last: int, freq: str) -> np.ndarray:
    if freq == "D":
        return np.arange(first, last + 1, US_PER_DAY, dtype=np.int64)
    if freq == "W":
        return np.arange(first, last + 1, US_PER_WEEK, dtype=np.int64)
    months = np.arange(
        np.int64(first).view("M8[us]").astype("M8[M]"),
        np.int64(last).view("M8[us]").astype("M8[M]") + 1,
    )
    return months.astype("M8[us]").view(np.int64)


def _period_labels(times: pd.Series, freq: str) -> pd.Series:
    us = np.asarray(pd.DatetimeIndex(times).as_unit("us").asi8, dtype=np.int64)
    missing = us == NAT
    start = _floor(np.where(missing, 0, us), freq).view("M8[us]")
    unit = "M8[M]" if freq == "M" else "M8[D]"
    labels = np.datetime_as_string(start.astype(unit)).astype(object)
    labels[missing] = None
    return pd.Series(labels, index=times.index)


SIMPLE_LOOP = "active~paused"


def _spell(codes: tuple[int, ...], simplify: bool) -> str:
    names = [STATUSES[c] if c >= 0 else "?" for c in codes]
    if simplify:
        folded: list[str] = []
        for name in names:
            if (
                name in ("active", "paused")
                and folded
                and folded[-1]
                in (
                    "active",
                    "paused",
                    SIMPLE_LOOP,
                )
            ):
                folded[-1] = SIMPLE_LOOP
            else:
                folded.append(name)
        names = folded
    return " > ".join(names)
