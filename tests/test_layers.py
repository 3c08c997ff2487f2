"""The layer contracts of pyproject.toml ([tool.importlinter]) hold, and they bite: a copy of the
package with one deliberate bad import (inside a function, or under TYPE_CHECKING) breaks them.

import-linter counts every import statement, wherever it is; the contracts are the stages of
docs/architecture.md (each imports only those below it), the offline stages (no API client), the
simulator standing apart, and no circle between the modules of any package.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAGES = "Each stage imports only the stages below it"
OFFLINE = "Loading and checking manifests never reach the API client"
SIMULATOR = "The simulator imports nothing of the core"
ACYCLIC = "No circle between the modules of any package"
CONTRACTS = (STAGES, OFFLINE, SIMULATOR, ACYCLIC)


def lint_imports(package_root: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` with the project's configuration, on the package found under ``package_root``."""
    return subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()",
         str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(package_root)},
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip


def test_the_layer_contracts_hold() -> None:
    done = lint_imports(ROOT, ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in CONTRACTS:
        assert f"{name} KEPT" in done.stdout


UPWARD_IN_A_FUNCTION = """

def _upward() -> object:
    from reconciler.cli import main

    return main
"""
UPWARD_FOR_TYPES = """

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reconciler.flows.apply import ApplyRequest as ApplyRequest
"""
NETWORK = """

def _online() -> object:
    from reconciler.webex.client import WebexClient

    return WebexClient
"""
CORE_IN_THE_SIMULATOR = """

def _core() -> object:
    from reconciler.planning.plan import Plan

    return Plan
"""
CIRCLE = """

def _back() -> object:
    from reconciler.planning.plan import Plan

    return Plan
"""


@pytest.mark.parametrize(
    ("module", "added", "broken", "said"),
    [
        # an upward import is also a circle (the stage above imports this one)
        (
            "planning/plan.py",
            UPWARD_IN_A_FUNCTION,
            {STAGES, ACYCLIC},
            "reconciler.planning.plan -> reconciler.cli",
        ),
        (
            "validation/inputs.py",
            UPWARD_FOR_TYPES,
            {STAGES, ACYCLIC, OFFLINE},  # and through the flows, the API client
            "reconciler.validation.inputs -> reconciler.flows.apply",
        ),
        ("validation/schema.py", NETWORK, {OFFLINE}, "reconciler.validation.schema -> reconciler.webex"),
        ("sim/ids.py", CORE_IN_THE_SIMULATOR, {SIMULATOR}, "reconciler.sim.ids -> reconciler.planning.plan"),
        # a circle inside one stage, through a function
        ("planning/diff.py", CIRCLE, {ACYCLIC}, "No cycles are allowed in reconciler.planning."),
    ],
)
def test_a_deliberate_bad_import_breaks_its_contract(
    tmp_path: Path, module: str, added: str, broken: set[str], said: str
) -> None:
    copy = tmp_path / "src" / "reconciler"
    shutil.copytree(ROOT / "reconciler", copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / module
    target.write_text(target.read_text(encoding="utf-8") + added, encoding="utf-8")
    done = lint_imports(tmp_path / "src", tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert said in done.stdout  # the copy was analysed, not the installed package
    for name in CONTRACTS:
        assert f"{name} {'BROKEN' if name in broken else 'KEPT'}" in done.stdout, done.stdout
