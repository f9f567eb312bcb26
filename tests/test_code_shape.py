"""The package's shape: no import cycle among its modules, and short functions.

Every import counts, wherever it stands (module level, inside a function, under
``if TYPE_CHECKING:``): a reader follows them all, and a cycle through any of them
means two modules cannot be understood one without the other.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "conductor_nb"
LONG, TOO_LONG, MOST_LONG = 60, 100, 3


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, ast.Module]:
    return {
        _module_name(path): ast.parse(path.read_text(), str(path))
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def _imported(name: str, is_package: bool, tree: ast.Module, known: set[str]) -> set[str]:
    """The package's modules that ``name`` imports (a package counts as its __init__)."""
    here = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # `from . import x` names a module, or a name the package (its __init__) holds
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    packages = {_module_name(p) for p in PACKAGE.rglob("__init__.py")}
    known = set(modules)
    return {name: _imported(name, name in packages, tree, known) for name, tree in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_relative_imports_resolve_to_modules() -> None:
    tree = ast.parse("from ..store import files\nfrom .. import lifecycle, Conductor\n")
    known = {"conductor_nb", "conductor_nb.store", "conductor_nb.store.files"}
    known |= {"conductor_nb.lifecycle", "conductor_nb.notebook"}
    found = _imported("conductor_nb.notebook.magics", False, tree, known)
    assert found == {"conductor_nb.store.files", "conductor_nb.lifecycle", "conductor_nb"}


def test_no_import_cycle_among_the_package_modules() -> None:
    graph = _graph()
    assert graph.get("conductor_nb.engine")
    assert _cycles(graph) == []


def _function_lengths() -> dict[str, int]:
    lengths = {}
    for name, tree in _modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                lengths[f"{name}:{node.lineno} {node.name}"] = node.end_lineno - first + 1
    return lengths


def test_functions_are_short() -> None:
    lengths = _function_lengths()
    assert len(lengths) > 300  # the walk saw the whole package
    long = {name: n for name, n in lengths.items() if n > LONG}
    assert {name: n for name, n in long.items() if n > TOO_LONG} == {}
    assert len(long) <= MOST_LONG, long
