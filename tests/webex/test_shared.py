"""``webex.shared.shared_reads``: identical GETs answered once, each answer kept small."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from reconciler.webex import WebexApiError
from reconciler.webex.shared import COMPRESS_FROM, Answer, shared_reads

from .conftest import MockFactory
from .test_against_sim import Sim

T = "/telephony/config"


def _requests(sim: Sim, path: str) -> int:
    return sum(1 for e in sim.transport.events if e.path == path)


async def test_an_identical_get_is_answered_once_from_a_compact_answer() -> None:
    sim = Sim(seed=5, devices=4)
    device = next(iter(sim.sim.store.devices))
    path = f"{T}/devices/{device}/settings"
    async with sim.client(org_id=sim.sim.store.org_id) as client:
        with shared_reads(client) as shared:
            first = await client.request("GET", path)
            again, *alongside = await asyncio.gather(*(client.request("GET", path) for _ in range(3)))
            assert _requests(sim, "/v1" + path) == 1
            (kept,) = shared.answers.values()
            # What is kept is plain data (no request, stream or headers object of httpx)...
            assert type(kept) is Answer
            assert all(isinstance(part, int | bytes | str | tuple) for part in kept)
            assert kept.body == first.content and kept.status == 200
            # ... and answers the next GET as the first answer did.
            for resp in (again, *alongside):
                assert resp.status_code == first.status_code
                assert resp.content == first.content and resp.json() == first.json()
                assert resp.headers["TrackingID"] == first.headers["TrackingID"]
                assert resp.headers["content-type"] == first.headers["content-type"]
                assert resp.request.method == "GET" and resp.request.url == first.request.url
                assert "authorization" not in resp.request.headers
        await client.request("GET", path)  # outside: every GET goes out again
    assert _requests(sim, "/v1" + path) == 2


async def test_a_listing_is_shared_page_by_page() -> None:
    sim = Sim(seed=5, devices=12)
    async with sim.client(org_id=sim.sim.store.org_id) as client:
        with shared_reads(client):
            people = await client.paginate("/people", {"max": 5}, "items")
            pages = _requests(sim, "/v1/people")
            assert pages == -(-len(people) // 5) > 1
            assert await client.paginate("/people", {"max": 5}, "items") == people  # via Link headers
            assert _requests(sim, "/v1/people") == pages
            await client.paginate("/people", {"max": 4}, "items")  # other parameters: read anew
            assert _requests(sim, "/v1/people") > pages


async def test_writes_and_failed_reads_are_not_kept(mock_client: MockFactory) -> None:
    calls: dict[str, int] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        key = f"{request.method} {request.url.path}"
        calls[key] = calls.get(key, 0) + 1
        if request.url.path.endswith("/flaky") and calls[key] == 1:
            return httpx.Response(404, json={"message": "not yet"})
        return httpx.Response(200, json={"ok": True})

    async with mock_client(handler) as client:
        with shared_reads(client) as shared:
            with pytest.raises(WebexApiError):
                await client.request("GET", "/flaky")
            assert shared.answers == {}
            assert (await client.request("GET", "/flaky")).json() == {"ok": True}
            assert (await client.request("GET", "/flaky")).json() == {"ok": True}
            for _ in range(2):
                await client.request("PUT", "/thing", json={"a": 1})
                await client.request("GET", "/thing", token_override="other-token-0123456789")
    assert calls == {"GET /v1/flaky": 2, "PUT /v1/thing": 2, "GET /v1/thing": 2}


async def test_equal_answers_are_stored_once(mock_client: MockFactory) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body: dict[str, Any] = {"customEnabled": False, "customizations": {"mpp": {"vlan": 1}}}
        return httpx.Response(200, json=body, headers={"TrackingID": "ROUTER_1"})

    async with mock_client(handler) as client:
        with shared_reads(client) as shared:
            await asyncio.gather(*(client.request("GET", f"/devices/d{i}/settings") for i in range(3)))
            a, b, c = shared.answers.values()
    assert isinstance(a, Answer) and isinstance(b, Answer) and isinstance(c, Answer)
    assert a.body is b.body is c.body and a.headers[0] is b.headers[0]
    assert [x.url for x in (a, b, c)] == [f"http://api.test/v1/devices/d{i}/settings" for i in range(3)]


async def test_the_last_reader_drops_each_answer_once_it_has_it(mock_client: MockFactory) -> None:
    calls: dict[str, int] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        calls[request.url.path] = calls.get(request.url.path, 0) + 1
        return httpx.Response(200, json={"path": request.url.path})

    async with mock_client(handler) as client:
        with shared_reads(client) as shared:
            first = [(await client.request("GET", f"/d/{i}")).json() for i in range(3)]
            assert len(shared.answers) == 3
            shared.final()  # the second plan: each answer it takes is dropped
            assert (await client.request("GET", "/d/0")).json() == first[0]
            assert sorted(shared.answers) == [repr(("/d/1", [])), repr(("/d/2", []))]
            # Read only now: shared with the identical reads in flight, then not kept.
            both = await asyncio.gather(*(client.request("GET", "/d/9") for _ in range(2)))
            assert [r.json() for r in both] == [{"path": "/v1/d/9"}] * 2
            assert repr(("/d/9", [])) not in shared.answers
            await client.request("GET", "/d/0")  # taken already: read again
    assert calls == {"/v1/d/0": 2, "/v1/d/1": 1, "/v1/d/2": 1, "/v1/d/9": 1}


async def test_a_large_page_is_kept_compressed(mock_client: MockFactory) -> None:
    items = [
        {"id": f"device-{i:05d}", "mac": f"0A1B2C{i:06X}", "model": "DMS Cisco 8865"} for i in range(2000)
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"items": items}, headers={"Link": '<http://api.test/v1/devices?p=2>; rel="next"'}
        )

    async with mock_client(handler) as client:
        with shared_reads(client) as shared:
            first = await client.request("GET", "/devices", params={"max": 1000})
            (kept,) = shared.answers.values()
            again = await client.request("GET", "/devices", params={"max": 1000})
    assert isinstance(kept, Answer) and kept.packed and len(first.content) >= COMPRESS_FROM
    assert len(kept.body) * 4 < len(first.content)
    assert again.content == first.content and again.json()["items"] == items
    assert again.links["next"]["url"] == "http://api.test/v1/devices?p=2"
    assert str(again.request.url) == "http://api.test/v1/devices?max=1000"
