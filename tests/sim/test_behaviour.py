"""Behaviour the real API documents: the demo seed, members, layouts, settings, jobs, auth, hooks."""

from __future__ import annotations

from typing import Any

import httpx

from reconciler.sim.app import create_app

from .conftest import (
    TOKEN,
    AppFactory,
    client_for,
    device_id,
    location_id,
    person_id,
    sim_client,
    template_id,
    workspace_id,
)

T = "/telephony/config"


def member(mid: str, port: int, *, primary: bool = False, weight: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "port": port,
        "id": mid,
        "primaryOwner": primary,
        "lineType": "PRIMARY" if primary else "SHARED_CALL_APPEARANCE",
        "lineWeight": weight,
        "hotlineEnabled": False,
        "hotlineDestination": "",
        "allowCallDeclineEnabled": True,
        **extra,
    }


# --------------------------------------------------------------------------------------------
# the demo org (docs/demo-org.md)
# --------------------------------------------------------------------------------------------


async def test_demo_org_matches_docs(client: httpx.AsyncClient) -> None:
    people = (await client.get("/people", params={"max": 100})).json()["items"]
    assert sorted(p["emails"][0] for p in people) == sorted(
        f"{n}@example.com"
        for n in ("alice", "bob", "carol", "dave", "judy", "erin", "frank", "grace", "heidi", "ivan")
    )
    locations = (await client.get("/locations")).json()["items"]
    assert sorted(x["name"] for x in locations) == ["Branch Office", "Headquarters"]
    workspaces = (await client.get("/workspaces")).json()["items"]
    assert sorted(w["displayName"] for w in workspaces) == ["Break Room", "Front Desk", "Lobby"]
    devices = (await client.get("/devices")).json()["items"]
    by_mac = {d["mac"].replace(":", ""): d for d in devices}
    assert len(by_mac) == 11
    assert by_mac["0A1B2C3D4E0B"]["product"] == "Generic IPPhone Customer Managed"
    assert by_mac["0A1B2C3D4E01"]["product"] == "Cisco 8851" and by_mac["0A1B2C3D4E01"]["tags"] == ["sales"]
    assert by_mac["0A1B2C3D4E05"]["tags"] == ["reception"] and "workspaceId" in by_mac["0A1B2C3D4E05"]
    assert by_mac["0A1B2C3D4E0A"]["product"] == "Cisco 191"
    assert by_mac["0A1B2C3D4E01"]["mac"] == "0A:1B:2C:3D:4E:01"

    templates = {
        t["templateName"]
        for t in (await client.get(f"{T}/devices/lineKeyTemplates")).json()["lineKeyTemplates"]
    }
    assert templates == {"Sales 8851", "Reception 8865", "Legacy 7841"}
    sales = (
        await client.get(f"{T}/devices/lineKeyTemplates/{await template_id(client, 'Sales 8851')}")
    ).json()
    key3 = sales["lineKeys"][2]
    assert (key3["lineKeyType"], key3["lineKeyLabel"], key3["lineKeyValue"]) == (
        "SPEED_DIAL",
        "Sales",
        "2001",
    )

    org = (await client.get(f"{T}/devices/settings")).json()["customizations"]
    assert org["mpp"]["backlightTimer"] == "ONE_MIN" and org["mpp"]["phoneLanguage"] == "PERSON_LANGUAGE"
    assert org["mpp"]["cdpEnabled"] is True and org["mpp"]["lldpEnabled"] is True
    assert org["ata"]["ataDtmfMode"] == "NORMAL"
    for name in ("Headquarters", "Branch Office"):
        loc = (await client.get(f"{T}/locations/{await location_id(client, name)}/devices/settings")).json()
        assert loc["customEnabled"] is False and loc["customizations"]["mpp"] == org["mpp"]

    images = (await client.get(f"{T}/devices/backgroundImages")).json()["backgroundImages"]
    assert [i["fileName"] for i in images] == ["OldLogo"]
    alice = await person_id(client, "alice@example.com")
    assert (await client.get(f"{T}/people/{alice}/devices/settings")).json() == {"compression": "OFF"}
    alice_devices = (await client.get(f"{T}/people/{alice}/devices")).json()["devices"]
    assert all(d["hoteling"]["enabled"] is False for d in alice_devices if d["primaryOwner"])

    d01 = await device_id(client, "0A1B2C3D4E01")
    members = (await client.get(f"{T}/devices/{d01}/members")).json()
    assert [m["port"] for m in members["members"]] == [1] and members["maxLineCount"] == 5
    layout = (await client.get(f"{T}/devices/{d01}/layout")).json()
    assert layout["layoutMode"] == "DEFAULT"
    assert [k["lineKeyType"] for k in layout["lineKeys"]] == ["PRIMARY_LINE", "OPEN", "OPEN", "OPEN", "OPEN"]
    settings = (await client.get(f"{T}/devices/{d01}/settings")).json()
    assert settings["customEnabled"] is False and list(settings["customizations"]) == ["mpp"]
    d05 = await device_id(client, "0A1B2C3D4E05")
    m05 = (await client.get(f"{T}/devices/{d05}/members")).json()["members"]
    assert m05[1]["lineType"] == "SHARED_CALL_APPEARANCE" and m05[1]["lineLabel"] == "Alice"
    d06 = await device_id(client, "0A1B2C3D4E06")
    assert (await client.get(f"{T}/devices/{d06}/members")).json()["members"][0]["hotlineEnabled"] is False
    overflow = (
        await client.get(f"{T}/devices/{d01}/availableMembers", params={"memberName": "overflow"})
    ).json()
    assert [m["memberType"] for m in overflow["members"]] == ["VIRTUAL_LINE"]


async def test_device_lookup_filters(client: httpx.AsyncClient) -> None:
    for mac in ("0A:1B:2C:3D:4E:07", "0a-1b-2c-3d-4e-07", "0a1b2c3d4e07", "0A1B.2C3D.4E07"):
        items = (await client.get("/devices", params={"mac": mac})).json()["items"]
        assert [i["mac"] for i in items] == ["0A:1B:2C:3D:4E:07"]
    sales = (await client.get("/devices", params={"tag": "sales"})).json()["items"]
    assert len(sales) == 3
    erin = await person_id(client, "erin@example.com")
    assert len((await client.get("/devices", params={"personId": erin})).json()["items"]) == 1
    front = await workspace_id(client, "Front Desk")
    assert len((await client.get("/devices", params={"workspaceId": front})).json()["items"]) == 1
    assert len((await client.get("/devices", params={"product": "Cisco 8865"})).json()["items"]) == 2
    branch = await location_id(client, "Branch Office")
    assert len((await client.get("/devices", params={"locationId": branch})).json()["items"]) == 4
    webex = (await client.get("/devices", params={"mac": "0A1B2C3D4E07"})).json()["items"][0]
    assert (await client.get(f"/devices/{webex['id']}")).json()["callingDeviceId"] == webex["callingDeviceId"]
    # the telephony endpoints take the callingDeviceId, not the /devices id
    assert (await client.get(f"{T}/devices/{webex['id']}/members")).status_code == 404


# --------------------------------------------------------------------------------------------
# members
# --------------------------------------------------------------------------------------------


async def test_put_members_replaces_list_and_keeps_primary_owner(client: httpx.AsyncClient) -> None:
    dev = await device_id(client, "0A1B2C3D4E05")
    alice = await person_id(client, "alice@example.com")
    bob = await person_id(client, "bob@example.com")
    # the PUT leaves out the primary owner (Front Desk) and alice: the owner stays, alice goes
    r = await client.put(f"{T}/devices/{dev}/members", json={"members": [member(bob, 3, lineLabel="Bob")]})
    assert r.status_code == 204, r.text
    got = (await client.get(f"{T}/devices/{dev}/members")).json()["members"]
    assert [(m["port"], m["firstName"]) for m in got] == [(1, "Front Desk"), (3, "Bob")]
    assert all(m["id"] != alice for m in got)


async def test_member_semantic_errors(client: httpx.AsyncClient) -> None:
    dev = await device_id(client, "0A1B2C3D4E01")
    alice = await person_id(client, "alice@example.com")
    bob = await person_id(client, "bob@example.com")
    carol = await person_id(client, "carol@example.com")
    owner = member(alice, 1, primary=True)
    cases = {
        "unknown id": [owner, member("Y2lzY29zcGFyazovL3VzL1BFT1BMRS9ub3BlLW5vcGU", 2)],
        "two primaries": [owner, member(bob, 2, primary=True)],
        "duplicate port": [owner, member(bob, 1)],
        "beyond maxLineCount": [owner, member(bob, 2, weight=5)],
        "port out of range": [owner, member(carol, 6)],
        "hotline without destination": [dict(owner, hotlineEnabled=True)],
        "missing required field": [{"port": 1, "id": alice}],
    }
    for name, members in cases.items():
        r = await client.put(f"{T}/devices/{dev}/members", json={"members": members})
        assert r.status_code == 400, (name, r.text)
        assert r.json()["errors"][0]["description"]
    assert len((await client.get(f"{T}/devices/{dev}/members")).json()["members"]) == 1


# --------------------------------------------------------------------------------------------
# layouts
# --------------------------------------------------------------------------------------------


async def test_layout_kem_keys_left_out_become_open(client: httpx.AsyncClient) -> None:
    dev = await device_id(client, "0A1B2C3D4E02")  # Cisco 8865: 5 keys, 3 KEM modules
    body = {
        "layoutMode": "CUSTOM",
        "userReorderEnabled": False,
        "lineKeys": [
            {"lineKeyIndex": 1, "lineKeyType": "PRIMARY_LINE"},
            {"lineKeyIndex": 3, "lineKeyType": "SPEED_DIAL", "lineKeyLabel": "Alice", "lineKeyValue": "1001"},
        ],
        "kemModuleType": "KEM_14_KEYS",
        "kemKeys": [
            {
                "kemModuleIndex": 1,
                "kemKeyIndex": 2,
                "kemKeyType": "SPEED_DIAL",
                "kemKeyLabel": "Dave",
                "kemKeyValue": "1004",
            }
        ],
    }
    assert (await client.put(f"{T}/devices/{dev}/layout", json=body)).status_code == 204
    got = (await client.get(f"{T}/devices/{dev}/layout")).json()
    assert [k["lineKeyType"] for k in got["lineKeys"]] == [
        "PRIMARY_LINE",
        "OPEN",
        "SPEED_DIAL",
        "OPEN",
        "OPEN",
    ]
    assert len(got["kemKeys"]) == 3 * 14
    assert [k["kemKeyType"] for k in got["kemKeys"] if k["kemKeyType"] != "OPEN"] == ["SPEED_DIAL"]
    # a second PUT that lists no KEM keys turns the previous ones OPEN
    body["kemKeys"] = []
    assert (await client.put(f"{T}/devices/{dev}/layout", json=body)).status_code == 204
    got = (await client.get(f"{T}/devices/{dev}/layout")).json()
    assert {k["kemKeyType"] for k in got["kemKeys"]} == {"OPEN"}
    # DEFAULT resets the layout
    assert (
        await client.put(f"{T}/devices/{dev}/layout", json={"layoutMode": "DEFAULT", "lineKeys": []})
    ).status_code == 204
    got = (await client.get(f"{T}/devices/{dev}/layout")).json()
    assert got["layoutMode"] == "DEFAULT" and "kemKeys" not in got


async def test_layout_semantic_errors(client: httpx.AsyncClient) -> None:
    dev = await device_id(client, "0A1B2C3D4E02")
    ata = await device_id(client, "0A1B2C3D4E0A")
    base = {"layoutMode": "CUSTOM", "lineKeys": [{"lineKeyIndex": 1, "lineKeyType": "PRIMARY_LINE"}]}
    bad = {
        "line key beyond model": dict(base, lineKeys=[{"lineKeyIndex": 6, "lineKeyType": "OPEN"}]),
        "unsupported KEM type": dict(base, kemModuleType="KEM_20_KEYS"),
        "KEM module beyond model": dict(
            base,
            kemModuleType="KEM_14_KEYS",
            kemKeys=[{"kemModuleIndex": 4, "kemKeyIndex": 1, "kemKeyType": "OPEN"}],
        ),
        "KEM key beyond module": dict(
            base,
            kemModuleType="KEM_14_KEYS",
            kemKeys=[{"kemModuleIndex": 1, "kemKeyIndex": 15, "kemKeyType": "OPEN"}],
        ),
        "speed dial without value": dict(base, lineKeys=[{"lineKeyIndex": 2, "lineKeyType": "SPEED_DIAL"}]),
        "shared line without index": dict(base, lineKeys=[{"lineKeyIndex": 2, "lineKeyType": "SHARED_LINE"}]),
        "bad enum": dict(base, layoutMode="FANCY"),
    }
    for name, body in bad.items():
        r = await client.put(f"{T}/devices/{dev}/layout", json=body)
        assert r.status_code == 400, (name, r.text)
    r = await client.put(f"{T}/devices/{ata}/layout", json=base)
    assert r.status_code == 400 and "not supported" in r.json()["message"]


# --------------------------------------------------------------------------------------------
# settings
# --------------------------------------------------------------------------------------------


async def test_settings_inherit_location_then_org(client: httpx.AsyncClient, demo_app: Any) -> None:
    dev = await device_id(client, "0A1B2C3D4E03")
    hq = await location_id(client, "Headquarters")
    assert (await client.get(f"{T}/devices/{dev}/settings")).json()["customizations"]["mpp"][
        "backlightTimer"
    ] == "ONE_MIN"
    loc = (await client.get(f"{T}/locations/{hq}/devices/settings")).json()["customizations"]
    loc["mpp"]["backlightTimer"] = "ALWAYS_ON"
    body = {"locationId": hq, "locationCustomizationsEnabled": True, "customizations": {"mpp": loc["mpp"]}}
    job = (await client.post(f"{T}/jobs/devices/callDeviceSettings", json=body)).json()
    status = (await client.get(f"{T}/jobs/devices/callDeviceSettings/{job['id']}")).json()
    assert status["latestExecutionStatus"] == "COMPLETED" and status["latestExecutionExitCode"] == "COMPLETED"
    got = (await client.get(f"{T}/locations/{hq}/devices/settings")).json()
    assert got["customEnabled"] is True and got["customizations"]["mpp"]["backlightTimer"] == "ALWAYS_ON"
    assert (await client.get(f"{T}/devices/{dev}/settings")).json()["customizations"]["mpp"][
        "backlightTimer"
    ] == "ALWAYS_ON"
    # a device's own customisation wins; customEnabled false reverts to inheritance
    own = (await client.get(f"{T}/devices/{dev}/settings")).json()["customizations"]
    own["mpp"]["backlightTimer"] = "FIVE_MIN"
    put = {"customEnabled": True, "customizations": own}
    assert (await client.put(f"{T}/devices/{dev}/settings", json=put)).status_code == 204
    got = (await client.get(f"{T}/devices/{dev}/settings")).json()
    assert got["customEnabled"] is True and got["customizations"]["mpp"]["backlightTimer"] == "FIVE_MIN"
    put["customEnabled"] = False
    assert (await client.put(f"{T}/devices/{dev}/settings", json=put)).status_code == 204
    assert (await client.get(f"{T}/devices/{dev}/settings")).json()["customizations"]["mpp"][
        "backlightTimer"
    ] == "ALWAYS_ON"
    # back to org values
    off = {"locationId": hq, "locationCustomizationsEnabled": False}
    job = (await client.post(f"{T}/jobs/devices/callDeviceSettings", json=off)).json()
    await client.get(f"{T}/jobs/devices/callDeviceSettings/{job['id']}")
    assert (await client.get(f"{T}/locations/{hq}/devices/settings")).json()["customEnabled"] is False
    # partial settings bodies are refused: the API wants every required field (read-modify-write)
    r = await client.put(
        f"{T}/devices/{dev}/settings",
        json={"customEnabled": True, "customizations": {"mpp": {"backlightTimer": "FIVE_MIN"}}},
    )
    assert r.status_code == 400
    r = await client.get(f"{T}/devices/{dev}/settings", params={"deviceModel": "DMS Cisco 6871"})
    assert r.status_code == 400


# --------------------------------------------------------------------------------------------
# jobs
# --------------------------------------------------------------------------------------------


async def test_apply_template_job_progresses_and_applies_at_completion(make_app: AppFactory) -> None:
    app = make_app(job_duration_s=10)
    sim = app.state.sim
    async with client_for(app) as client:
        sales = await template_id(client, "Sales 8851")
        branch = await location_id(client, "Branch Office")
        body = {
            "action": "APPLY_TEMPLATE",
            "templateId": sales,
            "locationIds": [branch],
            "includeDeviceTags": ["sales"],
            "excludeDevicesWithCustomLayout": False,
        }
        preview = (
            await client.post(f"{T}/devices/actions/previewApplyLineKeyTemplate/invoke", json=body)
        ).json()
        assert preview == {"deviceCount": 2}
        job = (await client.post(f"{T}/jobs/devices/applyLineKeyTemplate", json=body)).json()
        assert (job["latestExecutionStatus"], job["percentageComplete"]) == ("STARTING", 0)
        d07 = await device_id(client, "0A1B2C3D4E07")
        url = f"{T}/jobs/devices/applyLineKeyTemplate/{job['id']}"
        sim.advance(5)
        mid = (await client.get(url)).json()
        assert mid["latestExecutionStatus"] == "STARTED" and 0 < mid["percentageComplete"] < 100
        assert (await client.get(f"{T}/devices/{d07}/layout")).json()["layoutMode"] == "DEFAULT"
        sim.advance(6)
        done = (await client.get(url)).json()
        assert (done["latestExecutionStatus"], done["latestExecutionExitCode"]) == ("COMPLETED", "COMPLETED")
        assert done["percentageComplete"] == 100 and done["updatedCount"] == 2
        layout = (await client.get(f"{T}/devices/{d07}/layout")).json()
        assert layout["layoutMode"] == "CUSTOM" and layout["lineKeys"][2]["lineKeyLabel"] == "Sales"
        d01 = await device_id(client, "0A1B2C3D4E01")  # HQ: not targeted
        assert (await client.get(f"{T}/devices/{d01}/layout")).json()["layoutMode"] == "DEFAULT"
        listed = (await client.get(f"{T}/jobs/devices/applyLineKeyTemplate")).json()["items"]
        assert [j["id"] for j in listed] == [job["id"]]
        # excludeDevicesWithCustomLayout now skips both
        body["excludeDevicesWithCustomLayout"] = True
        r = await client.post(f"{T}/devices/actions/previewApplyLineKeyTemplate/invoke", json=body)
        assert r.json() == {"deviceCount": 0}
        stats = (await sim_client(app).get("/_sim/stats")).json()
        assert stats["jobs_started_by_type"] == {"applyLineKeyTemplate": 1}


async def test_fail_next_job_and_rejected_devices(make_app: AppFactory) -> None:
    app = make_app()
    sim = app.state.sim
    async with client_for(app) as client:
        sales = await template_id(client, "Sales 8851")
        body = {"action": "APPLY_TEMPLATE", "templateId": sales, "includeDeviceTags": ["sales"]}
        d07 = await device_id(client, "0A1B2C3D4E07")
        sim.fail_next_job("applyLineKeyTemplate", "FAILED")
        job = (await client.post(f"{T}/jobs/devices/applyLineKeyTemplate", json=body)).json()
        status = (await client.get(f"{T}/jobs/devices/applyLineKeyTemplate/{job['id']}")).json()
        assert (status["latestExecutionStatus"], status["latestExecutionExitCode"]) == ("FAILED", "FAILED")
        errors = (await client.get(f"{T}/jobs/devices/applyLineKeyTemplate/{job['id']}/errors")).json()
        assert set(errors) == {"trackingId", "error"} and errors["error"]["message"]  # the spec's shape
        assert (await client.get(f"{T}/devices/{d07}/layout")).json()["layoutMode"] == "DEFAULT"

        sim.fail_next_job("applyLineKeyTemplate", "COMPLETED_WITH_ERRORS", ["0a:1b:2c:3d:4e:07"])
        job = (await client.post(f"{T}/jobs/devices/applyLineKeyTemplate", json=body)).json()
        status = (await client.get(f"{T}/jobs/devices/applyLineKeyTemplate/{job['id']}")).json()
        assert status["latestExecutionExitCode"] == "COMPLETED_WITH_ERRORS" and status["updatedCount"] == 2
        errors = (await client.get(f"{T}/jobs/devices/applyLineKeyTemplate/{job['id']}/errors")).json()
        assert "items" not in errors
        messages = errors["error"]["message"]
        assert [set(m) for m in messages] == [{"description", "code", "locationId"}]
        assert "0A1B2C3D4E07" in messages[0]["description"]
        assert (await client.get(f"{T}/devices/{d07}/layout")).json()["layoutMode"] == "DEFAULT"

        sim.reject_device("0A1B2C3D4E08")
        d08 = await device_id(client, "0A1B2C3D4E08")
        r = await client.post(f"{T}/devices/{d08}/actions/applyChanges/invoke")
        assert r.status_code == 400
        branch = await location_id(client, "Branch Office")
        job = (await client.post(f"{T}/jobs/devices/rebuildPhones", json={"locationId": branch})).json()
        status = (await client.get(f"{T}/jobs/devices/rebuildPhones/{job['id']}")).json()
        assert status["latestExecutionExitCode"] == "COMPLETED_WITH_ERRORS" and status["deviceCount"] == 4
        errors = (await client.get(f"{T}/jobs/devices/rebuildPhones/{job['id']}/errors")).json()["items"]
        assert len(errors) == 1
        pushes = {d.mac: d.pushes for d in sim.store.devices.values() if d.location_id == branch}
        assert pushes["0A1B2C3D4E08"] == 0 and pushes["0A1B2C3D4E07"] == 1


async def test_apply_changes_and_rebuild_count_pushes(client: httpx.AsyncClient, demo_app: Any) -> None:
    sim = demo_app.state.sim
    dev = await device_id(client, "0A1B2C3D4E01")
    assert (await client.post(f"{T}/devices/{dev}/actions/applyChanges/invoke")).status_code == 204
    assert sim.store.devices[dev].pushes == 1
    hq = await location_id(client, "Headquarters")
    job = (await client.post(f"{T}/jobs/devices/rebuildPhones", json={"locationId": hq})).json()
    await client.get(f"{T}/jobs/devices/rebuildPhones/{job['id']}")
    assert sim.store.devices[dev].pushes == 2 and sim.store.devices[dev].rebuilds == 1
    stats = (await sim_client(demo_app).get("/_sim/stats")).json()
    assert stats["config_pushes_total"] == 1


# --------------------------------------------------------------------------------------------
# auth, tracking ids, pagination, stats, messages
# --------------------------------------------------------------------------------------------


async def test_auth_refresh_and_expiry(make_app: AppFactory) -> None:
    app = make_app()
    sim = app.state.sim
    async with client_for(app, auth=False) as client:
        r = await client.get("/people")
        assert r.status_code == 401 and r.json()["trackingId"] == r.headers["TrackingID"]
        assert (await client.get("/people", headers={"Authorization": "Bearer wrong"})).status_code == 401
        assert (await client.get("/people", headers={"Authorization": f"Bearer {TOKEN}"})).status_code == 200
        form = {"grant_type": "refresh_token", "client_id": "c", "client_secret": "s", "refresh_token": "r1"}
        tokens = (await client.post("/access_token", data=form)).json()
        assert set(tokens) >= {"access_token", "expires_in", "refresh_token", "refresh_token_expires_in"}
        fresh = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert (await client.get("/people", headers=fresh)).status_code == 200
        sim.expire_token(tokens["access_token"])
        assert (await client.get("/people", headers=fresh)).status_code == 401
        assert (await client.post("/access_token", data=dict(form, grant_type="password"))).status_code == 400
    open_app = create_app(job_duration_s=0)
    async with client_for(open_app, auth=False) as client:
        assert (await client.get("/people", headers={"Authorization": "Bearer anything"})).status_code == 200
        assert (await client.get("/people", headers={"Authorization": "Basic x"})).status_code == 401


async def test_tracking_id_is_echoed(client: httpx.AsyncClient) -> None:
    r = await client.get("/locations", headers={"TrackingID": "MY_CLIENT_123"})
    assert r.headers["TrackingID"] == "MY_CLIENT_123"
    r = await client.get(f"{T}/devices/nope/members", headers={"TrackingID": "MY_CLIENT_456"})
    assert r.status_code == 404 and r.json()["trackingId"] == "MY_CLIENT_456"
    assert (await client.get("/locations")).headers["TrackingID"].startswith("SIM_")


async def test_link_headers_keep_query_and_are_absolute(make_app: AppFactory) -> None:
    app = make_app(seed=3, devices=250)
    async with client_for(app) as client:
        loc = (await client.get("/locations")).json()["items"][0]["id"]
        r = await client.get("/devices", params={"locationId": loc, "max": 50})
        link = r.headers["Link"]
        assert link.startswith("<http://sim/v1/devices?") and link.endswith('>; rel="next"')
        assert f"locationId={loc}" in link and "start=50" in link and "max=50" in link
        people = await client.get("/people", params={"max": 100})
        assert len(people.json()["items"]) == 100 and 'rel="next"' in people.headers["Link"]
    app = make_app(base_url="https://proxy.example/v1")
    async with client_for(app) as client:
        r = await client.get("/devices", params={"max": 4, "tag": "sales"})
        assert "Link" not in r.headers
        r = await client.get("/devices", params={"max": 4})
        assert r.headers["Link"].startswith("<https://proxy.example/v1/devices?")


async def test_stats_by_route_and_reset(client: httpx.AsyncClient, demo_app: Any) -> None:
    dev = await device_id(client, "0A1B2C3D4E06")
    lobby = await workspace_id(client, "Lobby")
    body = {"members": [member(lobby, 1, primary=True, hotlineEnabled=True, hotlineDestination="1000")]}
    assert (await client.put(f"{T}/devices/{dev}/members", json=body)).status_code == 204
    assert (
        await client.put(f"{T}/devices/{dev}/members", json={"members": [{"port": 1}]})
    ).status_code == 400
    async with sim_client(demo_app) as raw:
        stats = (await raw.get("/_sim/stats")).json()
        route = "PUT /v1/telephony/config/devices/{deviceId}/members"
        assert stats["requests_by_route"][route] == 2
        assert stats["writes_by_route"] == {route: 1} and stats["writes_total"] == 1
        assert stats["requests_by_status"]["400"] == 1
        assert (await raw.post("/_sim/stats/reset")).status_code == 200
        stats = (await raw.get("/_sim/stats")).json()
        assert stats["requests_total"] == 0 and stats["writes_total"] == 0


async def test_messages(client: httpx.AsyncClient) -> None:
    r = await client.post("/messages", json={"roomId": "room-1", "markdown": "**plan**: 3 changes"})
    assert r.status_code == 200 and r.json()["markdown"].startswith("**plan**")
    assert (await client.post("/messages", json={"roomId": "room-1"})).status_code == 400
    items = (await client.get("/messages", params={"roomId": "room-1"})).json()["items"]
    assert [m["markdown"] for m in items] == ["**plan**: 3 changes"]


async def test_org_id_parameter(client: httpx.AsyncClient, demo_app: Any) -> None:
    org = demo_app.state.sim.store.org_id
    assert (await client.get("/locations", params={"orgId": org})).status_code == 200
    assert (await client.get("/locations", params={"orgId": "someone-else"})).status_code == 404
