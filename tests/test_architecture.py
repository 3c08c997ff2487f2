"""The rooms of docs/architecture.md stay as drawn: no import cycles (counting every import, inside
functions and under TYPE_CHECKING too), one network room, a simulator that stands apart, rendering
only at the command layer. The stages' order is import-linter's (tests/test_layers.py)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "reconciler"
NETWORK_LIBS = ("httpx", "httpcore", "socket", "urllib.request", "http.client")
# packages that may import reconciler.render: the command layer and the flows it calls
RENDER_USERS = ("reconciler.cli", "reconciler.flows")


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, *, module_level_only: bool) -> set[str]:
    """Modules a file imports; with ``module_level_only``, those executed at import time (not
    inside functions, not under ``if TYPE_CHECKING``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if module_level_only and isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if module_level_only and isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (child.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in child.names)
            visit(child)

    visit(tree)
    return found


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _internal(imported: set[str], modules: dict[str, Path]) -> set[str]:
    return {name for name in imported if name in modules}


def test_no_import_cycles_counting_every_import() -> None:
    assert _cycles(module_level_only=False) == []


def test_a_cycle_through_an_import_inside_a_function_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    real = _imports

    def with_a_cycle(path: Path, *, module_level_only: bool) -> set[str]:
        found = real(path, module_level_only=module_level_only)
        if _module_name(path) == "reconciler.planning.diff" and not module_level_only:
            found.add("reconciler.planning.plan")  # plan imports diff: a circle via a function
        return found

    monkeypatch.setattr(sys.modules[__name__], "_imports", with_a_cycle)
    assert _cycles(module_level_only=True) == []
    found = _cycles(module_level_only=False)
    assert [set(cycle) for cycle in found] == [{"reconciler.planning.diff", "reconciler.planning.plan"}]


def _cycles(*, module_level_only: bool) -> list[list[str]]:
    modules = _modules()
    graph = {
        name: _internal(_imports(path, module_level_only=module_level_only), modules) - {name}
        for name, path in modules.items()
    }
    # a package's __init__ importing its own submodules is not a cycle of rooms
    for name in graph:
        graph[name] = {d for d in graph[name] if not (name.startswith(d + ".") and d in modules)}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def walk(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append([*stack[stack.index(dep) :], dep])
            elif dep not in state:
                walk(dep, stack)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            walk(name, [])
    return cycles


def test_only_the_webex_package_talks_http() -> None:
    offenders = []
    for name, path in _modules().items():
        if name.startswith(("reconciler.webex", "reconciler.sim")):
            continue
        used = {i for i in _imports(path, module_level_only=False) if i.startswith(NETWORK_LIBS)}
        if used:
            offenders.append(f"{name}: {sorted(used)}")
    assert offenders == []


def test_the_simulator_imports_nothing_of_the_core() -> None:
    offenders = []
    for name, path in _modules().items():
        if not name.startswith("reconciler.sim"):
            continue
        core = {
            i
            for i in _imports(path, module_level_only=False)
            if i.startswith("reconciler") and not i.startswith("reconciler.sim")
        }
        if core:
            offenders.append(f"{name}: {sorted(core)}")
    assert offenders == []


def test_rendering_happens_only_at_the_command_layer() -> None:
    offenders = []
    for name, path in _modules().items():
        if name.startswith(("reconciler.render", *RENDER_USERS)):
            continue
        if any(i.startswith("reconciler.render") for i in _imports(path, module_level_only=False)):
            offenders.append(name)
    assert offenders == []
