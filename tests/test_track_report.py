"""A track's report (conductor_nb.report): every section and fact, user text escaped in
the HTML (markup and embedded JSON) and in the Markdown, valid PNG charts, nothing on
disk changed by reading, and a written file that never replaces another by accident."""

from __future__ import annotations

import json
import math
import struct
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from report_track import MATH_METRIC, METRIC, PAYLOAD, PIECES, StepClock, hostile_track

from conductor_nb.engine import Engine
from conductor_nb.errors import InvalidInput
from conductor_nb.report import TrackReport, build_report
from conductor_nb.report.render_html import DATA_ID, script_json
from conductor_nb.report.render_markdown import md

SECTIONS = (
    "overview",
    "criteria",
    "timeline",
    "time-in-status",
    "decisions",
    "assumptions",
    "steps",
    "runs",
    "checkpoints",
    "artifacts",
)
# Elements without an end tag.
VOID = frozenset({"meta", "img", "br", "hr", "link", "input"})


class Page(HTMLParser):
    """The parts of an HTML page the tests look at; an end tag that closes nothing open,
    or an element left open, is a parse failure."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.script: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):  # <img ... />: one element, nothing to close
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.open[-1:]}")
            return
        self.open.pop()

    def handle_data(self, data):
        (self.script if self.open and self.open[-1] == "script" else self.text).append(data)


def parse(document: str) -> Page:
    page = Page()
    page.feed(document)
    page.close()
    assert page.errors == [] and page.open == [], (page.errors, page.open)
    return page


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> TrackReport:
    """One report (charts take a while to draw) that the tests only read."""
    root = tmp_path_factory.mktemp("report") / ".claude" / "conductor"
    clock = StepClock()
    hostile_track(root, clock)
    clock.advance(hours=1)  # active for an hour since the resume
    return build_report(Engine(root, clock=clock))


def test_facts_cover_the_track_and_its_time_per_status(report: TrackReport) -> None:
    facts = report.facts
    assert facts["track"]["name"] == "Report " + PAYLOAD
    assert facts["track"]["goal"] == "Goal " + PAYLOAD
    assert facts["track"]["success_criteria"] == ["Criterion " + PAYLOAD]
    assert facts["track"]["tags"] == ["tag " + PAYLOAD]
    assert [(e["from"], e["to"]) for e in facts["timeline"]] == [
        (None, "draft"),
        ("draft", "ready"),
        ("ready", "active"),
        ("active", "paused"),
        ("paused", "active"),
    ]
    # draft 1 h; active 2 h, paused 3 h, active again for the last hour (open: until now)
    assert facts["time_in_status"] == [
        {"status": "draft", "seconds": 3600.0},
        {"status": "ready", "seconds": 0.0},
        {"status": "active", "seconds": 3 * 3600.0},
        {"status": "paused", "seconds": 3 * 3600.0},
    ]
    (run,) = facts["runs"]
    assert run["status"] == "completed" and run["duration_ms"] == 60 * 60 * 1000
    assert [(r["key"], r["value"]) for r in run["metric_series"] if r["key"] == METRIC] == [
        (METRIC, 0.9),
        (METRIC, 0.5),
        (METRIC, 0.25),
    ]
    assert facts["decisions"][0]["rationale"] == "Why " + PAYLOAD
    assert facts["assumptions"][0]["status"] == "validated"
    assert [c["reason"] for c in facts["checkpoints"]][-1] == "Checkpoint " + PAYLOAD
    assert [a["name"] for a in facts["artifacts"]] == ["notes.txt"]


def test_html_shows_every_section_with_the_user_text_as_text(report: TrackReport) -> None:
    page = parse(report.html())
    ids = [attrs.get("id") for tag, attrs in page.tags if tag == "section"]
    assert ids == list(SECTIONS)
    text = "".join(page.text)
    for shown in (
        "Report " + PAYLOAD,
        "Goal " + PAYLOAD,
        "Criterion " + PAYLOAD,
        "Decision " + PAYLOAD,
        "Why " + PAYLOAD,
        "Assumption " + PAYLOAD,
        "Evidence " + PAYLOAD,
        "Step " + PAYLOAD,
        "Run " + PAYLOAD,
        "Pause " + PAYLOAD,
        "Checkpoint " + PAYLOAD,
        f"{METRIC}=0.25",
        f"param {PAYLOAD}=value {PAYLOAD}",
        "3 h 0 min",  # time active and paused
        "validated",
    ):
        assert shown in text, shown


def test_html_never_holds_user_text_unescaped(report: TrackReport) -> None:
    document = report.html()
    for piece in PIECES:
        if piece == "</script>":  # the embedded data's own end tag, and only it
            assert document.count(piece) == 1
            assert document.index(piece) > document.index('<script type="application/json"')
            continue
        if piece == "&amp;":  # escaped again: &amp;amp; (checked below)
            continue
        assert piece not in document, piece
    # every & of the user's "&amp;" is escaped again (in the markup, and as \u0026 in JSON)
    assert document.count("&amp;") == document.count("&amp;amp;") > 0
    page = parse(document)
    scripts = [attrs for tag, attrs in page.tags if tag == "script"]
    assert scripts == [{"type": "application/json", "id": DATA_ID}]
    assert not [(tag, name) for tag, attrs in page.tags for name in attrs if name.startswith("on")]
    images = [attrs["src"] for tag, attrs in page.tags if tag == "img"]
    assert len(images) == 3 and all(s.startswith("data:image/png;base64,") for s in images)
    # the embedded data reads back as the facts, text and all
    (raw,) = page.script
    assert json.loads(raw) == report.facts


def test_embedded_json_cannot_end_its_script_element() -> None:
    raw = script_json({"a": "</script><!-- & \u2028", "b": math.nan, "c": [math.inf]})
    assert "<" not in raw and ">" not in raw and "&" not in raw and "\u2028" not in raw
    assert json.loads(raw) == {"a": "</script><!-- & \u2028", "b": "NaN", "c": ["Infinity"]}


def test_the_notebook_fragment_is_scoped_and_escaped(report: TrackReport) -> None:
    fragment = report._repr_html_()
    assert fragment.startswith('<div class="conductor-report"><style>')
    assert "<html" not in fragment and "<body" not in fragment
    for piece in PIECES:
        if piece != "&amp;":
            assert fragment.count(piece) == (1 if piece == "</script>" else 0), piece
    assert fragment.count("&amp;") == fragment.count("&amp;amp;") > 0
    rules = fragment.split("<style>")[1].split("</style>")[0]
    selectors = [rule.split("{")[0] for rule in rules.split("}") if "{" in rule]
    assert all(
        part.strip().startswith(".conductor-report") for s in selectors for part in s.split(",")
    )
    assert repr(report).startswith("TrackReport('Report <script>")


def test_markdown_shows_user_text_as_text(report: TrackReport) -> None:
    text = report.markdown()
    assert text.startswith("# Track report: Report \\<script\\>alert\\(1\\)")
    for title in ("## Overview", "## Timeline", "## Decisions", "## Workflow runs"):
        assert f"\n{title}\n" in text
    rendered = MarkdownIt("commonmark").enable("table").render(text)
    assert "<script" not in rendered and "<img src=x" not in rendered
    assert rendered.count("<img ") == 3  # the charts, as data URLs
    parsed = parse(rendered)
    shown = "".join(parsed.text)
    for field in ("Decision ", "Evidence ", "Step ", "Checkpoint ", "Pause "):
        assert field + PAYLOAD in shown, field
    cells = [attrs for tag, attrs in parsed.tags if tag == "td"]
    assert cells  # the tables are tables: a | in user text did not break a row


def test_markdown_escapes_what_markdown_reads_as_syntax() -> None:
    assert md("a|b *c* _d_ [e](f) <g> `h` & $i$ \\") == (
        "a\\|b \\*c\\* \\_d\\_ \\[e\\]\\(f\\) \\<g\\> \\`h\\` \\& \\$i\\$ \\\\"
    )
    assert md("two\nlines") == "two lines"


def test_charts_are_png_images_drawn_from_the_facts(report: TrackReport) -> None:
    assert [chart.key for chart in report.charts] == [
        "time-in-status",
        "run-durations",
        "run-metrics",
    ]
    for chart in report.charts:
        assert chart.png.startswith(b"\x89PNG\r\n\x1a\n")
        width, height = struct.unpack(">II", chart.png[16:24])
        assert width > 100 and height > 100


def test_without_charts_nothing_is_drawn(root: Path, clock: StepClock) -> None:
    hostile_track(root, clock)
    plain = build_report(Engine(root, clock=clock), charts=False)
    assert plain.charts == []
    assert "data:image" not in plain.html() and "data:image" not in plain.markdown()


def test_reading_a_track_for_its_report_changes_nothing_on_disk(
    root: Path, clock: StepClock
) -> None:
    hostile_track(root, clock)

    def state() -> dict[str, tuple[bytes, int]]:
        return {
            str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }

    before = state()
    report = build_report(Engine(root, clock=clock))
    report.html(), report.markdown()
    assert state() == before


def test_a_new_track_reports_what_it_lacks(engine: Engine) -> None:
    engine.create("Quiet track")
    report = build_report(engine, "Quiet track")
    text = "".join(parse(report.html()).text)
    for empty in ("No success criteria recorded.", "No decisions recorded.", "No workflow runs."):
        assert empty in text
    assert [chart.key for chart in report.charts] == ["time-in-status"]


def test_a_track_of_the_original_tool_gets_its_timeline_from_timestamps(
    seed_root: Path,
) -> None:
    report = build_report(Engine(seed_root), "User authentication", charts=False)
    reasons = [e["reason"] for e in report.facts["timeline"]]
    assert reasons[0] == "reconstructed from created_at"
    assert report.facts["timeline"][-1]["to"] == "completed"
    assert "User authentication" in "".join(parse(report.html()).text)


def test_a_non_finite_metric_stays_strict_json_and_out_of_the_chart(engine: Engine) -> None:
    engine.create("NaN track")
    run = engine.create_run("NaN track", "nan run")
    engine.set_run_status("NaN track", run["run_id"], "running")
    engine.log_metrics("NaN track", run["run_id"], {"loss": math.nan})
    engine.log_metrics("NaN track", run["run_id"], {"loss": 0.5})
    report = build_report(engine, "NaN track")
    series = report.facts["runs"][0]["metric_series"]
    assert [row["value"] for row in series] == ["NaN", 0.5]
    json.dumps(report.facts, allow_nan=False)  # what `conductor report --json` prints
    assert "run-metrics" in [chart.key for chart in report.charts]


def test_write_makes_a_new_file_and_replaces_one_only_when_forced(
    report: TrackReport, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    written = report.write(out / "report.html")
    assert written == {
        "path": str(out / "report.html"),
        "format": "html",
        "bytes": (out / "report.html").stat().st_size,
    }
    (out / "report.html").write_text("mine")
    with pytest.raises(InvalidInput, match="exists: add --force to replace it"):
        report.write(out / "report.html")
    assert (out / "report.html").read_text() == "mine"
    report.write(out / "report.html", force=True)
    assert (out / "report.html").read_text().startswith("<!DOCTYPE html>")
    report.write(out / "report.md")
    assert (out / "report.md").read_text() == report.markdown()
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.md"]  # no temp


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("report.txt", "a report is written as .html or .md"),
        ("missing/report.html", "there is no folder"),
        ("folder.html", "is a folder"),
    ],
)
def test_write_refuses_what_it_cannot_do(
    report: TrackReport, tmp_path: Path, name: str, message: str
) -> None:
    (tmp_path / "folder.html").mkdir()
    with pytest.raises(InvalidInput, match=message):
        report.write(tmp_path / name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.html"]


def test_write_stays_out_of_the_root(report: TrackReport) -> None:
    """The root's files change only through its transactions."""
    root = Path(report.facts["root"])
    before = sorted(root.rglob("*"))
    for inside in (root / "report.html", root / "tracks" / "report.md"):
        with pytest.raises(InvalidInput, match="is inside the conductor root"):
            report.write(inside, force=True)
    assert sorted(root.rglob("*")) == before


def test_a_metric_name_that_looks_like_math_is_drawn_as_text(report: TrackReport) -> None:
    """matplotlib would raise on the broken math of this name if it parsed it."""
    assert MATH_METRIC in {row["key"] for row in report.facts["runs"][0]["metric_series"]}
    assert "run-metrics" in [chart.key for chart in report.charts]
