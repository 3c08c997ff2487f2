"""The client against the simulator in-process (httpx.ASGITransport): faults, scale, auth, jobs."""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from reconciler.errors import ApiError
from reconciler.sim import app as sim_app
from reconciler.webex import Auth, JobConflict, WebexApiError, WebexClient
from reconciler.webex.jobs import job_errors, list_jobs, start_job, wait_for_running_jobs, wait_job

BASE = "http://sim/v1"


@dataclass
class Event:
    method: str
    path: str
    sent: float
    received: float
    status: int | None
    retry_after: float | None


class Recorder(httpx.AsyncBaseTransport):
    """Wraps the ASGI transport and notes when each attempt was sent and what came back."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.events: list[Event] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        sent = time.monotonic()
        status: int | None = None
        after: float | None = None
        try:
            resp = await self.inner.handle_async_request(request)
            status = resp.status_code
            after = float(resp.headers["Retry-After"]) if "Retry-After" in resp.headers else None
            return resp
        finally:
            self.events.append(Event(request.method, request.url.path, sent, time.monotonic(), status, after))


class Sim:
    def __init__(self, **options: Any) -> None:
        self.app = sim_app.create_app(**options)
        self.sim = self.app.state.sim
        self.transport = Recorder(httpx.ASGITransport(app=self.app))

    def client(self, auth: Auth | None = None, **kwargs: Any) -> WebexClient:
        kwargs.setdefault("backoff_base", 0.02)
        kwargs.setdefault("backoff_max", 0.5)
        return WebexClient(BASE, auth or Auth("test-token-0123456789"), transport=self.transport, **kwargs)

    async def stats(self) -> dict[str, Any]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app)) as raw:
            body: dict[str, Any] = (await raw.get("http://sim/_sim/stats")).json()
            return body

    async def reset(self) -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app)) as raw:
            await raw.post("http://sim/_sim/stats/reset")
        self.transport.events.clear()


def writes(stats: dict[str, Any], route: str) -> int:
    return int(stats["writes_by_route"].get(route, 0))


T = "/v1/telephony/config"


# -- scale ----------------------------------------------------------------------------------------


async def test_1000_devices_resolved_by_mac_cheaply() -> None:
    sim = Sim(seed=11, devices=1000)
    macs = [d.mac for d in sim.sim.store.devices.values()]
    assert len(macs) == 1000
    # ask in the three spellings users write
    spelled = [
        m if i % 3 == 0 else ":".join(m[j : j + 2] for j in range(0, 12, 2)) for i, m in enumerate(macs)
    ]
    spelled = [s.lower().replace(":", "-") if i % 3 == 2 else s for i, s in enumerate(spelled)]
    async with sim.client() as client:
        found = await client.devices_by_mac(spelled)
    stats = await sim.stats()
    assert sorted(found) == sorted(macs)
    assert all(d["callingDeviceId"] for d in found.values())
    per_device = stats["requests_total"] / len(macs)
    print(f"requests per device: {per_device:.4f} ({stats['requests_total']} requests)")
    assert per_device < 1.05


async def test_people_and_names_batched() -> None:
    sim = Sim(seed=11, devices=300)
    emails = [p.email.upper() for p in sim.sim.store.people.values()]
    async with sim.client() as client:
        people = await client.people_by_email(emails)
        few = await client.people_by_email([*emails[:3], "nobody@example.com"])
        locations = list(sim.sim.store.locations.values())
        by_name = await client.locations_by_name([loc.name for loc in locations[:2]])
    assert len(people) == len(emails) and all(e.lower() in people for e in emails)
    assert sorted(few) == sorted(e.lower() for e in emails[:3])
    assert {k: v["id"] for k, v in by_name.items()} == {loc.name: loc.id for loc in locations[:2]}
    stats = await sim.stats()
    assert stats["requests_by_route"]["GET /v1/people"] <= len(emails) // 100 + 4 + 2


# -- faults ---------------------------------------------------------------------------------------


async def test_faults_reads_succeed_writes_converge_without_duplicates() -> None:
    """~30% of attempts answered 429 or 5xx (or dropped): every read succeeds, every PUT converges,
    no write is applied twice, no job is started twice, and Retry-After is honoured client-wide."""
    sim = Sim(seed="demo", job_duration_s=0.2)
    store = sim.sim.store
    devices = list(store.devices.values())
    people = list(store.people.values())
    async with sim.client() as setup:
        before = {p.id: (await setup.get_person_device_settings(p.id))["compression"] for p in people}
    await sim.reset()
    sim.sim.faults.error_rate = 0.27
    sim.sim.faults.drop_rate = 0.03
    sim.sim.faults.rate_limit = 25

    started = time.monotonic()
    # the simulator lists what it made at once: a short look proves a POST did not land (2 s: the look
    # itself meets the faults and the rate limit, and a loaded machine)
    async with sim.client(max_attempts=14, listing_lag_s=2.0) as client:
        # reads
        by_mac = await client.devices_by_mac([d.mac for d in devices])
        reads = await asyncio.gather(
            *(client.get_members(d.calling_id) for d in devices),
            *(client.get_layout(d.calling_id) for d in devices),
            *(client.get_device_settings(d.calling_id) for d in devices),
            client.people_by_email([p.email for p in people]),
            client.list_line_key_templates(),
            client.get_supported_devices(),
        )
        # idempotent writes: flip each person's compression, then PUT the same again
        flipped = {pid: "ON" if value == "OFF" else "OFF" for pid, value in before.items()}
        for _ in range(2):
            await asyncio.gather(
                *(client.put_person_device_settings(pid, {"compression": v}) for pid, v in flipped.items())
            )
        # creating POSTs (recovered by looking, never duplicated) and applyChanges
        names = [f"Fault test {i}" for i in range(4)]
        template_ids = await asyncio.gather(
            *(
                client.create_line_key_template(
                    {
                        "templateName": name,
                        "deviceModel": "DMS Cisco 8845",
                        "lineKeys": [{"lineKeyIndex": 1, "lineKeyType": "PRIMARY_LINE"}],
                    }
                )
                for name in names
            )
        )
        await asyncio.gather(*(client.apply_changes(d.calling_id) for d in devices[:5]))
        # job-starting POSTs: never repeated after an ambiguous failure
        job_ids: list[str] = []
        ambiguous = 0
        for location_id in list(store.locations)[:2]:
            for _ in range(3):
                try:
                    job = await start_job(client, "rebuildPhones", {"locationId": location_id})
                except WebexApiError as exc:
                    assert exc.ambiguous
                    ambiguous += 1
                    continue
                job_ids.append(job["id"])
                break
        after = {p.id: (await client.get_person_device_settings(p.id))["compression"] for p in people}
        client_stats = client.stats
    elapsed = time.monotonic() - started
    sim.sim.faults.error_rate = 0.0
    sim.sim.faults.drop_rate = 0.0
    sim.sim.faults.rate_limit = None
    stats = await sim.stats()

    # every read succeeded
    assert len(by_mac) == len(devices)
    assert all(isinstance(r, dict | list) for r in reads)
    # PUTs converged, and each change was applied exactly once (the second round changed nothing)
    assert after == flipped
    changed = sum(1 for pid in before if before[pid] != flipped[pid])
    assert writes(stats, f"PUT {T}/people/{{personId}}/devices/settings") == changed == len(people)
    # creating POSTs: one write each, one template each
    assert writes(stats, f"POST {T}/devices/lineKeyTemplates") == len(names)
    listed = [t["templateName"] for t in store_templates(sim)]
    assert all(listed.count(n) == 1 for n in names) and all(template_ids)
    assert writes(stats, f"POST {T}/devices/{{deviceId}}/actions/applyChanges/invoke") == 5
    # jobs: exactly the ones the client was told about were started
    assert stats["jobs_started_total"] == len(job_ids) == len(set(job_ids))
    # faults really happened at the advertised rate
    faults = stats["rate_limited_total"] + stats["errors_injected_total"] + stats["drops_total"]
    share = faults / stats["requests_total"]
    print(
        f"\nattempts={stats['requests_total']} faults={faults} ({share:.0%}):"
        f" 429={stats['rate_limited_total']} 5xx={stats['errors_injected_total']}"
        f" drops={stats['drops_total']}; retries={client_stats.retries}"
        f" ambiguous job POSTs={ambiguous} elapsed={elapsed:.2f}s"
    )
    assert share >= 0.22
    assert stats["rate_limited_total"] > 0
    assert_retry_after_honoured(sim.transport.events)


def store_templates(sim: Sim) -> list[dict[str, Any]]:
    return [{"templateName": t.name} for t in sim.sim.store.templates.values()]


def assert_retry_after_honoured(events: list[Event], slack: float = 0.05) -> None:
    """After a 429 with Retry-After N arrived at t, no attempt was sent before t+N."""
    refusals = [e for e in events if e.status == 429 and e.retry_after]
    assert refusals
    for refusal in refusals:
        opens = refusal.received + (refusal.retry_after or 0)
        early = [e for e in events if refusal.received + slack < e.sent < opens - slack]
        assert not early, f"{len(early)} attempts sent while the back-off gate was closed"


async def test_rate_limit_slows_the_whole_client() -> None:
    sim = Sim(seed="demo", rate_limit=10)
    started = time.monotonic()
    async with sim.client() as client:
        results = await asyncio.gather(*(client.get_org_device_settings() for _ in range(25)))
    elapsed = time.monotonic() - started
    stats = await sim.stats()
    assert len(results) == 25
    assert stats["rate_limited_total"] > 0 and client.stats.rate_limited == stats["rate_limited_total"]
    assert elapsed >= 1.0  # at least one Retry-After: 1 was waited out
    assert_retry_after_honoured(sim.transport.events)
    # the gate let the bucket refill: far fewer refusals than requests
    assert stats["rate_limited_total"] < 25


# -- errors, pagination ---------------------------------------------------------------------------


async def test_error_mapping_from_the_simulator() -> None:
    sim = Sim(seed="demo")
    async with sim.client() as client:
        with pytest.raises(ApiError) as info:
            await client.get_members("no-such-device")
    err = info.value
    text = str(err)
    assert err.status == 404 and err.method == "GET" and err.attempts == 1
    assert err.path == "/telephony/config/devices/no-such-device/members"
    assert err.tracking_id and err.tracking_id.startswith("RECONCILER_")
    for part in ("GET", err.path, "404", err.api_message, err.tracking_id):
        assert part in text


async def test_pagination_against_the_simulator() -> None:
    sim = Sim(seed=5, devices=40)
    org = sim.sim.store.org_id
    async with sim.client(org_id=org) as client:
        people = await client.paginate("/people", {"max": 7}, "items")
        devices = await client.list_devices()
    assert len(people) == len(sim.sim.store.people)
    assert len({p["id"] for p in people}) == len(people)
    assert len(devices) == 40
    pages = [e for e in sim.transport.events if e.path == "/v1/people"]
    assert len(pages) == -(-len(people) // 7)


# -- auth -----------------------------------------------------------------------------------------


async def test_expired_token_refresh_single_flight_and_no_leak(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    sim = Sim(seed="demo")
    old = "expiring-token-abcdef0123456789"
    env = {
        "WEBEX_ACCESS_TOKEN": old,
        "WEBEX_CLIENT_ID": "integration-id",
        "WEBEX_CLIENT_SECRET": "integration-secret-0123456789",
        "WEBEX_REFRESH_TOKEN": "refresh-token-0123456789abcdef",
    }
    auth = Auth.from_env(None, environ=env)
    errors: list[BaseException] = []
    async with sim.client(auth, debug=True) as client:
        await client.get_org_device_settings()
        sim.sim.expire_token(old)
        devices = list(sim.sim.store.devices.values())
        await asyncio.gather(*(client.get_members(d.calling_id) for d in devices))
        new = auth.token
        assert new and new != old
        # a client whose token expired and that cannot refresh gets a 401 ApiError
        sim.sim.expire_token(new)
        async with sim.client(Auth(new), debug=True) as plain:
            try:
                await plain.get_org_device_settings()
            except ApiError as exc:
                errors.append(exc)
        texts = [repr(client), repr(auth), str(auth), repr(vars(auth)), repr(plain)]
    stats = await sim.stats()
    assert stats["requests_by_route"]["POST /v1/access_token"] == 1
    assert client.stats.refreshes == 1
    assert len(errors) == 1 and isinstance(errors[0], ApiError) and errors[0].status == 401
    for exc in errors:
        texts += [str(exc), repr(exc), repr(exc.args), "".join(traceback.format_exception(exc))]
    assert any("trackingId=" in r.getMessage() for r in caplog.records)
    texts += [r.getMessage() for r in caplog.records] + [caplog.text]
    out = capsys.readouterr()
    texts += [out.out, out.err]
    secrets = [old, new, env["WEBEX_CLIENT_SECRET"], env["WEBEX_REFRESH_TOKEN"]]
    for text in texts:
        for secret in secrets:
            assert secret not in text


# -- jobs -----------------------------------------------------------------------------------------


async def test_jobs_conflict_wait_progress_and_errors() -> None:
    sim = Sim(seed="demo", job_duration_s=0.3)
    body = {"customizations": {"mpp": {"backlightTimer": "THIRTY_MIN"}}, "customEnabled": True}
    async with sim.client() as client:
        org = await client.get_org_device_settings()
        body = {"customizations": org.get("customizations") or body["customizations"]}
        first = await start_job(client, "callDeviceSettings", body)
        with pytest.raises(JobConflict):
            await start_job(client, "callDeviceSettings", body)
        await wait_for_running_jobs(client, "callDeviceSettings", poll_initial=0.05)
        progress: list[tuple[int, str]] = []
        done = await wait_job(
            client, "callDeviceSettings", first["id"], lambda p, s: progress.append((p, s)), poll_initial=0.05
        )
        assert done["latestExecutionStatus"] == "COMPLETED"
        assert progress[-1] == (100, "COMPLETED")

        device = next(iter(sim.sim.store.devices.values()))
        sim.sim.fail_next_job("rebuildPhones", "COMPLETED_WITH_ERRORS", [device.mac])
        job = await start_job(client, "rebuildPhones", {"locationId": device.location_id})
        final = await wait_job(client, "rebuildPhones", job["id"], poll_initial=0.05)
        assert final["latestExecutionExitCode"] == "COMPLETED_WITH_ERRORS"
        errors = await job_errors(client, "rebuildPhones", job["id"])
        assert errors
        listed = await list_jobs(client, "rebuildPhones")
        assert job["id"] in {j["id"] for j in listed}
    stats = await sim.stats()
    assert stats["jobs_started_total"] == 2


# -- every wrapper against the simulator ----------------------------------------------------------

MEMBER_KEYS = (
    "id",
    "port",
    "primaryOwner",
    "lineType",
    "lineWeight",
    "hotlineEnabled",
    "hotlineDestination",
    "allowCallDeclineEnabled",
)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_every_wrapper_reaches_its_endpoint() -> None:
    sim = Sim(seed="demo")
    async with sim.client() as client:
        devices = await client.devices_by_mac(["0A:1B:2C:3D:4E:01", "0a1b2c3d4e05", "FFFFFFFFFFFF"])
        assert sorted(devices) == ["0A1B2C3D4E01", "0A1B2C3D4E05"]
        dev = devices["0A1B2C3D4E01"]["callingDeviceId"]
        people = await client.people_by_email(["Alice@Example.com"])
        alice = people["alice@example.com"]["id"]
        spaces = await client.workspaces_by_name(["Front Desk", "front desk", "Nowhere"])
        assert set(spaces) == {"Front Desk", "front desk"}
        ws = spaces["Front Desk"]["id"]
        locations = await client.locations_by_name(["Headquarters"])
        loc = locations["Headquarters"]["id"]

        assert await client.list_devices(locationId=loc)
        members = await client.get_members(dev)
        await client.put_members(
            dev,
            {"members": [{k: m[k] for k in MEMBER_KEYS if k in m} for m in members["members"]]},
        )
        assert await client.available_members(dev, usageType="SHARED_LINE")
        layout = await client.get_layout(dev)
        assert "layoutMode" in layout
        settings = await client.get_device_settings(dev, "DMS Cisco 8851")
        assert "customizations" in settings
        await client.put_device_settings(
            dev, {"customEnabled": False, "customizations": settings["customizations"]}, "DMS Cisco 8851"
        )
        assert await client.get_device_details(dev)
        await client.apply_changes(dev)
        assert await client.get_supported_devices()
        assert await client.get_org_device_settings()
        assert await client.get_location_device_settings(loc)
        assert await client.get_person_devices(alice)
        assert (await client.get_person_device_settings(alice))["compression"] in ("ON", "OFF")
        await client.put_person_device_settings(alice, {"compression": "ON"})
        await client.put_person_hoteling(alice, {"hoteling": {"enabled": True, "limitGuestUse": False}})
        assert "totalDeviceCount" in await client.person_device_count(alice)
        assert await client.get_workspace_devices(ws)
        await client.put_workspace_devices(ws, {"enabled": True, "limitGuestUse": False})
        assert (await client.get_workspace_device_settings(ws))["compression"] in ("ON", "OFF")
        await client.put_workspace_device_settings(ws, {"compression": "ON"})

        templates = await client.list_line_key_templates()
        assert templates
        template = await client.get_line_key_template(templates[0]["id"])
        assert template["templateName"] == templates[0]["templateName"]
        new_id = await client.create_line_key_template(
            {
                "templateName": "Wrapper test",
                "deviceModel": "DMS Cisco 8845",
                "lineKeys": [{"lineKeyIndex": 1, "lineKeyType": "PRIMARY_LINE"}],
            }
        )
        await client.update_line_key_template(
            new_id,
            {
                "lineKeys": [{"lineKeyIndex": 1, "lineKeyType": "PRIMARY_LINE"}],
                "userReorderEnabled": True,
            },
        )
        count = await client.preview_apply_line_key_template(
            {"action": "APPLY_TEMPLATE", "templateId": new_id, "locationIds": [loc]}
        )
        assert isinstance(count, int)
        await client.delete_line_key_template(new_id)

        macs = await client.validate_macs(["0A:1B:2C:3D:4E:01", "AABBCCDDEE99"])
        assert {s["state"] for s in macs["macStatus"]} <= {"AVAILABLE", "UNAVAILABLE", "DUPLICATE_IN_LIST"}

        image = await client.upload_background_image(dev, "Wrapper.png", PNG, "image/png")
        assert image["filename"] == "Wrapper"
        assert "Wrapper" in {i["fileName"] for i in await client.list_background_images()}
        deleted = await client.delete_background_images(["Wrapper"])
        assert deleted["items"][0]["result"]["status"] == 200

        message = await client.post_message(
            "ROOM1", "**plan**: no changes", token_override="bot-token-0123456789"
        )
        assert message["markdown"] == "**plan**: no changes"
    stats = await sim.stats()
    failures = {k: v for k, v in stats["requests_by_status"].items() if k[0] in "45"}
    assert not failures, failures
