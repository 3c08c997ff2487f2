"""Listings: a plan's lookups answer the next plan of the run, unless a step wrote what they list."""

from __future__ import annotations

import httpx
import pytest

from reconciler.planning.listings import Listings, changed_lookups
from reconciler.planning.plan import Step
from reconciler.sim.app import create_app
from reconciler.webex import Auth, WebexClient

DEV = "/telephony/config/devices/CID1"


def write(method: str, path: str) -> Step:
    return Step("X/x", "X/x", "update", 4, method, path)


@pytest.mark.parametrize(
    ("method", "path", "changed"),
    [
        ("PUT", f"{DEV}/settings", set()),
        ("PUT", f"{DEV}/layout", set()),
        ("POST", f"{DEV}/actions/applyChanges/invoke", set()),
        ("POST", "/telephony/config/jobs/devices/rebuildPhones", set()),
        ("POST", "/telephony/config/jobs/devices/callDeviceSettings", set()),
        ("POST", "/telephony/config/jobs/devices/applyLineKeyTemplate", set()),
        ("POST", f"{DEV}/actions/backgroundImageUpload/invoke", set()),
        ("GET", "/devices", set()),  # a read changes nothing
        ("PUT", f"{DEV}/members", {"devices"}),  # the members include the owner's line
        ("PUT", DEV, {"devices"}),  # the device itself (a third-party device's SIP password)
        ("PUT", "/telephony/config/people/P1/devices/settings", {"people"}),
        ("PUT", "/telephony/config/workspaces/W1/devices", {"workspaces"}),
        ("POST", "/telephony/config/devices/lineKeyTemplates", {"templates"}),
        ("PUT", "/telephony/config/devices/lineKeyTemplates/T1", {"templates"}),
        ("DELETE", "/telephony/config/devices/lineKeyTemplates/T1", {"templates"}),
        ("DELETE", "/telephony/config/devices/backgroundImages", set()),
    ],
)
def test_what_a_write_can_change(method: str, path: str, changed: set[str]) -> None:
    assert changed_lookups([write(method, path)]) == changed


class Counting(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return await self.inner.handle_async_request(request)


async def test_lookups_are_read_again_only_when_needed() -> None:
    app = create_app(seed=5, devices=40, token="tok-0123456789")
    store = app.state.sim.store
    macs = sorted(d.mac for d in store.devices.values())
    transport = Counting(httpx.ASGITransport(app=app))
    async with WebexClient("http://sim/v1", Auth("tok-0123456789"), transport=transport) as client:
        first = Listings(client)
        found = await first.devices_by_mac(macs)
        models = await first.get_supported_devices()
        templates = await first.list_line_key_templates()
        assert set(found) == set(macs) and models and templates
        assert transport.paths == [
            "/v1/devices",
            "/v1/telephony/config/supportedDevices",
            "/v1/telephony/config/devices/lineKeyTemplates",
        ]
        transport.paths.clear()

        # after settings writes and a rebuild: every lookup answered from the plan's
        kept = first.after([write("PUT", f"{DEV}/settings"), write("POST", "/telephony/config/jobs/x")])
        assert await kept.devices_by_mac(macs[:5]) == {m: found[m] for m in macs[:5]}
        assert await kept.get_supported_devices() == models
        assert await kept.list_line_key_templates() == templates
        assert transport.paths == [] and kept.reused == {"devices", "models", "templates"}

        # a members write and a template update: those two lookups are read again
        stale = first.after(
            [write("PUT", f"{DEV}/members"), write("PUT", "/telephony/config/devices/lineKeyTemplates/T")]
        )
        assert await stale.devices_by_mac(macs) == found
        assert await stale.list_line_key_templates() == templates
        assert await stale.get_supported_devices() == models
        assert transport.paths == ["/v1/devices", "/v1/telephony/config/devices/lineKeyTemplates"]
        transport.paths.clear()

        # keys the earlier lookup was not made for: read (one filtered request each, few keys)
        fresh = Listings(client)
        await fresh.devices_by_mac(macs[:2])
        assert await fresh.devices_by_mac(macs[:3]) == {m: found[m] for m in macs[:3]}
        assert len(transport.paths) == 2 + 3 and set(transport.paths) == {"/v1/devices"}
