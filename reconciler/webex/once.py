"""Exactly-once creates and job starts when an answer is lost and listings lag behind.

A POST that creates something (a bulk job, a line key template, a background image) is never
sent blindly twice: a duplicate job is worse than a failed one. When its answer is lost (a 5xx,
a dropped connection, no answer in time) the POST may or may not have taken effect, and the API
lists a new object only after a while. So the object is looked for (``look_for``: matched by its
type and parameters) for a bounded time, ``listing_lag_s`` of the client (``--listing-lag``,
``DEFAULT_LISTING_LAG_S`` by default): found, it is adopted; still absent after an answer that
came back (a 5xx), the POST did not take effect and is sent again; still absent after no answer
at all, or when the listing cannot be read, the step fails with "may have started" instead of
risking a second one (a re-run finds it, or starts it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from reconciler.errors import ApiError
from reconciler.webex.errors import WebexApiError

__all__ = ["DEFAULT_LISTING_LAG_S", "POLL_S", "listing_lag", "look_for", "may_have_started"]

# How long the API may take to list a new object: long enough for the lag seen in practice
# (a few seconds) with a margin; ``--listing-lag`` changes it.
DEFAULT_LISTING_LAG_S = 15.0
POLL_S = 0.5  # between two listings while looking

T = TypeVar("T")


def listing_lag(client: Any) -> float:
    """The client's ``listing_lag_s`` (``DEFAULT_LISTING_LAG_S`` for a client without one)."""
    value = getattr(client, "listing_lag_s", DEFAULT_LISTING_LAG_S)
    return float(value) if isinstance(value, int | float) else DEFAULT_LISTING_LAG_S


async def look_for(
    find: Callable[[], Awaitable[list[T]]], window: float, cause: ApiError, what: str
) -> list[T]:
    """What ``find`` lists, once it lists anything, or [] after ``window`` seconds of listing
    nothing. A listing that fails is a "may have started" error for ``cause``."""
    deadline = time.monotonic() + max(0.0, window)
    while True:
        try:
            found = await find()
        except ApiError as exc:
            raise may_have_started(cause, what, window, f"its listing could not be read ({exc})") from None
        left = deadline - time.monotonic()
        if found or left <= 0:
            return found
        await asyncio.sleep(min(POLL_S, left))


def may_have_started(cause: ApiError, what: str, window: float, why: str = "") -> WebexApiError:
    """The error of a create or start that may have taken effect: never sent again."""
    detail = why or f"it was not listed within {window:g} s (--listing-lag)"
    return WebexApiError(
        cause.method,
        cause.path,
        cause.status,
        f"{cause.api_message}; the {what} may have started all the same: {detail}. It was not sent "
        "again (a duplicate is worse than a failed step): re-run apply to check and finish",
        cause.tracking_id,
        cause.attempts,
        ambiguous=True,
    )
