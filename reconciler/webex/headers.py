"""``httpx.Headers`` made from byte pairs in one step, and read back as byte triples.

httpx normalizes every header it is given (a type check and an encode for the name and for the
value, a lowercase copy, behind an ABC ``isinstance`` test of the whole argument): about 11 header
normalizations per request and answer, 4-5 us of a request's CPU. The client builds its request
headers as ASCII bytes itself, and aiohttp hands answers over as bytes: neither needs it.
``byte_headers`` sets the parsed form httpx keeps (``(name, lowercase name, value)`` triples)
directly, and ``triples`` reads it back, when ``FAST`` (checked once, at import, against httpx's
own constructor: a change inside httpx falls back to the public constructor, never to wrong headers).
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx

Triple = tuple[bytes, bytes, bytes]


def _fast(pairs: Iterable[tuple[bytes, bytes]], encoding: str | None) -> httpx.Headers:
    headers = httpx.Headers.__new__(httpx.Headers)
    headers._list = [(name, name.lower(), value) for name, value in pairs]
    headers._encoding = encoding
    return headers


def _works() -> bool:
    """Whether ``_fast`` gives the headers httpx's own constructor gives."""
    pairs = [(b"Accept", b"application/json"), (b"X-Twice", b"1"), (b"x-TWICE", b"2")]
    try:
        for encoding, last in (("ascii", b"Bearer t0ken"), (None, b"caf\xe9")):
            given = [*pairs, (b"X-Last", last)]
            fast, slow = _fast(given, encoding), httpx.Headers(given, encoding=encoding)
            if fast._list != slow._list or fast.raw != slow.raw or fast != slow:
                return False
            if fast.multi_items() != slow.multi_items() or fast.get_list("x-twice") != ["1", "2"]:
                return False
            if encoding is None and fast.encoding != slow.encoding:
                return False
            copied = httpx.Headers(fast)
            copied["accept"] = "text/plain"
            if copied.raw == fast.raw or fast["Accept"] != "application/json":
                return False
        return True
    except Exception:  # httpx's internals changed
        return False


FAST = _works()


def byte_headers(pairs: Iterable[tuple[bytes, bytes]], encoding: str | None = None) -> httpx.Headers:
    """Headers from ``(name, value)`` byte pairs, as ``httpx.Headers(pairs, encoding=encoding)``."""
    if FAST:
        return _fast(pairs, encoding)
    return httpx.Headers(list(pairs), encoding=encoding)


def triples(headers: httpx.Headers) -> list[Triple]:
    """``(name, lowercase name, value)`` of every header, in order, as bytes."""
    if FAST:
        found: list[Triple] = headers._list
        return found
    return [(name, name.lower(), value) for name, value in headers.raw]
