"""The simulator's layout rules and template advisories, as the API documents them: key 1 is the
primary line, advisoryTypes choose which devices with a warning a template job changes, and the job
counts the devices it updated with advisories; an owner's hoteling PUT sets every device it owns."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import AppFactory, client_for, device_id, location_id, person_id, template_id

T = "/telephony/config"
PREVIEW = f"{T}/devices/actions/previewApplyLineKeyTemplate/invoke"


async def test_key_one_is_the_primary_line(client: httpx.AsyncClient) -> None:
    dev = await device_id(client, "0A1B2C3D4E02")
    speed = {"lineKeyIndex": 1, "lineKeyType": "SPEED_DIAL", "lineKeyLabel": "x", "lineKeyValue": "1"}
    for keys in ([speed], [{"lineKeyIndex": 2, "lineKeyType": "OPEN"}]):
        r = await client.put(f"{T}/devices/{dev}/layout", json={"layoutMode": "CUSTOM", "lineKeys": keys})
        assert r.status_code == 400 and "Line key 1 must be PRIMARY_LINE" in r.json()["message"], r.text
        body = {"templateName": "Bad", "deviceModel": "DMS Cisco 8865", "lineKeys": keys}
        r = await client.post(f"{T}/devices/lineKeyTemplates", json=body)
        assert r.status_code == 400 and "Line key 1 must be PRIMARY_LINE" in r.json()["message"], r.text
    ok = [{"lineKeyIndex": 1, "lineKeyType": "PRIMARY_LINE", "sharedLineIndex": 0}]
    r = await client.put(f"{T}/devices/{dev}/layout", json={"layoutMode": "CUSTOM", "lineKeys": ok})
    assert r.status_code == 204, r.text


async def _sales_body(client: httpx.AsyncClient, **extra: Any) -> dict[str, Any]:
    return {
        "action": "APPLY_TEMPLATE",
        "templateId": await template_id(client, "Sales 8851"),
        "locationIds": [await location_id(client, "Branch Office")],
        "includeDeviceTags": ["sales"],
        **extra,
    }


async def test_advisory_types_choose_the_devices_with_warnings(make_app: AppFactory) -> None:
    # "Sales 8851" has one SHARED_LINE key; erin's 07 and frank's 08 have no shared line yet: both
    # carry the warning "more shared line appearances than shared lines".
    app = make_app()
    async with client_for(app) as client:
        body = await _sales_body(client)
        assert (await client.post(PREVIEW, json=body)).json() == {"deviceCount": 2}  # no refinement
        refined = await _sales_body(client, advisoryTypes={"moreSharedAppearancesEnabled": False})
        assert (await client.post(PREVIEW, json=refined)).json() == {"deviceCount": 0}
        accepting = await _sales_body(client, advisoryTypes={"moreSharedAppearancesEnabled": True})
        assert (await client.post(PREVIEW, json=accepting)).json() == {"deviceCount": 2}
        # Give frank erin's line: his phone fits the template, erin's still does not.
        d08 = await device_id(client, "0A1B2C3D4E08")
        members = (await client.get(f"{T}/devices/{d08}/members")).json()["members"]
        erin = await person_id(client, "erin@example.com")
        shared = {
            "id": erin,
            "port": 2,
            "primaryOwner": False,
            "lineType": "SHARED_CALL_APPEARANCE",
            "lineWeight": 1,
            "hotlineEnabled": False,
            "hotlineDestination": "",
            "allowCallDeclineEnabled": True,
        }
        put = [{k: m[k] for k in shared if k in m} | {"hotlineDestination": ""} for m in members] + [shared]
        r = await client.put(f"{T}/devices/{d08}/members", json={"members": put})
        assert r.status_code == 204, r.text
        assert (await client.post(PREVIEW, json=refined)).json() == {"deviceCount": 1}
        job = (await client.post(f"{T}/jobs/devices/applyLineKeyTemplate", json=refined)).json()
        done = (await client.get(f"{T}/jobs/devices/applyLineKeyTemplate/{job['id']}")).json()
        assert (done["updatedCount"], done["advisoryCount"]) == (1, 0)
        d07 = await device_id(client, "0A1B2C3D4E07")
        assert (await client.get(f"{T}/devices/{d07}/layout")).json()["layoutMode"] == "DEFAULT"
        assert (await client.get(f"{T}/devices/{d08}/layout")).json()["layoutMode"] == "CUSTOM"
        # Without advisoryTypes the job changes both and counts erin's as one with an advisory.
        job = (await client.post(f"{T}/jobs/devices/applyLineKeyTemplate", json=body)).json()
        done = (await client.get(f"{T}/jobs/devices/applyLineKeyTemplate/{job['id']}")).json()
        assert (done["updatedCount"], done["advisoryCount"]) == (2, 1)


async def test_a_template_with_call_park_keys_warns_on_every_device(make_app: AppFactory) -> None:
    app = make_app()
    async with client_for(app) as client:
        keys = [
            {"lineKeyIndex": 1, "lineKeyType": "PRIMARY_LINE", "sharedLineIndex": 0},
            {"lineKeyIndex": 2, "lineKeyType": "CALL_PARK_EXTENSION", "sharedLineIndex": 0},
        ]
        r = await client.post(
            f"{T}/devices/lineKeyTemplates",
            json={"templateName": "Park", "deviceModel": "DMS Cisco 8851", "lineKeys": keys},
        )
        assert r.status_code == 201, r.text
        body = {"action": "APPLY_TEMPLATE", "templateId": r.json()["id"]}
        assert (await client.post(PREVIEW, json=body)).json()["deviceCount"] == 3  # every 8851
        body["advisoryTypes"] = {"moreCPEAppearancesEnabled": False, "fewSharedAppearancesEnabled": True}
        assert (await client.post(PREVIEW, json=body)).json()["deviceCount"] == 0


async def test_an_owners_hoteling_sets_every_device_it_owns(make_app: AppFactory) -> None:
    app = make_app()
    store = app.state.sim.store
    async with client_for(app) as client:
        alice = await person_id(client, "alice@example.com")
        second = store.device_by_mac("0A1B2C3D4E03")
        second.owner_id, second.members[0]["id"] = alice, alice
        second.hoteling = {"enabled": True, "limitGuestUse": False}  # its own, out of band
        shown = (await client.get(f"{T}/people/{alice}/devices")).json()["devices"]
        assert sorted(d["hoteling"]["enabled"] for d in shown if d["primaryOwner"]) == [False, True]
        r = await client.put(
            f"{T}/people/{alice}/devices/settings/hoteling",
            json={"hoteling": {"enabled": False, "limitGuestUse": False}},
        )
        assert r.status_code == 204
        shown = (await client.get(f"{T}/people/{alice}/devices")).json()["devices"]
        assert [d["hoteling"]["enabled"] for d in shown if d["primaryOwner"]] == [False, False]
