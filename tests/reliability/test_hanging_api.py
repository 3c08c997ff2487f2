"""A run must neither hang nor plan on partial data, whatever the server does: a ``Retry-After`` of a
day, a body trickling in a byte at a time, next-page links without end, a token that cannot be
sent. Each case runs the client against a hostile server on a loopback socket
(``hostile_server.py``) and bounds the test's own wait, so a regression fails instead of hanging."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable

import pytest

from reconciler.errors import ConfigError
from reconciler.webex import Auth, PaginationError, WebexApiError, WebexClient

from .conftest import EXAMPLES, Harness, Rule, route
from .hostile_server import HostileServer, Script, SeenRequest, answer, trickle

Serve = Callable[[Script], HostileServer]
TOKEN = "hostile-test-token-0123456789"


def client_for(server: HostileServer, **kw: float) -> WebexClient:
    options: dict[str, float] = {"backoff_base": 0.01, "backoff_max": 0.05, **kw}
    return WebexClient(server.url, Auth(TOKEN), **options)  # type: ignore[arg-type]


# -- Retry-After longer than the retry budget -------------------------------------------------------


def day_long_429(request: SeenRequest) -> list[tuple[float, bytes]]:
    if request.path.endswith("/slow"):
        body = {"message": "Too many requests", "trackingId": "HOSTILE_429"}
        return answer(429, body, {"Retry-After": "86400", "TrackingID": "HOSTILE_429"})
    return answer(200, {"items": []})


async def test_retry_after_past_the_budget_fails_promptly_and_holds_nobody_back(
    hostile_server: Serve,
) -> None:
    server = hostile_server(day_long_429)
    async with client_for(server) as client:
        started = time.monotonic()
        with pytest.raises(WebexApiError) as info:
            await asyncio.wait_for(client.request("GET", "/slow"), 10)
        assert time.monotonic() - started < 5
        # the shared gate was not closed for a day: the rest of the run goes on at once
        others = [client.request("GET", f"/other{i}") for i in range(4)]
        answers = await asyncio.wait_for(asyncio.gather(*others), 10)
        assert all(a.status_code == 200 for a in answers)
        assert client.gate.until <= time.monotonic() + client.deadline_s
    err = info.value
    text = str(err)
    assert err.status == 429 and err.path == "/slow" and err.tracking_id == "HOSTILE_429"
    for part in ("GET /slow", "429", "HOSTILE_429", "86400 s (Retry-After)", "retry budget"):
        assert part in text
    assert len([r for r in server.requests if r.path.endswith("/slow")]) == 1


async def test_retry_after_is_honoured_while_it_fits_the_budget(hostile_server: Serve) -> None:
    refused: list[float] = []

    def once(request: SeenRequest) -> list[tuple[float, bytes]]:
        if not refused:
            refused.append(time.monotonic())
            return answer(429, {"message": "slow down"}, {"Retry-After": "1"})
        return answer(200, {"ok": True})

    server = hostile_server(once)
    async with client_for(server, deadline_s=5) as client:
        resp = await asyncio.wait_for(client.request("GET", "/x"), 10)
    assert resp.json() == {"ok": True} and len(server.requests) == 2
    assert client.stats.waited_s >= 0.9


async def test_retry_after_past_a_short_budget_is_not_slept(hostile_server: Serve) -> None:
    server = hostile_server(lambda r: answer(429, {"message": "later"}, {"Retry-After": "5"}))
    async with client_for(server, deadline_s=1) as client:
        started = time.monotonic()
        with pytest.raises(WebexApiError) as info:
            await asyncio.wait_for(client.request("GET", "/x"), 10)
        assert time.monotonic() - started < 0.9
        assert client.gate.until < time.monotonic() + 1
    assert info.value.status == 429 and "not retried" in str(info.value)


# -- a body that trickles ------------------------------------------------------------------------


async def test_a_trickling_body_times_out_within_the_timeout(hostile_server: Serve) -> None:
    """One byte every 0.2 s of a 200-byte body: each read is quick, the whole answer takes 40 s.
    The client's timeout (0.5 s) bounds the whole attempt, not each read."""
    body = b'{"items": [' + b" " * 187 + b"]}"
    server = hostile_server(lambda r: trickle(body, 0.2))
    async with client_for(server, timeout=0.5, max_attempts=2) as client:
        started = time.monotonic()
        with pytest.raises(WebexApiError) as info:
            await asyncio.wait_for(client.request("GET", "/devices"), 15)
        took = time.monotonic() - started
    err = info.value
    assert took < 3, f"took {took:.1f} s for two attempts of 0.5 s"
    assert err.timed_out and err.status is None and err.attempts == 2
    assert "GET /devices" in str(err) and "0.5 s" in str(err)


async def test_a_trickling_post_is_not_repeated(hostile_server: Serve) -> None:
    server = hostile_server(lambda r: trickle(b'{"id": "job-1"}', 0.3))
    async with client_for(server, timeout=0.5) as client:
        with pytest.raises(WebexApiError) as info:
            await asyncio.wait_for(client.request("POST", "/jobs", json={}), 10)
    assert info.value.ambiguous and info.value.timed_out and len(server.requests) == 1


async def test_the_slot_is_freed_after_a_timeout(hostile_server: Serve) -> None:
    """Timed-out attempts give their connection slot back: a one-slot client goes on."""
    calls: list[str] = []

    def script(request: SeenRequest) -> list[tuple[float, bytes]]:
        calls.append(request.path)
        if request.path.endswith("/slow"):
            return trickle(b'{"a": 1}', 0.5)
        return answer(200, {"ok": True})

    server = hostile_server(script)
    async with client_for(server, timeout=0.3, max_attempts=1, concurrency=1) as client:
        with pytest.raises(WebexApiError):
            await asyncio.wait_for(client.request("GET", "/slow"), 5)
        resp = await asyncio.wait_for(client.request("GET", "/fine"), 5)
    assert resp.json() == {"ok": True}


# -- listings without end ------------------------------------------------------------------------


def endless(request: SeenRequest) -> list[tuple[float, bytes]]:
    """Every page links to a new next page."""
    start = int(request.target.split("start=", 1)[1].split("&", 1)[0]) if "start=" in request.target else 0
    link = f'<http://{request.headers["host"]}/v1/devices?start={start + 1}>; rel="next"'
    return answer(200, {"items": [{"id": f"D{start}"}]}, {"Link": link})


async def test_endless_next_links_are_an_error_not_a_short_listing(hostile_server: Serve) -> None:
    server = hostile_server(endless)
    async with client_for(server) as client:
        client.max_pages = 25
        with pytest.raises(PaginationError) as info:
            await asyncio.wait_for(client.paginate("/devices", {"max": 1}), 30)
    assert info.value.path == "/devices" and "past 25 pages" in str(info.value)
    assert len(server.requests) == 25


async def test_a_link_back_to_an_earlier_page_is_an_error(hostile_server: Serve) -> None:
    def cycle(request: SeenRequest) -> list[tuple[float, bytes]]:
        nxt = 1 if "start=0" in request.target or "start" not in request.target else 0
        link = f'<http://{request.headers["host"]}/v1/people?start={nxt}>; rel="next"'
        return answer(200, {"items": [{"id": request.target}]}, {"Link": link})

    server = hostile_server(cycle)
    async with client_for(server) as client:
        with pytest.raises(PaginationError) as info:
            await asyncio.wait_for(client.paginate("/people"), 10)
    assert info.value.path == "/people" and "already read" in str(info.value)


def test_endless_listing_fails_the_plan(
    harness: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the CLI: the device listing links to a new next page forever (the same items under a
    new cursor each time); the plan fails naming the endpoint instead of planning on part of it."""
    monkeypatch.setattr("reconciler.webex.client.MAX_PAGES", 30)
    h = harness()
    pages = itertools.count(1)

    def endless_link(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
        link = f'<{h.url}/devices?cursor=c{next(pages)}>; rel="next"'
        return body, {**headers, "link": link}

    h.perturb.add(Rule(route("GET", r"/v1/devices$"), "rewrite", rewrite=endless_link))
    result = h.run("plan", str(EXAMPLES))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "GET /devices -> 200" in result.output and "past 30 pages" in result.output
    assert next(pages) <= 30 * 24  # each listing (one per MAC looked up) stopped at the bound


# -- tokens that cannot be sent ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "says"),
    [
        ("abcd1234SECRETPART\r\nX-Injected: yes", "a line break"),
        ("abcd1234SECRETPART\n", None),  # a trailing newline is stripped: fine
        ("abcd1234SECRET\tPART", "a blank or control character"),
        ("abcd1234SECRETPÄRT", "non-ASCII"),
        ("abcd1234SECRET\u2028PART", "non-ASCII"),
    ],
)
def test_a_bad_token_is_refused_without_showing_it(
    harness: Callable[..., Harness], token: str, says: str | None
) -> None:
    h = harness()
    result = h.run("plan", str(EXAMPLES), env={"WEBEX_ACCESS_TOKEN": token})
    if says is None:
        assert result.exit_code in (0, 2), result.output
        return
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output.lower()
    assert says in result.output and "WEBEX_ACCESS_TOKEN" in result.output
    assert "SECRET" not in result.output and "Injected" not in result.output
    assert h.sim.stats.requests_total == 0


def test_a_bad_token_in_code_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        Auth("abcd1234SECRET\r\nPART")
    assert "line break" in str(info.value) and "SECRET" not in str(info.value)
    with pytest.raises(ConfigError, match="non-ASCII"):
        Auth("tökén-0123456789")
