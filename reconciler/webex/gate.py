"""The shared back-off gate of 429/423 answers, and the ``Retry-After`` they carry."""

from __future__ import annotations

import asyncio
import email.utils
import time

import httpx


class BackoffGate:
    """A moment before which no request may be sent, shared by every task of one client.

    A 429/423 with ``Retry-After: N`` moves it to now+N (never earlier than it already is), so the
    whole client slows down, not only the task that was refused.
    """

    def __init__(self) -> None:
        self._until = 0.0

    @property
    def until(self) -> float:
        return self._until

    def closed(self) -> bool:
        """Whether a request must wait now (``wait`` would sleep)."""
        return self._until > time.monotonic()

    def push(self, delay: float) -> None:
        self._until = max(self._until, time.monotonic() + delay)

    async def wait(self) -> float:
        """Sleep until the gate is open; returns the seconds waited."""
        waited = 0.0
        while (delay := self._until - time.monotonic()) > 0:
            await asyncio.sleep(delay)
            waited += delay
        return waited


def retry_after(resp: httpx.Response) -> float | None:
    """The answer's ``Retry-After`` in seconds (a number or an HTTP date; never below 0), or None."""
    value = resp.headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
