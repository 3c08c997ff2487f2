"""One exchange on the wire: the request as httpx would build it, sent, and its whole answer read
within a time budget and a size cap. Retries and their decision are the client's (``client.py``,
``retry.py``)."""

from __future__ import annotations

import asyncio
import functools
import json as json_module
from typing import Any

import httpx

from reconciler.webex.failures import AnswerTooLarge
from reconciler.webex.headers import byte_headers
from reconciler.webex.transport import BodyTooLarge

Headers = list[tuple[bytes, bytes]]

# Methods whose empty body is announced with ``Content-Length: 0`` (as httpx does).
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# JSON request bodies exactly as httpx encodes them (compact, UTF-8, no NaN/Infinity).
_json_dumps = functools.partial(json_module.dumps, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


class _NoCookies(httpx.Cookies):
    """A cookie jar that keeps nothing: the API authenticates by bearer token, and httpx would
    otherwise parse every answer's headers for cookies (a urllib request/response shim each)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class ApiHttp(httpx.AsyncClient):
    """``httpx.AsyncClient`` without cookie handling."""

    _jar = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._jar

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        if cookies:
            raise ValueError("the Webex client keeps no cookies")


def build_request(
    method: str,
    url: httpx.URL,
    fixed: Headers,
    timeouts: dict[str, Any],
    token: str,
    tracking_id: str,
    body: tuple[Any, Any, Any],
) -> httpx.Request:
    """The request as httpx would build it, made directly for the usual case (no body or a JSON
    one): its headers are ASCII (the token is checked to be), its body is encoded once.
    ``fixed``: the headers of every request; ``body``: its json, files and data."""
    json, files, data = body
    headers = [
        *fixed,
        (b"Authorization", b"Bearer " + token.encode("ascii")),
        (b"TrackingID", tracking_id.encode("ascii")),
    ]
    if files is not None or data is not None:
        return httpx.Request(
            method, url, headers=headers, files=files, data=data, extensions={"timeout": timeouts}
        )
    content = b""
    if json is not None:
        content = _json_dumps(json).encode("utf-8")
        headers.append((b"Content-Length", str(len(content)).encode("ascii")))
        headers.append((b"Content-Type", b"application/json"))
    elif method in _BODY_METHODS:
        headers.append((b"Content-Length", b"0"))
    return httpx.Request(
        method,
        url,
        headers=byte_headers(headers, "ascii"),
        stream=httpx.ByteStream(content),
        extensions={"timeout": timeouts},
    )


async def exchange(
    transport: httpx.AsyncBaseTransport, req: httpx.Request, budget: float, *, max_bytes: int
) -> httpx.Response:
    """Send ``req`` through a transport other than the engine (a mock, ASGI, httpx's own) and read
    its whole answer, all within ``budget`` seconds (httpx's own transports bound each read alone:
    a body trickling a byte a second would never time out). More than ``max_bytes``:
    AnswerTooLarge. (The engine, ``transport.py``, reads, caps and bounds the whole answer itself:
    the client awaits it directly, ``too_large`` turning its refusal into ours.)"""
    try:
        async with asyncio.timeout(budget):
            resp = await transport.handle_async_request(req)
            resp.request = req
            try:
                await _read_capped(resp, max_bytes)
            finally:
                await resp.aclose()
    except TimeoutError:
        raise httpx.ReadTimeout(f"no complete answer within {budget:g} s", request=req) from None
    return resp


def too_large(exc: BodyTooLarge) -> AnswerTooLarge:
    """The engine's refusal of an answer over its cap, as the client reports it."""
    return AnswerTooLarge(exc.size, exc.status, _header(exc.headers, b"trackingid"))


def tracking_id_of(resp: httpx.Response) -> str | None:
    """The answer's ``TrackingID`` header, or None."""
    value = resp.headers.get("TrackingID")
    return str(value) if value else None


def _header(headers: Headers, name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1") or None
    return None


async def _read_capped(resp: httpx.Response, limit: int) -> None:
    """Read the body of a streamed response into it (as ``aread`` does), refusing more than ``limit``."""
    declared = resp.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise AnswerTooLarge(int(declared), resp.status_code, tracking_id_of(resp))
    parts: list[bytes] = []
    size = 0
    async for part in resp.aiter_bytes():
        size += len(part)
        if size > limit:
            raise AnswerTooLarge(size, resp.status_code, tracking_id_of(resp))
        parts.append(part)
    resp._content = b"".join(parts)
