"""Sphinx extension of the conductor_nb docs.

- ``<!-- readme: Title -->`` in a page is replaced, before the page is parsed, by the
  README section ``## Title`` (its subsections one level up, to sit under the page's
  title). A page naming a section the README lacks fails the build.
- ``{cli-reference}`` writes the usage of every command, from the same declarations the
  CLI and the ``%track`` magic are built from.
"""

from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes
from sphinx.errors import ExtensionError
from sphinx.util.docutils import SphinxDirective

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = re.compile(r"^<!-- readme: (.+?) -->$", re.MULTILINE)


def readme_sections(text: str) -> dict[str, str]:
    """The README's level-2 sections by title: their bodies, without the heading line."""
    sections: dict[str, str] = {}
    for block in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
        title, _, body = block.partition("\n")
        sections[title.strip()] = body
    return sections


def lift_headings(body: str) -> str:
    """``### X`` becomes ``## X`` (outside code fences), so a section fits under a page."""
    lifted, fenced = [], False
    for line in body.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("###"):
            line = line[1:]
        lifted.append(line)
    return "\n".join(lifted)


def _insert_readme(app, docname: str, source: list[str]) -> None:
    sections = readme_sections(README.read_text(encoding="utf-8"))

    def section(match: re.Match[str]) -> str:
        title = match.group(1)
        if title not in sections:
            raise ExtensionError(f"{docname}: README.md has no section '## {title}'")
        return lift_headings(sections[title])

    source[0] = MARKER.sub(section, source[0])


class CliReference(SphinxDirective):
    """The usage of every command, as `conductor COMMAND --help` prints it."""

    def run(self) -> list[nodes.Node]:
        from conductor_nb import commands

        found: list[nodes.Node] = []
        for name in commands.command_names():
            found.append(nodes.rubric(text=f"conductor {name}"))
            usage = commands.help_text(name)
            found.append(nodes.literal_block(usage, usage, language="text"))
        return found


def _front_door(app, exception: Exception | None) -> None:
    """``OUT/index.html`` leads to the site's first page (the pages live under docs/)."""
    if exception is None and app.builder.format == "html":
        target = app.builder.get_target_uri(app.config.root_doc)
        page = f'<!DOCTYPE html><meta http-equiv="refresh" content="0; url={target}">'
        Path(app.outdir, "index.html").write_text(page, encoding="utf-8")


def setup(app):
    app.connect("source-read", _insert_readme)
    app.connect("build-finished", _front_door)
    app.add_directive("cli-reference", CliReference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
