"""What the client keeps about its requests: the counters of a run, one request through its
attempts, and what one attempt got."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from reconciler.webex.failures import AnswerTooLarge
from reconciler.webex.retry import IDEMPOTENT_METHODS
from reconciler.webex.urls import relative_path


@dataclass
class ClientStats:
    """Counters of what the client did (``client.stats``)."""

    requests: int = 0  # attempts sent (each retry counts)
    retries: int = 0
    rate_limited: int = 0  # 429 answers
    locked: int = 0  # 423 answers
    transport_errors: int = 0
    refreshes: int = 0
    waited_s: float = 0.0  # time requests spent waiting on the shared back-off gate
    by_status: Counter[int] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "retries": self.retries,
            "rate_limited": self.rate_limited,
            "locked": self.locked,
            "transport_errors": self.transport_errors,
            "refreshes": self.refreshes,
            "waited_s": round(self.waited_s, 3),
            "by_status": dict(sorted(self.by_status.items())),
        }


@dataclass(slots=True)
class Call:
    """One request through its attempts (the counts the retry decision needs)."""

    method: str
    url: httpx.URL
    base_path: str  # the base URL's path (decoded), without a trailing slash
    request_id: str  # unique per request (a uuid4 each costs more)
    retry_post: bool
    token_override: str | None
    body: tuple[Any, Any, Any]  # json, files, data
    deadline: float = 0.0  # the retry budget runs from the first attempt (not from the queue)
    attempt: int = 0
    failures: int = 0  # 5xx answers and transport errors (bounded by max_attempts); 429/423 are not
    timeouts: int = 0  # attempts without an answer in time (bounded by MAX_SILENT_ATTEMPTS)
    refreshed: bool = False

    @property
    def idempotent(self) -> bool:
        return self.method in IDEMPOTENT_METHODS or self.retry_post

    @property
    def shown(self) -> str:
        """The path relative to the base URL, without query (what errors and logs show)."""
        return relative_path(self.url, self.base_path)

    @property
    def tracking_id(self) -> str:
        return f"RECONCILER_{self.request_id}_{self.attempt - 1}"


@dataclass(slots=True)
class Tried:
    """What one attempt got: an answer, a transport failure, or an answer too large to read."""

    epoch: int  # the limiter's, when the attempt got its slot
    token: str = ""
    elapsed: float = 0.0
    response: httpx.Response | None = None
    failure: httpx.TransportError | None = None
    too_large: AnswerTooLarge | None = None
