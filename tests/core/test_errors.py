"""One error tree: every user-facing error class is defined in reconciler/errors.py (drawn at its
top), with a stable code that the JSON error document carries and its schema lists; problems in
the manifests carry the code of the check that found them; a hint says what to do where the
message does not."""

from __future__ import annotations

import importlib
import json
import pkgutil
from pathlib import Path

from click.testing import CliRunner

import reconciler
from reconciler import errors
from reconciler.cli import main
from reconciler.cli.boundary import _error_lines
from reconciler.errors import DIAGNOSTIC_CODES, JobConflict, ReconcilerError, StalePlan
from reconciler.render.failures import error_document
from reconciler.validation.validate import validate_paths, validate_text

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "reconciler" / "schemas"
INVALID = ROOT / "tests" / "manifests" / "invalid"


def _tree(cls: type[ReconcilerError]) -> list[type[ReconcilerError]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found += _tree(sub)
    return found


def test_every_user_facing_error_lives_in_errors_py_with_a_code_in_the_schema() -> None:
    for module in pkgutil.walk_packages(reconciler.__path__, "reconciler."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)  # every class of the package is defined now
    classes = _tree(ReconcilerError)
    assert {c.__module__ for c in classes} == {"reconciler.errors"}
    own = [c for c in classes if "code" in c.__dict__]
    assert len({c.code for c in own}) == len(own)  # a class with a code of its own: its own code
    schema = json.loads((SCHEMAS / "error.schema.json").read_text(encoding="utf-8"))
    listed = set(schema["$defs"]["code"]["enum"])
    assert {c.code for c in classes} | {"internal"} | set(DIAGNOSTIC_CODES) == listed
    drawn = errors.__doc__ or ""
    assert all(c.__name__ in drawn and c.code in drawn for c in classes if c is not ReconcilerError)


def test_diagnostics_carry_the_code_of_the_check_that_found_them() -> None:
    result = validate_paths([INVALID])
    codes = {d.code for d in result.diagnostics}
    assert codes <= set(DIAGNOSTIC_CODES)
    assert {"yaml", "manifest", "schema", "semantic"} <= codes
    infinite = (
        "apiVersion: reconciler/v1\nkind: Device\nmetadata: {mac: 0A1B2C3D4E01}\nspec:\n  settings:\n"
        "    customEnabled: true\n    customizations: {mpp: {vlan: {enabled: true, value: .inf}}}\n"
    )
    assert [d.code for d in validate_text(infinite, "x.yaml").diagnostics] == ["input"]
    schema = json.loads((SCHEMAS / "validate.schema.json").read_text(encoding="utf-8"))
    assert set(schema["properties"]["diagnostics"]["items"]["properties"]["code"]["enum"]) == set(
        DIAGNOSTIC_CODES
    )


def test_the_error_document_and_the_error_line_carry_the_code(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("apiVersion: reconciler/v1\nkind: Nope\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["plan", str(tmp_path), "--format", "json"], catch_exceptions=False)
    doc = json.loads(r.stdout)
    assert r.exit_code == 1 and doc["code"] == "validation"
    assert [e["code"] for e in doc["errors"]] == ["manifest"]
    assert r.stderr.rstrip().endswith("[validation]")
    examples = str(ROOT / "examples")
    r = CliRunner().invoke(main, ["plan", examples, "--changed-only", "--format", "json"])
    doc = json.loads(r.stdout)
    assert doc["code"] == "config" and doc["errors"][0]["code"] == "config"
    assert "--changed-only needs --baseline DIR" in r.stderr and r.stderr.rstrip().endswith("[config]")


def test_a_hint_where_the_message_does_not_say_what_to_do() -> None:
    busy = JobConflict("POST", "/telephony/config/jobs/devices/callDeviceSettings", 409, "a job runs")
    assert busy.hint is not None and busy.hint.startswith("wait for the running job")
    assert error_document(busy)["errors"][0]["hint"] == busy.hint
    assert _error_lines(busy, {}) == [
        f"Error: {busy} [job-conflict]",
        f"Hint: {busy.hint}",
    ]
    stale = StalePlan("the saved plan is stale: ... Plan again.")  # the message says it
    assert stale.hint is None and "hint" not in error_document(stale)["errors"][0]
    assert _error_lines(stale, {}) == [f"Error: {stale} [stale-plan]"]
    given = StalePlan("stale", hint="plan again")
    assert given.hint == "plan again"
