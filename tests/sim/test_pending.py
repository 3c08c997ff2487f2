"""The simulator marks a device pending exactly when what it shows changed, until it is pushed, and
shows the pending devices through ``/_sim``: the API never pushes by itself, not after a job.

The oracle is the API itself: what each device's settings and layout GETs answer before and after.
"""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import AppFactory, client_for, device_id, location_id, person_id, sim_client, template_id

T = "/telephony/config"
THIRD_PARTY = "0A1B2C3D4E0B"  # a customer-managed phone: takes no push, never pending


async def pending(app: Any) -> list[str]:
    async with sim_client(app) as c:
        found = (await c.get("/_sim/pending")).json()
        stats = (await c.get("/_sim/stats")).json()
    assert found["count"] == len(found["items"]) == stats["pending_devices"]
    assert all(set(i) == {"mac", "deviceId", "locationId", "model"} for i in found["items"])
    return [str(i["mac"]) for i in found["items"]]


async def shown(client: httpx.AsyncClient, part: str) -> dict[str, Any]:
    """MAC -> what the device's ``part`` GET answers (settings: the customizations only)."""
    out: dict[str, Any] = {}
    for device in (await client.get("/devices")).json()["items"]:
        answer = (await client.get(f"{T}/devices/{device['callingDeviceId']}/{part}")).json()
        out[device["mac"].replace(":", "")] = answer.get("customizations") if part == "settings" else answer
    return out


async def changed_by(client: httpx.AsyncClient, part: str, before: dict[str, Any]) -> list[str]:
    after = await shown(client, part)
    return sorted(m for m in after if after[m] != before[m] and m != THIRD_PARTY)


async def push_all(client: httpx.AsyncClient, app: Any) -> None:
    for mac in await pending(app):
        dev = await device_id(client, mac)
        assert (await client.post(f"{T}/devices/{dev}/actions/applyChanges/invoke")).status_code == 204
    assert await pending(app) == []


async def settings_job(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    job = (await client.post(f"{T}/jobs/devices/callDeviceSettings", json=body)).json()
    status = (await client.get(f"{T}/jobs/devices/callDeviceSettings/{job['id']}")).json()
    assert status["latestExecutionExitCode"] == "COMPLETED", status


async def test_a_settings_job_marks_exactly_the_devices_whose_settings_it_changes(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with client_for(app) as client:
        assert await pending(app) == []
        hq = await location_id(client, "Headquarters")

        async def org(flip: bool) -> dict[str, Any]:
            mpp = (await client.get(f"{T}/devices/settings")).json()["customizations"]["mpp"]
            return {"customizations": {"mpp": {**mpp, "cdpEnabled": not mpp["cdpEnabled"]} if flip else mpp}}

        async def location(**change: Any) -> dict[str, Any]:
            custom = (await client.get(f"{T}/locations/{hq}/devices/settings")).json()["customizations"]
            custom["mpp"].update(change)
            return {"locationId": hq, "locationCustomizationsEnabled": True, "customizations": custom}

        counts = []
        for make, kw in (
            (org, {"flip": True}),  # every inheriting mpp phone
            (location, {}),  # Headquarters takes its own settings, equal to the org's: none
            (location, {"backlightTimer": "ALWAYS_ON"}),  # Headquarters' inheriting phones
            (org, {"flip": True}),  # masked in Headquarters now
        ):
            body = await make(**kw)
            before = await shown(client, "settings")
            await settings_job(client, body)
            expected = await changed_by(client, "settings", before)
            assert await pending(app) == expected, body
            counts.append(len(expected))
            await push_all(client, app)
        before = await shown(client, "settings")
        await settings_job(client, {"locationId": hq, "locationCustomizationsEnabled": False})
        assert await pending(app) == await changed_by(client, "settings", before) != []
        assert counts[1] == 0 and all(counts[i] for i in (0, 2, 3)), counts
        assert counts[3] < counts[0]  # Headquarters masks the org


async def test_template_jobs_and_hoteling_mark_what_they_change(make_app: AppFactory) -> None:
    app = make_app()
    async with client_for(app) as client:
        sales = await template_id(client, "Sales 8851")
        body = {"action": "APPLY_TEMPLATE", "templateId": sales, "includeDeviceTags": ["sales"]}
        marked = []
        for _ in range(2):  # the second time, nothing changes: nothing is marked
            before = await shown(client, "layout")
            job = (await client.post(f"{T}/jobs/devices/applyLineKeyTemplate", json=body)).json()
            await client.get(f"{T}/jobs/devices/applyLineKeyTemplate/{job['id']}")
            marked.append(await pending(app))
            assert marked[-1] == await changed_by(client, "layout", before)
            await push_all(client, app)
        assert marked[0] and marked[1] == []
        alice = await person_id(client, "alice@example.com")
        hoteling = {"hoteling": {"enabled": True, "limitGuestUse": False}}
        r = await client.put(f"{T}/people/{alice}/devices/settings/hoteling", json=hoteling)
        assert r.status_code == 204
        assert await pending(app) == ["0A1B2C3D4E01"]  # the phone alice owns shows her hoteling


async def test_a_customer_managed_phone_is_never_pending(make_app: AppFactory) -> None:
    app = make_app()
    async with client_for(app) as client:
        dev = await device_id(client, THIRD_PARTY)
        r = await client.put(f"{T}/devices/{dev}", json={"sipPassword": "Another-Secret-42"})
        assert r.status_code == 204
        assert await pending(app) == []
