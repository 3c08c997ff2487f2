"""The HTTP engine behind httpx: an ``httpx.AsyncBaseTransport`` over ``aiohttp.ClientSession``.

The client builds ``httpx.Request``s and reads ``httpx.Response``s; this adapter sends them with
aiohttp, whose HTTP/1.1 parser (llhttp, in C) frames every answer: no module of ours parses HTTP.
What the adapter adds is the contract the client relies on:

- **errors say whether the request may have reached the server.** Nothing sent (no connection,
  the proxy refused or could not be reached, the TLS handshake failed, the connect timeout):
  ``httpx.ConnectError`` / ``httpx.ConnectTimeout``, safe to send again. Anything once the
  request was handed to a connection (a malformed answer, a close mid-answer, the whole-exchange
  timeout): ``RemoteProtocolError``, ``ReadError`` or ``ReadTimeout``, which the client treats as
  ambiguous for a POST (never sent twice). Every failure is one of httpx's transport errors, with
  aiohttp's reason in words (no "internal error" from a malformed answer);
- **answers outside HTTP are refused**: a status outside 100-599 or an unrequested 1xx as the
  final answer, a ``Transfer-Encoding`` other than ``chunked``; aiohttp refuses the rest (chunk
  sizes that are not hex digits, ``Transfer-Encoding`` with ``Content-Length``, overflowing
  lengths, header lines over 8 KiB, corrupt gzip);
- **an answer over ``max_body`` bytes is refused while it arrives** (``BodyTooLarge``), counted
  after decoding (gzip, deflate): a compressed bomb is refused after ``max_body`` bytes of output;
- **the read timeout bounds the whole exchange** (connecting, sending, the whole answer), not each
  read: an answer trickling in a byte at a time cannot hold a request forever (every exchange's
  bound is kept by ``deadlines.Deadlines``, one timer for all of them);
- **a kept-alive connection is only reused when it is clean**: one that received bytes nobody
  asked for (an answer pushed by the server while it was idle) is closed instead of pairing that
  answer with the next request; before a POST (or any request that must not be sent twice) goes
  out on a kept-alive connection, its socket is probed for a close that arrived unread. Idle
  connections expire after ``KEEPALIVE_S``; aiohttp sends an idempotent request again once on a
  new connection when a kept-alive one turns out closed;
- **proxies from the environment** (``webex/proxies.py``) go through the same code: aiohttp
  tunnels https through an http(s) proxy and forwards http; a proxy that cannot be reached or
  refuses the tunnel is named in the error;
- **TLS** as httpx makes it (``httpx.create_ssl_context``: verification on, ``SSL_CERT_FILE`` /
  ``SSL_CERT_DIR`` honoured), made on first use of an https origin.

The answer is returned already read (``response.content`` is set). The session is made on first
use, in the running event loop.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import os
import re
import select
import ssl
from collections.abc import Mapping
from typing import Any

from reconciler.webex import _lean_aiohttp  # noqa: F401  (before aiohttp: see there)

# isort: split
import aiohttp
import httpx
from yarl import URL

from reconciler.webex.deadlines import Bound, Deadlines
from reconciler.webex.headers import byte_headers, triples
from reconciler.webex.proxies import Proxy, ProxyConfigError, proxy_for

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})
# An idle connection older than this is not reused (servers drop idle connections after a few
# seconds; httpx's default keep-alive expiry as well).
KEEPALIVE_S = 5.0
# Request headers that describe the framing: aiohttp frames the body itself (Content-Length).
_FRAMING = frozenset({b"content-length", b"transfer-encoding", b"connection", b"keep-alive", b"upgrade"})
# Content codings aiohttp decodes (their Content-Encoding / Content-Length describe the coded body).
_DECODED = frozenset({"gzip", "deflate", "br", "zstd"})
_NO_BODY_STATUS = frozenset({204, 304})
# Bytes asked of the socket per read. asyncio's plain socket transport asks 256 KiB: each read then
# allocates (and gives back) a buffer above glibc's mmap threshold, ~16 us of page faults and system
# calls on a 3 KB answer; 64 KiB costs ~4 us, and a 2 MB listing page still comes in 32 reads.
RECV_SIZE = 64 * 1024
# aiohttp timeouts kept for reuse, by (connect, total) seconds.
_TIMEOUTS_KEPT = 32
# Bytes a header name or value may not contain (request splitting).
_BAD_HEADER = re.compile(rb"[\r\n\x00]")
# The status aiohttp puts before a parse error's text ("400, message: ...": no server said 400).
_MADE_UP_STATUS = re.compile(r"^\d{3}, message:?\s*")
# A parse error's repr inside another's text: "<ContentLengthError: 400, message='Not enough ...'>".
_NESTED_ERROR = re.compile(r"<\w+: \d{3}, message=(['\"])(.*?)\1>")


class BodyTooLarge(Exception):
    """An answer over the transport's ``max_body`` bytes (``size`` is what was seen so far)."""

    def __init__(self, size: int, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        super().__init__(f"the answer is larger than allowed ({size} bytes or more)")
        self.size = size
        self.status = status
        self.headers = headers


class _Exchange:
    """What one request got to: ``sent`` once it was handed to a connection."""

    __slots__ = ("sent",)

    def __init__(self) -> None:
        self.sent = False


_EXCHANGE: contextvars.ContextVar[_Exchange | None] = contextvars.ContextVar(
    "reconciler_exchange", default=None
)


class _Connector(aiohttp.TCPConnector):
    """aiohttp's connector, with the checks a connection passes before a request goes out on it
    and the moment the request is handed over recorded (``_Exchange.sent``)."""

    async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:
        careful = req.method not in IDEMPOTENT
        for _ in range(4):
            conn = await super().connect(req, traces, timeout)
            proto = conn.protocol
            if proto is None or not _unclean(proto, careful):
                break
            conn.close()  # the next one comes from the pool or is new
        else:  # even new connections speak first: nothing is sent on them
            raise aiohttp.ClientConnectionError("the server sent bytes before any request; nothing was sent")
        transport: Any = proto.transport if proto is not None else None
        if transport is not None and getattr(transport, "max_size", 0) > RECV_SIZE:
            transport.max_size = RECV_SIZE  # (asyncio's socket transports read 256 KiB at a time)
        exchange = _EXCHANGE.get()
        if exchange is not None:
            exchange.sent = True
        return conn


def _unclean(proto: Any, careful: bool) -> bool:
    """Whether a connection must not carry a request: it holds an answer nobody asked for (aiohttp
    queues one pushed on an idle connection: ``should_close``; a part of one is dropped with the
    parser when the next request starts), or, for a request that must not be sent twice, its socket
    has something to read while no request is out on it (a close or stray bytes not processed yet)."""
    if proto.should_close:
        return True
    if not careful:
        return False
    transport = proto.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class EngineTransport(httpx.AsyncBaseTransport):
    """httpx's transport interface over aiohttp (see the module docstring). ``max_idle`` sizes the
    connection pool; ``max_body`` caps an answer's decoded size."""

    def __init__(
        self,
        *,
        max_idle: int = 32,
        max_body: int = 64 * 1024 * 1024,
        verify: ssl.SSLContext | bool = True,
        trust_env: bool = True,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.max_idle = max_idle
        self.max_body = max_body
        self._verify = verify
        self._trust_env = trust_env
        self._environ = environ
        self._ssl: ssl.SSLContext | None = verify if isinstance(verify, ssl.SSLContext) else None
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._deadlines: Deadlines | None = None
        self._proxies: dict[tuple[str, str, int], Proxy | None] = {}
        self._timeouts: dict[tuple[float | None, float | None], aiohttp.ClientTimeout] = {}
        self._closed = False

    # -- configuration ----------------------------------------------------------------------------

    def ssl_context(self) -> ssl.SSLContext:
        """The TLS context for https origins (made on first use: loading CA certificates is slow)."""
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context(self._verify, None, self._trust_env)
        return self._ssl

    def proxy_for(self, url: httpx.URL) -> Proxy | None:
        """The proxy the environment sets for ``url``'s origin (None: direct); ``ProxyConfigError``
        when the variable that applies cannot be used."""
        scheme = url.scheme
        port = url.port or (443 if scheme == "https" else 80)
        origin = (scheme, url.host, port)
        if origin not in self._proxies:
            if not self._trust_env:
                self._proxies[origin] = None
            else:
                environ = os.environ if self._environ is None else self._environ
                self._proxies[origin] = proxy_for(scheme, url.host, port, environ)
        return self._proxies[origin]

    def _client(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop:
            connector = _Connector(
                limit=max(100, 2 * self.max_idle), limit_per_host=0, keepalive_timeout=KEEPALIVE_S
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=None, connect=None, sock_read=None, sock_connect=None),
                auto_decompress=True,
                trust_env=False,  # proxies are resolved here, once per origin (proxy_for)
            )
            self._loop = loop
            self._deadlines = Deadlines(loop)
        return self._session

    def _timeout(self, connect: float | None, total: float | None) -> aiohttp.ClientTimeout:
        """aiohttp's timeouts: ``connect`` bounds waiting for a connection, ``total`` (only where
        ``deadlines.Deadlines`` cannot: outside a task) the whole exchange, the answer's body
        included (to the second: aiohttp would round a deadline past 5 s up to a whole second)."""
        timeout = self._timeouts.get((connect, total))
        if timeout is None:
            timeout = aiohttp.ClientTimeout(
                total=total, connect=connect, sock_read=None, sock_connect=None, ceil_threshold=math.inf
            )
            if len(self._timeouts) >= _TIMEOUTS_KEPT:  # (a last attempt's budget is what is left of
                self._timeouts.clear()  # its request's: one of a kind)
            self._timeouts[(connect, total)] = timeout
        return timeout

    # -- one exchange -----------------------------------------------------------------------------

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise httpx.ConnectError("the transport is closed", request=request)
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}", request=request)
        try:
            proxy = self.proxy_for(url)
        except ProxyConfigError as exc:
            raise httpx.ConnectError(str(exc), request=request) from None
        body = await _request_body(request)
        return await self.send(request, _headers_of(request), target_of(url), proxy, body)

    async def send(
        self,
        request: httpx.Request,
        headers: list[tuple[str, str]],
        target: URL,
        proxy: Proxy | None,
        body: bytes = b"",
    ) -> httpx.Response:
        """``request`` sent as ``handle_async_request`` sends it, its parts for aiohttp already
        made by the caller: ``headers`` as ``plain_headers`` gives them (without framing headers,
        checked for request splitting), ``target`` its URL, ``proxy`` what ``proxy_for`` gives for
        its origin, ``body`` its whole body. The client's plain GET comes this way (its fixed
        headers converted and checked once, not per request: ~4% of a request's instructions)."""
        if self._closed:
            raise httpx.ConnectError("the transport is closed", request=request)
        url = request.url
        timeouts = request.extensions.get("timeout") or {}
        budget: float | None = timeouts.get("read")
        exchange = _Exchange()
        token = _EXCHANGE.set(exchange)
        bound: Bound | None = None
        try:
            session, deadlines = self._client(), self._deadlines
            if budget is not None and deadlines is not None:
                bound = deadlines.bound(budget)  # (one timer for every exchange in flight)
            resp = await session.request(
                request.method,
                target,
                headers=headers,
                data=body or None,
                allow_redirects=False,
                proxy=proxy.url if proxy is not None else None,
                ssl=self.ssl_context() if url.scheme == "https" else True,
                timeout=self._timeout(timeouts.get("connect"), budget if bound is None else None),
            )
            try:
                return await self._answer(request, resp)
            except BaseException:
                resp.close()  # cancelled or refused mid-answer: the connection's state is unknown
                raise
        except (BodyTooLarge, httpx.TransportError):
            raise
        except asyncio.CancelledError:
            if bound is not None and bound.timed_out():
                raise _timed_out(request, proxy, exchange.sent, timeouts) from None
            raise
        except TimeoutError as exc:
            connecting = isinstance(exc, aiohttp.ConnectionTimeoutError) or not exchange.sent
            raise _timed_out(request, proxy, not connecting, timeouts) from None
        except Exception as exc:  # aiohttp's errors, and anything else a broken answer causes
            raise _transport_error(exc, exchange.sent, request, proxy) from exc
        finally:
            if bound is not None:
                bound.end()
            _EXCHANGE.reset(token)

    async def _answer(self, request: httpx.Request, resp: aiohttp.ClientResponse) -> httpx.Response:
        status = resp.status
        if not 200 <= status <= 599:
            # below 100 is no HTTP status; a 1xx is interim, never the answer (101 would switch
            # the connection to another protocol)
            raise httpx.RemoteProtocolError(f"malformed answer: status {status:03d}", request=request)
        resp_headers = resp.headers
        coding = resp_headers.get("Transfer-Encoding")
        if coding is not None and coding.strip().lower() != "chunked":
            raise httpx.RemoteProtocolError(
                f"malformed answer: unsupported Transfer-Encoding {coding[:40]!r}", request=request
            )
        raw = list(resp.raw_headers)
        encoding = resp_headers.get("Content-Encoding", "").strip().lower()
        decoded = encoding in _DECODED
        if request.method == "HEAD" or status in _NO_BODY_STATUS:
            body = b""
        else:
            body = await _read_capped(resp, self.max_body, decoded, raw)
        if not resp.closed:  # (a body read to its end has given its connection back already)
            resp.release()
        if decoded:
            raw = [(k, v) for k, v in raw if k.lower() not in (b"content-encoding", b"content-length")]
        version = resp.version
        response = httpx.Response(
            status,
            headers=byte_headers(raw),
            stream=httpx.ByteStream(body),
            request=request,
            extensions={
                "http_version": b"HTTP/1.0" if version is not None and version.minor == 0 else b"HTTP/1.1",
                "reason_phrase": (resp.reason or "").encode("latin-1", "replace"),
            },
        )
        # already read: what ``aread()`` would store, without going through its stream (the body
        # is decoded here, so httpx's decoders have nothing to do)
        response._content = body
        return response

    async def aclose(self) -> None:
        self._closed = True
        if self._deadlines is not None:
            self._deadlines.close()
        session, self._session = self._session, None
        if session is not None and self._loop is asyncio.get_running_loop():
            await session.close()


def _timed_out(
    request: httpx.Request, proxy: Proxy | None, sent: bool, timeouts: Mapping[str, float | None]
) -> httpx.TimeoutException:
    """The time-out of an exchange: ``ConnectTimeout`` while nothing was sent (safe to send again),
    else ``ReadTimeout`` (the server may have the request)."""
    url = request.url
    if not sent:
        host = f"{url.host}:{url.port or (443 if url.scheme == 'https' else 80)}"
        via = f" through {proxy.describe()}" if proxy is not None else ""
        seconds = timeouts.get("connect")
        limit = f" within {seconds:g} s" if seconds is not None else ""
        return httpx.ConnectTimeout(f"no connection to {host}{via}{limit}", request=request)
    budget = timeouts.get("read")
    limit = f" within {budget:g} s" if budget is not None else ""
    return httpx.ReadTimeout(f"no complete answer{limit}", request=request)


def target_of(url: httpx.URL) -> URL:
    """``url`` for aiohttp exactly as httpx quoted it (built from its parts: parsing the string
    again costs ~5 us a request, since every URL of a plan differs)."""
    path, _, query = url.raw_path.decode("ascii").partition("?")
    authority = url.netloc.decode("ascii")
    return URL.build(scheme=url.scheme, authority=authority, path=path, query_string=query, encoded=True)


def _headers_of(request: httpx.Request) -> list[tuple[str, str]]:
    """The request's headers for aiohttp (``plain_headers``)."""
    try:
        return plain_headers(triples(request.headers))
    except ValueError as exc:
        raise httpx.LocalProtocolError(str(exc), request=request) from None


def plain_headers(found: list[tuple[bytes, bytes, bytes]]) -> list[tuple[str, str]]:
    """Headers as ``(name, lowercase name, value)`` bytes, for aiohttp: without those about
    framing; ``ValueError`` for a header with CR, LF or NUL (request splitting), before anything
    is sent."""
    if _BAD_HEADER.search(b" ".join([part for name, _, value in found for part in (name, value)])):
        bad = next(n for n, _, v in found if _BAD_HEADER.search(n) or _BAD_HEADER.search(v))
        raise ValueError(f"a request header contains CR, LF or NUL: {bad[:40]!r}")
    return [
        (name.decode("latin-1"), value.decode("latin-1")) for name, low, value in found if low not in _FRAMING
    ]


async def _request_body(request: httpx.Request) -> bytes:
    """The whole request body (aiohttp frames it with a Content-Length)."""
    stream = request.stream
    if type(stream) is httpx.ByteStream:  # (no ABC check: the usual case)
        return b"".join(stream)
    try:
        return request.content
    except httpx.RequestNotRead:
        return await request.aread()


async def _read_capped(
    resp: aiohttp.ClientResponse, cap: int, decoded: bool, raw: list[tuple[bytes, bytes]]
) -> bytes:
    """The answer's (decoded) body, refused once it passes ``cap`` bytes."""
    content = resp.content
    if not decoded:
        length = resp.content_length
        if length is not None and length > cap:
            raise BodyTooLarge(length, resp.status, raw)
    if content.is_eof():  # the whole body is here already (a small answer in one segment)
        body = content.read_nowait()
        if len(body) > cap:
            raise BodyTooLarge(len(body), resp.status, raw)
        return body
    parts: list[bytes] = []
    size = 0
    while chunk := await content.readany():
        size += len(chunk)
        if size > cap:
            raise BodyTooLarge(size, resp.status, raw)
        parts.append(chunk)
    return b"".join(parts)


def _reason(exc: BaseException) -> str:
    """aiohttp's reason for ``exc`` in one line: its message (the text of its ``ClientResponseError``
    starts with a made-up status 400 and ends with the URL), with the quoted bytes it points at."""
    message = getattr(exc, "message", None)  # ClientResponseError, aiohttp's HttpProcessingError
    if isinstance(message, str) and message.strip():
        text = message
    else:
        parts = [_reason(a) if isinstance(a, BaseException) else str(a) for a in exc.args]
        text = ": ".join(p for p in parts if p) or type(exc).__name__
    words = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("^"):
            break  # aiohttp's caret under the offending byte
        if line:
            words.append(line.rstrip(":"))
    line = _NESTED_ERROR.sub(r"\2", _MADE_UP_STATUS.sub("", ": ".join(words)))
    return line[:200] or type(exc).__name__


def _transport_error(
    exc: Exception, sent: bool, request: httpx.Request, proxy: Proxy | None
) -> httpx.TransportError:
    """The httpx error for what aiohttp (or a broken answer) raised."""
    url = request.url
    host = f"{url.host}:{url.port or (443 if url.scheme == 'https' else 80)}"
    error: httpx.TransportError
    if isinstance(exc, aiohttp.ClientHttpProxyError) and proxy is not None:
        error = httpx.ConnectError(
            f"{proxy.describe()} refused the tunnel to {host}: {exc.status} {_reason(exc)}"
        )
    elif isinstance(exc, aiohttp.ClientProxyConnectionError) and proxy is not None:
        error = httpx.ConnectError(f"cannot reach {proxy.describe()}: {_os_reason(exc)}")
    elif isinstance(exc, aiohttp.ClientConnectorCertificateError):
        error = httpx.ConnectError(f"{host}: {exc.certificate_error}")
        error.__cause__ = exc.certificate_error
    elif isinstance(exc, aiohttp.ClientConnectorError):
        error = httpx.ConnectError(f"{host}: {_os_reason(exc)}")
    elif not sent:
        error = httpx.ConnectError(f"{host}: {type(exc).__name__}: {_reason(exc)}")
    elif isinstance(exc, aiohttp.ServerDisconnectedError):
        error = httpx.RemoteProtocolError("the server closed the connection before a complete answer")
    elif isinstance(exc, (aiohttp.ClientResponseError, aiohttp.ClientPayloadError)):
        error = httpx.RemoteProtocolError(f"malformed answer: {_reason(exc)}")
    elif isinstance(exc, OSError):
        error = httpx.ReadError(f"the connection failed: {_reason(exc)}")
    else:
        error = httpx.RemoteProtocolError(f"unusable answer ({type(exc).__name__}: {_reason(exc)})")
    error.request = request
    return error


def _os_reason(exc: aiohttp.ClientConnectorError) -> str:
    os_error = exc.os_error
    return os_error.strerror or str(os_error) or type(os_error).__name__


def engine_transport(max_idle: int, max_body: int, base_url: str | None = None) -> EngineTransport:
    """The client's transport; with ``base_url``, a proxy variable that applies to it but cannot be
    used is refused now (``ProxyConfigError``), before any request."""
    transport = EngineTransport(max_idle=max_idle, max_body=max_body)
    if base_url is not None:
        transport.proxy_for(httpx.URL(base_url))
    return transport
