"""Listings paged by offset, their pages asked for a few at a time (``reconciler.webex.offsets``),
against the simulator in-process: the same items and, where the org holds what was expected, the
same requests as following the next links one by one, with pages in flight together."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from reconciler.sim import app as sim_app
from reconciler.webex import Auth, WebexClient, api
from reconciler.webex.offsets import WINDOW, paginate_by_offset

BASE = "http://sim/v1"
DEVICES = 450  # generated org: 450 devices
PAGE = 40  # 12 pages


class Counting(httpx.AsyncBaseTransport):
    """The simulator's transport, counting the requests and the most in flight at once."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.urls: list[str] = []
        self.in_flight = self.most = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            return await self.inner.handle_async_request(request)
        finally:
            self.in_flight -= 1


def _client(transport: httpx.AsyncBaseTransport) -> WebexClient:
    return WebexClient(BASE, Auth("test-token-0123456789"), transport=transport, concurrency=16)


def _sim(latency_ms: float = 5) -> Counting:
    app = sim_app.create_app(seed=3, devices=DEVICES, latency_ms=latency_ms)
    return Counting(httpx.ASGITransport(app=app))


async def _both(expected: int) -> tuple[list[Any], list[Any], Counting, Counting]:
    """The listing by links and by offsets (``expected`` items), and what each sent."""
    by_links, by_offsets = _sim(), _sim()
    async with _client(by_links) as client:
        linked = await client.paginate("/devices", {"max": PAGE})
    async with _client(by_offsets) as client:
        params = {"max": str(PAGE)}
        offset = await paginate_by_offset(client, "/devices", params, "items", None, expected)
    return linked, offset, by_links, by_offsets


async def test_the_expected_pages_go_out_together_with_the_same_requests() -> None:
    linked, offset, by_links, by_offsets = await _both(DEVICES)
    assert len(linked) == DEVICES and offset == linked
    assert len(by_offsets.urls) == len(by_links.urls) == -(-DEVICES // PAGE)
    assert by_links.most == 1 and by_offsets.most == WINDOW


async def test_an_org_larger_than_expected_is_read_to_its_end_by_links() -> None:
    linked, offset, by_links, by_offsets = await _both(DEVICES // 3)
    assert offset == linked and len(offset) == DEVICES
    assert len(by_offsets.urls) == len(by_links.urls)


async def test_an_org_smaller_than_expected_costs_at_most_a_window_more() -> None:
    linked, offset, by_links, by_offsets = await _both(3 * DEVICES)
    assert offset == linked and len(offset) == DEVICES
    assert len(by_links.urls) < len(by_offsets.urls) <= len(by_links.urls) + WINDOW - 1


async def test_each_page_keeps_only_what_each_keeps() -> None:
    counting = _sim()
    async with _client(counting) as client:
        macs = await paginate_by_offset(
            client, "/devices", {"max": str(PAGE)}, "items", lambda d: {"mac": d["mac"]}, DEVICES
        )
    assert len(macs) == DEVICES and all(list(m) == ["mac"] for m in macs)


def _server(total: int, *, cursor: bool) -> httpx.MockTransport:
    """``total`` items in pages: next links that are opaque cursors (``cursor``), or offsets where
    the third page comes back shorter than asked, its link going on from where it ended."""
    name = "cursor" if cursor else "start"

    def handler(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params.get(name, "0"))
        size = int(request.url.params.get("max", "10"))
        end = min(total, start + (size - 3 if start == 2 * size and not cursor else size))
        items = [{"id": f"d{i}"} for i in range(start, end)]
        headers = {}
        if end < total:
            headers["Link"] = f'<{BASE}/devices?max={size}&{name}={end}>; rel="next"'
        return httpx.Response(200, content=json.dumps({"items": items}), headers=headers)

    return httpx.MockTransport(handler)


async def test_links_that_are_not_offsets_are_followed_one_by_one() -> None:
    async with _client(_server(95, cursor=True)) as client:
        items = await paginate_by_offset(client, "/devices", {"max": "10"}, "items", None, 95)
    assert [i["id"] for i in items] == [f"d{i}" for i in range(95)]


async def test_a_page_that_is_not_the_offset_asked_for_continues_by_its_own_link() -> None:
    async with _client(_server(100, cursor=False)) as client:
        items = await paginate_by_offset(client, "/devices", {"max": "10"}, "items", None, 100)
    assert [i["id"] for i in items] == [f"d{i}" for i in range(100)]


async def test_devices_by_mac_reads_the_pages_of_the_org_together(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api, "DEVICES_PAGE", PAGE)
    counting = _sim()
    app = counting.inner.app  # type: ignore[attr-defined]
    macs = [d.mac for d in app.state.sim.store.devices.values()]
    async with _client(counting) as client:
        found = await client.devices_by_mac(macs)
    assert len(found) == DEVICES
    assert len(counting.urls) == -(-DEVICES // PAGE) and counting.most == WINDOW
