"""The documentation site builds with warnings as errors, and shows what it promises:
the README's sections, every command's usage, the API reference and the notebooks with
their saved outputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sphinx.errors import ExtensionError

from conductor_nb import commands

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs")
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-c", "docs", ".", out],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr
    return out


def _page(site: Path, name: str) -> str:
    return (site / name).read_text(encoding="utf-8")


def test_the_front_door_leads_to_the_first_page(site: Path) -> None:
    assert "docs/index.html" in _page(site, "index.html")
    assert "<h1>conductor_nb" in _page(site, "docs/index.html")


def test_pages_show_the_readme_sections_they_name(site: Path) -> None:
    assert "Widgets: the board and the track panel" in _page(site, "docs/notebook.html")
    assert "What the storage promises" in _page(site, "docs/storage.html")
    assert "Wilson interval" in _page(site, "docs/analytics.html")
    assert "&lt;!-- readme:" not in _page(site, "docs/cli.html")  # every marker replaced


def test_the_cli_reference_has_every_command_s_usage(site: Path) -> None:
    page = _page(site, "docs/cli.html")
    for name in commands.command_names():
        assert f"conductor {name}" in page
    assert "usage: conductor create" in page


def test_the_api_reference_documents_the_conductor_class(site: Path) -> None:
    page = _page(site, "docs/api.html")
    assert 'id="conductor_nb.Conductor.create"' in page
    assert 'id="conductor_nb.errors.TrackNotFound"' in page


def test_notebooks_are_pages_with_their_saved_outputs(site: Path) -> None:
    for notebook in sorted((REPO / "notebooks").glob("*.ipynb")):
        page = _page(site, f"notebooks/{notebook.stem}.html")
        assert "cell_output" in page, notebook.name
    assert 'class="dataframe"' in _page(site, "notebooks/01-getting-started.html")
    assert "<img" in _page(site, "notebooks/04-analytics.html")  # the charts


def test_a_page_naming_a_missing_readme_section_fails_the_build(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "docs" / "_ext"))
    try:
        import conductor_docs
    finally:
        sys.path.remove(str(REPO / "docs" / "_ext"))
    source = ["# Page\n\n<!-- readme: No such section -->\n"]
    with pytest.raises(ExtensionError, match="no section '## No such section'"):
        conductor_docs._insert_readme(None, "page", source)
    sections = conductor_docs.readme_sections("## A\ntext\n### Sub\n```\n### kept\n```\n## B\n")
    assert conductor_docs.lift_headings(sections["A"]) == "text\n## Sub\n```\n### kept\n```"
