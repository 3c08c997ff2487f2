"""`reconciler drift`: every difference, with the live value, grouped; exit 0 / 2 / 1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.model import SecretRef
from reconciler.planning.diff import FieldChange
from reconciler.planning.drift import drift_report
from reconciler.planning.plan import Plan, Step
from reconciler.render import (
    drift_document,
    drift_summary_line,
    render_drift_markdown,
    render_drift_text,
)
from tests.folded import flat

from .conftest import keep_members, run, set_backlight

MAC = "0A1B2C3D4E01"


def test_no_drift_exits_0(applied: Path) -> None:
    r = run("drift", str(applied))
    assert r.exit_code == 0, r.output
    assert "No drift: live state matches the manifests." in r.output


def test_change_behind_the_tools_back_is_reported_with_its_live_value(
    sim: Any, applied: Path, tmp_path: Path
) -> None:
    set_backlight(sim, MAC, "ONE_MIN")
    keep_members(sim, MAC, lambda m: m["port"] == 1)  # someone removed the Front Desk line
    report_json, report_md = tmp_path / "out" / "drift.json", tmp_path / "out" / "drift.md"
    r = run("drift", str(applied), "--report", str(report_json), "--report", str(report_md))
    assert r.exit_code == 2, r.output
    lines = r.output.splitlines()
    header = flat("\n".join(lines[:2]))  # the title, then its files (on a line of their own at 100 columns)
    assert header.startswith("Device 0A:1B:2C:3D:4E:01 (Cisco 8851, alice@example.com) (")
    assert header.endswith(f"{MAC}.yaml)")
    assert '    settings.customizations.mpp.backlightTimer: live "ONE_MIN"; repo "FIVE_MIN"' in lines
    assert "  missing members (1)" in lines
    assert any(
        x.startswith("    members[port 2] (workspace Front Desk): live (absent); repo {") for x in lines
    )
    assert "Drift: 2 differences in 1 resource (1 changed, 1 missing)." in lines

    doc = json.loads(report_json.read_text())
    assert doc["format_version"] == 1 and doc["kind"] == "drift" and doc["drift"] is True
    assert doc["summary"]["differences"] == 2 and doc["summary"]["resources"] == 1
    (res,) = doc["resources"]
    assert res["resource"] == f"Device/{MAC}"
    groups = {g["group"]: g["items"] for g in res["groups"]}
    assert list(groups) == ["changed", "missing members"]
    (changed,) = groups["changed"]
    assert changed["live"] == "ONE_MIN" and changed["declared"] == "FIVE_MIN"
    assert changed["source"].endswith(f"{MAC}.yaml:19:3")
    (member,) = groups["missing members"]
    assert member["live"] is None and member["declared"]["member"] == "workspace Front Desk"

    md = report_md.read_text()
    assert md.startswith("### reconciler drift")
    assert '| changed | `settings.customizations.mpp.backlightTimer` | `"ONE_MIN"` | `"FIVE_MIN"` |' in md
    assert f"Full report: `{report_json}`." in md

    # Applying the manifests puts the org back: no drift again.
    assert run("apply", str(applied), "--auto-approve").exit_code == 0
    assert run("drift", str(applied)).exit_code == 0


def test_formats_on_stdout(sim: Any, applied: Path) -> None:
    set_backlight(sim, MAC, "THIRTY_MIN")
    r = run("drift", str(applied), "--format", "json")
    assert r.exit_code == 2
    doc = json.loads(r.output)
    assert doc["resources"][0]["groups"][0]["items"][0]["live"] == "THIRTY_MIN"
    r = run("drift", str(applied), "--format", "markdown")
    assert r.exit_code == 2
    assert "<details><summary><code>Device/0A1B2C3D4E01</code>: 1 changed</summary>" in r.output
    assert "Full report: run `reconciler drift --format json`." in r.output


def test_invalid_manifests_exit_1(sim: Any, applied: Path) -> None:
    bad = applied / "locations" / "headquarters" / "devices" / f"{MAC}.yaml"
    bad.write_text(bad.read_text().replace("backlightTimer:", "backlightTimr:"))
    sim.state.sim.stats.reset()
    r = run("drift", str(applied))
    assert r.exit_code == 1
    assert "backlightTimr" in r.output
    assert sim.state.sim.stats.requests_total == 0  # validated before any request


# -- the report from plans built by hand --------------------------------------------------------


def _step(address: str, **kw: Any) -> Step:
    resource = kw.pop("resource", address.rsplit(".", 1)[0])
    defaults: dict[str, Any] = {"action": "update", "phase": 4, "method": "PUT", "path": "/x"}
    return Step(address=address, resource=resource, **{**defaults, **kw})


def test_groups_by_resource_and_kind_of_change() -> None:
    live = [
        {"member": "person a@example.com", "port": 1, "lineWeight": 1, "primaryOwner": True},
        {"member": "person z@example.com", "port": 3, "lineWeight": 1, "primaryOwner": False},
    ]
    want = [
        {"member": "person a@example.com", "port": 1, "lineWeight": 2, "primaryOwner": True},
        {"member": "workspace Lobby", "port": 2, "lineWeight": 1, "primaryOwner": False},
    ]
    plan = Plan(
        steps=[
            _step("Device/AA.members", changes=[FieldChange("/members", live, want)], source="d.yaml:7:3"),
            _step(
                "Device/AA.layout",
                changes=[FieldChange("/layout/lineKeys", {"1": {"lineKeyType": "PRIMARY_LINE"}}, {})],
            ),
            _step(
                "Device/AA.sipPassword",
                changes=[FieldChange("/sipPassword", None, SecretRef("PW"), sensitive=True)],
            ),
            _step("Device/AA.applyChanges", action="invoke", phase=7, method="POST"),
            _step(
                "LineKeyTemplate/Old.prune", action="delete", phase=8, method="DELETE", summary="delete it"
            ),
            _step(
                "LineKeyTemplate/New",
                resource="LineKeyTemplate/New",
                action="create",
                phase=2,
                method="POST",
                changes=[FieldChange("/deviceModel", None, "DMS Cisco 8851")],
            ),
            _step(
                "LineKeyTemplateAssignment/a",
                resource="LineKeyTemplateAssignment/a",
                action="job",
                phase=6,
                method="POST",
                job_type="applyLineKeyTemplate",
                meta={"template": "Sales"},
                changes=[FieldChange("/devices", None, ["0A1B2C3D4E07", "0A1B2C3D4E08"])],
            ),
        ]
    )
    report = drift_report(plan)
    groups = report.by_resource()
    assert list(groups) == [
        "LineKeyTemplate/New",
        "Device/AA",
        "LineKeyTemplateAssignment/a",
        "LineKeyTemplate/Old",
    ]
    assert list(groups["Device/AA"]) == [
        "changed members",
        "missing members",
        "extra members",
        "extra line keys",
    ]
    (changed,) = groups["Device/AA"]["changed members"]
    assert changed.path == "members[port 1]" and changed.label == "person a@example.com"
    text = render_drift_text(report)
    # Only the attribute that differs is shown for a changed member; the write-only secret is no drift.
    assert 'members[port 1] (person a@example.com): live {"lineWeight": 1}; repo {"lineWeight": 2}' in text
    assert "members[port 3] (person z@example.com): live {" in text and "repo (not declared)" in text
    assert "sipPassword" not in text and "applyChanges" not in text
    assert groups["LineKeyTemplate/Old"]["extra object"][0].live == "delete it"
    assert groups["LineKeyTemplate/New"]["missing object"][0].declared == {"deviceModel": "DMS Cisco 8851"}
    layouts = groups["LineKeyTemplateAssignment/a"]["changed device layouts"]
    assert [i.path for i in layouts] == ["Device/0A1B2C3D4E07", "Device/0A1B2C3D4E08"]
    assert report.counts() == {"changed": 3, "missing": 2, "extra": 3}
    summary = "Drift: 8 differences in 4 resources (3 changed, 2 missing, 3 extra)."
    assert drift_summary_line(report) == summary


def test_empty_plan_is_no_drift() -> None:
    report = drift_report(Plan(steps=[]))
    assert not report.has_drift
    assert drift_document(report)["drift"] is False
    assert "No drift" in render_drift_markdown(report)
