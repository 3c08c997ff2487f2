"""`reconciler explain Device/MAC` through the CLI against the demo org: each value of one device,
where it comes from and the manifest file:line that sets it, as text and as JSON (its schema)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import Result

from .conftest import EXAMPLES, device_id, sim_call

Cli = Callable[..., Result]
SCHEMA = json.loads((EXAMPLES.parent / "schemas" / "explain.schema.json").read_text(encoding="utf-8"))


def explain(cli: Cli, sim_state: Path, *args: str) -> Result:
    return cli("explain", *args, "--simulate", "--sim-state", str(sim_state), simulate=False)


def explain_json(cli: Cli, sim_state: Path, *args: str) -> dict[str, Any]:
    r = explain(cli, sim_state, *args, "--format", "json")
    assert r.exit_code == 0, r.output
    doc = dict(json.loads(r.stdout))
    jsonschema.validate(doc, SCHEMA)
    return doc


def fields(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["field"]: f for f in doc["settings"]["fields"]}


@pytest.mark.parametrize(
    "spelling", ["Device/0A1B2C3D4E04", "Device/0a-1b-2c-3d-4e-04", "device/0A:1B:2C:3D:4E:04"]
)
def test_each_setting_names_its_source_and_line(cli: Cli, repo: Path, sim_state: Path, spelling: str) -> None:
    assert cli("apply", str(repo), "--auto-approve").exit_code == 0
    doc = explain_json(cli, sim_state, spelling, str(repo))
    assert doc["device"]["mac"] == "0A:1B:2C:3D:4E:04" and doc["device"]["location"] == "Headquarters"
    assert doc["settings"]["holder"] == "device"
    got = fields(doc)
    hq = repo / "locations" / "headquarters"
    assert got["mpp.backlightTimer68XX78XX"]["source"] == "device"
    assert got["mpp.backlightTimer68XX78XX"]["manifest"].startswith(
        f"{hq / 'devices' / '0A1B2C3D4E04.yaml'}:18:"
    )
    assert (got["mpp.backlightTimer"]["value"], got["mpp.backlightTimer"]["source"]) == (
        "ALWAYS_ON",
        "location Headquarters",
    )
    assert got["mpp.backlightTimer"]["manifest"].startswith(f"{hq / 'settings.yaml'}:9:")
    assert got["mpp.phoneLanguage"]["source"] == "org"
    assert got["mpp.phoneLanguage"]["manifest"].startswith(f"{repo / 'org' / 'device-settings.yaml'}:9:")
    assert got["mpp.offHookTimer"]["source"] == "default" and got["mpp.offHookTimer"]["manifest"] is None
    assert not [f for f in got.values() if "desired" in f]  # converged: nothing pending


def test_the_text_names_sources_members_and_layout(cli: Cli, repo: Path, sim_state: Path) -> None:
    assert cli("apply", str(repo), "--auto-approve").exit_code == 0
    r = explain(cli, sim_state, "Device/0A:1B:2C:3D:4E:07", str(repo))
    assert r.exit_code == 0, r.output
    assert "Device 0A:1B:2C:3D:4E:07 (DMS Cisco 8851, person Erin Evans)" in r.output
    assert "Settings (mpp; the device shows the org's settings)" in r.output
    assert (
        f'mpp.phoneLanguage = "ENGLISH_UNITED_STATES"    from org  # {repo}/org/device-settings.yaml:9:'
        in r.output
    )
    assert (
        f"Layout (CUSTOM; from template 'Sales 8851' through assignment branch-sales)  # {repo}/assignments"
        in r.output
    )
    assert f"template declared at {repo}/templates/sales-8851.yaml" in r.output
    assert "port 1: person Erin Evans (PRIMARY, lineWeight 1, owner)" in r.output


def test_what_a_plan_would_change_is_shown_as_pending(cli: Cli, repo: Path, sim_state: Path) -> None:
    doc = explain_json(cli, sim_state, "Device/0A1B2C3D4E01", str(repo))  # nothing applied yet
    got = fields(doc)
    assert doc["settings"]["holder"] == "org"  # not customized yet
    assert (
        got["mpp.backlightTimer"]["desired"] == "FIVE_MIN" and got["mpp.backlightTimer"]["source"] == "device"
    )
    assert got["mpp.phoneLanguage"]["desired"] == "ENGLISH_UNITED_STATES"
    layout = doc["layout"]
    assert (layout["source"], layout["via"], layout["matches"]) == (
        "template",
        "the device's manifest",
        False,
    )
    assert doc["members"]["missingPorts"] == [2]  # the Front Desk line, declared, not yet there
    r = explain(cli, sim_state, "Device/0A1B2C3D4E01", str(repo))
    assert 'the manifests mean "FIVE_MIN": a plan changes it' in r.output


def test_a_device_no_manifest_declares(cli: Cli, tmp_path: Path, sim_state: Path) -> None:
    empty = tmp_path / "none"
    empty.mkdir()
    (empty / "org.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: OrgDeviceSettings\nmetadata: {name: org}\n"
        "spec:\n  customizations:\n    mpp: {phoneLanguage: ENGLISH_UNITED_STATES}\n",
        encoding="utf-8",
    )
    dev = device_id(sim_state, "0A1B2C3D4E02")
    body = {
        "layoutMode": "CUSTOM",
        "lineKeys": [{"lineKeyIndex": 1, "lineKeyType": "PRIMARY_LINE", "sharedLineIndex": 0}],
    }
    sim_call(sim_state, "PUT", f"/telephony/config/devices/{dev}/layout", json=body)
    doc = explain_json(cli, sim_state, str(empty), "0A1B2C3D4E02")  # a bare MAC, paths first
    assert doc["device"]["manifest"] is None and doc["members"]["source"] == "live"
    assert doc["layout"]["source"] == "live"
    assert fields(doc)["mpp.phoneLanguage"]["desired"] == "ENGLISH_UNITED_STATES"
    assert explain_json(cli, sim_state, str(empty), "Device/0A1B2C3D4E03")["layout"]["source"] == "default"


def test_a_secret_field_is_never_shown(cli: Cli, repo: Path, sim_state: Path) -> None:
    dev = device_id(sim_state, "0A1B2C3D4E03")
    live = sim_call(sim_state, "GET", f"/telephony/config/devices/{dev}/settings")
    live["customizations"]["mpp"]["httpProxy"]["password"] = "Prox7Secret9"
    sim_call(
        sim_state,
        "PUT",
        f"/telephony/config/devices/{dev}/settings",
        json={"customEnabled": True, "customizations": live["customizations"]},
    )
    for fmt in ("text", "json"):
        r = explain(cli, sim_state, "Device/0A1B2C3D4E03", str(repo), "--format", fmt)
        assert r.exit_code == 0, r.output
        assert "Prox7Secret9" not in r.output and "(sensitive)" in r.output


@pytest.mark.parametrize("bad", ["Device/nonsense", "Location/Headquarters", "0A1B2C3D4E99"])
def test_a_bad_or_unknown_device_is_a_clear_error(cli: Cli, repo: Path, sim_state: Path, bad: str) -> None:
    r = explain(cli, sim_state, bad, str(repo))
    assert r.exit_code == 1
    assert "Device/MAC" in r.output or "no Webex Calling device with MAC 0A:1B:2C:3D:4E:99" in r.output


def test_help_has_an_example(cli: Cli) -> None:
    r = cli("explain", "--help", simulate=False)
    assert r.exit_code == 0 and "reconciler explain Device/0A:1B:2C:3D:4E:04 examples/ --simulate" in r.output
