"""Adaptive concurrency (AIMD): the limit's mechanics, and a whole export + plan of a generated org
against the simulator's rate limit with default settings."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from reconciler.flows.connect import Connection, connect
from reconciler.flows.make import make_plan
from reconciler.sim.app import create_app
from reconciler.webex import Auth, WebexClient
from reconciler.webex.limiter import DEFAULT_CONCURRENCY, START_LIMIT, AdaptiveLimit

# -- the limit alone -------------------------------------------------------------------------------


async def test_limit_starts_moderate_grows_to_the_maximum_and_halves_once_per_window() -> None:
    limit = AdaptiveLimit(16)
    assert limit.limit == START_LIMIT == 8
    for _ in range(200):
        limit.on_success(0.001)
    assert limit.limit == 16  # never past the maximum
    epochs = [await limit.acquire() for _ in range(10)]
    assert limit.on_throttled(epochs[0]) and limit.limit == 8
    # the other requests of the same window answer for the old load: no further cut
    assert not any(limit.on_throttled(e) for e in epochs[1:]) and limit.limit == 8
    assert limit.on_throttled(limit.epoch) and limit.limit == 4
    for _ in range(10):
        limit.release()
    assert limit.in_flight == 0 and limit.lowest == 4 and limit.cuts == 2


async def test_slow_answers_do_not_grow_the_limit() -> None:
    limit = AdaptiveLimit(32, start=4)
    limit.on_success(0.010)
    for _ in range(100):
        limit.on_success(0.200)  # twenty times the floor: the server is queueing
    assert limit.limit == 4


async def test_limit_bounds_requests_in_flight_and_cancelled_waiters_leak_nothing() -> None:
    limit = AdaptiveLimit(4, start=2)
    await limit.acquire()
    await limit.acquire()
    waiter = asyncio.create_task(limit.acquire())
    other = asyncio.create_task(limit.acquire())
    await asyncio.sleep(0)
    assert not waiter.done() and limit.in_flight == 2
    waiter.cancel()
    limit.release()  # goes to ``other``, not to the cancelled waiter
    await asyncio.sleep(0)
    assert other.done() and limit.in_flight == 2
    limit.release()
    limit.release()
    assert limit.in_flight == 0


async def test_never_below_one() -> None:
    limit = AdaptiveLimit(2, start=2)
    for _ in range(5):
        limit.on_throttled(limit.epoch)
    assert limit.limit == 1
    await limit.acquire()
    assert limit.in_flight == 1


# -- a client against a rate-limited simulator -----------------------------------------------------


async def test_in_flight_follows_the_rate_limit_down_and_back_up() -> None:
    app = create_app(seed=5, devices=10, rate_limit=25)
    transport = httpx.ASGITransport(app=app)
    async with WebexClient("http://sim/v1", Auth("test-token-0123456789"), transport=transport) as client:
        assert client.limiter.limit == START_LIMIT and client.concurrency == DEFAULT_CONCURRENCY
        await asyncio.gather(*(client.request("GET", "/locations") for _ in range(150)))
        assert client.stats.rate_limited > 0 and client.limiter.cuts > 0
        assert client.limiter.lowest < START_LIMIT
        app.state.sim.faults.rate_limit = None  # the pressure is gone: the limit grows back
        low = client.limiter.limit
        await asyncio.gather(*(client.request("GET", "/locations") for _ in range(900)))
        assert client.limiter.limit > low and client.limiter.limit == client.concurrency


async def test_export_and_plan_succeed_under_a_tight_rate_limit_with_default_settings(tmp_path: Path) -> None:
    """A generated org of 40 devices behind 30 requests/s: the default client (32 in flight at most)
    exports it and plans it to zero changes; the rate limit refused some requests on the way."""
    app = create_app(seed=11, devices=40, rate_limit=30, job_duration_s=0.05)
    conn = Connection(sim_app=app)
    out = tmp_path / "org"
    async with connect(conn) as client:
        from reconciler.flows.export import export

        await export(client, str(out))
        plan = await make_plan(client, [str(out)])
        stats = client.stats
        cuts = client.limiter.cuts
    sim_stats = app.state.sim.stats
    assert plan.steps == [] and plan.managed >= 40
    assert sim_stats.rate_limited_total > 0 and stats.rate_limited == sim_stats.rate_limited_total
    assert cuts > 0
