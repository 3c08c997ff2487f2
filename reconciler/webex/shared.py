"""Identical GETs answered once while a block runs (``plan --baseline``: two plans, one live state).

``shared_reads(client)`` wraps ``client.request``: the first GET of a path (with its parameters)
goes out; every identical GET after it, or waiting for it, gets the same answer. A 10,000-device
``plan --baseline`` keeps ~30,000 answers from the first plan for the second, so each is kept
small: an ``Answer`` (status, the headers readers look at, the URL, the body: compressed for the
pages of a listing, equal bodies and headers stored once), not the ``httpx.Response`` it came in
(its request with every header, all headers, the stream: several KB each). A hit gets a light
``httpx.Response`` rebuilt from it. Once the second plan starts (``SharedReads.final``), an
answer is dropped as soon as it has been given again, and what only the second plan reads is
not kept.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NamedTuple

import httpx

if TYPE_CHECKING:
    from reconciler.webex.client import WebexClient

# The headers a reader of a 2xx answer looks at: its body's type, the next page of a listing, the
# server's tracking id (named in errors about the answer).
KEPT_HEADERS = frozenset({b"content-type", b"link", b"trackingid"})
# Bodies from this size on (the pages of a listing: up to 1,000 devices or people, ~1 MB each) are
# kept compressed: 6-8x smaller, for milliseconds of CPU a page. The rest (a device's members,
# layout or settings) are kept as they are: compressing 30,000 of them cost seconds of CPU to save
# a few MB.
COMPRESS_FROM = 64 * 1024


class Answer(NamedTuple):
    """A 2xx answer to a GET, as kept for the next identical GET."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    packed: bool  # ``body`` compressed (zlib)
    url: str  # as text: an ``httpx.URL`` costs 3x as much, and few readers of an answer look at it

    def response(self) -> httpx.Response:
        """The answer again: status, kept headers and body, already read (as ``webex.transport`` gives
        one); its request (GET, the URL, no headers) is made if someone asks for it."""
        body = zlib.decompress(self.body) if self.packed else self.body
        resp = _Again(self.status, headers=list(self.headers), stream=httpx.ByteStream(body))
        resp._content = body
        resp.url_text = self.url
        return resp


class _Again(httpx.Response):
    """An answer given again: its request is made when someone asks for it (few do)."""

    url_text = ""

    @property
    def request(self) -> httpx.Request:
        if self._request is None:
            self._request = httpx.Request("GET", self.url_text)
        return self._request

    @request.setter
    def request(self, value: httpx.Request) -> None:
        self._request = value


class Answers:
    """The kept answers' parts, each distinct one stored once: many devices answer alike (most
    devices of a model in a location have the same settings and layout)."""

    def __init__(self) -> None:
        self._bodies: dict[bytes, bytes] = {}
        self._headers: dict[tuple[bytes, bytes], tuple[bytes, bytes]] = {}

    def keep(self, resp: httpx.Response) -> Answer:
        raw = resp.content
        packed = len(raw) >= COMPRESS_FROM
        body = zlib.compress(raw, 1) if packed else self._bodies.setdefault(raw, raw)
        headers = tuple(
            self._headers.setdefault((k, v), (k, v)) for k, v in resp.headers.raw if k.lower() in KEPT_HEADERS
        )
        return Answer(resp.status_code, headers, body, packed, str(resp.request.url))


def read_key(method: str, path: str, kw: dict[str, Any]) -> str | None:
    """What identical GETs share (path and parameters); None for a request that is not shared (not a
    GET, a GET with a body or with another token)."""
    if method.upper() != "GET" or kw.get("token_override") or kw.get("json") is not None:
        return None
    params = sorted((str(k), str(v)) for k, v in (kw.get("params") or {}).items())
    return repr((path, params))


class SharedReads:
    """The answers of one ``shared_reads`` block: read key -> the read in flight, or its ``Answer``.

    ``final()``: the reads from then on are the last of the block (the second of two plans): an
    answer kept is dropped once it is given again, and an answer read then is shared only with
    the identical reads in flight at the same time, not kept."""

    def __init__(self, request: Callable[..., Awaitable[httpx.Response]]) -> None:
        self.answers: dict[str, asyncio.Task[httpx.Response] | Answer] = {}
        self.last = False
        self._original = request
        self._parts = Answers()

    def final(self) -> None:
        self.last = True

    async def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        key = read_key(method, path, kw)
        if key is None:
            return await self._original(method, path, **kw)
        known = self.answers.get(key)
        if isinstance(known, Answer):
            if self.last:
                del self.answers[key]
            return known.response()
        if known is None or (known.done() and (known.cancelled() or known.exception() is not None)):
            known = asyncio.ensure_future(self._original(method, path, **kw))
            self.answers[key] = known
            known.add_done_callback(lambda task: self._settled(key, task))
        return await asyncio.shield(known)

    def _settled(self, key: str, task: asyncio.Task[httpx.Response]) -> None:
        if self.answers.get(key) is not task:
            return
        if self.last or task.cancelled() or task.exception() is not None:
            del self.answers[key]  # (a failed or cancelled read is not kept: the next one goes out)
        else:
            self.answers[key] = self._parts.keep(task.result())


@contextmanager
def shared_reads(client: WebexClient) -> Iterator[SharedReads]:
    """While inside, identical GETs through ``client.request`` are answered once."""
    shared = SharedReads(client.request)
    try:
        attrs = vars(client)
    except TypeError:  # no instance dict: nothing shared, still correct
        yield shared
        return
    attrs["request"] = shared.request
    try:
        yield shared
    finally:
        attrs.pop("request", None)
