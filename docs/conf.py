"""Sphinx configuration: the documentation site of conductor_nb.

Built from the repository root (``python -m sphinx -c docs . OUT``) so that the example
notebooks in ``notebooks/`` are pages as they are, with their saved outputs (nbval checks
those outputs; the build never executes a notebook). The prose is the README's: a page
names the README sections it shows (``<!-- readme: Title -->``), so each fact is written
once. The CLI reference is generated from the command declarations.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "conductor_nb"
author = "the conductor_nb developers"
copyright = "2026, the conductor_nb developers"  # noqa: A001

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "conductor_docs",
]

root_doc = "docs/index"
include_patterns = ["docs/*.md", "notebooks/*.ipynb"]
exclude_patterns = ["**/.ipynb_checkpoints"]

# The notebooks are shown with the outputs nbval checked; building never runs them.
nb_execution_mode = "off"
# Widgets show their text/plain fallback outside a live kernel.
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
myst_enable_extensions = ["colon_fence"]
# README sections start at level 2 in the README and are lifted to fit each page.
suppress_warnings = ["myst.header"]

autodoc_member_order = "bysource"
autodoc_typehints = "description"

html_theme = "furo"
html_title = "conductor_nb"
