"""Template assignments through the CLI against the demo org: what a job skips and why, the
preview's count checked, advisoryTypes, the job's own counts in apply's output, and an exported
repository that takes a new assignment."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from benchmarks.harness import SIM_SECRETS

from .conftest import device_id, sim_call

Cli = Callable[..., Result]
T = "/telephony/config"


def layout_of(sim_state: Path, mac: str) -> dict[str, Any]:
    return dict(sim_call(sim_state, "GET", f"{T}/devices/{device_id(sim_state, mac)}/layout"))


def set_yaml(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def plan_doc(cli: Cli, repo: Path) -> dict[str, Any]:
    r = cli("plan", str(repo), "--format", "json")
    assert r.exit_code == 0, r.output
    return dict(json.loads(r.output))


def test_a_template_edit_the_assignment_cannot_reach_is_said(cli: Cli, repo: Path, sim_state: Path) -> None:
    assignment = repo / "assignments" / "branch-sales.yaml"
    assert cli("apply", str(repo), "--auto-approve").exit_code == 0  # 07 and 08 hold "Sales 8851"
    set_yaml(assignment, "excludeDevicesWithCustomLayout: false", "excludeDevicesWithCustomLayout: true")
    set_yaml(repo / "templates" / "sales-8851.yaml", 'lineKeyValue: "2000"', 'lineKeyValue: "2002"')
    doc = plan_doc(cli, repo)
    assert not [s for s in doc["steps"] if s["job_type"] == "applyLineKeyTemplate"]  # no job touching none
    (warning,) = [w for w in doc["warnings"] if w.startswith("LineKeyTemplateAssignment/branch-sales")]
    assert "skips 2 in-scope device(s) with a custom layout" in warning
    assert f"{assignment}:10:" in warning and "2 of them differ from template 'Sales 8851'" in warning
    assert "no job is planned" in warning and "0A:1B:2C:3D:4E:07" in warning
    r = cli("plan", str(repo))
    assert "skips 2 in-scope device(s) with a custom layout" in r.output
    # The same edit with the flag off reaches them.
    set_yaml(assignment, "excludeDevicesWithCustomLayout: true", "excludeDevicesWithCustomLayout: false")
    doc = plan_doc(cli, repo)
    (job,) = [s for s in doc["steps"] if s["job_type"] == "applyLineKeyTemplate"]
    assert job["meta"]["differingDevices"] == ["0A:1B:2C:3D:4E:07", "0A:1B:2C:3D:4E:08"]


def test_a_preview_that_disagrees_with_the_plan_is_a_warning(
    cli: Cli, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.sim import jobs

    real = jobs.lkt_targets

    def one_more(store: Any, body: dict[str, Any]) -> list[Any]:  # an API that counts differently
        found = real(store, body)
        return [*found, *[d for d in store.devices.values() if d not in found][:1]]

    monkeypatch.setattr(jobs, "lkt_targets", one_more)
    doc = plan_doc(cli, repo)
    (job,) = [s for s in doc["steps"] if s["job_type"] == "applyLineKeyTemplate"]
    assert job["meta"]["deviceCount"] == 3 and job["meta"]["previewDifference"] == 1
    assert any("the API's preview counts 3 matching device(s), this plan 2" in w for w in doc["warnings"]), (
        doc["warnings"]
    )


def test_without_a_difference_there_is_no_preview_warning(cli: Cli, repo: Path) -> None:
    doc = plan_doc(cli, repo)
    (job,) = [s for s in doc["steps"] if s["job_type"] == "applyLineKeyTemplate"]
    assert job["meta"]["deviceCount"] == 2 and "previewDifference" not in job["meta"]
    assert not [w for w in doc["warnings"] if "preview" in w]


def test_advisory_types_take_part_in_the_matching(cli: Cli, repo: Path, sim_state: Path) -> None:
    # erin's 07 has no shared line for the template's SHARED_LINE key; frank's 08 gets erin's line
    # in the same apply (its manifest's members, written before the job): only 07 has the warning.
    set_yaml(
        repo / "assignments" / "branch-sales.yaml",
        "excludeDevicesWithCustomLayout: false",
        "excludeDevicesWithCustomLayout: false\n  advisoryTypes: {moreSharedAppearancesEnabled: false}",
    )
    doc = plan_doc(cli, repo)
    (job,) = [s for s in doc["steps"] if s["job_type"] == "applyLineKeyTemplate"]
    assert job["meta"]["differingDevices"] == ["0A:1B:2C:3D:4E:08"]
    assert job["meta"]["skippedDevices"]["advisories"] == {"0A:1B:2C:3D:4E:07": ["moreSharedAppearances"]}
    assert any("skips 1 in-scope device(s) with a warning advisoryTypes" in w for w in doc["warnings"])
    r = cli("apply", str(repo), "--auto-approve")
    assert r.exit_code == 0 and "Converged" in r.output, r.output
    assert layout_of(sim_state, "0A1B2C3D4E07")["layoutMode"] == "DEFAULT"
    assert layout_of(sim_state, "0A1B2C3D4E08")["layoutMode"] == "CUSTOM"
    assert cli("plan", str(repo), "--detailed-exitcode").exit_code == 0


def test_apply_shows_the_jobs_updated_and_advisory_counts(cli: Cli, repo: Path) -> None:
    r = cli("apply", str(repo), "--auto-approve")
    assert r.exit_code == 0, r.output
    # 07 is updated with its warning (no advisoryTypes: every matching device is changed)
    assert (
        "LineKeyTemplateAssignment \"branch-sales\": apply template 'Sales 8851' to matching devices: "
        "applied (2 device(s) updated, 1 with advisories)" in r.output
    )
    set_yaml(repo / "templates" / "sales-8851.yaml", 'lineKeyValue: "2000"', 'lineKeyValue: "2002"')
    r = cli("apply", str(repo), "--auto-approve", "--format", "json")
    assert r.exit_code == 0, r.output
    step = next(
        s for s in json.loads(r.stdout)["steps"] if s["address"] == "LineKeyTemplateAssignment/branch-sales"
    )
    assert (step["updatedCount"], step["advisoryCount"]) == (2, 1)


def test_an_exported_repo_takes_a_new_location_assignment(
    cli: Cli, tmp_path: Path, sim_state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "exported"
    r = cli("export", "--out", str(out), "--simulate", "--sim-state", str(sim_state), simulate=False)
    assert r.exit_code == 0, r.output
    for name in SIM_SECRETS:  # export names the variables its placeholders read; apply needs them
        assert f"  {name}: org/device-settings.yaml" in r.output
        monkeypatch.setenv(name, SIM_SECRETS[name])
    assert "layoutMode: DEFAULT" not in "".join(p.read_text() for p in out.rglob("*.yaml"))
    assert cli("plan", str(out), "--detailed-exitcode").exit_code == 0
    (out / "assignments").mkdir()
    (out / "assignments" / "branch.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: LineKeyTemplateAssignment\nmetadata: {name: branch}\n"
        "spec:\n  template: Sales 8851\n  locations: [Branch Office]\n",
        encoding="utf-8",
    )
    r = cli("plan", str(out), "--detailed-exitcode")
    assert r.exit_code == 2, r.output
    r = cli("apply", str(out), "--auto-approve", "--force")
    assert r.exit_code == 0 and "Converged" in r.output, r.output
    assert layout_of(sim_state, "0A1B2C3D4E07")["layoutMode"] == "CUSTOM"


def test_a_layout_owned_twice_names_the_fix_and_a_command_listing_every_one(cli: Cli, repo: Path) -> None:
    for n in range(7, 9):
        path = repo / "locations" / "branch-office" / "devices" / f"0A1B2C3D4E0{n}.yaml"
        text = (
            path.read_text(encoding="utf-8")
            if path.exists()
            else (f"apiVersion: reconciler/v1\nkind: Device\nmetadata: {{mac: 0A1B2C3D4E0{n}}}\nspec:\n")
        )
        path.write_text(text + "  layout: {layoutMode: DEFAULT}\n", encoding="utf-8")
    r = cli("plan", str(repo))
    assert r.exit_code == 1
    assert "targets Device/0A1B2C3D4E07, whose layout is also declared at" in r.output
    assert "drop that `layout: {layoutMode: DEFAULT}`" in r.output


def test_the_hint_for_more_problems_names_a_command_that_lists_them(cli: Cli, tmp_path: Path) -> None:
    repo = tmp_path / "m"
    repo.mkdir()
    for n in range(60):  # 60 problems, more than are listed in text
        (repo / f"d{n}.yaml").write_text(
            f"apiVersion: reconciler/v1\nkind: Device\nmetadata: {{mac: 0A1B2C3D{n:04X}}}\nspec:\n"
            "  layout: {layoutMode: CUSTOM, lineKeys: [{lineKeyIndex: 2, lineKeyType: OPEN}]}\n",
            encoding="utf-8",
        )
    for command, lists in (("plan", "plan"), ("drift", "drift"), ("apply", "plan")):
        r = cli(command, str(repo), *(["--simulate"] if command == "drift" else []))
        assert r.exit_code == 1
        hint = next(line for line in r.output.splitlines() if line.startswith("... and 10 more"))
        shown = hint[hint.index("(") + 1 : hint.index(" lists every one")]
        assert shown == f"reconciler {lists} {repo} --format json"
        listed = cli(*shown.split()[1:], *(["--simulate"] if lists == "drift" else []))
        assert listed.exit_code == 1
        assert len(json.loads(listed.stdout)["errors"]) == 60
