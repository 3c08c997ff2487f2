"""One timer for the whole-exchange bound of every request in flight (reconciler/webex/deadlines.py),
alone and under the engine transport against a loopback server."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx
import pytest

from reconciler.webex.deadlines import Deadlines
from reconciler.webex.transport import EngineTransport


async def test_an_exchange_past_its_deadline_is_stopped_and_goes_on_as_a_time_out() -> None:
    deadlines = Deadlines(asyncio.get_running_loop())

    async def exchange() -> str:
        bound = deadlines.bound(0.05)
        assert bound is not None
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            assert bound.timed_out()
            return "timed out"
        finally:
            bound.end()
        return "answered"

    started = asyncio.get_running_loop().time()
    assert await asyncio.create_task(exchange()) == "timed out"
    assert asyncio.get_running_loop().time() - started < 2
    assert deadlines.pending() == 0


async def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    deadlines = Deadlines(asyncio.get_running_loop())
    seen: list[bool] = []

    async def exchange(seconds: float = 0.05) -> None:
        bound = deadlines.bound(seconds)
        assert bound is not None
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            seen.append(bound.timed_out())
            raise
        finally:
            bound.end()

    # cancelled from outside before its deadline: not a time-out
    task = asyncio.create_task(exchange())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # past its deadline and cancelled from outside before the task runs again: a cancellation
    deadlines = Deadlines(asyncio.get_running_loop())
    task = asyncio.create_task(exchange(0.0))
    await asyncio.sleep(0)  # the task starts, and waits
    deadlines._fire()  # (what the timer does, now: the deadline has passed)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == [False, False]


async def test_exchanges_that_ended_leave_the_heap_when_the_one_timer_fires() -> None:
    loop = asyncio.get_running_loop()
    deadlines = Deadlines(loop)
    ended = []
    for _ in range(500):  # ended at once, as a plan's answers are: no timer of their own
        bound = deadlines.bound(0.2)
        assert bound is not None
        bound.end()
        ended.append(bound)
    assert deadlines.pending() == 500
    timers = [h for h in loop._scheduled if not h.cancelled()]  # type: ignore[attr-defined]
    assert len([h for h in timers if getattr(h, "_callback", None) == deadlines._fire]) == 1
    await asyncio.sleep(0.4)
    assert deadlines.pending() == 0
    assert not any(b.expired for b in ended)


async def test_a_later_deadline_behind_an_earlier_one_is_still_kept() -> None:
    deadlines = Deadlines(asyncio.get_running_loop())
    outcome: dict[float, str] = {}

    async def exchange(seconds: float, work: float) -> None:
        bound = deadlines.bound(seconds)
        assert bound is not None
        try:
            await asyncio.sleep(work)
            outcome[seconds] = "answered"
        except asyncio.CancelledError:
            assert bound.timed_out()
            outcome[seconds] = "timed out"
        finally:
            bound.end()

    await asyncio.gather(exchange(0.5, 0.05), exchange(0.1, 5), exchange(0.3, 5), exchange(2.0, 0.2))
    assert outcome == {0.5: "answered", 0.1: "timed out", 0.3: "timed out", 2.0: "answered"}


async def test_the_engine_bounds_a_silent_server_with_the_shared_timer_and_keeps_working() -> None:
    calls = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal calls
        while await reader.readuntil(b"\r\n\r\n"):
            calls += 1
            if calls == 2:
                await asyncio.sleep(5)  # the second request is never answered
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
            await writer.drain()

    listener = await asyncio.start_server(handler, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}/a"
    transport = EngineTransport()
    given: list[float | None] = []
    made = transport._timeout

    def timeout(connect: float | None, total: float | None) -> Any:
        given.append(total)
        return made(connect, total)

    transport._timeout = timeout  # type: ignore[method-assign]
    try:
        async with httpx.AsyncClient(transport=transport, timeout=0.3) as client:
            assert (await client.get(url)).json() == {}
            with pytest.raises(httpx.ReadTimeout, match=r"no complete answer within 0\.3 s"):
                await client.get(url)
            assert (await client.get(url)).json() == {}  # a new connection; the task was uncancelled
            assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
        assert given == [None, None, None]  # (aiohttp's own whole-exchange timer never used)
    finally:
        listener.close()


async def test_a_post_that_was_sent_and_timed_out_is_a_read_timeout_sent_once() -> None:
    """A POST the server read but never answered: a ``ReadTimeout`` (the server may have acted on
    it), which the client never sends again, even with attempts to spare."""
    from reconciler.webex import Auth, WebexClient
    from reconciler.webex.errors import WebexApiError

    heads: list[bytes] = []

    async def reads_and_waits(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            heads.append(await reader.readuntil(b"\r\n\r\n"))
            await asyncio.sleep(5)

    listener = await asyncio.start_server(reads_and_waits, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}/v1"
    client = WebexClient(url, Auth("tok-0123456789abcdef"), timeout=0.2, max_attempts=4)
    try:
        with pytest.raises(WebexApiError, match=r"ReadTimeout|no complete answer"):
            await client.request("POST", "/jobs", json={"a": 1})
        assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
    finally:
        await client.aclose()
        listener.close()
    assert len(heads) == 1 and heads[0].startswith(b"POST /v1/jobs ")


async def test_a_time_out_an_exchange_never_saw_is_taken_back_when_it_ends() -> None:
    """Its deadline passed and its task was cancelled, but the cancellation did not reach the
    exchange (something inside swallowed it): ending the exchange takes it back, as
    ``asyncio.timeout`` does, so the task's count of cancellations is what it was."""
    deadlines = Deadlines(asyncio.get_running_loop())

    async def exchange() -> int:
        bound = deadlines.bound(0.0)
        assert bound is not None
        try:
            with contextlib.suppress(asyncio.CancelledError):  # a part that swallows it
                await asyncio.sleep(1)
        finally:
            bound.end()
        task = asyncio.current_task()
        assert task is not None
        return task.cancelling()

    assert await asyncio.create_task(exchange()) == 0


async def test_timed_out_requests_leave_no_cycles_for_the_collector() -> None:
    """A failed attempt is kept without its traceback (which held the attempt's frame, and with it
    the attempt: a cycle per failure, ~26 objects, only the collector frees): a long apply against
    an API that times out does not pile them up between the collector's rare passes."""
    import gc

    from reconciler.webex import Auth, WebexClient
    from reconciler.webex.errors import WebexApiError

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while await reader.readuntil(b"\r\n\r\n"):
                pass

    listener = await asyncio.start_server(silent, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}/v1"
    client = WebexClient(url, Auth("tok-0123456789abcdef"), timeout=0.05, max_attempts=1, concurrency=8)
    requests = 40

    async def one() -> None:
        with contextlib.suppress(WebexApiError):
            await client.request("GET", "/devices")

    gc.collect()
    gc.disable()
    try:
        await asyncio.gather(*(one() for _ in range(requests)))
        found = gc.collect()
    finally:
        gc.enable()
        await client.aclose()
        listener.close()
    assert found < 5 * requests, found  # (was ~26 a request; what is left are closed sockets)
