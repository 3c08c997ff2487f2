"""``plan --baseline DIR --changed-only``: a pull request's plan reads only what it changes (and what
depends on that), with the same steps for it as the full plan, on a generated org."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from reconciler.cli import options as cli_module
from reconciler.flows.connect import Connection
from reconciler.planning.changed import changed_addresses
from reconciler.sim.app import create_app
from reconciler.validation.validate import validate_text

from .conftest import run

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import harness  # noqa: E402

DEVICES = 60
MEMBERS = "GET /v1/telephony/config/devices/{deviceId}/members"


@pytest.fixture
def org(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Any, str]:
    """A generated org; the checkout's ``manifests/`` change the settings of one device, the base
    branch's checkout ``base/manifests/`` matches the org."""
    monkeypatch.chdir(tmp_path)
    for name, value in harness.SIM_SECRETS.items():  # what export wrote as fromEnv placeholders
        monkeypatch.setenv(name, value)
    app = create_app(seed=11, devices=DEVICES, job_duration_s=0.01)
    monkeypatch.setattr(cli_module, "make_connection", lambda kw: Connection(sim_app=app, concurrency=8))
    exported = harness.export_in_process(app, tmp_path / "export")
    base, change, _ = harness.prepare_repos(exported, tmp_path / "repos")
    shutil.copytree(base, tmp_path / "base" / "manifests")
    shutil.copytree(base, tmp_path / "manifests")
    device = sorted(change.glob(harness.DEVICE_GLOB))[7]
    shutil.copy(device, tmp_path / "manifests" / device.relative_to(change))
    return app, device.stem


def steps_of(output: str, resource: str) -> list[dict[str, Any]]:
    return [s for s in json.loads(output)["steps"] if s["resource"] == resource]


def test_one_device_changed_plans_only_it_with_the_same_steps(org: tuple[Any, str]) -> None:
    app, mac = org
    stats = app.state.sim.stats
    stats.reset()
    full = run("plan", "manifests", "--baseline", "base", "--format", "json")
    assert full.exit_code == 0, full.output
    full_reads = stats.requests_total
    assert stats.requests_by_route[MEMBERS] == DEVICES
    stats.reset()
    fast = run("plan", "manifests", "--baseline", "base", "--format", "json", "--changed-only")
    assert fast.exit_code == 0, fast.output
    assert stats.requests_by_route[MEMBERS] == 1  # the changed device, read once for both plans
    assert stats.requests_total < 15 < full_reads
    mine = steps_of(fast.output, f"Device/{mac}")
    assert mine and [s["address"] for s in mine] == [f"Device/{mac}.settings", f"Device/{mac}.applyChanges"]
    assert mine == steps_of(full.output, f"Device/{mac}")
    doc = json.loads(fast.output)
    assert {s["resource"] for s in doc["steps"]} == {f"Device/{mac}"}
    assert [s["address"] for s in doc["baseline"]["introduced"]["steps"]] == [s["address"] for s in mine]
    assert doc["managed"] == json.loads(full.output)["managed"]
    assert any("--changed-only: planned 1 of" in w for w in doc["baseline"]["warnings"])


def test_changed_only_needs_a_baseline(org: tuple[Any, str]) -> None:
    r = run("plan", "manifests", "--changed-only")
    assert r.exit_code == 1 and "--changed-only needs --baseline" in r.output


MANIFESTS = """\
apiVersion: reconciler/v1
kind: LineKeyTemplate
metadata: {{name: Sales}}
spec:
  deviceModel: DMS Cisco 8851
  lineKeys: [{{lineKeyIndex: 1, lineKeyType: PRIMARY_LINE}}, {{lineKeyIndex: 2, lineKeyType: {key}}}]
---
apiVersion: reconciler/v1
kind: Device
metadata: {{mac: "0A1B2C3D4E01"}}
spec: {{layout: {{template: Sales}}}}
---
apiVersion: reconciler/v1
kind: Device
metadata: {{mac: "0A1B2C3D4E02"}}
spec: {{settings: {{customEnabled: {custom}}}}}
---
apiVersion: reconciler/v1
kind: LineKeyTemplate
metadata: {{name: Branch}}
spec:
  deviceModel: DMS Cisco 6871
  lineKeys: [{{lineKeyIndex: 1, lineKeyType: PRIMARY_LINE}}, {{lineKeyIndex: 2, lineKeyType: {branch}}}]
---
apiVersion: reconciler/v1
kind: LineKeyTemplateAssignment
metadata: {{name: branch}}
spec: {{template: Branch}}
---
apiVersion: reconciler/v1
kind: Policy
metadata: {{name: default}}
spec: {{prune: {prune}}}
"""


def resources(
    key: str = "OPEN", custom: str = "false", prune: str = "false", branch: str = "OPEN"
) -> list[Any]:
    result = validate_text(MANIFESTS.format(key=key, custom=custom, prune=prune, branch=branch))
    assert result.ok, result.diagnostics
    return result.resources


def test_what_depends_on_a_change() -> None:
    base = resources()
    assert changed_addresses(resources(), base) == set()
    assert changed_addresses(resources(custom="true"), base) == {"Device/0A1B2C3D4E02"}
    # a template: the devices whose layout names it, and its assignments
    assert changed_addresses(resources(key="CLOSED"), base) == {
        "LineKeyTemplate/Sales",
        "Device/0A1B2C3D4E01",
    }
    assert changed_addresses(resources(branch="CLOSED"), base) == {
        "LineKeyTemplate/Branch",
        "LineKeyTemplateAssignment/branch",
    }
    # a new device with a layout: the assignments too (a layout owned twice is refused)
    assert changed_addresses(base, [r for r in base if r.address != "Device/0A1B2C3D4E01"]) == {
        "Device/0A1B2C3D4E01",
        "LineKeyTemplateAssignment/branch",
    }
    assert changed_addresses(resources(prune="true"), base) is None  # the Policy: everything


def test_a_reviewed_changed_only_plan_applies_despite_drift_elsewhere(
    org: tuple[Any, str], tmp_path: Path
) -> None:
    """apply --plan re-plans the saved plan's own scope: drift in objects the pull request did not
    touch neither blocks its apply nor gets written by it."""
    _, mac = org
    # Out of band: another device's settings change live (drift the pull request has nothing to do with).
    other = sorted((tmp_path / "repos").glob(f"change/{harness.DEVICE_GLOB}"))[8]
    drift_repo = tmp_path / "drift"
    drift_repo.mkdir()
    shutil.copy(other, drift_repo / other.name)
    r = run("apply", str(drift_repo), "--auto-approve", "--force")
    assert r.exit_code == 0, r.output
    r = run("plan", "manifests", "--baseline", "base", "--changed-only", "--out", "plan.json")
    assert r.exit_code == 0, r.output
    saved = json.loads((tmp_path / "plan.json").read_text())
    assert saved["only"] == [f"Device/{mac}"]
    r = run("apply", "--plan", "plan.json", "--auto-approve", "--format", "json")
    assert r.exit_code == 0, r.output
    applied = {s["id"] for s in json.loads(r.stdout)["steps"] if s["status"] == "applied"}
    assert applied == {f"Device/{mac}.settings", f"Device/{mac}.applyChanges"}


def test_the_baseline_is_compared_with_the_texts_the_pull_request_was_loaded_from(tmp_path: Path) -> None:
    """A baseline file is the same as the pull request's when its text is the one the plan's load
    read (not what the file holds by the time the baseline is read): no file read twice for
    nothing, and no other text compared than the one planned."""
    from reconciler.flows.load import load
    from reconciler.planning.changed import baseline_resources
    from reconciler.validation.parse_cache import remembering

    device = (
        "apiVersion: reconciler/v1\nkind: Device\nmetadata:\n  mac: 0A1B2C3D4E{n}\n"
        "spec:\n  settings:\n    customEnabled: {v}\n"
    )
    for side in ("pr", "base"):
        (tmp_path / side).mkdir()
        (tmp_path / side / "a.yaml").write_text(device.format(n="01", v="false"))
        (tmp_path / side / "b.yaml").write_text(device.format(n="02", v="false"))
    (tmp_path / "base" / "b.yaml").write_text(device.format(n="02", v="true"))
    pr = [str(tmp_path / "pr")]
    pairs = [(pr[0], str(tmp_path / "base"))]
    with remembering():  # as `plan --changed-only` runs
        resources = load(pr)
        (tmp_path / "pr" / "a.yaml").write_text(device.format(n="01", v="true"))  # after the load
        base = baseline_resources(pairs, resources)
    assert base.files_read == 1  # b.yaml differs; a.yaml is the text that was loaded
    assert baseline_resources(pairs, resources).files_read == 2  # else: the files' bytes
    by_name = {r.name: r for r in base.resources}
    assert by_name["0A1B2C3D4E01"] is next(r for r in resources if r.name == "0A1B2C3D4E01")
    assert by_name["0A1B2C3D4E02"].spec["settings"]["customEnabled"] is True
