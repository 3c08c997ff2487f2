"""The wire transport (reconciler/webex/wire.py) against a scripted TCP server on the loopback.

Each test's server reads one request head (and its body, by Content-Length) at a time and answers
with exactly the bytes the test gives, so framing, keep-alive and failure cases are all reached.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.webex import Auth, WebexClient
from reconciler.webex import wire as wire_module
from reconciler.webex.errors import WebexApiError
from reconciler.webex.wire import BodyTooLarge, WireTransport

OK_JSON = b'{"ok": true}'


def answer(body: bytes = OK_JSON, status: str = "200 OK", *headers: str) -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", "Content-Type: application/json", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@dataclass
class Server:
    """``script(request_head, body, n)`` returns the bytes to send (None: close without a word)."""

    script: Callable[[bytes, bytes, int], bytes | None]
    close_after: bool = False  # close the connection after each answer
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
                    return  # the client went away, or the test ended
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length) if length else b""
                self.requests.append(head + body)
                out = self.script(head, body, len(self.requests))
                if out is None:
                    return
                writer.write(out)
                await writer.drain()
                if self.close_after:
                    return
        finally:
            writer.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@asynccontextmanager
async def serving(server: Server) -> AsyncIterator[Server]:
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()


async def get(transport: WireTransport, url: str, method: str = "GET", **kw: Any) -> httpx.Response:
    """One request straight through ``transport`` (left open for the next one), its answer read."""
    resp = await transport.handle_async_request(httpx.Request(method, url, **kw))
    await resp.aread()
    return resp


async def test_content_length_answers_reuse_one_connection() -> None:
    async with serving(Server(lambda head, body, n: answer(b'{"n": %d}' % n))) as srv:
        transport = WireTransport()
        got = [(await get(transport, f"{srv.url}/v1/x/{i}")).json()["n"] for i in range(1, 6)]
        assert got == [1, 2, 3, 4, 5]
        assert srv.connections == 1
        assert srv.requests[0].startswith(b"GET /v1/x/1 HTTP/1.1\r\n")
        assert b"\r\nHost: 127.0.0.1:" in srv.requests[0]


async def test_chunked_answer_with_extensions_and_trailers() -> None:
    wire = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'5;ext=1\r\n{"a":\r\n3\r\n 1}\r\n0\r\nX-Trailer: yes\r\n\r\n'
    )
    async with serving(Server(lambda head, body, n: wire)) as srv:
        transport = WireTransport()
        first = await get(transport, srv.url + "/a")
        second = await get(transport, srv.url + "/b")
        assert first.json() == {"a": 1} and second.json() == {"a": 1}


async def test_chunked_answer_split_into_single_bytes() -> None:
    wire = b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"a"\r\n3\r\n:2}\r\n0\r\n\r\n'

    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        for i in range(len(wire)):
            writer.write(wire[i : i + 1])
            await writer.drain()
            await asyncio.sleep(0)
        await asyncio.sleep(0.05)
        writer.close()

    listener = await asyncio.start_server(drip, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        resp = await get(WireTransport(), f"http://127.0.0.1:{port}/x")
    finally:
        listener.close()
    assert resp.json() == {"a": 2}


async def test_answer_until_the_connection_closes_is_not_reused() -> None:
    wire = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + OK_JSON
    async with serving(Server(lambda head, body, n: wire, close_after=True)) as srv:
        transport = WireTransport()
        assert (await get(transport, srv.url + "/a")).json() == {"ok": True}
        assert (await get(transport, srv.url + "/b")).json() == {"ok": True}
        assert srv.connections == 2


async def test_interim_answers_are_skipped_and_no_content_has_no_body() -> None:
    def script(head: bytes, body: bytes, n: int) -> bytes:
        if n == 1:
            return b"HTTP/1.1 100 Continue\r\n\r\n" + answer(b'{"after": "continue"}')
        if n == 2:
            return b"HTTP/1.1 204 No Content\r\n\r\n"
        return answer(b'{"third": true}')

    async with serving(Server(script)) as srv:
        transport = WireTransport()
        assert (await get(transport, srv.url + "/a")).json() == {"after": "continue"}
        no_content = await get(transport, srv.url + "/b", "PUT", json={"x": 1})
        assert no_content.status_code == 204 and no_content.content == b""
        assert (await get(transport, srv.url + "/c")).json() == {"third": True}
        assert srv.connections == 1
        assert srv.requests[1].endswith(b'{"x":1}') or srv.requests[1].endswith(b'{"x": 1}')


async def test_head_answer_has_no_body_even_with_a_length() -> None:
    wire = b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n"
    async with serving(Server(lambda head, body, n: wire if n == 1 else answer())) as srv:
        transport = WireTransport()
        resp = await get(transport, srv.url + "/a", "HEAD")
        assert resp.status_code == 200 and resp.content == b""
        assert (await get(transport, srv.url + "/b")).json() == {"ok": True}


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_compressed_answers_are_decoded(encoding: str) -> None:
    payload = json.dumps({"items": [{"id": i} for i in range(200)]}).encode()
    packed = gzip.compress(payload) if encoding == "gzip" else zlib.compress(payload)
    wire = answer(packed, "200 OK", f"Content-Encoding: {encoding}")
    async with serving(Server(lambda head, body, n: wire)) as srv:
        resp = await get(WireTransport(), srv.url + "/a")
        assert resp.content == payload
        assert "content-encoding" not in resp.headers


async def test_answers_over_the_cap_are_refused_while_they_arrive() -> None:
    big = b"x" * 5000
    bomb = gzip.compress(b"0" * 2_000_000)
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"800\r\n" + b"y" * 2048 + b"\r\n"
    chunked = chunked * 1 + (b"800\r\n" + b"y" * 2048 + b"\r\n") * 3 + b"0\r\n\r\n"
    scripts = {
        "declared": answer(big),
        "chunked": chunked,
        "gzip bomb": answer(bomb, "200 OK", "Content-Encoding: gzip", "TrackingID: T_BOMB"),
    }
    for name, wire in scripts.items():
        async with serving(Server(lambda head, body, n, w=wire: w)) as srv:  # type: ignore[misc]
            with pytest.raises(BodyTooLarge) as caught:
                await get(WireTransport(max_body=4096), srv.url + "/a")
            assert caught.value.status == 200, name
            assert caught.value.size > 4096, name


async def test_the_client_reports_a_too_large_answer_with_its_tracking_id() -> None:
    wire = answer(b"z" * 10_000, "200 OK", "TrackingID: T_LARGE_1")
    auth = Auth("tok-0123456789abcdef")
    async with serving(Server(lambda head, body, n: wire)) as srv:
        client = WebexClient(srv.url + "/v1", auth, max_answer_bytes=1000)
        async with client:
            with pytest.raises(WebexApiError) as caught:
                await client.request("GET", "/devices")
    assert "larger than 1000 bytes" in str(caught.value)
    assert caught.value.tracking_id == "T_LARGE_1"


async def test_a_kept_alive_connection_closed_by_the_server_is_retried_once_for_get() -> None:
    # the server answers, then drops the connection without a word when the next request comes
    def script(head: bytes, body: bytes, n: int) -> bytes | None:
        return None if n == 2 else answer(b'{"n": %d}' % n)

    async with serving(Server(script)) as srv:
        transport = WireTransport()
        assert (await get(transport, srv.url + "/a")).json() == {"n": 1}
        assert (await get(transport, srv.url + "/b")).json() == {"n": 3}  # sent again, on a new connection
        assert srv.connections == 2


async def test_a_post_on_a_dropped_kept_alive_connection_is_not_sent_twice() -> None:
    def script(head: bytes, body: bytes, n: int) -> bytes | None:
        return None if n == 2 else answer()

    async with serving(Server(script)) as srv:
        transport = WireTransport()
        await get(transport, srv.url + "/a")
        with pytest.raises(httpx.RemoteProtocolError):
            await get(transport, srv.url + "/jobs", "POST", json={"start": 1})
        assert len(srv.requests) == 2


async def test_a_connection_closed_mid_answer_is_an_error_not_a_short_body() -> None:
    wire = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b'{"partial": '
    async with serving(Server(lambda head, body, n: wire, close_after=True)) as srv:
        with pytest.raises(httpx.RemoteProtocolError):
            await get(WireTransport(), srv.url + "/a")


@pytest.mark.parametrize(
    "wire",
    [
        b"HTTP/2 200 OK\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad Header Line\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n",
    ],
)
async def test_malformed_answers_are_protocol_errors(wire: bytes) -> None:
    async with serving(Server(lambda head, body, n: wire)) as srv:
        with pytest.raises(httpx.RemoteProtocolError):
            await get(WireTransport(), srv.url + "/a")


async def test_bytes_after_the_answer_make_the_connection_unusable() -> None:
    async with serving(Server(lambda head, body, n: answer() + b"HTTP/1.1 200 OK\r\n")) as srv:
        transport = WireTransport()
        assert (await get(transport, srv.url + "/a")).json() == {"ok": True}
        assert (await get(transport, srv.url + "/b")).json() == {"ok": True}
        assert srv.connections == 2


async def test_a_slow_answer_times_out_and_a_refused_connection_is_a_connect_error() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    listener = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(transport=WireTransport(), timeout=0.2) as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.get(f"http://127.0.0.1:{port}/a")
    finally:
        listener.close()
        await listener.wait_closed()
    with pytest.raises(httpx.ConnectError):
        await get(WireTransport(), f"http://127.0.0.1:{port}/a")


async def test_header_injection_is_refused_before_sending() -> None:
    async with serving(Server(lambda head, body, n: answer())) as srv:
        with pytest.raises(httpx.LocalProtocolError):
            await get(WireTransport(), srv.url + "/a", headers={"X-Bad": "a\r\nInjected: 1"})
        assert srv.requests == []


async def test_a_cancelled_request_drops_its_connection() -> None:
    gate = asyncio.Event()

    def script(head: bytes, body: bytes, n: int) -> bytes:
        return answer()

    async def slow_first(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        gate.set()
        await asyncio.sleep(0.3)
        writer.write(answer(b'{"late": true}'))
        await writer.drain()
        writer.close()

    listener = await asyncio.start_server(slow_first, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    transport = WireTransport()
    try:
        task = asyncio.create_task(get(transport, f"http://127.0.0.1:{port}/a"))
        await gate.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        listener.close()
    assert all(not idle for idle in transport._idle.values())


async def test_multipart_uploads_and_large_bodies_are_sent_whole() -> None:
    seen: list[bytes] = []

    def script(head: bytes, body: bytes, n: int) -> bytes:
        seen.append(body)
        return answer()

    async with serving(Server(script)) as srv:
        transport = WireTransport()
        await get(transport, srv.url + "/img", "POST", files={"file": ("a.png", b"\x89PNG" + b"p" * 300_000)})
        await get(transport, srv.url + "/big", "PUT", content=b"q" * 1_000_000)
    assert b"a.png" in seen[0] and seen[0].count(b"p") >= 300_000
    assert seen[1] == b"q" * 1_000_000


async def test_the_client_sends_through_the_wire_transport_by_default() -> None:
    wire = answer(b'{"items": []}', "200 OK", "TrackingID: T1")
    async with serving(Server(lambda head, body, n: wire)) as srv:
        client = WebexClient(srv.url + "/v1", Auth("tok-0123456789abcdef"), org_id="ORG 1")
        async with client:
            assert isinstance(client._transport, WireTransport)
            resp = await client.request("GET", "/devices", params={"max": 2, "mac": "AA:BB"})
            assert resp.json() == {"items": []} and resp.request.url.path == "/v1/devices"
    head = srv.requests[0]
    assert head.startswith(b"GET /v1/devices?max=2&mac=AA%3ABB&orgId=ORG+1 HTTP/1.1\r\n")
    assert b"\r\nAuthorization: Bearer tok-0123456789abcdef\r\n" in head
    assert b"\r\nTrackingID: RECONCILER_" in head and b"\r\nAccept: application/json\r\n" in head


_SEGMENT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)
_PARAMS = st.dictionaries(
    st.sampled_from(["max", "mac", "orgId", "start", "personId", "q"]),
    st.one_of(st.text(max_size=12), st.integers(-5, 5000), st.booleans(), st.none()),
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(
    segments=st.lists(_SEGMENT, min_size=1, max_size=4),
    quoted=st.booleans(),
    params=_PARAMS,
    org=st.sampled_from([None, "ORG-1", "Y2lz/+=="]),
)
def test_urls_placed_without_a_parse_equal_the_parsed_ones(
    segments: list[str], quoted: bool, params: dict[str, Any], org: str | None
) -> None:
    """``_build_url``'s shortcut (a plain path placed into the parsed base URL) gives exactly the
    URL that parsing the string and merging the parameters gives, or is not taken."""
    from urllib.parse import quote

    path = "/" + "/".join(quote(s, safe="") if quoted else s for s in segments)
    fast = WebexClient("http://127.0.0.1:8/v1", Auth("tok-0123456789abcdef"), org_id=org)
    slow = WebexClient("http://127.0.0.1:8/v1", Auth("tok-0123456789abcdef"), org_id=org)
    assert fast._fast_urls
    slow._fast_urls = False
    try:
        want = slow._build_url("GET", path, params)
    except httpx.InvalidURL:  # a path httpx refuses is refused either way
        with pytest.raises(httpx.InvalidURL):
            fast._build_url("GET", path, params)
        return
    got = fast._build_url("GET", path, params)
    assert str(got) == str(want) and got.raw_path == want.raw_path and got == want
    assert got.params == want.params and got.path == want.path


async def test_a_trickling_answer_is_bounded_as_a_whole_not_per_read() -> None:
    """Each byte comes well within the timeout; the answer as a whole does not: it times out once
    the whole exchange has taken the client's timeout, and the client says so."""

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        try:
            for _ in range(1000):
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(0.05)
        except (ConnectionError, asyncio.CancelledError):
            return

    listener = await asyncio.start_server(trickle, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    try:
        client = WebexClient(
            f"http://127.0.0.1:{port}/v1", Auth("tok-0123456789abcdef"), timeout=0.4, max_attempts=1
        )
        async with client:
            started = loop.time()
            with pytest.raises(WebexApiError) as caught:
                await client.request("GET", "/devices")
            took = loop.time() - started
    finally:
        listener.close()
    assert "ReadTimeout" in str(caught.value) and caught.value.timed_out
    assert 0.35 < took < 2.0


async def test_a_post_never_goes_out_on_a_connection_whose_close_has_arrived_unread() -> None:
    """The server answers and closes; the close reaches the socket while the event loop is busy
    (not yet read). A GET would be sent again after the stale connection failed, but a POST must
    not be sent twice: it is sent on a new connection straight away."""
    async with serving(Server(lambda head, body, n: answer(b'{"n": %d}' % n), close_after=True)) as srv:
        transport = WireTransport()
        assert (await get(transport, srv.url + "/a")).json() == {"n": 1}
        time.sleep(0.2)  # blocks the loop: the server's close arrives but is not processed
        resp = await get(transport, srv.url + "/jobs", "POST", json={"start": 1})
        assert resp.json() == {"n": 2}
        assert srv.connections == 2 and len(srv.requests) == 2


async def test_connections_idle_too_long_are_not_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wire_module, "KEEPALIVE_S", 0.05)
    async with serving(Server(lambda head, body, n: answer())) as srv:
        transport = WireTransport()
        await get(transport, srv.url + "/a")
        await get(transport, srv.url + "/b")  # at once: the same connection
        await asyncio.sleep(0.15)
        await get(transport, srv.url + "/c")  # idle too long: a new one
        assert srv.connections == 2
