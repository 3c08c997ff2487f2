"""Rules about the suite itself: every test can fail, and a skip under CI is a failure."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent

_EXPECTING = frozenset({"raises", "warns", "fail", "deprecated_call"})


def _checks_directly(func: ast.AST) -> bool:
    """An assert, a raise, or an expected exception (``pytest.raises``/``warns``/``fail``)."""
    for node in ast.walk(func):
        if isinstance(node, ast.Assert | ast.Raise):
            return True
        func_ = getattr(node, "func", None)
        if isinstance(func_, ast.Attribute) and func_.attr in _EXPECTING:
            return True
    return False


def _called_names(func: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(func):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name):
                names.add(node.func.id)
            elif isinstance(node.func, ast.Attribute):
                names.add(node.func.attr)
    return names


def unchecked_tests(root: Path) -> list[str]:
    """Test functions that neither check anything themselves nor call a helper of the suite that
    does (helpers are followed by name, transitively)."""
    functions: dict[str, list[tuple[Path, ast.FunctionDef | ast.AsyncFunctionDef]]] = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                functions.setdefault(node.name, []).append((path, node))
    checking = {name for name, defs in functions.items() if any(_checks_directly(d) for _, d in defs)}
    grew = True
    while grew:
        grew = False
        for name, defs in functions.items():
            if name not in checking and any(_called_names(d) & checking for _, d in defs):
                checking.add(name)
                grew = True
    return sorted(
        f"{path.relative_to(root)}:{d.lineno}: {name}"
        for name, defs in functions.items()
        if name.startswith("test_") and name not in checking
        for path, d in defs
    )


def test_every_test_function_checks_something() -> None:
    assert unchecked_tests(TESTS) == []


def test_the_rule_finds_a_test_that_checks_nothing(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text(
        "import json\n\n"
        "def helper(x):\n    assert x\n\n"
        "def test_records():\n    json.dumps({})\n\n"
        "def test_uses_helper():\n    helper(1)\n\n"
        "def test_expects():\n    import pytest\n    with pytest.raises(ValueError):\n        int('x')\n"
    )
    assert unchecked_tests(tmp_path) == ["test_x.py:6: test_records"]


def test_a_skip_fails_the_run_under_ci(tmp_path: Path) -> None:
    shutil.copy(TESTS / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_skip.py").write_text("import pytest\n\ndef test_a():\n    pytest.skip('no data')\n")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", str(tmp_path)]
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    local = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    env_ci = {**env, "CI": "true"}
    ci = subprocess.run(cmd, cwd=tmp_path, env=env_ci, capture_output=True, text=True, timeout=120)
    assert local.returncode == 0, local.stdout + local.stderr
    assert ci.returncode == 1, ci.stdout + ci.stderr
    assert "skipped test counts as a failure" in ci.stdout
