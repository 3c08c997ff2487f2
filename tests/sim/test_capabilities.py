"""The simulator refuses, with the API's 400, what a device model does not take (its supportedDevices
flags): ports, line weights, member fields, line keys, KEM modules and keys, layouts, settings
families, hoteling, applyChanges. Each refusal leaves the org unchanged."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from reconciler.sim import defaults

from .conftest import Spec, client_for, device_id, person_id, workspace_id
from .test_behaviour import member

T = "/telephony/config"
GENERIC = "Generic IPPhone Customer Managed"


def assert_api_400(r: httpx.Response, fragment: str) -> None:
    assert r.status_code == 400, r.text
    body = r.json()
    assert fragment in body["message"], body
    assert body["errors"] and all(e["description"] for e in body["errors"])
    assert body["trackingId"]


async def owner_of(client: httpx.AsyncClient, dev: str) -> dict[str, Any]:
    members = (await client.get(f"{T}/devices/{dev}/members")).json()["members"]
    return next(m for m in members if m["primaryOwner"])


async def writes(app: Starlette) -> int:
    return int(app.state.sim.stats.writes_total)


async def test_supported_devices_carry_the_capability_flags(client: httpx.AsyncClient, spec: Spec) -> None:
    r = await client.get(f"{T}/supportedDevices")
    schema = spec.schema_for("GET", f"{T}/supportedDevices", 200)
    assert schema is not None
    errors = sorted(str(e.message) for e in schema[1].iter_errors(r.json()))
    assert errors == []
    by_model = {d["model"]: d for d in r.json()["devices"]}
    mpp, ata, sip = by_model["DMS Cisco 8865"], by_model["DMS Cisco 191"], by_model[GENERIC]
    assert (mpp["numberOfLinePorts"], mpp["numberOfLineKeyButtons"], mpp["kemModuleCount"]) == (5, 5, 3)
    assert mpp["kemModuleType"] == ["KEM_14_KEYS", "KEM_18_KEYS"] and mpp["allowHotelingHostEnabled"]
    assert (mpp["t38Enabled"], mpp["callDeclinedEnabled"], mpp["customizableLineLabelEnabled"]) == (
        False,
        True,
        True,
    )
    assert (ata["t38Enabled"], ata["callDeclinedEnabled"], ata["customizableLineLabelEnabled"]) == (
        True,
        False,
        False,
    )
    assert not ata["allowConfigureLayoutEnabled"] and not ata["allowHotelingHostEnabled"]
    assert by_model["DMS Cisco 6841"]["numberOfLinePorts"] == 4
    assert sip["type"] == "GENERIC_SIP" and sip["manufacturer"] == "THIRD_PARTY"
    assert sip["deviceSettingsConfiguration"] == "NONE" and not sip["allowConfigurePhoneSettingsEnabled"]
    assert not sip["supportsApplyChangesEnabled"] and sip["numberOfLinePorts"] == 1


@pytest.mark.parametrize(
    ("mac", "case", "fragment"),
    [
        ("0A1B2C3D4E04", "port beyond", "Port 7 is out of range"),
        ("0A1B2C3D4E04", "weight beyond", "Port 7 is out of range"),
        ("0A1B2C3D4E01", "t38 on mpp", "t38FaxCompressionEnabled is not supported on Cisco 8851"),
        ("0A1B2C3D4E0A", "label on ata", "lineLabel is not supported on Cisco 191"),
        ("0A1B2C3D4E0A", "no call decline on ata", "allowCallDeclineEnabled cannot be disabled on Cisco 191"),
    ],
)
async def test_members_the_model_does_not_take(
    demo_app: Starlette, mac: str, case: str, fragment: str
) -> None:
    async with client_for(demo_app) as client:
        dev = await device_id(client, mac)
        owner = await owner_of(client, dev)
        carol = await person_id(client, "carol@example.com")
        primary = member(owner["id"], 1, primary=True)
        extra = {
            "port beyond": [member(carol, 7)],
            "weight beyond": [member(carol, 5, weight=3)],
            "t38 on mpp": [member(carol, 2, t38FaxCompressionEnabled=True)],
            "label on ata": [member(carol, 2, lineLabel="Carol")],
            "no call decline on ata": [member(carol, 2, allowCallDeclineEnabled=False)],
        }[case]
        before = (await client.get(f"{T}/devices/{dev}/members")).json()
        r = await client.put(f"{T}/devices/{dev}/members", json={"members": [primary, *extra]})
        assert_api_400(r, fragment)
        assert (await client.get(f"{T}/devices/{dev}/members")).json() == before
        assert await writes(demo_app) == 0


async def test_the_same_member_fields_are_taken_where_the_model_supports_them(
    client: httpx.AsyncClient,
) -> None:
    ata = await device_id(client, "0A1B2C3D4E0A")
    owner = await owner_of(client, ata)
    carol = await person_id(client, "carol@example.com")
    body = [member(owner["id"], 1, primary=True), member(carol, 2, t38FaxCompressionEnabled=True)]
    r = await client.put(f"{T}/devices/{ata}/members", json={"members": body})
    assert r.status_code == 204, r.text
    mpp = await device_id(client, "0A1B2C3D4E01")
    owner = await owner_of(client, mpp)
    body = [
        member(owner["id"], 1, primary=True),
        member(carol, 2, lineLabel="C", allowCallDeclineEnabled=False),
    ]
    r = await client.put(f"{T}/devices/{mpp}/members", json={"members": body})
    assert r.status_code == 204, r.text


def _layout(**kw: Any) -> dict[str, Any]:
    return {"layoutMode": "CUSTOM", "lineKeys": [{"lineKeyIndex": 1, "lineKeyType": "PRIMARY_LINE"}], **kw}


def _kem(module: int, key: int) -> list[dict[str, Any]]:
    return [{"kemModuleIndex": module, "kemKeyIndex": key, "kemKeyType": "OPEN"}]


@pytest.mark.parametrize(
    ("mac", "layout", "fragment"),
    [
        ("0A1B2C3D4E02", _layout(kemModuleType="KEM_14_KEYS", kemKeys=_kem(1, 17)), "kemKeyIndex 17"),
        ("0A1B2C3D4E02", _layout(kemModuleType="KEM_14_KEYS", kemKeys=_kem(4, 1)), "kemModuleIndex 4"),
        ("0A1B2C3D4E02", _layout(kemModuleType="KEM_20_KEYS"), "kemModuleType KEM_20_KEYS is not supported"),
        ("0A1B2C3D4E04", _layout(kemModuleType="KEM_14_KEYS"), "kemModuleType KEM_14_KEYS is not supported"),
        (
            "0A1B2C3D4E04",
            _layout(lineKeys=[{"lineKeyIndex": 7, "lineKeyType": "OPEN"}]),
            "lineKeyIndex 7 is out of range",
        ),
        ("0A1B2C3D4E0A", _layout(), "Configuring the layout is not supported on Cisco 191"),
        ("0A1B2C3D4E0B", _layout(), f"Configuring the layout is not supported on {GENERIC}"),
    ],
)
async def test_layouts_the_model_does_not_take(
    demo_app: Starlette, mac: str, layout: dict[str, Any], fragment: str
) -> None:
    async with client_for(demo_app) as client:
        dev = await device_id(client, mac)
        before = (await client.get(f"{T}/devices/{dev}/layout")).json()
        assert_api_400(await client.put(f"{T}/devices/{dev}/layout", json=layout), fragment)
        assert (await client.get(f"{T}/devices/{dev}/layout")).json() == before
        assert await writes(demo_app) == 0


@pytest.mark.parametrize(
    ("model", "keys", "fragment"),
    [
        ("DMS Cisco 8851", [{"lineKeyIndex": 6, "lineKeyType": "OPEN"}], "lineKeyIndex 6 is out of range"),
        (
            "DMS Cisco 191",
            [{"lineKeyIndex": 1, "lineKeyType": "PRIMARY_LINE"}],
            "not supported for Cisco 191",
        ),
    ],
)
async def test_templates_the_model_does_not_take(
    demo_app: Starlette, model: str, keys: list[dict[str, Any]], fragment: str
) -> None:
    async with client_for(demo_app) as client:
        body = {"templateName": "Too far", "deviceModel": model, "lineKeys": keys}
        assert_api_400(await client.post(f"{T}/devices/lineKeyTemplates", json=body), fragment)
        assert await writes(demo_app) == 0


@pytest.mark.parametrize(
    ("mac", "families", "fragment"),
    [
        ("0A1B2C3D4E02", ("mpp", "ata"), "customizations.ata does not apply to Cisco 8865"),
        ("0A1B2C3D4E0A", ("ata", "mpp"), "customizations.mpp does not apply to Cisco 191"),
        ("0A1B2C3D4E0B", ("mpp",), "Device settings are not supported"),
    ],
)
async def test_settings_of_another_family_are_refused(
    demo_app: Starlette, mac: str, families: tuple[str, ...], fragment: str
) -> None:
    async with client_for(demo_app) as client:
        dev = await device_id(client, mac)
        before = (await client.get(f"{T}/devices/{dev}/settings")).json()
        customizations = {name: defaults.family_default(name) for name in families}
        body = {"customEnabled": True, "customizations": customizations}
        assert_api_400(await client.put(f"{T}/devices/{dev}/settings", json=body), fragment)
        assert (await client.get(f"{T}/devices/{dev}/settings")).json() == before
        assert await writes(demo_app) == 0


async def test_hoteling_needs_a_device_that_may_host(demo_app: Starlette) -> None:
    async with client_for(demo_app) as client:
        brk = await workspace_id(client, "Break Room")  # owns the Cisco 191
        r = await client.put(f"{T}/workspaces/{brk}/devices", json={"enabled": True, "limitGuestUse": False})
        assert_api_400(r, "Hoteling host is not supported on the owner's devices (Cisco 191)")
        judy = await person_id(client, "judy@example.com")  # owns the third-party SIP phone
        r = await client.put(
            f"{T}/people/{judy}/devices/settings/hoteling", json={"hoteling": {"enabled": True}}
        )
        assert_api_400(r, f"({GENERIC})")
        assert await writes(demo_app) == 0
        # Turning it off is always taken; an owner of an MPP phone may host.
        r = await client.put(f"{T}/workspaces/{brk}/devices", json={"enabled": False, "limitGuestUse": False})
        assert r.status_code == 204, r.text
        alice = await person_id(client, "alice@example.com")
        r = await client.put(
            f"{T}/people/{alice}/devices/settings/hoteling", json={"hoteling": {"enabled": True}}
        )
        assert r.status_code == 204, r.text


async def test_a_third_party_phone_takes_no_apply_changes(demo_app: Starlette) -> None:
    async with client_for(demo_app) as client:
        sip = await device_id(client, "0A1B2C3D4E0B")
        r = await client.post(f"{T}/devices/{sip}/actions/applyChanges/invoke")
        assert_api_400(r, "applyChanges is not supported")
        details = (await client.get(f"{T}/devices/{sip}")).json()
        assert details["manufacturer"] == "THIRD_PARTY" and details["managedBy"] == "CUSTOMER"
        settings = (await client.get(f"{T}/devices/{sip}/settings")).json()
        assert settings["customEnabled"] is False and settings["customizations"] == {}
        r = await client.put(f"{T}/devices/{sip}", json={"sipPassword": "Rotated9Secret"})
        assert r.status_code == 204, r.text
