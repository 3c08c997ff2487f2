"""Conformance: drive every endpoint (success and error paths) and validate each response body
against the official spec's response schema for that operation and status."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from reconciler.sim.app import create_app

from .conftest import (
    TOKEN,
    Spec,
    client_for,
    device_id,
    location_id,
    person_id,
    template_id,
    workspace_id,
)

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
UNKNOWN = "Y2lzY29zcGFyazovL3VzL0RFVklDRS8wMDAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDA"


def in_scope(spec: Spec) -> set[tuple[str, str]]:
    ops = set()
    for path, item in spec.docs["device"]["paths"].items():
        if not path.startswith("/telephony/config/") or "dynamic" in path.lower():
            continue
        for method in item:
            if method in ("get", "put", "post", "delete"):
                ops.add((method.upper(), path))
    ops |= {("GET", "/devices"), ("GET", "/locations"), ("GET", "/workspaces"), ("GET", "/people")}
    return ops


class Checker:
    """Calls the sim and checks the answer against the spec; records what was covered."""

    def __init__(self, client: httpx.AsyncClient, spec: Spec) -> None:
        self.client = client
        self.spec = spec
        self.covered: set[tuple[str, str, str]] = set()

    async def __call__(
        self,
        method: str,
        path: str,
        status: int,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        files: Any = None,
        data: Any = None,
        auth: bool = True,
        **path_params: str,
    ) -> httpx.Response:
        url = path.format(**path_params)
        headers = None if auth else {"Authorization": ""}
        r = await self.client.request(
            method, url, params=params, json=json, files=files, data=data, headers=headers
        )
        assert r.status_code == status, f"{method} {url}: {r.status_code} {r.text[:800]}"
        assert r.headers.get("TrackingID"), "every response carries a TrackingID header"
        listed = self.spec.operation(method, path)["responses"]
        assert str(status) in listed, f"{method} {path}: the spec does not list status {status}"
        if status >= 400:
            body = r.json()
            assert isinstance(body["message"], str) and body["message"]
            assert body["errors"] and all(isinstance(e["description"], str) for e in body["errors"])
            assert body["trackingId"] == r.headers["TrackingID"]
        else:
            found = self.spec.schema_for(method, path, status)
            if found is None:
                assert r.content == b"", f"{method} {path} {status} should have no body"
            else:
                errors = sorted(found[1].iter_errors(r.json()), key=lambda e: list(map(str, e.absolute_path)))
                detail = "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
                assert not errors, f"{method} {path} {status}: response does not match the spec: {detail}"
        self.covered.add((method, path, "ok" if status < 400 else "error"))
        return r


@pytest.fixture
async def checked(spec: Spec) -> Any:
    app = create_app(token=TOKEN, job_duration_s=0)
    async with client_for(app) as client:
        yield Checker(client, spec), client, app


T = "/telephony/config"
DEV = f"{T}/devices/{{deviceId}}"


async def test_every_endpoint_success_and_error(checked: Any, spec: Spec) -> None:
    call, client, _app = checked
    alice_dev = await device_id(client, "0A:1B:2C:3D:4E:01")
    bob_dev = await device_id(client, "0A1B2C3D4E02")
    ata = await device_id(client, "0a-1b-2c-3d-4e-0a")
    alice = await person_id(client, "alice@example.com")
    front = await workspace_id(client, "Front Desk")
    hq = await location_id(client, "Headquarters")
    branch = await location_id(client, "Branch Office")
    sales = await template_id(client, "Sales 8851")

    # -- lookups ---------------------------------------------------------------------------
    await call("GET", "/devices", 200, params={"mac": "0a1b2c3d4e01"})
    await call("GET", "/devices", 200, params={"max": 3, "locationId": hq})
    await call("GET", "/devices", 400, params={"mac": "not-a-mac"})
    await call("GET", "/people", 200, params={"email": "alice@example.com", "callingData": "true"})
    await call("GET", "/people", 401, auth=False)
    await call("GET", "/workspaces", 200, params={"displayName": "Front"})
    await call("GET", "/workspaces", 400, params={"max": 0})
    await call("GET", "/locations", 200, params={"name": "head"})
    await call("GET", "/locations", 400, params={"max": "lots"})

    # -- members ---------------------------------------------------------------------------
    r = await call("GET", f"{DEV}/members", 200, deviceId=alice_dev)
    owner = r.json()["members"][0]
    await call("GET", f"{DEV}/members", 404, deviceId=UNKNOWN)
    members = [
        {
            k: owner[k]
            for k in (
                "port",
                "id",
                "primaryOwner",
                "lineType",
                "lineWeight",
                "hotlineEnabled",
                "hotlineDestination",
                "allowCallDeclineEnabled",
            )
        },
        {
            "port": 2,
            "id": front,
            "primaryOwner": False,
            "lineType": "SHARED_CALL_APPEARANCE",
            "lineWeight": 1,
            "hotlineEnabled": False,
            "hotlineDestination": "",
            "allowCallDeclineEnabled": True,
            "lineLabel": "Front Desk",
        },
    ]
    await call("PUT", f"{DEV}/members", 204, json={"members": members}, deviceId=alice_dev)
    await call("PUT", f"{DEV}/members", 400, json={"members": [dict(members[1], port=6)]}, deviceId=alice_dev)
    await call("PUT", f"{DEV}/members", 404, json={"members": []}, deviceId=UNKNOWN)
    await call(
        "GET",
        f"{DEV}/availableMembers",
        200,
        params={"usageType": "SHARED_LINE", "max": 2},
        deviceId=alice_dev,
    )
    await call("GET", f"{DEV}/availableMembers", 404, deviceId=UNKNOWN)
    await call("GET", f"{DEV}/availableMembers/count", 200, deviceId=alice_dev)
    await call("GET", f"{DEV}/availableMembers/count", 404, deviceId=UNKNOWN)
    await call("GET", f"{T}/devices/availableMembers/count", 200, params={"locationId": hq})
    await call("GET", f"{T}/devices/availableMembers/count", 400, params={"usageType": "NOPE"})
    await call("POST", f"{DEV}/actions/applyChanges/invoke", 204, deviceId=alice_dev)
    await call("POST", f"{DEV}/actions/applyChanges/invoke", 404, deviceId=UNKNOWN)

    # -- device settings -------------------------------------------------------------------
    r = await call(
        "GET", f"{DEV}/settings", 200, params={"deviceModel": "DMS Cisco 8851"}, deviceId=alice_dev
    )
    settings = r.json()
    settings["customEnabled"] = True
    settings["customizations"]["mpp"]["backlightTimer"] = "FIVE_MIN"
    put_body = {"customEnabled": True, "customizations": settings["customizations"]}
    await call("PUT", f"{DEV}/settings", 204, json=put_body, deviceId=alice_dev)
    await call("GET", f"{DEV}/settings", 200, deviceId=ata)
    await call("GET", f"{DEV}/settings", 404, deviceId=UNKNOWN)
    await call(
        "PUT",
        f"{DEV}/settings",
        400,
        json={"customEnabled": True, "customizations": {"mpp": {}}},
        deviceId=alice_dev,
    )
    await call("GET", f"{T}/locations/{{locationId}}/devices/settings", 200, locationId=hq)
    await call("GET", f"{T}/locations/{{locationId}}/devices/settings", 404, locationId=UNKNOWN)
    await call("GET", f"{T}/devices/settings", 200)
    await call("GET", f"{T}/devices/settings", 401, auth=False)

    # -- details, third party --------------------------------------------------------------
    await call("GET", DEV, 200, deviceId=alice_dev)
    await call("GET", DEV, 404, deviceId=UNKNOWN)
    sip_phone = await device_id(client, "0A:1B:2C:3D:4E:0B")  # the demo org's third-party phone
    await call("PUT", DEV, 204, json={"sipPassword": "Secret123!x"}, deviceId=sip_phone)
    await call("PUT", DEV, 400, json={"sipPassword": "short"}, deviceId=sip_phone)
    await call("PUT", DEV, 400, json={"sipPassword": "Secret123!x"}, deviceId=alice_dev)  # a Cisco phone

    # -- people, workspaces ----------------------------------------------------------------
    P = f"{T}/people/{{personId}}"
    W = f"{T}/workspaces/{{workspaceId}}"
    await call("GET", f"{P}/devices", 200, personId=alice)
    await call("GET", f"{P}/devices", 404, personId=UNKNOWN)
    await call(
        "PUT",
        f"{P}/devices/settings/hoteling",
        204,
        json={"hoteling": {"enabled": True, "limitGuestUse": True, "guestHoursLimit": 12}},
        personId=alice,
    )
    await call("PUT", f"{P}/devices/settings/hoteling", 400, json={"enabled": True}, personId=alice)
    await call("GET", f"{P}/devices/settings", 200, personId=alice)
    await call("GET", f"{P}/devices/settings", 404, personId=UNKNOWN)
    await call("PUT", f"{P}/devices/settings", 204, json={"compression": "ON"}, personId=alice)
    await call("PUT", f"{P}/devices/settings", 400, json={"compression": "MAYBE"}, personId=alice)
    await call("GET", f"{P}/devices/count", 200, personId=alice)
    await call("GET", f"{P}/devices/count", 404, personId=UNKNOWN)
    await call("GET", f"{W}/devices", 200, workspaceId=front)
    await call("GET", f"{W}/devices", 404, workspaceId=UNKNOWN)
    await call("PUT", f"{W}/devices", 204, json={"enabled": True, "limitGuestUse": False}, workspaceId=front)
    await call("PUT", f"{W}/devices", 400, json={"limitGuestUse": False}, workspaceId=front)
    await call("GET", f"{W}/devices/settings", 200, workspaceId=front)
    await call("GET", f"{W}/devices/settings", 404, workspaceId=UNKNOWN)
    await call("PUT", f"{W}/devices/settings", 204, json={"compression": "OFF"}, workspaceId=front)
    await call("PUT", f"{W}/devices/settings", 400, json={}, workspaceId=front)

    # -- catalogue, MACs -------------------------------------------------------------------
    await call("GET", f"{T}/supportedDevices", 200)
    await call("GET", f"{T}/supportedDevices", 200, params={"allowConfigureLayoutEnabled": "true"})
    await call("GET", f"{T}/supportedDevices", 400, params={"allowConfigureLayoutEnabled": "perhaps"})
    for path in (f"{T}/devices/dects/supportedDevices", f"{T}/devices/dectNetworks/supportedDevices"):
        await call("GET", path, 200)
        await call("GET", path, 401, auth=False)
    await call(
        "POST",
        f"{T}/devices/actions/validateMacs/invoke",
        200,
        json={"macs": ["0A1B2C3D4E01", "AB1256789ABC", "nope", "ab:12:56:78:9a:bc"]},
    )
    await call("POST", f"{T}/devices/actions/validateMacs/invoke", 400, json={})

    # -- line key templates ----------------------------------------------------------------
    LKT = f"{T}/devices/lineKeyTemplates"
    keys = [
        {"lineKeyIndex": 1, "lineKeyType": "PRIMARY_LINE"},
        {"lineKeyIndex": 2, "lineKeyType": "SPEED_DIAL", "lineKeyLabel": "Help", "lineKeyValue": "4357"},
    ]
    r = await call(
        "POST",
        LKT,
        201,
        json={"templateName": "Conformance 6841", "deviceModel": "DMS Cisco 6841", "lineKeys": keys},
    )
    new_tpl = r.json()["id"]
    await call(
        "POST",
        LKT,
        400,
        json={
            "templateName": "Too many",
            "deviceModel": "DMS Cisco 6841",
            "lineKeys": [{"lineKeyIndex": 9, "lineKeyType": "OPEN"}],
        },
    )
    await call("GET", LKT, 200)
    await call("GET", LKT, 401, auth=False)
    await call("GET", f"{LKT}/{{templateId}}", 200, templateId=new_tpl)
    await call("GET", f"{LKT}/{{templateId}}", 404, templateId=UNKNOWN)
    await call("PUT", f"{LKT}/{{templateId}}", 204, json={"lineKeys": keys[:1]}, templateId=new_tpl)
    await call("PUT", f"{LKT}/{{templateId}}", 400, json={"userReorderEnabled": True}, templateId=new_tpl)
    await call("DELETE", f"{LKT}/{{templateId}}", 204, templateId=new_tpl)
    await call("DELETE", f"{LKT}/{{templateId}}", 404, templateId=new_tpl)
    apply_body = {
        "action": "APPLY_TEMPLATE",
        "templateId": sales,
        "locationIds": [branch],
        "includeDeviceTags": ["sales"],
        "excludeDevicesWithCustomLayout": False,
    }
    await call("POST", f"{T}/devices/actions/previewApplyLineKeyTemplate/invoke", 200, json=apply_body)
    await call(
        "POST",
        f"{T}/devices/actions/previewApplyLineKeyTemplate/invoke",
        400,
        json={"action": "DO_IT", "templateId": sales},
    )

    # -- layout ----------------------------------------------------------------------------
    await call("GET", f"{DEV}/layout", 200, deviceId=bob_dev)
    await call("GET", f"{DEV}/layout", 404, deviceId=UNKNOWN)
    layout = {
        "layoutMode": "CUSTOM",
        "userReorderEnabled": False,
        "lineKeys": [{"lineKeyIndex": 1, "lineKeyType": "PRIMARY_LINE"}],
        "kemModuleType": "KEM_14_KEYS",
        "kemKeys": [
            {
                "kemModuleIndex": 1,
                "kemKeyIndex": 1,
                "kemKeyType": "SPEED_DIAL",
                "kemKeyLabel": "Carol",
                "kemKeyValue": "1003",
            }
        ],
    }
    await call("PUT", f"{DEV}/layout", 204, json=layout, deviceId=bob_dev)
    await call("GET", f"{DEV}/layout", 200, deviceId=bob_dev)
    bad_layout = dict(layout, kemKeys=[{"kemModuleIndex": 4, "kemKeyIndex": 1, "kemKeyType": "OPEN"}])
    await call("PUT", f"{DEV}/layout", 400, json=bad_layout, deviceId=bob_dev)

    # -- jobs ------------------------------------------------------------------------------
    J = f"{T}/jobs/devices"
    r = await call("POST", f"{J}/applyLineKeyTemplate", 202, json=apply_body)
    lkt_job = r.json()["id"]
    await call("POST", f"{J}/applyLineKeyTemplate", 400, json={"templateId": sales})
    await call("GET", f"{J}/applyLineKeyTemplate", 200)
    await call("GET", f"{J}/applyLineKeyTemplate", 401, auth=False)
    await call("GET", f"{J}/applyLineKeyTemplate/{{jobId}}", 200, jobId=lkt_job)
    await call("GET", f"{J}/applyLineKeyTemplate/{{jobId}}", 404, jobId=UNKNOWN)
    await call("GET", f"{J}/applyLineKeyTemplate/{{jobId}}/errors", 200, jobId=lkt_job)
    await call("GET", f"{J}/applyLineKeyTemplate/{{jobId}}/errors", 404, jobId=UNKNOWN)

    r = await call("GET", f"{T}/devices/settings", 200)
    org = r.json()["customizations"]
    r = await call("POST", f"{J}/callDeviceSettings", 200, json={"customizations": {"mpp": org["mpp"]}})
    settings_job = r.json()["id"]
    await call("POST", f"{J}/callDeviceSettings", 400, json={"customizations": {"mpp": {"cdpEnabled": True}}})
    await call("GET", f"{J}/callDeviceSettings", 200)
    await call("GET", f"{J}/callDeviceSettings", 400, params={"max": -1})
    await call("GET", f"{J}/callDeviceSettings/{{jobId}}", 200, jobId=settings_job)
    await call("GET", f"{J}/callDeviceSettings/{{jobId}}", 404, jobId=UNKNOWN)
    await call("GET", f"{J}/callDeviceSettings/{{jobId}}/errors", 200, jobId=settings_job)
    await call("GET", f"{J}/callDeviceSettings/{{jobId}}/errors", 404, jobId=UNKNOWN)

    r = await call("POST", f"{J}/rebuildPhones", 202, json={"locationId": hq})
    rebuild_job = r.json()["id"]
    await call("POST", f"{J}/rebuildPhones", 404, json={"locationId": UNKNOWN})
    await call("GET", f"{J}/rebuildPhones", 200)
    await call("GET", f"{J}/rebuildPhones", 401, auth=False)
    await call("GET", f"{J}/rebuildPhones/{{jobId}}", 200, jobId=rebuild_job)
    await call("GET", f"{J}/rebuildPhones/{{jobId}}", 404, jobId=UNKNOWN)
    await call("GET", f"{J}/rebuildPhones/{{jobId}}/errors", 200, jobId=rebuild_job)
    await call("GET", f"{J}/rebuildPhones/{{jobId}}/errors", 404, jobId=UNKNOWN)

    # -- background images -----------------------------------------------------------------
    IMG = f"{T}/devices/backgroundImages"
    await call("GET", IMG, 200)
    await call("GET", IMG, 401, auth=False)
    files = {"file": ("CompanyLogo.png", PNG, "image/png")}
    await call(
        "POST",
        f"{DEV}/actions/backgroundImageUpload/invoke",
        201,
        files=files,
        data={"fileName": "CompanyLogo.png"},
        deviceId=alice_dev,
    )
    await call(
        "POST",
        f"{DEV}/actions/backgroundImageUpload/invoke",
        400,
        files={"file": ("x.png", b"GIF89a...", "image/png")},
        data={"fileName": "x.png"},
        deviceId=alice_dev,
    )
    await call("DELETE", IMG, 200, json={"backgroundImages": [{"fileName": "CompanyLogo"}]})
    await call(
        "DELETE", IMG, 206, json={"backgroundImages": [{"fileName": "OldLogo"}, {"fileName": "Missing"}]}
    )
    await call("DELETE", IMG, 400, json={"images": []})

    missing_ok = {(m, p) for m, p in in_scope(spec) if (m, p, "ok") not in call.covered}
    missing_err = {(m, p) for m, p in in_scope(spec) if (m, p, "error") not in call.covered}
    assert not missing_ok, f"operations without a success check: {sorted(missing_ok)}"
    assert not missing_err, f"operations without an error check: {sorted(missing_err)}"


async def test_second_call_device_settings_job_conflicts(spec: Spec) -> None:
    app = create_app(token=TOKEN, job_duration_s=30)
    async with client_for(app) as client:
        call = Checker(client, spec)
        org = (await client.get(f"{T}/devices/settings")).json()["customizations"]
        body = {"customizations": {"ata": org["ata"]}}
        await call("POST", f"{T}/jobs/devices/callDeviceSettings", 200, json=body)
        await call("POST", f"{T}/jobs/devices/callDeviceSettings", 409, json=body)
        r = await call("GET", f"{T}/devices/settings", 200)
        assert r.json()["updateInProgress"] is True


# What apply reads from a job listing: the status of each job it watches (``JobWatcher``) and, to
# recover a start whose answer was lost, the location a job targets (``_same_target``).
WATCHED_FIELDS = ("id", "latestExecutionStatus", "latestExecutionExitCode", "percentageComplete")


@pytest.mark.parametrize(
    ("job_type", "target_field"), [("rebuildPhones", "locationId"), ("applyLineKeyTemplate", None)]
)
async def test_job_listing_shows_each_job_as_its_read_does(
    spec: Spec, job_type: str, target_field: str | None
) -> None:
    path = f"{T}/jobs/devices/{job_type}"
    _, validator = spec.schema_for("GET", path, 200) or (None, None)
    schemas = spec.docs["device"]["components"]["schemas"]

    def resolved(schema: dict[str, Any]) -> dict[str, Any]:
        return resolved(schemas[schema["$ref"].rsplit("/", 1)[1]]) if "$ref" in schema else schema

    listing = resolved(
        spec.operation("GET", path)["responses"]["200"]["content"]["application/json"]["schema"]
    )
    item = resolved(listing["properties"]["items"]["items"])
    assert set(WATCHED_FIELDS) <= set(item["properties"]), sorted(item["properties"])
    if target_field:
        assert target_field in item["properties"]
    assert not [p for p in spec.operation("GET", path).get("parameters", []) if p["name"] in ("start", "max")]

    app = create_app(token=TOKEN, job_duration_s=100.0)  # 1 % a second: the reads agree on it
    sim = app.state.sim
    locations = sorted(sim.store.locations)[:2]
    body = {"action": "APPLY_DEFAULT_TEMPLATES"}
    started = [sim.start_job(job_type, {"locationId": loc, **body}, "T", loc) for loc in locations]
    async with client_for(app) as client:
        for step in (5, 50, 60):  # STARTING, STARTED 55 %, finished
            sim.advance(step)
            r = await client.get(path)
            assert r.status_code == 200 and not list(validator.iter_errors(r.json()))
            listed = {j["id"]: j for j in r.json()["items"]}
            for job in started:
                one = (await client.get(f"{path}/{job.id}")).json()
                assert {k: listed[job.id].get(k) for k in (*WATCHED_FIELDS, target_field or "id")} == {
                    k: one.get(k) for k in (*WATCHED_FIELDS, target_field or "id")
                }
        assert {j["latestExecutionStatus"] for j in listed.values()} == {"COMPLETED"}
        if target_field:
            assert sorted(j[target_field] for j in listed.values()) == locations
