"""A lean HTTP/1.1 transport behind httpx: asyncio protocols, keep-alive, whole answers.

The client sends small JSON requests and reads small JSON answers, tens of thousands of them per
run. httpx's default stack (httpcore's pool, h11's state machine, anyio's stream wrappers) spends
most of the client's CPU on generality this traffic does not use. ``WireTransport`` is an
``httpx.AsyncBaseTransport`` that does only what the API needs:

- HTTP/1.1 over plain TCP or TLS (``ssl`` context as httpx makes it: ``SSL_CERT_FILE`` /
  ``SSL_CERT_DIR`` honoured, verification on), one request per connection at a time, idle
  connections kept (most recently used first) and dropped as soon as the server closes them;
- the read timeout bounds the whole exchange (connecting, sending, the whole answer), not each read;
- answers framed by ``Content-Length``, ``chunked`` or the end of the connection; interim 1xx
  answers skipped; ``gzip``/``deflate`` bodies decoded (the cap below applies to the decoded size);
- an answer larger than ``max_body`` is refused while it arrives (``BodyTooLarge``), never buffered;
- idle connections are dropped after ``KEEPALIVE_S``; before a POST reuses one, its socket is
  probed for a close that has arrived unread;
- a request sent on a kept-alive connection the server had just closed (no byte of answer) is sent
  again once on a new connection when its method is idempotent, as browsers do; anything else is
  an ``httpx`` transport error (``ConnectError``, ``ConnectTimeout``, ``ReadTimeout``,
  ``ReadError``, ``RemoteProtocolError``), so callers see httpx's exception types.

The answer is returned already read (``response.content`` is set). Proxies are not supported here:
with a proxy in the environment the client keeps httpx's own transport (``wire_transport()``
returns None).
"""

from __future__ import annotations

import asyncio
import re
import select
import ssl
import time
import urllib.request
import zlib
from collections.abc import Iterable

import httpx

# The longest status line + header block accepted, and the most header lines.
MAX_HEAD_BYTES = 64 * 1024
MAX_HEADER_LINES = 200
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# An idle connection older than this is not reused (httpx's default keep-alive expiry as well).
KEEPALIVE_S = 5.0
# Bytes a header name or value may not contain (request splitting / smuggling).
_BAD_HEADER = re.compile(rb"[\r\n\x00]")
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CHUNK_LINE_MAX = 4096

_HEAD, _LENGTH, _CHUNKED, _UNTIL_CLOSE, _DONE = range(5)


class BodyTooLarge(Exception):
    """An answer over the transport's ``max_body`` bytes (``size`` is what was seen so far)."""

    def __init__(self, size: int, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        super().__init__(f"the answer is larger than allowed ({size} bytes or more)")
        self.size = size
        self.status = status
        self.headers = headers


class _Stale(Exception):
    """The server closed a kept-alive connection before any byte of the answer."""


class _Answer:
    __slots__ = ("ascii", "body", "headers", "reason", "reusable", "status")

    def __init__(
        self,
        status: int,
        reason: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        reusable: bool,
        ascii: bool,
    ) -> None:
        self.ascii = ascii  # every header is ASCII (httpx need not find their encoding)
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.reusable = reusable


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection; parses the answer as its bytes arrive."""

    def __init__(self, max_body: int) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.max_body = max_body
        self.used = 0  # requests sent on this connection
        self.idle_since = 0.0  # when it was last given back to the pool (time.monotonic())
        self._waiter: asyncio.Future[_Answer] | None = None
        self._buf = bytearray()
        self._state = _DONE
        self._got_bytes = False
        self._no_body = False
        self._status = 0
        self._reason = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._keep_alive = True
        self._left = 0
        self._parts: list[bytes] = []
        self._size = 0
        self._decoder: zlib._Decompress | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._ascii = True

    # -- asyncio.Protocol -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            # bytes nobody asked for (an idle connection): it cannot be trusted with a request
            self.closed = True
            if self.transport is not None:
                self.transport.abort()
            return
        self._got_bytes = True
        self._buf += data
        try:
            self._parse()
        except Exception as exc:  # a protocol error, or an answer too large: this answer failed
            self._fail(exc)

    def eof_received(self) -> bool | None:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._state == _UNTIL_CLOSE and exc is None:
            self._finish(keep_alive=False)
        elif not self._got_bytes and self.used > 1:
            self._fail(_Stale())
        elif exc is not None:
            self._fail(httpx.ReadError(f"the connection was lost while reading the answer: {exc}"))
        else:
            self._fail(httpx.RemoteProtocolError("the server closed the connection before a complete answer"))

    # -- one exchange ---------------------------------------------------------------------------

    def send(
        self, data: Iterable[bytes], head_only: bool, timeout: float | None, budget: float | None = None
    ) -> asyncio.Future[_Answer]:
        """Write a request; the future is its answer. It fails with ``ReadTimeout`` after
        ``timeout`` seconds (what is left of the exchange's ``budget``, which the error names)."""
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[_Answer] = loop.create_future()
        self._waiter = waiter
        self._state = _HEAD
        self._got_bytes = False
        self._no_body = head_only
        self._parts = []
        self._size = 0
        self._decoder = None
        self.used += 1
        if timeout is not None:
            self._timer = loop.call_later(timeout, self._timed_out, timeout if budget is None else budget)
        self.transport.writelines(data)
        return waiter

    def abort(self) -> None:
        self.closed = True
        self._cancel_timer()
        if self.transport is not None:
            self.transport.abort()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _timed_out(self, timeout: float) -> None:
        self._timer = None
        self._fail(httpx.ReadTimeout(f"no complete answer within {timeout:g} s"))

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _fail(self, exc: BaseException) -> None:
        self._cancel_timer()
        self._state = _DONE
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.abort()

    def _finish(self, keep_alive: bool) -> None:
        self._cancel_timer()
        self._state = _DONE
        body = b"".join(self._parts) if len(self._parts) != 1 else self._parts[0]
        if self._decoder is not None:
            body = self._decode_rest(body)
        reusable = keep_alive and self._keep_alive and not self._buf
        answer = _Answer(self._status, self._reason, self._headers, body, reusable, self._ascii)
        self._parts = []
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(answer)

    # -- parsing --------------------------------------------------------------------------------

    def _parse(self) -> None:
        while True:
            state = self._state
            if state == _HEAD:
                if not self._parse_head():
                    return
            elif state == _LENGTH:
                buf = self._buf
                if len(buf) < self._left:
                    return
                self._add(bytes(buf[: self._left]) if len(buf) > self._left else bytes(buf))
                del buf[: self._left]
                self._finish(keep_alive=True)
                return
            elif state == _CHUNKED:
                if not self._parse_chunk():
                    return
            elif state == _UNTIL_CLOSE:
                if self._buf:
                    self._add(bytes(self._buf))
                    self._buf.clear()
                return
            else:  # _DONE: bytes after a complete answer
                if self._buf:
                    raise httpx.RemoteProtocolError("the server sent more bytes than its answer")
                return

    def _parse_head(self) -> bool:
        buf = self._buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > MAX_HEAD_BYTES:
                raise httpx.RemoteProtocolError(f"the answer's header is longer than {MAX_HEAD_BYTES} bytes")
            return False
        if end > MAX_HEAD_BYTES:
            raise httpx.RemoteProtocolError(f"the answer's header is longer than {MAX_HEAD_BYTES} bytes")
        head = bytes(buf[:end])
        self._ascii = head.isascii()
        lines = head.split(b"\r\n")
        del buf[: end + 4]
        if len(lines) > MAX_HEADER_LINES:
            raise httpx.RemoteProtocolError(f"the answer has more than {MAX_HEADER_LINES} header lines")
        version, _, rest = lines[0].partition(b" ")
        code, _, reason = rest.partition(b" ")
        if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit():
            raise httpx.RemoteProtocolError(f"not an HTTP/1.1 status line: {lines[0][:80]!r}")
        status = int(code)
        headers: list[tuple[bytes, bytes]] = []
        length: bytes | None = None
        chunked = False
        encoding = b""
        keep_alive = version == b"HTTP/1.1"
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not _TOKEN.fullmatch(name):
                raise httpx.RemoteProtocolError(f"malformed header line in the answer: {line[:80]!r}")
            value = value.strip(b" \t")
            headers.append((name, value))
            lower = name.lower()
            if lower == b"content-length":
                if length is not None and length != value:
                    raise httpx.RemoteProtocolError("the answer has conflicting Content-Length headers")
                length = value
            elif lower == b"transfer-encoding":
                chunked = value.lower().rsplit(b",", 1)[-1].strip() == b"chunked"
                if not chunked:
                    raise httpx.RemoteProtocolError(f"unsupported Transfer-Encoding {value[:40]!r}")
            elif lower == b"connection":
                tokens = {t.strip() for t in value.lower().split(b",")}
                if b"close" in tokens:
                    keep_alive = False
                elif b"keep-alive" in tokens:
                    keep_alive = True
            elif lower == b"content-encoding":
                encoding = value.lower()
        if 100 <= status < 200:
            if status == 101:
                raise httpx.RemoteProtocolError("the server switched protocols (101); not supported")
            return True  # an interim answer: the real one follows
        self._status, self._reason, self._headers, self._keep_alive = status, reason, headers, keep_alive
        if encoding in (b"gzip", b"x-gzip"):
            self._decoder = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif encoding == b"deflate":
            self._decoder = zlib.decompressobj()
        if encoding and self._decoder is not None:
            dropped = (b"content-encoding", b"content-length")  # they describe the encoded body
            self._headers = [(k, v) for k, v in headers if k.lower() not in dropped]
        if self._no_body or status in (204, 304):
            self._finish(keep_alive=True)
            return False
        if chunked:
            self._state = _CHUNKED
            self._left = -1
        elif length is not None:
            if not length.isdigit():
                raise httpx.RemoteProtocolError(f"invalid Content-Length {length[:40]!r}")
            self._left = int(length)
            if self._left > self.max_body and self._decoder is None:
                raise BodyTooLarge(self._left, status, headers)
            if self._left == 0:
                self._finish(keep_alive=True)
                return False
            self._state = _LENGTH
        else:
            self._state = _UNTIL_CLOSE
            self._keep_alive = False
        return True

    def _parse_chunk(self) -> bool:
        buf = self._buf
        if self._left == -1:  # expecting a chunk-size line
            end = buf.find(b"\r\n")
            if end < 0:
                if len(buf) > _CHUNK_LINE_MAX:
                    raise httpx.RemoteProtocolError("malformed chunk size line")
                return False
            size_text = bytes(buf[:end]).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise httpx.RemoteProtocolError(f"malformed chunk size {size_text[:20]!r}") from None
            if size < 0:
                raise httpx.RemoteProtocolError("malformed chunk size")
            del buf[: end + 2]
            if size == 0:
                self._left = -2  # trailers until an empty line
            else:
                self._left = size
        if self._left == -2:
            end = buf.find(b"\r\n")
            while end > 0:  # skip trailer lines
                if end > _CHUNK_LINE_MAX:
                    raise httpx.RemoteProtocolError("malformed trailer line")
                del buf[: end + 2]
                end = buf.find(b"\r\n")
            if end < 0:
                return False
            del buf[:2]
            self._finish(keep_alive=True)
            return False
        if len(buf) < self._left + 2:
            return False
        if buf[self._left : self._left + 2] != b"\r\n":
            raise httpx.RemoteProtocolError("a chunk does not end with CRLF")
        self._add(bytes(buf[: self._left]))
        del buf[: self._left + 2]
        self._left = -1
        return True

    def _add(self, part: bytes) -> None:
        if self._decoder is not None:
            part = self._decoder.decompress(part, self.max_body - self._size + 1)
            if self._decoder.unconsumed_tail:
                raise BodyTooLarge(self.max_body + 1, self._status, self._headers)
        self._size += len(part)
        if self._size > self.max_body:
            raise BodyTooLarge(self._size, self._status, self._headers)
        self._parts.append(part)

    def _decode_rest(self, body: bytes) -> bytes:
        assert self._decoder is not None
        rest = self._decoder.flush()
        if not rest:
            return body
        if self._size + len(rest) > self.max_body:
            raise BodyTooLarge(self._size + len(rest), self._status, self._headers)
        return body + rest


class WireTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 keep-alive transport (see the module docstring). ``max_idle`` connections per
    origin are kept between requests; ``max_body`` caps an answer's (decoded) size."""

    def __init__(
        self,
        *,
        max_idle: int = 32,
        max_body: int = 64 * 1024 * 1024,
        verify: ssl.SSLContext | bool = True,
        trust_env: bool = True,
    ) -> None:
        self.max_idle = max_idle
        self.max_body = max_body
        self._verify = verify
        self._trust_env = trust_env
        self._ssl: ssl.SSLContext | None = verify if isinstance(verify, ssl.SSLContext) else None
        self._idle: dict[tuple[bytes, bytes, int], list[_Connection]] = {}
        self._closed = False

    def ssl_context(self) -> ssl.SSLContext:
        """The TLS context for https origins (made on first use: loading CA certificates is slow)."""
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context(self._verify, None, self._trust_env)
        return self._ssl

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise httpx.ConnectError("the transport is closed", request=request)
        url = request.url
        scheme = url.raw_scheme
        if scheme not in (b"http", b"https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}", request=request)
        port = url.port or (443 if scheme == b"https" else 80)
        origin = (scheme, url.raw_host, port)
        stream = request.stream
        if isinstance(stream, httpx.ByteStream):
            body = b"".join(stream)
        else:
            try:
                body = request.content
            except httpx.RequestNotRead:
                body = await request.aread()
        data = _request_bytes(request, body)
        timeouts = request.extensions.get("timeout") or {}
        method = request.method
        # The read timeout bounds the whole exchange, connecting included (not each read: a body
        # trickling in a byte at a time must not hold a request forever).
        budget = timeouts.get("read")
        loop = asyncio.get_running_loop()
        started = loop.time()
        for attempt in (1, 2):
            conn = self._take(origin, careful=method not in IDEMPOTENT)
            if conn is None:
                conn = await self._connect(origin, timeouts.get("connect"), request)
            left = None if budget is None else max(0.0, budget - (loop.time() - started))
            try:
                answer = await conn.send(data, method == "HEAD", left, budget)
            except _Stale:
                if attempt == 1 and method in IDEMPOTENT:
                    continue
                raise httpx.RemoteProtocolError(
                    "the server closed a kept-alive connection without answering", request=request
                ) from None
            except httpx.TransportError as exc:
                exc.request = request
                raise
            except BaseException:
                conn.abort()  # cancelled mid-answer: the connection's state is unknown
                raise
            writing = conn.transport is not None and conn.transport.get_write_buffer_size() > 0
            if answer.reusable and not conn.closed and not writing:  # (answered before the body was sent)
                self._give_back(origin, conn)
            else:
                conn.close()
            response = httpx.Response(
                answer.status,
                headers=httpx.Headers(answer.headers, encoding="ascii" if answer.ascii else None),
                stream=httpx.ByteStream(answer.body),
                request=request,
                extensions={"http_version": b"HTTP/1.1", "reason_phrase": answer.reason},
            )
            # already read: what ``aread()`` would store, without going through its stream (the
            # body is decoded here, so httpx's decoders have nothing to do)
            response._content = answer.body
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _take(self, origin: tuple[bytes, bytes, int], careful: bool) -> _Connection | None:
        """An idle connection to ``origin`` fit for a request, or None. Connections idle longer
        than ``KEEPALIVE_S`` are closed (servers drop idle connections after a few seconds). For a
        request that must not be sent twice (``careful``), the socket is also probed: a server's
        close that has arrived but not been read yet makes it unfit, as a new connection is
        cheaper than an ambiguous answer."""
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            transport = conn.transport
            if conn.closed or transport is None or transport.is_closing():
                continue
            if now - conn.idle_since > KEEPALIVE_S or (careful and _has_unread(transport)):
                conn.close()
                continue
            return conn
        return None

    def _give_back(self, origin: tuple[bytes, bytes, int], conn: _Connection) -> None:
        idle = self._idle.setdefault(origin, [])
        if len(idle) >= self.max_idle or self._closed:
            conn.close()
        else:
            conn.idle_since = time.monotonic()
            idle.append(conn)

    async def _connect(
        self, origin: tuple[bytes, bytes, int], timeout: float | None, request: httpx.Request
    ) -> _Connection:
        scheme, raw_host, port = origin
        host = raw_host.decode("ascii").strip("[]")
        context = self.ssl_context() if scheme == b"https" else None
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                _, conn = await loop.create_connection(
                    lambda: _Connection(self.max_body),
                    host,
                    port,
                    ssl=context,
                    server_hostname=host if context is not None else None,
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(
                f"no connection to {host}:{port} within {timeout:g} s", request=request
            ) from None
        except (OSError, ssl.SSLError) as exc:  # refused, unreachable, DNS, TLS handshake
            raise httpx.ConnectError(f"{host}:{port}: {exc}", request=request) from exc
        return conn

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()


def _has_unread(transport: asyncio.Transport) -> bool:
    """Whether the connection's socket has something to read (a close or stray bytes) while no
    request is out on it."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _request_bytes(request: httpx.Request, body: bytes) -> list[bytes]:
    """The request line, header block and body, ready for ``writelines``."""
    head = [request.method.encode("ascii"), b" ", request.url.raw_path, b" HTTP/1.1\r\n"]
    has_length = False
    for name, value in request.headers.raw:
        if _BAD_HEADER.search(name) or _BAD_HEADER.search(value):
            raise httpx.LocalProtocolError(
                f"a request header contains CR, LF or NUL: {name[:40]!r}", request=request
            )
        if name.lower() == b"content-length":
            has_length = True
        head += (name, b": ", value, b"\r\n")
    if body and not has_length:
        head += (b"Content-Length: ", str(len(body)).encode("ascii"), b"\r\n")
    head.append(b"\r\n")
    out = [b"".join(head)]
    if body:
        out.append(body)
    return out


def wire_transport(max_idle: int, max_body: int) -> WireTransport | None:
    """The transport for a client of ``max_idle`` concurrent requests; None when a proxy is
    configured in the environment (httpx's default transport then applies it)."""
    if any(scheme != "no" for scheme in urllib.request.getproxies()):
        return None
    return WireTransport(max_idle=max_idle, max_body=max_body)
