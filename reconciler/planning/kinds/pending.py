"""A lookup a plan reads while its resources' own reads go on: the people, found by email.

A plan of many devices lists the org's people (by email, for the devices' members) and its devices
(by MAC, for their ids) before any device is read. The device listing's pages go out together
(``reconciler.webex.offsets``) but the spec gives ``/people`` no offset: its pages follow each
other, one round trip each (100 pages at 100,000 people). A device needs the people only to compare
its members, after its reads: so the people are listed in the background (``start``), each device
is read at once, and a device read before they are known ``park``s the rest of its planning until
then, giving its place to the next device. Nothing is sent that would not be sent otherwise; the
requests only overlap. ``finish`` waits for what was parked; ``cancel`` ends what is left of it
when the plan stops early.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class Pending:
    """One background lookup and the planning parked until it is known."""

    def __init__(self) -> None:
        self._task: asyncio.Future[None] | None = None
        self._parked: list[asyncio.Future[None]] = []

    def start(self, lookup: Coroutine[Any, Any, None]) -> None:
        """Run ``lookup`` in the background (it fills the tables it looks up)."""
        self._task = asyncio.ensure_future(lookup)

    def ready(self) -> bool:
        """Whether the lookup is over (or was never started): ``known`` does not wait."""
        return self._task is None or self._task.done()

    async def known(self) -> None:
        """Wait for the lookup; its failure is raised here, to each who waits."""
        if self._task is not None:
            await asyncio.shield(self._task)

    def failure(self) -> BaseException | None:
        """The lookup's error if it has failed already (before what is failing now), else None."""
        task = self._task
        if task is None or not task.done() or task.cancelled():
            return None
        return task.exception()

    def park(self, rest: Coroutine[Any, Any, None]) -> None:
        """Run ``rest`` (which waits for ``known`` itself) after the caller has returned."""
        self._parked.append(asyncio.ensure_future(rest))

    async def finish(self) -> None:
        """Wait for everything parked, then for the lookup itself."""
        while self._parked:
            parked, self._parked = self._parked, []
            await asyncio.gather(*parked)
        await self.known()

    def cancel(self) -> None:
        """Stop the lookup and the parked planning (a plan that ends early, on an error)."""
        for future in [*self._parked, *([self._task] if self._task is not None else [])]:
            if not future.done():
                future.cancel()
            elif not future.cancelled():
                future.exception()  # retrieved: no "never retrieved" warning for a failure seen elsewhere
