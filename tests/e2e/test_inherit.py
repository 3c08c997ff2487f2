"""Inherited settings, through the CLI against the demo org: a customized location follows the org
manifest, a customized device its customized location (else the org), for each field it does not
declare; the org's job runs first; the plan says where an org change does not reach."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from .conftest import device_id, sim_call

Cli = Callable[..., Result]
T = "/telephony/config"


def location_id(sim_state: Path, name: str) -> str:
    return str(next(i["id"] for i in sim_call(sim_state, "GET", "/locations")["items"] if i["name"] == name))


def location_mpp(sim_state: Path, name: str) -> dict[str, Any]:
    live = sim_call(sim_state, "GET", f"{T}/locations/{location_id(sim_state, name)}/devices/settings")
    return dict(live["customizations"]["mpp"])


def device_mpp(sim_state: Path, mac: str) -> dict[str, Any]:
    live = sim_call(sim_state, "GET", f"{T}/devices/{device_id(sim_state, mac)}/settings")
    return dict(live["customizations"]["mpp"])


def plan_json(cli: Cli, repo: Path, *extra: str) -> dict[str, Any]:
    r = cli("plan", str(repo), "--format", "json", *extra)
    assert r.exit_code == 0, r.output
    return dict(json.loads(r.output))


def changes_of(doc: dict[str, Any], address: str) -> dict[str, dict[str, Any]]:
    step = next(s for s in doc["steps"] if s["address"] == address)
    return {c["path"]: c for c in step["changes"]}


def set_yaml(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_headquarters_follows_the_org_manifest_and_converges(cli: Cli, repo: Path, sim_state: Path) -> None:
    r = cli("plan", str(repo))
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()  # the note goes on a line of its own past 100 columns
    change = '      ~ customizations.mpp.phoneLanguage: "PERSON_LANGUAGE" -> "ENGLISH_UNITED_STATES"'
    notes = [lines[i + 1] for i, line in enumerate(lines) if line == change]
    assert notes[1] == "          (follows org)"  # the org's own change, then Headquarters' (follows)
    # The org's job comes first, and the location's body carries the org's desired values.
    doc = plan_json(cli, repo)
    jobs = [s for s in doc["steps"] if s["job_type"] == "callDeviceSettings"]
    assert [s["address"] for s in jobs] == ["OrgDeviceSettings/org", "LocationDeviceSettings/Headquarters"]
    assert "OrgDeviceSettings/org" in jobs[1]["depends_on"]
    mpp = jobs[1]["body"]["customizations"]["mpp"]
    assert (mpp["phoneLanguage"], mpp["cdpEnabled"], mpp["backlightTimer"]) == (
        "ENGLISH_UNITED_STATES",
        False,
        "ALWAYS_ON",
    )
    hq = changes_of(doc, "LocationDeviceSettings/Headquarters")
    assert hq["/customizations/mpp/phoneLanguage"]["follows"] == "org"
    assert hq["/customizations/mpp/cdpEnabled"]["follows"] == "org"
    assert "follows" not in hq["/customizations/mpp/backlightTimer"]  # declared by the location
    r = cli("plan", str(repo), "--format", "markdown")
    assert '+ customizations.mpp.phoneLanguage: "ENGLISH_UNITED_STATES" (follows org)' in r.output
    r = cli("apply", str(repo), "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Converged" in r.output
    assert r.output.index("Org device settings: org device settings (job): applied") < r.output.index(
        'Location "Headquarters" device settings: location device settings (job): applied'
    )
    mpp = location_mpp(sim_state, "Headquarters")
    assert (mpp["phoneLanguage"], mpp["cdpEnabled"], mpp["lldpEnabled"], mpp["backlightTimer"]) == (
        "ENGLISH_UNITED_STATES",
        False,
        True,
        "ALWAYS_ON",
    )
    assert cli("plan", str(repo), "--detailed-exitcode").exit_code == 0


def test_a_customized_device_follows_its_customized_location_then_the_org(
    cli: Cli, repo: Path, sim_state: Path
) -> None:
    # Dave's 6871 (Headquarters, customized) declares only backlightTimer68XX78XX.
    doc = plan_json(cli, repo)
    dave = changes_of(doc, "Device/0A1B2C3D4E04.settings")
    prefix = "/settings/customizations/mpp"
    assert dave[f"{prefix}/backlightTimer"]["follows"] == "location Headquarters"
    assert dave[f"{prefix}/vlan/value"]["follows"] == "location Headquarters"
    assert dave[f"{prefix}/phoneLanguage"]["follows"] == "org"  # the location declares none
    assert "follows" not in dave[f"{prefix}/backlightTimer68XX78XX"]
    # Alice's 8851 declares backlightTimer and vlan itself: those are hers.
    alice = changes_of(doc, "Device/0A1B2C3D4E01.settings")
    assert (
        alice[f"{prefix}/backlightTimer"]["after"] == "FIVE_MIN"
        and "follows" not in alice[f"{prefix}/backlightTimer"]
    )
    assert alice[f"{prefix}/cdpEnabled"]["follows"] == "org"
    assert cli("apply", str(repo), "--auto-approve").exit_code == 0
    mpp = device_mpp(sim_state, "0A1B2C3D4E04")
    vlan = (mpp["vlan"]["enabled"], mpp["vlan"]["value"])
    assert (mpp["backlightTimer"], vlan, mpp["phoneLanguage"], mpp["backlightTimer68XX78XX"]) == (
        "ALWAYS_ON",
        (True, 100),
        "ENGLISH_UNITED_STATES",
        "THIRTY_SEC",
    )
    assert device_mpp(sim_state, "0A1B2C3D4E01")["backlightTimer"] == "FIVE_MIN"


def test_an_org_edit_reaches_every_customized_follower_in_one_apply(
    cli: Cli, repo: Path, sim_state: Path
) -> None:
    assert cli("apply", str(repo), "--auto-approve").exit_code == 0
    set_yaml(
        repo / "org" / "device-settings.yaml",
        "phoneLanguage: ENGLISH_UNITED_STATES",
        "phoneLanguage: FRENCH_FRANCE",
    )
    doc = plan_json(cli, repo)
    path = "/customizations/mpp/phoneLanguage"
    followers = {
        s["address"]
        for s in doc["steps"]
        for c in s["changes"]
        if c["path"].endswith(path) and c.get("follows") and c["after"] == "FRENCH_FRANCE"
    }
    assert followers == {
        "LocationDeviceSettings/Headquarters",
        "Device/0A1B2C3D4E01.settings",
        "Device/0A1B2C3D4E04.settings",
    }
    r = cli("apply", str(repo), "--auto-approve")
    assert r.exit_code == 0 and "Converged" in r.output, r.output
    assert location_mpp(sim_state, "Headquarters")["phoneLanguage"] == "FRENCH_FRANCE"
    for mac in ("0A1B2C3D4E01", "0A1B2C3D4E04", "0A1B2C3D4E03"):  # 03 is not customized: the location's
        assert device_mpp(sim_state, mac)["phoneLanguage"] == "FRENCH_FRANCE", mac
    assert cli("plan", str(repo), "--detailed-exitcode").exit_code == 0


def test_a_device_in_a_location_without_its_own_settings_follows_the_org(
    cli: Cli, repo: Path, sim_state: Path
) -> None:
    # Erin's 8851 in Branch Office (customEnabled: false) gets its own settings.
    (repo / "locations" / "branch-office" / "devices" / "0A1B2C3D4E07.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: Device\nmetadata: {mac: 0A1B2C3D4E07}\nspec:\n"
        "  settings:\n    customEnabled: true\n    customizations:\n      mpp: {backlightTimer: FIVE_MIN}\n",
        encoding="utf-8",
    )
    doc = plan_json(cli, repo)
    erin = changes_of(doc, "Device/0A1B2C3D4E07.settings")
    prefix = "/settings/customizations/mpp"
    assert erin[f"{prefix}/phoneLanguage"]["follows"] == "org"
    assert erin[f"{prefix}/backlightTimer"]["after"] == "FIVE_MIN"
    assert not any(p.startswith("/settings/customizations/ata") for p in erin)  # not its family
    assert cli("apply", str(repo), "--auto-approve", "--force").exit_code == 0
    mpp = device_mpp(sim_state, "0A1B2C3D4E07")
    assert (mpp["phoneLanguage"], mpp["cdpEnabled"], mpp["backlightTimer"]) == (
        "ENGLISH_UNITED_STATES",
        False,
        "FIVE_MIN",
    )
    assert cli("plan", str(repo), "--detailed-exitcode").exit_code == 0


def test_an_ignored_field_is_not_followed(cli: Cli, repo: Path) -> None:
    path = repo / "locations" / "headquarters" / "settings.yaml"
    set_yaml(
        path,
        "  location: Headquarters\n",
        "  location: Headquarters\n  ignore: [/customizations/mpp/cdpEnabled]\n",
    )
    hq = changes_of(plan_json(cli, repo), "LocationDeviceSettings/Headquarters")
    assert "/customizations/mpp/cdpEnabled" not in hq
    assert hq["/customizations/mpp/phoneLanguage"]["follows"] == "org"


def test_a_targeted_plan_follows_the_org_manifest_it_does_not_plan(cli: Cli, repo: Path) -> None:
    doc = plan_json(cli, repo, "--target", "LocationDeviceSettings/Headquarters")
    # the location's job, and the push of the devices it reaches (the push contract)
    assert [s["resource"] for s in doc["steps"] if s["phase"] != 7] == ["LocationDeviceSettings/Headquarters"]
    assert {s["resource"] for s in doc["steps"] if s["phase"] == 7} == {"Location/Headquarters"}
    hq = changes_of(doc, "LocationDeviceSettings/Headquarters")
    assert hq["/customizations/mpp/phoneLanguage"]["after"] == "ENGLISH_UNITED_STATES"


def test_without_an_org_manifest_nothing_is_followed(cli: Cli, repo: Path) -> None:
    (repo / "org" / "device-settings.yaml").unlink()
    doc = plan_json(cli, repo)
    assert not [c for s in doc["steps"] for c in s["changes"] if c.get("follows") == "org"]
    dave = changes_of(doc, "Device/0A1B2C3D4E04.settings")  # the location's declarations still count
    assert dave["/settings/customizations/mpp/backlightTimer"]["follows"] == "location Headquarters"


def _customize_out_of_band(sim_state: Path, mac: str, location: str) -> None:
    """A device and a location given their own settings in Control Hub (no manifest says so)."""
    dev = device_id(sim_state, mac)
    live = sim_call(sim_state, "GET", f"{T}/devices/{dev}/settings")
    body = {"customEnabled": True, "customizations": live["customizations"]}
    sim_call(sim_state, "PUT", f"{T}/devices/{dev}/settings", json=body)
    loc = location_id(sim_state, location)
    live = sim_call(sim_state, "GET", f"{T}/locations/{loc}/devices/settings")
    job = {
        "locationId": loc,
        "locationCustomizationsEnabled": True,
        "customizations": {"mpp": live["customizations"]["mpp"]},
    }
    sim_call(sim_state, "POST", f"{T}/jobs/devices/callDeviceSettings", json=job)


def test_the_plan_says_where_an_org_change_does_not_reach(cli: Cli, repo: Path, sim_state: Path) -> None:
    (repo / "locations" / "branch-office" / "settings.yaml").unlink()  # no manifest: Control Hub's
    _customize_out_of_band(sim_state, "0A1B2C3D4E03", "Branch Office")
    doc = plan_json(cli, repo)
    org = next(s for s in doc["steps"] if s["address"] == "OrgDeviceSettings/org")
    found = {f["field"]: f for f in org["meta"]["notReached"]["fields"]}
    assert set(found) == {"mpp.backlightTimer", "mpp.cdpEnabled", "mpp.phoneLanguage"}
    assert found["mpp.phoneLanguage"]["locations"] == ["Branch Office"]
    assert found["mpp.phoneLanguage"]["devices"] == 1 and found["mpp.phoneLanguage"]["sample"] == [
        "0A:1B:2C:3D:4E:03"
    ]
    # Devices whose settings a manifest declares (alice, dave, the ATA) are not read for it.
    reads = org["meta"]["notReached"]["reads"]
    assert 0 < reads < 12
    r = cli("plan", str(repo))
    shown = " ".join(r.output.split())  # the line wraps on a terminal's width
    assert (
        "! mpp.backlightTimer, mpp.cdpEnabled, mpp.phoneLanguage: 1 location and 1 device keep their own "
        "settings, set outside any manifest: Branch Office, 0A:1B:2C:3D:4E:03" in shown
    ), r.output
    r = cli("plan", str(repo), "--format", "markdown")
    assert "! mpp.backlightTimer, mpp.cdpEnabled, mpp.phoneLanguage: 1 location and 1 device keep" in r.output
    # Applied, the org's values are there except where masked.
    assert cli("apply", str(repo), "--auto-approve").exit_code == 0
    assert device_mpp(sim_state, "0A1B2C3D4E03")["phoneLanguage"] == "PERSON_LANGUAGE"
    assert location_mpp(sim_state, "Branch Office")["phoneLanguage"] == "PERSON_LANGUAGE"
    assert device_mpp(sim_state, "0A1B2C3D4E02")["phoneLanguage"] == "ENGLISH_UNITED_STATES"


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_no_change_of_the_org_reads_nothing_for_the_report(
    cli: Cli, repo: Path, sim_state: Path, fmt: str
) -> None:
    assert cli("apply", str(repo), "--auto-approve").exit_code == 0
    _customize_out_of_band(sim_state, "0A1B2C3D4E03", "Branch Office")
    set_yaml(repo / "locations" / "headquarters" / "settings.yaml", "ALWAYS_ON", "FIVE_MIN")
    r = cli("plan", str(repo), "--format", fmt)
    assert r.exit_code == 0 and "keep their own" not in r.output and "keeps its own" not in r.output
    assert "FIVE_MIN" in r.output


def test_a_changed_only_plan_of_an_org_edit_includes_its_followers(
    cli: Cli, repo: Path, tmp_path: Path
) -> None:
    import shutil

    assert cli("apply", str(repo), "--auto-approve").exit_code == 0
    base = tmp_path / "base"
    shutil.copytree(repo, base / "repo")
    org = repo / "org" / "device-settings.yaml"
    set_yaml(org, "phoneLanguage: ENGLISH_UNITED_STATES", "phoneLanguage: FRENCH_FRANCE")
    r = cli("plan", "repo", "--baseline", str(base), "--changed-only", "--format", "json")
    assert r.exit_code == 0, r.output
    steps = {s["address"] for s in json.loads(r.output)["steps"] if s["phase"] in (3, 4)}
    assert {
        "OrgDeviceSettings/org",
        "LocationDeviceSettings/Headquarters",
        "Device/0A1B2C3D4E01.settings",
        "Device/0A1B2C3D4E04.settings",
    } <= steps


def test_a_declaration_takes_the_fields_it_holds_and_those_that_hold_it() -> None:
    from reconciler.planning.kinds.inherit import Cover

    cover = Cover(["/mpp/vlan/value", "/mpp/backlightTimer", "/ata/"])
    assert cover.takes("/mpp/vlan/value") and cover.takes("/mpp/backlightTimer")
    assert cover.takes("/mpp/vlan")  # holds a declared field
    assert cover.takes("/ata/ataDtmfMode")  # inside a declared object
    assert not cover.takes("/mpp/vlan/enabled") and not cover.takes("/mpp/backlightTimer68XX78XX")
    assert not cover.takes("/wifi") and not Cover([]).takes("/mpp")
