"""Dependencies are honest: every package pyproject.toml declares for the runtime is imported by the
package (or is there for a reason written here), and every third-party package the package imports
is declared (not merely installed as a dependency of a dependency)."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Declared but imported by a dependency on our behalf, never by us.
INDIRECT = {"sniffio": "httpx's ASGI transport imports it on every request (the embedded simulator)"}


def declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {_normal(re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0]) for spec in project["dependencies"]}


def imported_top_levels() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "reconciler").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"reconciler", "__future__"}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def distributions_of(top_level: str) -> set[str]:
    return {_normal(d) for d in importlib.metadata.packages_distributions().get(top_level, [])}


def test_every_declared_dependency_is_used() -> None:
    used = set().union(*(distributions_of(name) for name in imported_top_levels()))
    unused = declared() - used - set(INDIRECT)
    assert not unused, f"declared in pyproject.toml but never imported by reconciler/: {sorted(unused)}"


def test_every_imported_package_is_declared() -> None:
    wanted = declared()
    missing = {name for name in imported_top_levels() if not distributions_of(name) & wanted}
    assert not missing, f"imported by reconciler/ but not declared in pyproject.toml: {sorted(missing)}"
