"""`reconciler --version`: the release (from the git tag, through the installed package's metadata)
and the versions of the plan format and the manifest schema, as the shipped schemas state them."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from click.testing import CliRunner

import reconciler
from reconciler.cli import main
from reconciler.model import API_VERSION
from reconciler.planning.plan import FORMAT_VERSION

SCHEMAS = Path(reconciler.__file__).parent / "schemas"


def test_version_names_the_release_the_plan_format_and_the_manifest_schema() -> None:
    r = CliRunner().invoke(main, ["--version"])
    assert r.exit_code == 0, r.output
    assert r.output == f"reconciler {reconciler.__version__} (plan format 1, manifest schema reconciler/v1)\n"
    assert (FORMAT_VERSION, API_VERSION) == (1, "reconciler/v1")


def test_the_printed_formats_are_those_of_the_shipped_schemas() -> None:
    plan = json.loads((SCHEMAS / "plan.schema.json").read_text(encoding="utf-8"))
    manifest = json.loads((SCHEMAS / "manifest.schema.json").read_text(encoding="utf-8"))
    assert plan["properties"]["format_version"] == {"const": FORMAT_VERSION}
    assert manifest["properties"]["apiVersion"] == {"const": API_VERSION}


def test_the_version_is_the_installed_distributions() -> None:
    """What setuptools-scm wrote into the package at install time is what pip knows it as."""
    assert reconciler.__version__ == version("webex-reconciler")


def test_the_console_script_prints_it_too() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "from reconciler.cli import console; console()", "--version"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"reconciler {reconciler.__version__} (plan format 1")
