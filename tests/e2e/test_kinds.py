"""Per kind, through the CLI against the demo org: exact diffs, ownership, references."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from .conftest import device_id, sim_call

Cli = Callable[..., Result]


def write(dirpath: Path, name: str, text: str) -> Path:
    dirpath.mkdir(parents=True, exist_ok=True)
    p = dirpath / name
    p.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return p


def plan_json(cli: Cli, path: Path) -> dict:
    r = cli("plan", str(path), "--format", "json")
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def test_device_matching_live_plans_nothing(cli: Cli, tmp_path: Path) -> None:
    # Carol's phone is seeded exactly as examples/ declares it.
    repo = tmp_path / "m"
    write(
        repo,
        "carol.yaml",
        """
        apiVersion: reconciler/v1
        kind: Device
        metadata: {mac: 0A1B2C3D4E03}
        spec:
          members:
            - {person: carol@example.com, port: 1, primaryOwner: true, lineType: PRIMARY, lineWeight: 1}
    """,
    )
    r = cli("plan", str(repo), "--detailed-exitcode")
    assert r.exit_code == 0, r.output


def test_settings_diff_is_exact_and_put_keeps_undeclared_fields(
    cli: Cli, tmp_path: Path, sim_state: Path
) -> None:
    repo = tmp_path / "m"
    write(
        repo,
        "dave.yaml",
        """
        apiVersion: reconciler/v1
        kind: Device
        metadata: {mac: "0A:1B:2C:3D:4E:04"}
        spec:
          settings:
            customEnabled: true
            customizations:
              mpp:
                backlightTimer: FIVE_MIN
    """,
    )
    doc = plan_json(cli, repo)
    step = next(s for s in doc["steps"] if s["address"].endswith(".settings"))
    paths = sorted(c["path"] for c in step["changes"])
    assert paths == ["/settings/customEnabled", "/settings/customizations/mpp/backlightTimer"]
    dev = device_id(sim_state, "0A1B2C3D4E04")
    live = sim_call(sim_state, "GET", f"/telephony/config/devices/{dev}/settings")
    # The PUT body is the live object with only the declared fields changed.
    expected = json.loads(json.dumps(live["customizations"]))
    expected["mpp"]["backlightTimer"] = "FIVE_MIN"
    assert step["body"]["customizations"] == expected
    r = cli("apply", str(repo), "--auto-approve")
    assert r.exit_code == 0, r.output
    after = sim_call(sim_state, "GET", f"/telephony/config/devices/{dev}/settings")
    assert after["customizations"] == expected


def test_minimal_members_manifest_converges(cli: Cli, tmp_path: Path) -> None:
    repo = tmp_path / "m"
    write(
        repo,
        "lobby.yaml",
        """
        apiVersion: reconciler/v1
        kind: Device
        metadata: {mac: 0a1b2c3d4e06}
        spec:
          members:
            - {workspace: Lobby, port: 1, primaryOwner: true}
            - {person: judy@example.com, port: 2, lineType: SHARED_CALL_APPEARANCE}
    """,
    )
    assert cli("plan", str(repo), "--detailed-exitcode").exit_code == 2
    r = cli("apply", str(repo), "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Converged" in r.output
    assert cli("plan", str(repo), "--detailed-exitcode").exit_code == 0


def test_unknown_references_fail_with_file_and_line(cli: Cli, tmp_path: Path) -> None:
    repo = tmp_path / "m"
    f = write(
        repo,
        "bad.yaml",
        """
        apiVersion: reconciler/v1
        kind: Device
        metadata: {mac: "0A:1B:2C:3D:4E:03"}
        spec:
          members:
            - {person: nobody@example.com, port: 1, primaryOwner: true}
        ---
        apiVersion: reconciler/v1
        kind: Device
        metadata: {mac: "FF:FF:FF:00:00:01"}
        spec:
          members:
            - {person: carol@example.com, port: 1}
        ---
        apiVersion: reconciler/v1
        kind: LocationDeviceSettings
        metadata: {location: Atlantis}
        spec: {customEnabled: false}
    """,
    )
    r = cli("plan", str(repo))
    assert r.exit_code == 1
    assert f"{f}:6:" in r.output and "nobody@example.com" in r.output
    assert f"{f}:10:" in r.output and "FF:FF:FF:00:00:01" in r.output
    assert f"{f}:17:" in r.output and "Atlantis" in r.output


def test_template_create_update_and_assignment_preview(cli: Cli, tmp_path: Path, repo: Path) -> None:
    doc = plan_json(cli, repo)
    by = {s["address"]: s for s in doc["steps"]}
    assert by["LineKeyTemplate/Branch 6871"]["action"] == "create"
    upd = by["LineKeyTemplate/Sales 8851"]
    assert upd["action"] == "update" and [c["path"] for c in upd["changes"]] == ["/lineKeys"]
    assert "LineKeyTemplate/Reception 8865" not in by
    job = by["LineKeyTemplateAssignment/branch-sales"]
    assert job["job_type"] == "applyLineKeyTemplate"
    assert job["depends_on"] == ["LineKeyTemplate/Sales 8851"]
    assert job["meta"]["differingDevices"] == ["0A:1B:2C:3D:4E:07", "0A:1B:2C:3D:4E:08"]
    assert job["meta"]["deviceCount"] == 2


def test_assignment_already_true_plans_nothing(cli: Cli, repo: Path) -> None:
    assert cli("apply", str(repo), "--auto-approve").exit_code == 0
    doc = plan_json(cli, repo)
    assert doc["steps"] == []


def test_person_and_workspace_devices(cli: Cli, repo: Path) -> None:
    doc = plan_json(cli, repo)
    by = {s["address"]: s for s in doc["steps"]}
    assert by["PersonDevices/alice@example.com.hoteling"]["body"]["hoteling"]["enabled"] is True
    assert by["PersonDevices/alice@example.com.settings"]["body"] == {"compression": "ON"}
    assert by["WorkspaceDevices/Front Desk.hoteling"]["method"] == "PUT"


def test_org_then_location_settings_are_jobs(cli: Cli, repo: Path) -> None:
    doc = plan_json(cli, repo)
    jobs = [s for s in doc["steps"] if s["job_type"] == "callDeviceSettings"]
    assert {s["address"] for s in jobs} == {"LocationDeviceSettings/Headquarters", "OrgDeviceSettings/org"}
    org = next(s for s in jobs if s["address"] == "OrgDeviceSettings/org")
    assert "locationId" not in org["body"]
    assert org["body"]["customizations"]["mpp"]["backlightTimer"] == "THIRTY_MIN"


def test_background_image_upload_and_prune(cli: Cli, repo: Path, sim_state: Path) -> None:
    doc = plan_json(cli, repo)
    assert any(s["address"] == "BackgroundImages/org.CompanyLogo" for s in doc["steps"])
    assert not any(s["action"] == "delete" for s in doc["steps"])  # pruning is off by default
    r = cli("plan", str(repo), "--prune", "--format", "json")
    pruned = json.loads(r.output)
    deletes = {s["address"] for s in pruned["steps"] if s["action"] == "delete"}
    assert deletes == {"BackgroundImages/org.prune", "LineKeyTemplate/Legacy 7841.prune"}
    assert all(s["phase"] == 8 for s in pruned["steps"] if s["action"] == "delete")


def test_target_plans_a_subset(cli: Cli, repo: Path) -> None:
    r = cli("plan", str(repo), "--target", "Device/0a-1b-2c-3d-4e-02", "--format", "json")
    doc = json.loads(r.output)
    assert {s["resource"] for s in doc["steps"]} == {"Device/0A1B2C3D4E02"}


def test_member_not_assignable_fails_with_file_and_line(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The simulated API stops offering judy as a member (as for a user without a calling license).
    from reconciler.sim import members

    real = members.available_members

    def without_judy(store: Any, device: Any, params: Any, **kw: Any) -> list[dict[str, Any]]:
        return [m for m in real(store, device, params, **kw) if m.get("firstName") != "Judy"]

    monkeypatch.setattr(members, "available_members", without_judy)
    repo = tmp_path / "m"
    f = write(
        repo,
        "carol.yaml",
        """
        apiVersion: reconciler/v1
        kind: Device
        metadata: {mac: 0A1B2C3D4E03}
        spec:
          members:
            - {person: carol@example.com, port: 1, primaryOwner: true}
            - {person: judy@example.com, port: 2, lineType: SHARED_CALL_APPEARANCE}
    """,
    )
    r = cli("plan", str(repo))
    assert r.exit_code == 1
    assert f"{f}:7:" in r.output and "person 'judy@example.com' cannot be assigned to this device" in r.output
