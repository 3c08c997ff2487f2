"""Fault injection: rate limiting with Retry-After, injected errors and drops, latency; all counted."""

from __future__ import annotations

import time

import httpx
import pytest

from .conftest import AppFactory, client_for, device_id, sim_client

T = "/telephony/config"


async def test_rate_limit_burst_gets_429_with_retry_after(make_app: AppFactory) -> None:
    app = make_app(rate_limit=5)
    sim = app.state.sim
    async with client_for(app) as client:
        statuses = []
        retry_after = []
        for _ in range(12):
            r = await client.get("/locations")
            statuses.append(r.status_code)
            if r.status_code == 429:
                retry_after.append(r.headers["Retry-After"])
                assert r.json()["trackingId"] == r.headers["TrackingID"]
        assert statuses[:5] == [200] * 5
        assert statuses.count(429) >= 6
        assert all(v.isdigit() and int(v) >= 1 for v in retry_after)
        sim.advance(1.0)  # the bucket refills at 5/s
        assert (await client.get("/locations")).status_code == 200
    async with sim_client(app) as raw:
        for _ in range(20):  # /_sim is never rate limited
            assert (await raw.get("/_sim/stats")).status_code == 200
        stats = (await raw.get("/_sim/stats")).json()
    assert stats["rate_limited_total"] == statuses.count(429)
    assert stats["requests_by_status"]["429"] == statuses.count(429)
    assert stats["requests_total"] == 13


async def test_retry_after_grows_with_a_slow_bucket(make_app: AppFactory) -> None:
    app = make_app(rate_limit=0.25)
    async with client_for(app) as client:
        assert (await client.get("/locations")).status_code == 200
        r = await client.get("/locations")
        assert r.status_code == 429 and int(r.headers["Retry-After"]) == 4


async def test_injected_errors_have_no_effect(make_app: AppFactory) -> None:
    app = make_app(error_rate=0.5)
    sim = app.state.sim
    sim.faults.error_rate = 0.0
    async with client_for(app) as client:
        dev = await device_id(client, "0A1B2C3D4E03")
        before = sim.store.devices[dev].pushes
        sim.faults.error_rate = 0.5
        outcomes = []
        for _ in range(40):
            r = await client.post(f"{T}/devices/{dev}/actions/applyChanges/invoke")
            outcomes.append(r.status_code)
            if r.status_code >= 500:
                assert r.json()["message"] and r.headers["TrackingID"]
        errors = [s for s in outcomes if s >= 500]
        assert errors and set(errors) <= {500, 502, 503}
        assert sim.store.devices[dev].pushes - before == outcomes.count(204)
    stats = (await sim_client(app).get("/_sim/stats")).json()
    assert stats["errors_injected_total"] == len(errors)
    assert stats["writes_total"] == outcomes.count(204)


async def test_faults_are_reproducible(make_app: AppFactory) -> None:
    async def run() -> list[int]:
        app = make_app(error_rate=0.3)
        async with client_for(app) as client:
            return [(await client.get("/locations")).status_code for _ in range(30)]

    assert await run() == await run()


async def test_dropped_connections_raise_transport_errors_and_write_nothing(make_app: AppFactory) -> None:
    app = make_app(drop_rate=0.5)
    sim = app.state.sim
    sim.faults.drop_rate = 0.0
    async with client_for(app) as client:
        dev = await device_id(client, "0A1B2C3D4E04")
        sim.faults.drop_rate = 0.5
        drops = 0
        ok = 0
        for _ in range(30):
            try:
                r = await client.post(f"{T}/devices/{dev}/actions/applyChanges/invoke")
            except httpx.TransportError:
                drops += 1
            else:
                assert r.status_code == 204
                ok += 1
        assert drops > 0 and ok > 0
        assert sim.store.devices[dev].pushes == ok
    stats = (await sim_client(app).get("/_sim/stats")).json()
    assert stats["drops_total"] == drops


async def test_latency_is_injected(make_app: AppFactory) -> None:
    app = make_app(latency_ms=30, jitter_ms=5)
    async with client_for(app) as client:
        start = time.perf_counter()
        for _ in range(3):
            assert (await client.get("/locations")).status_code == 200
        assert time.perf_counter() - start >= 3 * 0.025
    stats = (await sim_client(app).get("/_sim/stats")).json()
    assert stats["latency_injected_ms_total"] >= 75


def test_bad_rate_limit_is_refused(make_app: AppFactory) -> None:
    with pytest.raises(ValueError):
        make_app(rate_limit=0)
