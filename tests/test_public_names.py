"""Every module says what it offers: each module of the package whose name does not start
with ``_``, and each ``__init__.py`` with more than a docstring, declares ``__all__``, and
every name in it exists; the package's own ``__all__`` is its documented API."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

import conductor_nb

PACKAGE = Path(conductor_nb.__file__).parent
README = PACKAGE.parent / "README.md"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _only_a_docstring(tree: ast.Module) -> bool:
    body = tree.body
    return not body or (
        len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
    )


def _public_modules() -> dict[str, ast.Module]:
    """Every module that must declare ``__all__``, by dotted name."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        if path.name == "__init__.py" and _only_a_docstring(tree):
            continue  # an empty package offers nothing to list
        if path.name.startswith("_") and path.name != "__init__.py":
            continue  # private by its name
        found[_module_name(path)] = tree
    return found


MODULES = _public_modules()


def _declares_all(tree: ast.Module) -> bool:
    """Whether the module assigns ``__all__`` at its top level (not inherited, not
    hidden in a function)."""
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            return True
    return False


def test_the_walk_sees_the_whole_package() -> None:
    assert {"conductor_nb", "conductor_nb.engine", "conductor_nb.analytics.frames"} <= set(MODULES)
    assert "conductor_nb.notebook.magics" in MODULES


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_declares_all_and_every_name_in_it_exists(name: str) -> None:
    assert _declares_all(MODULES[name]), f"{name} declares no __all__"
    module = importlib.import_module(name)
    declared = list(module.__all__)
    assert all(isinstance(item, str) for item in declared)
    assert len(set(declared)) == len(declared), f"{name}: a name twice in __all__"
    missing = [item for item in declared if not hasattr(module, item)]
    assert missing == [], f"{name}.__all__ names what it does not have"


def _readme_exports() -> set[str]:
    """The names README's Python API section lists after "Everything the package
    exports"."""
    text = README.read_text()
    section = text.split("## The Python API", 1)[1].split("\n## ", 1)[0]
    listing = section.split("Everything the package exports:", 1)[1].split("\n\n", 1)[0]
    return set(re.findall(r"`(\w+)`", listing))


def _readme_api_names() -> set[str]:
    """The capitalised names the README's Python API section gives as the package's:
    ``from conductor_nb import X``, ``conductor_nb.X`` and the listed errors."""
    text = README.read_text()
    section = text.split("## The Python API", 1)[1].split("\n## ", 1)[0]
    names = set(re.findall(r"from conductor_nb import (\w+)", section))
    names |= set(re.findall(r"conductor_nb\.([A-Z]\w*)", section))
    names |= set(re.findall(r"`([A-Z]\w*)`", section))
    return names


def test_package_all_is_the_documented_api() -> None:
    documented = _readme_exports()
    assert {"Conductor", "run", "RootMissing"} <= documented  # the parse works
    assert sorted(conductor_nb.__all__) == sorted(documented)


def test_every_name_the_readme_documents_is_exported() -> None:
    documented = _readme_api_names()
    assert {"Conductor", "ConductorError", "TrackNotFound"} <= documented  # the parse works
    assert documented - set(conductor_nb.__all__) == set()
