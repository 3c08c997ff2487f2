"""A plan does what it shows: prunes keep what the repo references, settings jobs carry complete
families, partial failures fail their step, and the safety threshold counts changed objects."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from tests.folded import flat

from .conftest import device_id, sim_call

Cli = Callable[..., Result]

OLD_LOGO_URL = "/dms/Cisco_Phone_Background/background001"


def _plan_json(cli: Cli, *args: str) -> dict[str, object]:
    r = cli("plan", *args, "--format", "json")
    assert r.exit_code == 0, r.output
    data: dict[str, object] = json.loads(r.output)
    return data


def _addresses(plan: dict[str, object]) -> list[str]:
    steps = plan["steps"]
    assert isinstance(steps, list)
    return [str(s["address"]) for s in steps]


def test_prune_keeps_a_template_the_repo_still_references(cli: Cli, repo: Path) -> None:
    # The org's "Sales 8851" is no longer declared, but a device layout and an assignment name it.
    (repo / "templates" / "sales-8851.yaml").unlink()
    plan = _plan_json(cli, str(repo), "--prune")
    addresses = _addresses(plan)
    assert "LineKeyTemplate/Sales 8851.prune" not in addresses
    assert "LineKeyTemplate/Legacy 7841.prune" in addresses  # unreferenced: still pruned
    warnings = [str(w) for w in plan["warnings"]]  # type: ignore[union-attr]
    kept = [w for w in warnings if w.startswith("LineKeyTemplate/Sales 8851: not pruned")]
    assert kept and "0A1B2C3D4E01.yaml:" in kept[0] and "branch-sales.yaml:" in kept[0], warnings
    r = cli("apply", str(repo), "--prune", "--auto-approve", "--force")
    assert r.exit_code == 0, r.output
    r = cli("plan", str(repo), "--prune", "--detailed-exitcode")
    assert r.exit_code == 0, r.output  # the next plan still works (and has nothing to do)


def _org_settings_with_custom_background(repo: Path) -> None:
    (repo / "org" / "device-settings.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: OrgDeviceSettings\nmetadata: {name: org}\nspec:\n"
        "  customizations:\n    mpp:\n"
        f"      background: {{image: CUSTOM_BACKGROUND, customUrl: '{OLD_LOGO_URL}'}}\n",
        encoding="utf-8",
    )


def test_prune_keeps_a_background_image_a_manifest_uses(cli: Cli, repo: Path) -> None:
    _org_settings_with_custom_background(repo)
    plan = _plan_json(cli, str(repo), "--prune")
    assert "BackgroundImages/org.prune" not in _addresses(plan)
    warnings = " ".join(str(w) for w in plan["warnings"])  # type: ignore[union-attr]
    assert "'OldLogo' is not pruned" in warnings and "device-settings.yaml:" in warnings


def _use_old_logo_out_of_band(sim_state: Path) -> None:
    """Someone in Control Hub sets the org's unmanaged image as one phone's background."""
    cid = device_id(sim_state, "0A1B2C3D4E03")
    path = f"/telephony/config/devices/{cid}/settings"
    live = sim_call(sim_state, "GET", path)
    mpp = dict(live["customizations"]["mpp"])
    mpp["background"] = {"image": "CUSTOM_BACKGROUND", "customUrl": OLD_LOGO_URL}
    sim_call(sim_state, "PUT", path, json={"customEnabled": True, "customizations": {"mpp": mpp}})


def test_deleting_an_image_in_use_fails_its_step_with_the_api_reason(
    cli: Cli, repo: Path, sim_state: Path
) -> None:
    r = cli("plan", str(repo))  # creates the simulator state
    _use_old_logo_out_of_band(sim_state)
    r = cli("apply", str(repo), "--prune", "--auto-approve", "--force")
    assert r.exit_code == 1, r.output
    assert "failed  BackgroundImages/org.prune" in r.output, r.output
    assert "OldLogo: 400" in r.output and "in use" in r.output, r.output
    assert "BackgroundImages/org.prune: applied" not in r.output
    # Asked for, forceDelete deletes it (and the plan says so).
    images = repo / "org" / "background-images.yaml"
    images.write_text(images.read_text(encoding="utf-8") + "  forceDelete: true\n", encoding="utf-8")
    plan = _plan_json(cli, str(repo), "--prune")
    prune = next(s for s in plan["steps"] if s["address"] == "BackgroundImages/org.prune")  # type: ignore[union-attr]
    assert prune["body"] == {"backgroundImages": [{"fileName": "OldLogo", "forceDelete": True}]}
    r = cli("apply", str(repo), "--prune", "--auto-approve", "--force")
    assert r.exit_code == 0, r.output
    listed = sim_call(sim_state, "GET", "/telephony/config/devices/backgroundImages")["backgroundImages"]
    assert "OldLogo" not in [i["fileName"] for i in listed]


def test_policy_can_ask_for_force_delete(cli: Cli, repo: Path, sim_state: Path) -> None:
    policy = repo / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8") + "  forceDeleteImages: true\n", encoding="utf-8")
    plan = _plan_json(cli, str(repo), "--prune")
    prune = next(s for s in plan["steps"] if s["address"] == "BackgroundImages/org.prune")  # type: ignore[union-attr]
    assert prune["body"]["backgroundImages"][0]["forceDelete"] is True


def test_the_readme_dect_example_applies_and_converges(cli: Cli, repo: Path, sim_state: Path) -> None:
    settings = repo / "locations" / "headquarters" / "settings.yaml"
    settings.write_text(
        settings.read_text(encoding="utf-8") + "    dect:\n      cdpEnabled: true\n", encoding="utf-8"
    )
    plan = _plan_json(cli, str(repo))
    job = next(s for s in plan["steps"] if s["address"] == "LocationDeviceSettings/Headquarters")  # type: ignore[union-attr]
    dect = job["body"]["customizations"]["dect"]
    assert dect["cdpEnabled"] is True and "audioCodecPriority" in dect  # complete: from the org's
    r = cli("apply", str(repo), "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Converged" in r.output
    r = cli("plan", str(repo), "--detailed-exitcode")
    assert r.exit_code == 0, r.output
    assert "customizations.dect is not returned by the location's GET" in flat(r.output)


def test_target_is_measured_against_every_manifest(cli: Cli, repo: Path) -> None:
    # The policy refuses more than 80% of the managed objects: one targeted device is 1 of 20.
    r = cli("apply", str(repo), "--target", "Device/0A1B2C3D4E01", "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Converged" in r.output
    assert "Safety threshold: 1/20 objects change (5%)" in r.output


def test_a_job_counts_every_device_it_changes(cli: Cli, repo: Path) -> None:
    plan = _plan_json(cli, str(repo), "--target", "LineKeyTemplateAssignment/branch-sales")
    job, *pushes = plan["steps"]  # type: ignore[misc]
    differing = job["meta"]["differingDevices"]
    assert len(differing) == 2
    # each device whose layout it changes is pushed after it; pushes change no object
    assert sorted(m for p in pushes for m in p["meta"]["pushes"]) == sorted(
        d.replace(":", "") for d in differing
    )
    assert all(p["phase"] == 7 and job["id"] in p["depends_on"] for p in pushes)
    assert plan["summary"]["changed_objects"] == 2  # type: ignore[index]


def test_without_a_policy_a_default_threshold_applies(cli: Cli, repo: Path, sim_state: Path) -> None:
    (repo / "policy.yaml").unlink()
    r = cli("plan", str(repo))
    assert r.exit_code == 0, r.output
    # one line, the count and the limit in force
    assert r.output.count("Safety threshold:") == 1
    line = flat(r.output[r.output.index("Safety threshold:") :])  # its last line, folded to 100
    assert "/21 objects change" in line
    assert (
        "over the limit 30% from 10 objects (default): apply will refuse this plan without --force." in line
    )
    r = cli("apply", str(repo), "--auto-approve")
    assert r.exit_code != 0
    assert "more than the default limit 30%" in r.output
    before = sim_call(sim_state, "GET", "/telephony/config/devices/lineKeyTemplates")
    assert "Branch 6871" not in json.dumps(before)  # nothing was written
    r = cli("apply", str(repo), "--auto-approve", "--force")
    assert r.exit_code == 0, r.output


RESET = (
    "apiVersion: reconciler/v1\nkind: LineKeyTemplateAssignment\nmetadata: {name: reset-branch}\n"
    "spec:\n  template: Sales 8851\n  action: APPLY_DEFAULT_TEMPLATES\n  locations: [LOCATION]\n"
)


def test_apply_default_templates_converges(cli: Cli, tmp_path: Path, sim_state: Path) -> None:
    only = tmp_path / "reset"
    only.mkdir()
    (only / "reset.yaml").write_text(RESET.replace("LOCATION", "Headquarters"), encoding="utf-8")
    plan = _plan_json(cli, str(only))
    job, *pushes = plan["steps"]  # type: ignore[misc]
    assert job["body"]["action"] == "APPLY_DEFAULT_TEMPLATES"
    assert sorted(m for p in pushes for m in p["meta"]["pushes"]) == ["0A1B2C3D4E02", "0A1B2C3D4E05"]
    # the two custom layouts of the location, whatever their model; not the ones already default
    assert job["meta"]["differingDevices"] == ["0A:1B:2C:3D:4E:02", "0A:1B:2C:3D:4E:05"], job
    r = cli("apply", str(only), "--auto-approve", "--force")
    assert r.exit_code == 0, r.output
    assert "Converged" in r.output
    r = cli("plan", str(only), "--detailed-exitcode")
    assert r.exit_code == 0, r.output
    assert "No changes" in r.output


def test_assignments_may_not_fight_over_devices(cli: Cli, repo: Path) -> None:
    (repo / "assignments" / "reset-branch.yaml").write_text(
        RESET.replace("LOCATION", "Branch Office"), encoding="utf-8"
    )
    r = cli("plan", str(repo))
    assert r.exit_code == 1, r.output
    # the device whose own manifest declares its layout
    assert "targets Device/0A1B2C3D4E09, whose layout is also declared at" in r.output
    assert "0A1B2C3D4E09.yaml:" in r.output
    # the other assignment targeting the same devices: both files with their lines
    line = next(x for x in r.output.splitlines() if "also targets" in x)
    assert "reset-branch.yaml:" in line and "branch-sales.yaml:" in line, line
