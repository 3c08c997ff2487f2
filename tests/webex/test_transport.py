"""The HTTP engine (reconciler/webex/transport.py: httpx's interface over aiohttp) against a scripted
TCP server on the loopback.

Each test's server reads one request head (and its body, by Content-Length) at a time and answers
with exactly the bytes the test gives, so framing, keep-alive and failure cases are all reached.
Every defect of the hand-written HTTP/1.1 client this engine replaced is here as a refusal.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import re
import socket
import ssl
import subprocess
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.webex import Auth, WebexClient
from reconciler.webex import transport as transport_module
from reconciler.webex.errors import WebexApiError
from reconciler.webex.exchange import build_request
from reconciler.webex.redact import Secret
from reconciler.webex.transport import BodyTooLarge, EngineTransport

OK_JSON = b'{"ok": true}'
MIB = 1024 * 1024


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
    scheme: str = "http"

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
        return f"{self.scheme}://127.0.0.1:{self.port}"


@asynccontextmanager
async def serving(server: Server, tls: ssl.SSLContext | None = None) -> AsyncIterator[Server]:
    """``server`` listening on the loopback (over TLS with ``tls``)."""
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=tls)
    server.port = listener.sockets[0].getsockname()[1]
    server.scheme = "https" if tls is not None else "http"
    try:
        yield server
    finally:
        listener.close()


@asynccontextmanager
async def raw_server(
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any],
) -> AsyncIterator[str]:
    """A server running ``handler`` per connection; yields its base URL."""
    listener = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
    finally:
        listener.close()


@asynccontextmanager
async def engine(**kw: Any) -> AsyncIterator[EngineTransport]:
    transport = EngineTransport(**kw)
    try:
        yield transport
    finally:
        await transport.aclose()


async def get(transport: EngineTransport, url: str, method: str = "GET", **kw: Any) -> httpx.Response:
    """One request straight through ``transport`` (left open for the next one), its answer read."""
    request = httpx.Request(method, url, extensions={"timeout": {"connect": 5.0, "read": 10.0}}, **kw)
    resp = await transport.handle_async_request(request)
    await resp.aread()
    return resp


def streamed(wire_head: bytes, filler: bytes, repeat: int, sent: list[int]) -> Any:
    """A handler that answers with ``wire_head`` and then ``filler`` ``repeat`` times, counting in
    ``sent`` the bytes it could write before the client hung up."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(wire_head)
        try:
            for _ in range(repeat):
                writer.write(filler)
                await writer.drain()
                sent[0] += len(filler)
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            writer.close()

    return handle


# -- framing that works --------------------------------------------------------------------------


async def test_content_length_answers_reuse_one_connection() -> None:
    async with serving(Server(lambda head, body, n: answer(b'{"n": %d}' % n))) as srv, engine() as transport:
        got = [(await get(transport, f"{srv.url}/v1/x/{i}")).json()["n"] for i in range(1, 6)]
        assert got == [1, 2, 3, 4, 5]
        assert srv.connections == 1
        assert srv.requests[0].startswith(b"GET /v1/x/1 HTTP/1.1\r\n")
        assert b"\r\nHost: 127.0.0.1:" in srv.requests[0]


async def test_the_socket_is_read_in_small_buffers_and_big_answers_arrive_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """asyncio's socket transport reads 256 KiB at a time (a buffer above glibc's mmap threshold for
    every answer); the engine's connections read ``RECV_SIZE`` at a time, and a 3 MiB answer still
    arrives whole."""
    seen: list[int] = []
    connect = transport_module._Connector.connect

    async def recording(self: Any, req: Any, traces: Any, timeout: Any) -> Any:
        conn = await connect(self, req, traces, timeout)
        seen.append(conn.protocol.transport.max_size)
        return conn

    monkeypatch.setattr(transport_module._Connector, "connect", recording)
    big = b'{"items": ["' + b"x" * (3 * MIB) + b'"]}'
    script = Server(lambda head, body, n: answer(big if b"/big" in head else OK_JSON))
    async with serving(script) as srv, engine() as transport:
        assert (await get(transport, srv.url + "/big")).content == big
        assert (await get(transport, srv.url + "/small")).json() == {"ok": True}
    assert seen == [transport_module.RECV_SIZE] * 2 and transport_module.RECV_SIZE < 128 * 1024


async def test_chunked_answer_with_extensions_and_trailers() -> None:
    wire = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'5;ext=1\r\n{"a":\r\n3\r\n 1}\r\n0\r\nX-Trailer: yes\r\n\r\n'
    )
    async with serving(Server(lambda head, body, n: wire)) as srv, engine() as transport:
        first = await get(transport, srv.url + "/a")
        second = await get(transport, srv.url + "/b")
        assert first.json() == {"a": 1} and second.json() == {"a": 1}
        assert srv.connections == 1


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

    async with raw_server(drip) as url, engine() as transport:
        resp = await get(transport, url + "/x")
    assert resp.json() == {"a": 2}


async def test_answer_until_the_connection_closes_is_not_reused() -> None:
    wire = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + OK_JSON
    async with serving(Server(lambda head, body, n: wire, close_after=True)) as srv, engine() as transport:
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

    async with serving(Server(script)) as srv, engine() as transport:
        assert (await get(transport, srv.url + "/a")).json() == {"after": "continue"}
        no_content = await get(transport, srv.url + "/b", "PUT", json={"x": 1})
        assert no_content.status_code == 204 and no_content.content == b""
        assert (await get(transport, srv.url + "/c")).json() == {"third": True}
        assert srv.connections == 1
        assert srv.requests[1].endswith(b'{"x":1}') or srv.requests[1].endswith(b'{"x": 1}')


async def test_head_answer_has_no_body_even_with_a_length() -> None:
    wire = b"HTTP/1.1 200 OK\r\nContent-Length: 500000000\r\n\r\n"
    async with (
        serving(Server(lambda head, body, n: wire if n == 1 else answer())) as srv,
        engine(max_body=1000) as transport,
    ):
        resp = await get(transport, srv.url + "/a", "HEAD")
        assert resp.status_code == 200 and resp.content == b""
        assert (await get(transport, srv.url + "/b")).json() == {"ok": True}


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw deflate"])
async def test_compressed_answers_are_decoded(encoding: str) -> None:
    payload = json.dumps({"items": [{"id": i} for i in range(200)]}).encode()
    if encoding == "gzip":
        packed = gzip.compress(payload)
    elif encoding == "deflate":
        packed = zlib.compress(payload)
    else:  # deflate without its zlib header: sent by some servers, decoded as browsers do
        packer = zlib.compressobj(wbits=-15)
        packed = packer.compress(payload) + packer.flush()
    wire = answer(packed, "200 OK", f"Content-Encoding: {encoding.split()[-1]}")
    async with serving(Server(lambda head, body, n: wire)) as srv, engine() as transport:
        resp = await get(transport, srv.url + "/a")
        assert resp.content == payload and resp.json()["items"][199] == {"id": 199}
        assert "content-encoding" not in resp.headers and "content-length" not in resp.headers


# -- answers too large ---------------------------------------------------------------------------


async def test_answers_over_the_cap_are_refused_while_they_arrive() -> None:
    big = b"x" * 5000
    bomb = gzip.compress(b"0" * 2_000_000)
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunked += (b"800\r\n" + b"y" * 2048 + b"\r\n") * 4 + b"0\r\n\r\n"
    scripts = {
        "declared": answer(big),
        "chunked": chunked,
        "gzip bomb": answer(bomb, "200 OK", "Content-Encoding: gzip", "TrackingID: T_BOMB"),
    }
    for name, wire in scripts.items():
        async with (
            serving(Server(lambda head, body, n, w=wire: w)) as srv,
            engine(max_body=4096) as transport,
        ):  # type: ignore[misc]
            with pytest.raises(BodyTooLarge) as caught:
                await get(transport, srv.url + "/a")
        assert caught.value.status == 200, name
        assert caught.value.size > 4096, name


async def test_one_endless_chunk_is_refused_at_the_cap_not_buffered() -> None:
    """A chunk announced as 48 MiB, against a 1 MiB cap: refused once 1 MiB has arrived, and the
    server cannot push the rest (the client hung up: it wrote a few MiB at most, kernel buffers
    included)."""
    sent = [0]
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3000000\r\n"
    async with (
        raw_server(streamed(head, b"x" * (256 * 1024), 192, sent)) as url,
        engine(max_body=MIB) as transport,
    ):
        with pytest.raises(BodyTooLarge) as caught:
            await get(transport, url + "/a")
        await asyncio.sleep(0.2)
    assert MIB < caught.value.size < 2 * MIB
    assert sent[0] < 16 * MIB


async def test_an_endless_trailer_line_is_refused_not_buffered() -> None:
    sent = [0]
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\nX-Trailer: "
    async with (
        raw_server(streamed(head, b"t" * (256 * 1024), 136, sent)) as url,
        engine(max_body=MIB) as transport,
    ):
        with pytest.raises(httpx.RemoteProtocolError) as caught:
            await get(transport, url + "/a")
        await asyncio.sleep(0.2)
    assert "malformed answer" in str(caught.value)
    assert sent[0] < 8 * MIB


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


# -- kept-alive connections ----------------------------------------------------------------------


async def test_a_kept_alive_connection_closed_by_the_server_is_retried_once_for_get() -> None:
    # the server answers, then drops the connection without a word when the next request comes
    def script(head: bytes, body: bytes, n: int) -> bytes | None:
        return None if n == 2 else answer(b'{"n": %d}' % n)

    async with serving(Server(script)) as srv, engine() as transport:
        assert (await get(transport, srv.url + "/a")).json() == {"n": 1}
        assert (await get(transport, srv.url + "/b")).json() == {"n": 3}  # sent again, on a new connection
        assert srv.connections == 2


async def test_a_post_on_a_dropped_kept_alive_connection_is_not_sent_twice() -> None:
    def script(head: bytes, body: bytes, n: int) -> bytes | None:
        return None if n == 2 else answer()

    async with serving(Server(script)) as srv, engine() as transport:
        await get(transport, srv.url + "/a")
        with pytest.raises(httpx.RemoteProtocolError):
            await get(transport, srv.url + "/jobs", "POST", json={"start": 1})
        assert len(srv.requests) == 2


async def test_a_post_never_goes_out_on_a_connection_whose_close_has_arrived_unread() -> None:
    """The server answers and closes; the close reaches the socket while the event loop is busy
    (not yet read). A GET would be sent again after the stale connection failed, but a POST must
    not be sent twice: it is sent on a new connection straight away."""
    async with (
        serving(Server(lambda head, body, n: answer(b'{"n": %d}' % n), close_after=True)) as srv,
        engine() as transport,
    ):
        assert (await get(transport, srv.url + "/a")).json() == {"n": 1}
        time.sleep(0.2)  # blocks the loop: the server's close arrives but is not processed
        resp = await get(transport, srv.url + "/jobs", "POST", json={"start": 1})
        assert resp.json() == {"n": 2}
        assert srv.connections == 2 and len(srv.requests) == 2


async def test_a_post_is_not_sent_when_every_connection_has_bytes_waiting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before a POST goes out, the connection's socket is probed: with something to read on every
    connection it tries (as if the server spoke first each time), the POST is not sent at all and
    the error says nothing was sent (so the client may try it again later)."""
    probes: list[int] = []

    def always_readable(
        r: list[Any], w: list[Any], x: list[Any], timeout: float
    ) -> tuple[list[Any], list[Any], list[Any]]:
        probes.append(len(r))
        return r, [], []

    async with serving(Server(lambda head, body, n: answer())) as srv, engine() as transport:
        assert (await get(transport, srv.url + "/a")).json() == {"ok": True}  # a GET is not probed
        monkeypatch.setattr(transport_module.select, "select", always_readable)
        with pytest.raises(httpx.ConnectError, match="nothing was sent"):
            await get(transport, srv.url + "/jobs", "POST", json={"start": 1})
        assert len(probes) == 4 and len(srv.requests) == 1


async def test_connections_idle_too_long_are_not_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transport_module, "KEEPALIVE_S", 0.05)
    async with serving(Server(lambda head, body, n: answer())) as srv, engine() as transport:
        await get(transport, srv.url + "/a")
        await get(transport, srv.url + "/b")  # at once: the same connection
        await asyncio.sleep(0.15)
        await get(transport, srv.url + "/c")  # idle too long: a new one
        assert srv.connections == 2


@pytest.mark.parametrize(
    "stray",
    [
        b"HTTP/1.1 200 OK\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 15\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n",
        b'HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{"forged": 1}',
    ],
)
async def test_bytes_after_an_answer_never_become_part_of_the_next_one(stray: bytes) -> None:
    """The server follows each answer with stray bytes (part of another answer, or a whole one). The
    next request still gets exactly its own answer, whatever the connection it goes out on."""
    async with (
        serving(Server(lambda head, body, n: answer(b'{"n": %d}' % n, "200 OK", f"X-N: {n}") + stray)) as srv,
        engine() as transport,
    ):
        for n in (1, 2, 3):
            resp = await get(transport, srv.url + f"/{n}")
            assert resp.json() == {"n": n}
            assert resp.headers.get_list("X-N") == [str(n)] and len(resp.headers) == 3


async def test_garbage_after_an_answer_is_a_protocol_error_and_leaves_nothing_behind() -> None:
    """Bytes that cannot start an answer, in the same segment as a complete one: the parser refuses
    the segment (a clean protocol error naming what it saw), and the next request is unaffected."""
    async with (
        serving(
            Server(lambda head, body, n: answer(b'{"n": %d}' % n) + (b"garbage" if n == 1 else b""))
        ) as srv,
        engine() as transport,
    ):
        with pytest.raises(httpx.RemoteProtocolError, match=r"malformed answer: .*garbage"):
            await get(transport, srv.url + "/1")
        assert (await get(transport, srv.url + "/2")).json() == {"n": 2}
        assert srv.connections == 2


def answering(respond: Callable[[asyncio.StreamWriter, int], Awaitable[None]]) -> Any:
    """A handler that reads request heads one after another and lets ``respond(writer, n)`` answer
    the ``n``-th request (counted over every connection)."""
    count = [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                count[0] += 1
                await respond(writer, count[0])
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()

    return handle


async def test_an_answer_pushed_while_the_connection_is_idle_answers_nothing() -> None:
    """After a complete answer the server pushes a second, unasked one on the idle connection. It
    must not be taken for the answer to the next request (that request goes out on a new
    connection and gets its own answer)."""

    async def pushy(writer: asyncio.StreamWriter, n: int) -> None:
        writer.write(answer(b'{"n": %d}' % n))
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(answer(b'{"forged": true}'))
        await writer.drain()

    async with raw_server(answering(pushy)) as url, engine() as transport:
        got = []
        for path in ("/a", "/b", "/c"):
            got.append((await get(transport, url + path)).json())
            await asyncio.sleep(0.15)
        posted = await get(transport, url + "/jobs", "POST", json={"x": 1})
    assert got == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert posted.json() == {"n": 4}


async def test_a_cancelled_request_drops_its_connection() -> None:
    started = asyncio.Event()

    async def slow_first(writer: asyncio.StreamWriter, n: int) -> None:
        if n == 1:
            started.set()
            await asyncio.sleep(0.3)
        writer.write(answer(b'{"late": true}' if n == 1 else b'{"n": %d}' % n))
        await writer.drain()

    async with raw_server(answering(slow_first)) as url, engine() as transport:
        task = asyncio.create_task(get(transport, url + "/a"))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.4)  # the late answer has arrived by now: it must answer nothing
        assert (await get(transport, url + "/b")).json() == {"n": 2}


# -- malformed answers: one clean error each -----------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "says"),
    [
        (b"HTTP/2 200 OK\r\n\r\n", "HTTP/2 200 OK"),
        (b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n", "status"),
        (b"HTTP/1.1 099 Odd\r\nContent-Length: 0\r\n\r\n", "status 099"),
        (b"HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n", "status 600"),
        (b"HTTP/1.1 101 Switching Protocols\r\n\r\n", "status 101"),
        (b"HTTP/1.1 200 OK\r\nBad Header Line\r\n\r\n", "header"),
        (b"HTTP/1.1 200 OK\r\nX-Nul: a\x00b\r\nContent-Length: 0\r\n\r\n", "header"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", "Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n", "Content-Length"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n2\r\nab\r\n0\r\n\r\n",
            "Transfer-Encoding",
        ),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk size"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x0d\r\n" + b"a" * 13 + b"\r\n0\r\n\r\n",
            "chunk size",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+d\r\n" + b"a" * 13 + b"\r\n0\r\n\r\n",
            "chunk size",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0_d\r\n" + b"a" * 13 + b"\r\n0\r\n\r\n",
            "chunk size",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n d\r\n" + b"a" * 13 + b"\r\n0\r\n\r\n",
            "chunk size",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"f" * 20 + b"\r\nab\r\n0\r\n\r\n",
            "hunk size",
        ),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXX0\r\n\r\n", "chunk"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "Transfer-Encoding 'gzip'"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "Transfer-Encoding"),
        (b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n", "8190 bytes"),
        (b"HTTP/1.1 200 OK\r\n" + b"X-H: v\r\n" * 300 + b"Content-Length: 0\r\n\r\n", "headers"),
        (b"HTTP/1.1 200 OK\r\nX-Cr: a\rb\r\nContent-Length: 0\r\n\r\n", "header"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", "Content-Length"),
        (b'{"no": "status line"}', "status line"),
        (answer(b"\x1f\x8b\x08\x00garbage-not-gzip", "200 OK", "Content-Encoding: gzip"), "gzip"),
        (answer(b"not deflate at all", "200 OK", "Content-Encoding: deflate"), "deflate"),
        (answer(b"xxxx", "200 OK", "Content-Encoding: br"), "br"),
    ],
)
async def test_malformed_answers_are_protocol_errors(wire: bytes, says: str) -> None:
    async with serving(Server(lambda head, body, n: wire)) as srv, engine() as transport:
        with pytest.raises(httpx.RemoteProtocolError) as caught:
            await get(transport, srv.url + "/a")
    text = str(caught.value)
    assert text.startswith("malformed answer") and says in text, text
    assert "400, message" not in text and "http://" not in text


@pytest.mark.parametrize(
    "wire",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b'{"partial": ',
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 50\r\n\r\n"
        + gzip.compress(b"{}", mtime=0)[:10],
    ],
    ids=["plain", "gzip"],
)
async def test_a_connection_closed_mid_answer_is_an_error_not_a_short_body(wire: bytes) -> None:
    async with serving(Server(lambda head, body, n: wire, close_after=True)) as srv, engine() as transport:
        with pytest.raises(httpx.RemoteProtocolError) as caught:
            await get(transport, srv.url + "/a")
    text = str(caught.value)
    assert text.startswith("malformed answer: ") and "Not enough data" in text, text
    assert "400, message" not in text and "<" not in text


async def test_a_close_before_any_answer_is_a_protocol_error() -> None:
    async with serving(Server(lambda head, body, n: None)) as srv, engine() as transport:
        with pytest.raises(httpx.RemoteProtocolError, match="closed the connection"):
            await get(transport, srv.url + "/jobs", "POST", json={})
        assert len(srv.requests) == 1


# -- timeouts and connections that fail ----------------------------------------------------------


async def test_a_slow_answer_times_out_and_a_refused_connection_is_a_connect_error() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)

    listener = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(transport=EngineTransport(), timeout=0.2) as client:
            with pytest.raises(httpx.ReadTimeout, match=r"no complete answer within 0\.2 s"):
                await client.get(f"http://127.0.0.1:{port}/a")
    finally:
        listener.close()
        await listener.wait_closed()
    async with engine() as transport:
        with pytest.raises(httpx.ConnectError, match=f"127.0.0.1:{port}"):
            await get(transport, f"http://127.0.0.1:{port}/a")


def listener_that_never_accepts() -> tuple[socket.socket, list[socket.socket]]:
    """A listening socket whose accept queue is full: a new connection to it hangs (its SYN is
    dropped) until the client gives up."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(0)
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(sock.getsockname())
        fillers.append(filler)
    return sock, fillers


async def test_a_connection_that_cannot_be_made_in_time_is_a_connect_timeout() -> None:
    """Nothing was sent: a ConnectTimeout (a POST may be sent again), whether the connect timeout
    or the whole exchange's ran out first."""
    sock, fillers = listener_that_never_accepts()
    await asyncio.sleep(0.1)
    port = sock.getsockname()[1]
    try:
        async with engine() as transport:
            for connect, read in ((0.3, 5.0), (5.0, 0.3)):
                request = httpx.Request(
                    "POST",
                    f"http://127.0.0.1:{port}/jobs",
                    json={},
                    extensions={"timeout": {"connect": connect, "read": read}},
                )
                with pytest.raises(httpx.ConnectTimeout, match=f"no connection to 127.0.0.1:{port}"):
                    await transport.handle_async_request(request)
    finally:
        for s in (sock, *fillers):
            s.close()


async def test_header_injection_is_refused_before_sending() -> None:
    async with serving(Server(lambda head, body, n: answer())) as srv, engine() as transport:
        for bad in ("a\r\nInjected: 1", "a\nb", "a\x00b"):
            with pytest.raises(httpx.LocalProtocolError):
                await get(transport, srv.url + "/a", headers={"X-Bad": bad})
        assert srv.requests == []


# -- what is sent --------------------------------------------------------------------------------


async def test_multipart_uploads_and_large_bodies_are_sent_whole() -> None:
    seen: list[bytes] = []

    def script(head: bytes, body: bytes, n: int) -> bytes:
        seen.append(body)
        return answer()

    async with serving(Server(script)) as srv, engine() as transport:
        await get(transport, srv.url + "/img", "POST", files={"file": ("a.png", b"\x89PNG" + b"p" * 300_000)})
        await get(transport, srv.url + "/big", "PUT", content=b"q" * 1_000_000)
    assert b"a.png" in seen[0] and seen[0].count(b"p") >= 300_000
    assert seen[1] == b"q" * 1_000_000


async def test_a_streamed_request_body_goes_out_with_one_framing_header() -> None:
    """httpx marks a streamed body ``Transfer-Encoding: chunked``; the engine sends it whole with
    its Content-Length only (both headers at once is how requests get smuggled)."""

    async def parts() -> AsyncIterator[bytes]:
        for part in (b'{"a"', b": ", b"1}"):
            yield part

    async with serving(Server(lambda head, body, n: answer())) as srv, engine() as transport:
        request = httpx.Request("POST", srv.url + "/s", content=parts())
        assert request.headers["transfer-encoding"] == "chunked"
        await (await transport.handle_async_request(request)).aread()
        empty = await get(transport, srv.url + "/e", "POST")
        assert empty.status_code == 200
    head = srv.requests[0].lower()
    assert b"transfer-encoding" not in head and head.count(b"content-length:") == 1
    assert head.endswith(b'\r\n\r\n{"a": 1}') and b"content-length: 8\r\n" in head
    assert srv.requests[1].lower().count(b"content-length: 0\r\n") == 1


async def test_the_client_sends_through_the_engine_by_default() -> None:
    wire = answer(b'{"items": []}', "200 OK", "TrackingID: T1")
    async with serving(Server(lambda head, body, n: wire)) as srv:
        client = WebexClient(srv.url + "/v1", Auth("tok-0123456789abcdef"), org_id="ORG 1")
        async with client:
            assert isinstance(client._transport, EngineTransport)
            resp = await client.request("GET", "/devices", params={"max": 2, "mac": "AA:BB"})
            assert resp.json() == {"items": []} and resp.request.url.path == "/v1/devices"
            assert resp.headers["TrackingID"] == "T1"
    head = srv.requests[0]
    assert head.startswith(b"GET /v1/devices?max=2&mac=AA%3ABB&orgId=ORG+1 HTTP/1.1\r\n")
    assert b"\r\nAuthorization: Bearer tok-0123456789abcdef\r\n" in head
    assert b"\r\nTrackingID: RECONCILER_" in head and b"\r\nAccept: application/json\r\n" in head


async def test_a_get_made_by_the_client_goes_out_as_the_generic_path_sends_it() -> None:
    """The client hands the engine a GET's headers and URL already made for aiohttp (``send``):
    the same head on the wire as ``handle_async_request`` makes from the same request, header for
    header; a token that could split the request goes the generic way and is refused there."""
    wire = answer(b'{"items": []}')
    async with serving(Server(lambda head, body, n: wire)) as srv:
        client = WebexClient(srv.url + "/v1/", Auth("tok-0123456789abcdef"), org_id="ORG 1", max_attempts=1)
        async with client:
            assert client._engine is not None
            generic = client._engine.handle_async_request
            took_generic: list[httpx.Request] = []

            async def counted(request: httpx.Request) -> httpx.Response:
                took_generic.append(request)
                return await generic(request)

            client._engine.handle_async_request = counted  # type: ignore[method-assign]
            await client.request("GET", "/telephony/config/devices/D%2F1/members", params={"x": "a b"})
            assert took_generic == []  # (the GET went by ``send``)
            made = build_request(
                "GET",
                client._build_url("GET", "/telephony/config/devices/D%2F1/members", {"x": "a b"}),
                client._fixed_headers,
                client._timeouts,
                "tok-0123456789abcdef",
                "RECONCILER_SAME_0",
                (None, None, None),
            )
            await generic(made)
            client.auth._token = Secret("tok-0123456789\r\nX-Injected: 1")  # (as a refresh could bring)
            with pytest.raises(WebexApiError, match="CR, LF or NUL"):
                await client.request("GET", "/devices")
            assert took_generic  # the unclean token went the generic way
    fast, slow = (re.sub(rb"RECONCILER_[^\r]*", b"ID", head) for head in srv.requests)
    assert fast == slow
    assert fast.startswith(b"GET /v1/telephony/config/devices/D%2F1/members?x=a+b&orgId=ORG+1 ")
    assert len(srv.requests) == 2  # the injected header never left


async def test_a_get_with_a_body_goes_the_generic_way_with_its_body() -> None:
    """Only a GET without a body is handed over pre-made; one with a body (a saved plan's GET step
    may carry one) is sent whole, as before."""
    async with serving(Server(lambda head, body, n: answer())) as srv:
        client = WebexClient(srv.url + "/v1", Auth("tok-0123456789abcdef"), max_attempts=1)
        async with client:
            await client.request("GET", "/devices", json={"a": 1})
    head = srv.requests[0]
    assert head.startswith(b"GET /v1/devices ") and head.endswith(b'\r\n\r\n{"a":1}')
    assert b"\r\nContent-Length: 7\r\n" in head


async def test_a_closed_client_sends_no_get_either() -> None:
    """The client's GET goes by ``send``, and a closed engine refuses it as it refuses the rest:
    nothing reaches the server, no session is made again."""
    async with serving(Server(lambda head, body, n: answer())) as srv:
        client = WebexClient(srv.url + "/v1", Auth("tok-0123456789abcdef"), max_attempts=1)
        await client.aclose()
        for method in ("GET", "PUT"):
            with pytest.raises(WebexApiError, match="closed"):
                await client.request(method, "/devices")
        assert srv.requests == [] and client._engine is not None and client._engine._session is None


async def test_an_oauth_refresh_goes_through_the_engine_too() -> None:
    """The token refresh is sent by httpx's own client (``_http``) over the same engine: a form POST
    whose answer httpx reads as it reads its own transports' answers."""

    def script(head: bytes, body: bytes, n: int) -> bytes:
        if head.startswith(b"POST /v1/access_token"):
            return answer(b'{"access_token": "fresh-token-0123456789", "expires_in": 3600}')
        if b"Bearer fresh-token-0123456789" in head:
            return answer(b'{"items": []}')
        return answer(b'{"message": "expired"}', "401 Unauthorized")

    auth = Auth(
        "stale-token-0123456789", client_id="cid", client_secret="secret-0123456789", refresh_token="r" * 20
    )
    async with serving(Server(script)) as srv, WebexClient(srv.url + "/v1", auth) as client:
        assert (await client.request("GET", "/devices")).json() == {"items": []}
    assert auth.refreshes == 1
    refresh = next(r for r in srv.requests if r.startswith(b"POST /v1/access_token"))
    assert b"grant_type=refresh_token" in refresh and b"application/x-www-form-urlencoded" in refresh


async def test_ssl_cert_dir_is_honoured(
    tls_files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A private CA given as a hashed certificate directory (SSL_CERT_DIR): trusted; without it
    the server's certificate is refused, and nothing is sent."""
    cert, key = tls_files
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    where = tmp_path / "certs"
    where.mkdir()
    (where / "private-ca.pem").write_bytes(cert.read_bytes())
    subprocess.run(["openssl", "rehash", str(where)], check=True, capture_output=True)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    async with serving(Server(lambda head, body, n: answer()), tls) as srv:
        async with engine() as transport:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await get(transport, srv.url + "/a")
        monkeypatch.setenv("SSL_CERT_DIR", str(where))
        async with engine() as transport:
            assert (await get(transport, srv.url + "/b")).json() == {"ok": True}
    assert len(srv.requests) == 1 and srv.requests[0].startswith(b"GET /b ")


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


@settings(max_examples=300, deadline=None)
@given(
    segments=st.lists(_SEGMENT, min_size=1, max_size=4),
    params=_PARAMS,
    base=st.sampled_from(["http://127.0.0.1:8/v1", "https://webexapis.com/v1", "https://[::1]:8443/x"]),
)
def test_the_engine_sends_each_url_as_httpx_quoted_it(
    segments: list[str], params: dict[str, Any], base: str
) -> None:
    """The URL handed to aiohttp is built from httpx's parts, not parsed again: its request target
    and its host and port are exactly httpx's, for every URL the client builds."""
    from urllib.parse import quote

    client = WebexClient(base, Auth("tok-0123456789abcdef"), org_id="Y2lz/+==")
    try:
        url = client._build_url("GET", "/" + "/".join(quote(s, safe="") for s in segments), params)
    except httpx.InvalidURL:
        return
    target = transport_module.target_of(url)
    assert target.raw_path_qs == url.raw_path.decode("ascii")
    assert (target.scheme, target.raw_host, target.explicit_port) == (
        url.scheme,
        url.raw_host.decode(),
        url.port,
    )


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

    loop = asyncio.get_running_loop()
    async with raw_server(trickle) as url:
        client = WebexClient(url + "/v1", Auth("tok-0123456789abcdef"), timeout=0.4, max_attempts=1)
        async with client:
            started = loop.time()
            with pytest.raises(WebexApiError) as caught:
                await client.request("GET", "/devices")
            took = loop.time() - started
    assert "ReadTimeout" in str(caught.value) and caught.value.timed_out
    assert 0.35 < took < 2.0


def test_one_transport_serves_one_event_loop_after_another() -> None:
    """The session is made in the running loop; a transport used again under a new loop (the CLI
    runs one loop per command) makes a new one instead of failing. Once closed, it refuses."""
    transport = EngineTransport()

    async def one(path: str) -> Any:
        async with serving(Server(lambda head, body, n: answer(b'{"path": "%s"}' % path.encode()))) as srv:
            return (await get(transport, srv.url + path)).json()

    assert asyncio.run(one("/a")) == {"path": "/a"}
    assert asyncio.run(one("/b")) == {"path": "/b"}
    asyncio.run(transport.aclose())
    with pytest.raises(httpx.ConnectError, match="closed"):
        asyncio.run(one("/c"))
