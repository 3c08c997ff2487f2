"""An HTTP transport for many concurrent requests: one single-connection pool per request slot.

httpcore's connection pool re-examines every connection it holds on each request and on each
response (a socket readability probe per idle connection, and a count of the idle connections
for each idle connection). With 32 connections that bookkeeping was most of the client's CPU
time (benchmarks: about 3 ms of 4 per request, which capped a plan at ~300 requests/s on one
core). Here a request takes a free slot, whose own httpcore pool holds one connection, and gives
it back when its response is closed: the bookkeeping is O(1) per request.

Everything else is httpx's own: each slot is an ``httpx.AsyncHTTPTransport`` with the same TLS
context (``verify`` as given, ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` honoured), keep-alive,
timeouts (from the request) and exceptions. ``slot_transport()`` returns None (use httpx's
default transport) when proxy environment variables are set, since httpx applies those only to
its own transports.
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.request
from collections.abc import AsyncIterator, Callable

import httpx


class _ReleasingStream(httpx.AsyncByteStream):
    """The response body; closing it (httpx does, after reading it all) frees the slot, once."""

    def __init__(self, inner: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._inner = inner
        self._release: Callable[[], None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._inner:
            yield part

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            release, self._release = self._release, None
            if release is not None:
                release()


class SlotTransport(httpx.AsyncBaseTransport):
    """``slots`` single-connection transports; a request waits for a free one (most recent first,
    so a light load keeps reusing the same warm connections)."""

    def __init__(
        self,
        slots: int,
        *,
        verify: ssl.SSLContext | bool = True,
        trust_env: bool = True,
        make_slot: Callable[[], httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        if slots < 1:
            raise ValueError("a SlotTransport needs at least one slot")
        if make_slot is None:
            context = (
                verify
                if isinstance(verify, ssl.SSLContext)
                else httpx.create_ssl_context(verify, None, trust_env)
            )
            limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)

            def make_slot() -> httpx.AsyncBaseTransport:
                return httpx.AsyncHTTPTransport(verify=context, limits=limits)

        self._slots = [make_slot() for _ in range(slots)]
        self._free: asyncio.LifoQueue[httpx.AsyncBaseTransport] = asyncio.LifoQueue()
        for slot in reversed(self._slots):
            self._free.put_nowait(slot)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        slot = await self._free.get()
        try:
            response = await slot.handle_async_request(request)
        except BaseException:
            self._free.put_nowait(slot)
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _ReleasingStream(response.stream, lambda: self._free.put_nowait(slot))
        return response

    async def aclose(self) -> None:
        for slot in self._slots:
            await slot.aclose()


def slot_transport(slots: int) -> SlotTransport | None:
    """The transport for a client of ``slots`` concurrent requests; None when a proxy is configured
    in the environment (httpx's default transport then applies it)."""
    if any(scheme != "no" for scheme in urllib.request.getproxies()):
        return None
    return SlotTransport(slots)
