"""Listings: every page of a collection, following ``Link: <...>; rel="next"``, never cut short."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from reconciler.webex.answers import items_of
from reconciler.webex.errors import PaginationError

JSONDict = dict[str, Any]

# Parameters never re-added to a next-page link (the link's own paging wins).
PAGING_PARAMS = frozenset({"start", "cursor", "offset"})
# A listing longer than this is refused as a whole (a server looping through endless next-page links
# must not hang the run, and a truncated listing must never be planned on).
MAX_PAGES = 2_000


class Pager(Protocol):
    """What a listing needs of the client."""

    org_id: str | None
    max_pages: int

    async def request(self, method: str, path: str, *, params: Any = None) -> httpx.Response: ...

    def same_origin(self, url: httpx.URL) -> bool: ...

    def display_path(self, url: httpx.URL) -> str: ...


@dataclass
class Listing:
    """What a listing has read so far: its items (as ``each`` keeps them), pages and their URLs."""

    shown: str  # the endpoint, as errors name it
    items_key: str
    each: Callable[[JSONDict], JSONDict | None] | None
    items: list[JSONDict] = field(default_factory=list)
    count: int = 0  # items read (kept or not)
    pages: int = 0
    seen: set[str] = field(default_factory=set)  # the URLs of the pages read

    def add(self, resp: httpx.Response) -> list[JSONDict]:
        """Take one page's items; returns the page (every item, before ``each``)."""
        page = items_of(resp, self.items_key)
        self.pages += 1
        self.count += len(page)
        each = self.each
        self.items.extend(page if each is None else (kept for kept in map(each, page) if kept is not None))
        return page


async def paginate(
    client: Pager,
    path: str,
    wanted: dict[str, str],
    items_key: str,
    each: Callable[[JSONDict], JSONDict | None] | None = None,
) -> list[JSONDict]:
    """Every item of the listing at ``path`` with the query ``wanted`` (see ``WebexClient.paginate``);
    ``each``: what is kept of an item (None: nothing), page by page, as the pages arrive."""
    resp = await client.request("GET", path, params=wanted)
    listing = Listing(client.display_path(resp.request.url), items_key, each, seen={str(resp.request.url)})
    return await follow(client, listing, resp, listing.add(resp), wanted)


async def follow(
    client: Pager, listing: Listing, resp: httpx.Response, page: list[JSONDict], wanted: dict[str, str]
) -> list[JSONDict]:
    """The rest of a listing after ``resp`` (its ``page`` added already), each page after the
    previous one's next link; ``listing.items`` once there is no next page."""
    while True:
        next_url = next_link(resp)
        if not page or next_url is None:
            return listing.items
        key = next_page(client, listing, resp, next_url, wanted)
        resp = await client.request("GET", key)
        page = listing.add(resp)


def next_page(
    client: Pager, listing: Listing, resp: httpx.Response, next_url: str, wanted: dict[str, str]
) -> str:
    """The URL of the page after ``resp`` (noted as seen), or PaginationError: another host, a
    page read already (a loop), or more than ``max_pages`` pages."""
    key = _next_url(client, next_url, wanted, listing.shown, resp.status_code)
    problem = _refusal(client, key in listing.seen, listing.pages, listing.count)
    if problem:
        raise PaginationError("GET", listing.shown, resp.status_code, problem)
    listing.seen.add(key)
    return key


def _next_url(client: Pager, next_url: str, wanted: dict[str, str], shown: str, status: int) -> str:
    """The next page's URL, with the query parameters the server dropped from its link added back."""
    url = httpx.URL(next_url)
    if url.scheme not in ("http", "https") or not client.same_origin(url):
        raise PaginationError(
            "GET",
            shown,
            status,
            f"refusing to follow a next-page link to another host ({url.host or next_url})",
        )
    dropped = {k: v for k, v in wanted.items() if k not in url.params and k not in PAGING_PARAMS}
    if client.org_id and "orgId" not in url.params:
        dropped["orgId"] = client.org_id
    if dropped:
        url = url.copy_merge_params(dropped)
    return str(url)


def _refusal(client: Pager, seen: bool, pages: int, items: int) -> str | None:
    """Why the next page is not read: it was read already (a loop), or there are too many pages."""
    if seen:
        return (
            f"the next-page link of page {pages} leads back to a page already read "
            f"({items} items so far); refusing a listing that never ends"
        )
    if pages >= client.max_pages:
        return (
            f"the listing goes on past {client.max_pages} pages ({items} items so far); "
            "refusing to plan on a listing cut short"
        )
    return None


def next_link(resp: httpx.Response) -> str | None:
    link = resp.links.get("next")
    if not link:
        return None
    url = link.get("url")
    return url or None
