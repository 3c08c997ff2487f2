"""Listings paged by offset (``start`` and ``max``, as the spec documents them for ``GET /devices``),
read a few pages at a time when the caller knows about how many items there are.

Following each page's next link costs a round trip per page, one after the other: at 50 ms of
latency the 100 pages of a 100,000-device org take 8 s or more, while every request slot but one
idles. When the first page's next link shows that the server pages by offset (the same path and
query, ``start`` = the items read so far, ``max`` = the page's size), the pages up to ``expected``
items are asked for ``WINDOW`` at a time and taken in order; the listing goes on by next links
past them. It is never cut short: each page's own next link must lead where the next page was
asked for (else the rest is read by links from that page, as ``pages.paginate`` reads it), and it
ends where a page is empty or has no next link, as there. Asked for ahead of the end: at most
``WINDOW - 1`` pages beyond it, and only when the org holds fewer items than ``expected``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterator

import httpx

from reconciler.webex.pages import JSONDict, Listing, Pager, follow, next_link, next_page

WINDOW = 8  # pages asked for at once


async def paginate_by_offset(
    client: Pager,
    path: str,
    wanted: dict[str, str],
    items_key: str,
    each: Callable[[JSONDict], JSONDict | None] | None,
    expected: int,
) -> list[JSONDict]:
    """Every item of the listing at ``path`` (as ``pages.paginate``); ``expected``: how many items
    the caller expects, which sets how many pages may be asked for before their links are read."""
    resp = await client.request("GET", path, params=wanted)
    listing = Listing(client.display_path(resp.request.url), items_key, each, seen={str(resp.request.url)})
    page = listing.add(resp)
    link = next_link(resp)
    if not page or link is None:
        return listing.items
    size = len(page)
    key = next_page(client, listing, resp, link, wanted)
    starts = range(size, expected, size)
    if len(starts) < 2 or 1 + len(starts) > client.max_pages or not _next_offset(key, resp, size, size):
        resp = await client.request("GET", key)
        return await follow(client, listing, resp, listing.add(resp), wanted)
    urls = iter([key, *(str(httpx.URL(key).copy_set_param("start", str(s))) for s in starts[1:])])
    return await _windows(client, listing, urls, size, wanted)


async def _windows(
    client: Pager, listing: Listing, urls: Iterator[str], size: int, wanted: dict[str, str]
) -> list[JSONDict]:
    """The pages at ``urls`` (``WINDOW`` in flight), in order; then the rest by next links."""
    pending: deque[tuple[str, asyncio.Task[httpx.Response]]] = deque()

    def ask() -> None:
        url = next(urls, None)
        if url is not None:
            pending.append((url, asyncio.ensure_future(client.request("GET", url))))

    for _ in range(WINDOW):
        ask()
    try:
        while pending:
            url, answer = pending.popleft()
            resp = await answer
            listing.seen.add(url)
            page = listing.add(resp)
            link = next_link(resp)
            if not page or link is None:
                return listing.items
            if len(page) != size or not _next_offset(link, resp, listing.count, size):
                break  # not the offsets asked for: the rest from this page's own link
            ask()
        return await follow(client, listing, resp, page, wanted)
    finally:
        for _, task in pending:
            task.cancel()
        await asyncio.gather(*(task for _, task in pending), return_exceptions=True)


def _next_offset(link: str, resp: httpx.Response, start: int, size: int) -> bool:
    """Whether ``link`` is ``resp``'s own request at ``start`` (``max`` = ``size``): offset paging."""
    url, asked = httpx.URL(link), resp.request.url
    if url.path != asked.path or url.params.get("start") != str(start) or url.params.get("max") != str(size):
        return False
    rest = {k: v for k, v in url.params.multi_items() if k not in ("start", "max")}
    return rest == {k: v for k, v in asked.params.multi_items() if k not in ("start", "max")}
