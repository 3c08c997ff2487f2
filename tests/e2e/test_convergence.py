"""Convergence defects, through the CLI against the simulator: an image named with its extension,
hoteling on every owned device, and the API's layout rules refused before anything is sent."""

from __future__ import annotations

import base64
import json
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from reconciler.sim.store import Store

from .conftest import sim_call

Cli = Callable[..., Result]

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def write(dirpath: Path, name: str, text: str) -> Path:
    dirpath.mkdir(parents=True, exist_ok=True)
    p = dirpath / name
    p.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return p


@pytest.mark.parametrize("file_name", ["CompanyLogoBlue.png", "Night.JPEG", "Plain", "Banner.jpg"])
def test_an_image_named_with_its_extension_converges(cli: Cli, tmp_path: Path, file_name: str) -> None:
    repo = tmp_path / "m"
    repo.mkdir()
    (repo / "logo.png").write_bytes(PNG)
    write(
        repo,
        "images.yaml",
        f"""
        apiVersion: reconciler/v1
        kind: BackgroundImages
        metadata: {{name: org}}
        spec:
          uploadDevice: 0A1B2C3D4E01
          images:
            - {{fileName: {file_name}, path: logo.png}}
        """,
    )
    r = cli("plan", str(repo), "--detailed-exitcode")
    assert r.exit_code == 2, r.output
    assert f"upload background image '{file_name}'" in r.output
    r = cli("apply", str(repo), "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Converged" in r.output
    r = cli("plan", str(repo), "--detailed-exitcode")
    assert r.exit_code == 0, r.output  # not uploaded again: the org lists it without its extension


def test_one_image_declared_with_and_without_its_extension_is_refused(cli: Cli, tmp_path: Path) -> None:
    repo = tmp_path / "m"
    repo.mkdir()
    (repo / "logo.png").write_bytes(PNG)
    f = write(
        repo,
        "images.yaml",
        """
        apiVersion: reconciler/v1
        kind: BackgroundImages
        metadata: {name: org}
        spec:
          images:
            - {fileName: Logo, path: logo.png}
            - {fileName: Logo.png, path: logo.png}
        """,
    )
    r = cli("validate", str(repo))
    assert r.exit_code == 1
    assert f"{f}:7:" in r.output and "the org keeps it as 'Logo'" in r.output


def _owned_hoteling(sim_state: Path, email: str, mac: str, value: dict[str, object]) -> None:
    """Give one device of a person its own hoteling (out of band, as a device-level change)."""
    sim_call(sim_state, "GET", "/devices")  # the state file exists from here on
    store = Store.load(str(sim_state))
    person = store.person_by_email(email)
    assert person is not None
    device = store.device_by_mac(mac)
    assert device is not None
    device.owner_id = person.id
    device.owner_type = "PEOPLE"
    device.members[0]["id"] = person.id
    device.hoteling = value
    store.save(str(sim_state))


def test_hoteling_is_compared_on_every_owned_device(cli: Cli, tmp_path: Path, sim_state: Path) -> None:
    # alice owns 0A1B2C3D4E01; give her a second phone whose own hoteling differs.
    _owned_hoteling(sim_state, "alice@example.com", "0A1B2C3D4E03", {"enabled": True, "limitGuestUse": False})
    pid = sim_call(sim_state, "GET", "/people", params={"email": "alice@example.com"})["items"][0]["id"]
    sim_call(
        sim_state,
        "PUT",
        f"/telephony/config/people/{pid}/devices/settings/hoteling",
        json={"hoteling": {"enabled": False, "limitGuestUse": False}},
    )
    _owned_hoteling(sim_state, "alice@example.com", "0A1B2C3D4E03", {"enabled": True, "limitGuestUse": False})
    repo = tmp_path / "m"
    write(
        repo,
        "alice.yaml",
        """
        apiVersion: reconciler/v1
        kind: PersonDevices
        metadata: {person: alice@example.com}
        spec:
          hoteling: {enabled: false}
        """,
    )
    # The first owned device already matches; the second does not: the plan sees it.
    r = cli("plan", str(repo), "--detailed-exitcode")
    assert r.exit_code == 2, r.output
    assert "hoteling (of its 2 devices, 1 differ)" in r.output
    assert "~ hoteling.enabled: true -> false" in r.output
    r = cli("apply", str(repo), "--auto-approve")
    assert r.exit_code == 0, r.output
    assert "Converged" in r.output
    devices = sim_call(sim_state, "GET", f"/telephony/config/people/{pid}/devices")["devices"]
    owned = [d for d in devices if d["primaryOwner"]]
    assert len(owned) == 2 and all(d["hoteling"]["enabled"] is False for d in owned)
    assert cli("plan", str(repo), "--detailed-exitcode").exit_code == 0


def test_hoteling_of_a_person_who_owns_no_device_is_a_warning(cli: Cli, tmp_path: Path) -> None:
    # heidi owns no device in the demo org: her hoteling is that of no device.
    repo = tmp_path / "m"
    write(
        repo,
        "heidi.yaml",
        """
        apiVersion: reconciler/v1
        kind: PersonDevices
        metadata: {person: heidi@example.com}
        spec:
          hoteling: {enabled: true}
        """,
    )
    r = cli("plan", str(repo), "--detailed-exitcode")
    assert r.exit_code == 0, r.output
    assert "PersonDevices/heidi@example.com: owns no device" in r.output


LAYOUT_RULES = [
    (
        "    lineKeys:\n"
        "      - {lineKeyIndex: 1, lineKeyType: SPEED_DIAL, lineKeyLabel: x, lineKeyValue: '1'}\n",
        "its lineKeyType is PRIMARY_LINE, not SPEED_DIAL",
    ),
    ("    lineKeys:\n      - {lineKeyIndex: 2, lineKeyType: OPEN}\n", "line key 1 is not declared"),
    (
        "    lineKeys:\n      - {lineKeyIndex: 1, lineKeyType: PRIMARY_LINE}\n"
        "      - {lineKeyIndex: 2, lineKeyType: SHARED_LINE}\n",
        "SHARED_LINE line key 2 needs a sharedLineIndex",
    ),
    (
        "    lineKeys:\n      - {lineKeyIndex: 1, lineKeyType: PRIMARY_LINE}\n"
        "    kemModuleType: KEM_14_KEYS\n"
        "    kemKeys:\n      - {kemModuleIndex: 1, kemKeyIndex: 1, kemKeyType: SHARED_LINE}\n",
        "SHARED_LINE KEM key 1/1 needs a sharedLineIndex",
    ),
    ("    userReorderEnabled: true\n", "line key 1 is not declared"),
]


@pytest.mark.parametrize(("keys", "message"), LAYOUT_RULES)
def test_the_api_layout_rules_are_refused_at_validate(
    cli: Cli, tmp_path: Path, keys: str, message: str
) -> None:
    repo = tmp_path / "m"
    repo.mkdir()
    device = repo / "d.yaml"
    device.write_text(
        "apiVersion: reconciler/v1\nkind: Device\nmetadata: {mac: 0A1B2C3D4E02}\nspec:\n  layout:\n"
        "    layoutMode: CUSTOM\n" + keys,
        encoding="utf-8",
    )
    r = cli("validate", str(repo))
    assert r.exit_code == 1, r.output
    assert f"{device}:" in r.output and message in r.output
    r = cli("plan", str(repo))  # refused before any request
    assert r.exit_code == 1 and message in r.output


def test_a_template_without_its_primary_line_is_refused(cli: Cli, tmp_path: Path) -> None:
    repo = tmp_path / "m"
    f = write(
        repo,
        "t.yaml",
        """
        apiVersion: reconciler/v1
        kind: LineKeyTemplate
        metadata: {name: No Primary}
        spec:
          deviceModel: DMS Cisco 8845
          lineKeys:
            - {lineKeyIndex: 1, lineKeyType: OPEN}
            - {lineKeyIndex: 2, lineKeyType: SHARED_LINE, sharedLineIndex: 1}
        """,
    )
    r = cli("validate", str(repo), "--format", "json")
    assert r.exit_code == 1
    problems = json.loads(r.output)["diagnostics"]
    assert [p["line"] for p in problems] == [7]
    assert f"{f}" in problems[0]["file"]


def test_a_shared_line_key_is_sent_with_the_index_declared(cli: Cli, tmp_path: Path) -> None:
    repo = tmp_path / "m"
    write(
        repo,
        "d.yaml",
        """
        apiVersion: reconciler/v1
        kind: Device
        metadata: {mac: 0A1B2C3D4E02}
        spec:
          layout:
            layoutMode: CUSTOM
            lineKeys:
              - {lineKeyIndex: 1, lineKeyType: PRIMARY_LINE}
              - {lineKeyIndex: 3, lineKeyType: SHARED_LINE, sharedLineIndex: 2}
        """,
    )
    r = cli("plan", str(repo), "--format", "json")
    assert r.exit_code == 0, r.output
    (step,) = [s for s in json.loads(r.output)["steps"] if s["address"].endswith(".layout")]
    keys = {k["lineKeyIndex"]: k for k in step["body"]["lineKeys"]}
    assert keys[3]["sharedLineIndex"] == 2 and keys[1]["lineKeyType"] == "PRIMARY_LINE"
