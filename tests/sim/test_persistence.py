"""State survives restarts through the state file."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import AppFactory, client_for, device_id, template_id

T = "/telephony/config"


async def test_state_file_round_trip(make_app: AppFactory, tmp_path: Path) -> None:
    state = tmp_path / "sim" / "state.json"
    app = make_app(state_file=str(state))
    assert state.exists()
    async with client_for(app) as client:
        dev = await device_id(client, "0A1B2C3D4E09")
        body = {
            "layoutMode": "CUSTOM",
            "lineKeys": [
                {"lineKeyIndex": 1, "lineKeyType": "PRIMARY_LINE"},
                {
                    "lineKeyIndex": 2,
                    "lineKeyType": "SPEED_DIAL",
                    "lineKeyLabel": "Boss",
                    "lineKeyValue": "3100",
                },
            ],
        }
        assert (await client.put(f"{T}/devices/{dev}/layout", json=body)).status_code == 204
        legacy = await template_id(client, "Legacy 7841")
        assert (await client.delete(f"{T}/devices/lineKeyTemplates/{legacy}")).status_code == 204
        job = (
            await client.post(
                f"{T}/jobs/devices/rebuildPhones",
                json={"locationId": app.state.sim.store.devices[dev].location_id},
            )
        ).json()
        await client.get(f"{T}/jobs/devices/rebuildPhones/{job['id']}")
    assert not list(state.parent.glob("*.tmp"))
    json.loads(state.read_text())  # complete JSON, written atomically

    again = make_app(state_file=str(state), seed=99, devices=5)  # the file wins over the seed
    assert again.state.sim.store.seed == "demo"
    async with client_for(again) as client:
        got = (await client.get(f"{T}/devices/{dev}/layout")).json()
        assert got["lineKeys"][1]["lineKeyLabel"] == "Boss"
        names = [
            t["templateName"]
            for t in (await client.get(f"{T}/devices/lineKeyTemplates")).json()["lineKeyTemplates"]
        ]
        assert "Legacy 7841" not in names
        status = (await client.get(f"{T}/jobs/devices/rebuildPhones/{job['id']}")).json()
        assert status["latestExecutionStatus"] == "COMPLETED"
        assert again.state.sim.store.devices[dev].rebuilds == 1
        assert (await client.get("/devices", params={"mac": "0A1B2C3D4E09"})).json()["items"][0][
            "callingDeviceId"
        ] == dev


async def test_failed_writes_do_not_touch_the_file(make_app: AppFactory, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    app = make_app(state_file=str(state))
    before = state.read_bytes()
    async with client_for(app) as client:
        dev = await device_id(client, "0A1B2C3D4E09")
        r = await client.put(
            f"{T}/devices/{dev}/layout",
            json={"layoutMode": "CUSTOM", "lineKeys": [{"lineKeyIndex": 99, "lineKeyType": "OPEN"}]},
        )
        assert r.status_code == 400
    assert state.read_bytes() == before
