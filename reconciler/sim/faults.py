"""Fault injection (latency, token-bucket rate limit, injected errors, dropped connections) and counters."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx


class SimulatedDrop(httpx.RemoteProtocolError):
    """Raised by the app to drop a connection mid-response.

    In-process (``httpx.ASGITransport``) the client sees this ``httpx.TransportError`` subclass;
    under uvicorn the server closes the connection after the status line, so a real client sees
    a protocol error as well.
    """

    def __init__(self) -> None:
        super().__init__("simulated dropped connection")


class Stats:
    """Request counters served by ``GET /_sim/stats``."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests_total = 0
        self.requests_by_route: Counter[str] = Counter()
        self.requests_by_status: Counter[str] = Counter()
        self.writes_total = 0
        self.writes_by_route: Counter[str] = Counter()
        self.jobs_started_total = 0
        self.jobs_started_by_type: Counter[str] = Counter()
        self.rate_limited_total = 0
        self.errors_injected_total = 0
        self.errors_injected_by_status: Counter[str] = Counter()
        self.drops_total = 0
        self.auth_failures_total = 0
        self.latency_injected_ms_total = 0.0
        self.config_pushes_total = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "requests_total": self.requests_total,
            "requests_by_route": dict(sorted(self.requests_by_route.items())),
            "requests_by_status": dict(sorted(self.requests_by_status.items())),
            "writes_total": self.writes_total,
            "writes_by_route": dict(sorted(self.writes_by_route.items())),
            "jobs_started_total": self.jobs_started_total,
            "jobs_started_by_type": dict(sorted(self.jobs_started_by_type.items())),
            "rate_limited_total": self.rate_limited_total,
            "errors_injected_total": self.errors_injected_total,
            "errors_injected_by_status": dict(sorted(self.errors_injected_by_status.items())),
            "drops_total": self.drops_total,
            "auth_failures_total": self.auth_failures_total,
            "latency_injected_ms_total": round(self.latency_injected_ms_total, 3),
            "config_pushes_total": self.config_pushes_total,
        }


class Faults:
    """All faults are off by default; every attribute may be changed at run time by tests."""

    ERROR_STATUSES = (500, 502, 503)

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        latency_ms: float = 0.0,
        jitter_ms: float = 0.0,
        rate_limit: float | None = None,
        error_rate: float = 0.0,
        drop_rate: float = 0.0,
        seed: int | str = 0,
    ) -> None:
        self.clock = clock
        self.latency_ms = latency_ms
        self.jitter_ms = jitter_ms
        self.error_rate = error_rate
        self.drop_rate = drop_rate
        self.rng = random.Random(f"faults-{seed}")
        # Listing lag: a new job, template or image is listed only this many seconds after it was
        # made (GET by id finds it at once), as the real API's listings lag behind its writes.
        self.listing_lag_s = 0.0
        self._unlisted: dict[str, float] = {}  # key -> clock() from which it is listed
        self._rate_limit: float | None = None
        self._tokens = 0.0
        self._last = clock()
        self.rate_limit = rate_limit

    @property
    def rate_limit(self) -> float | None:
        return self._rate_limit

    @rate_limit.setter
    def rate_limit(self, value: float | None) -> None:
        if value is not None and value <= 0:
            raise ValueError("rate_limit must be positive (requests per second)")
        self._rate_limit = value
        self._tokens = self.capacity
        self._last = self.clock()

    @property
    def capacity(self) -> float:
        """Bucket size: one second's worth of requests, at least one."""
        return max(1.0, self._rate_limit or 0.0)

    def take_token(self) -> int | None:
        """None when the request may go on; else the Retry-After (whole seconds, at least 1)."""
        rate = self._rate_limit
        if rate is None:
            return None
        now = self.clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - self._tokens) / rate))

    def made(self, key: str) -> None:
        """A job, template or image ``key`` was just made: unlisted for ``listing_lag_s``."""
        if self.listing_lag_s > 0:
            self._unlisted[key] = self.clock() + self.listing_lag_s

    def listed(self, key: str) -> bool:
        """Whether ``key`` shows in its listing yet."""
        until = self._unlisted.get(key)
        if until is None:
            return True
        if self.clock() >= until:
            del self._unlisted[key]
            return True
        return False

    def delay_seconds(self) -> float:
        if self.latency_ms <= 0 and self.jitter_ms <= 0:
            return 0.0
        jitter = self.rng.uniform(-self.jitter_ms, self.jitter_ms) if self.jitter_ms > 0 else 0.0
        return max(0.0, self.latency_ms + jitter) / 1000.0

    def injected_error(self) -> int | None:
        if self.error_rate > 0 and self.rng.random() < self.error_rate:
            return self.rng.choice(self.ERROR_STATUSES)
        return None

    def drop(self) -> bool:
        return self.drop_rate > 0 and self.rng.random() < self.drop_rate
