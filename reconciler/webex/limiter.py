"""Adaptive concurrency (AIMD): how many requests one client keeps in flight.

The limit starts moderate and grows by about one slot per limit's worth of fast, successful
answers (additive increase); a 429 halves it (multiplicative decrease), once per window: the 429s
of requests sent before the last cut do not cut again (they answer for the old, higher load).
It never exceeds ``maximum`` (``--concurrency`` / the Policy) nor goes below one.

"Fast" is measured against the lowest latency seen lately: an answer more than twice as slow (plus
a small slack) does not grow the limit, since more requests in flight would only queue at the
server.
"""

from __future__ import annotations

import asyncio
from collections import deque

START_LIMIT = 8
# The most requests in flight when neither ``--concurrency`` nor the Policy says: a ceiling, not a
# setting (the limit starts at START_LIMIT and only grows while answers are fast and free of 429s).
# 16 could not keep 300 requests/s going at 50 ms of latency (a 10,000-device plan: 1.08x its floor
# at 16, 1.04x at 32, with the 429s the adaptation costs).
DEFAULT_CONCURRENCY = 32
_SLOW_FACTOR = 2.0
_SLOW_SLACK_S = 0.010
_FLOOR_DRIFT = 0.002  # how fast the latency floor follows slower answers upwards (~500 answers)


class AdaptiveLimit:
    """A semaphore whose size moves between 1 and ``maximum`` (AIMD). Not thread-safe (one loop)."""

    def __init__(self, maximum: int, start: int = START_LIMIT) -> None:
        if maximum < 1:
            raise ValueError("maximum must be at least 1")
        self.maximum = maximum
        self._limit = float(max(1, min(maximum, start)))
        self.in_flight = 0
        self.epoch = 0  # bumped by each cut
        self.cuts = 0
        self.lowest = int(self._limit)  # the lowest limit reached (reported in stats)
        self._floor_s: float | None = None
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def limit(self) -> int:
        return int(self._limit)

    def free(self) -> bool:
        """Whether ``take`` may be called: a slot is free and nobody waits for one."""
        return self.in_flight < self._limit and not self._waiters

    def take(self) -> int:
        """Take a free slot (``free()`` said so) without waiting; the epoch, as ``acquire``."""
        self.in_flight += 1
        return self.epoch

    async def acquire(self) -> int:
        """Wait for a free slot; returns the epoch to hand back to ``on_throttled``."""
        if self.free():
            return self.take()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            await future
        except BaseException:
            if future.done() and not future.cancelled():
                self.release()  # a slot was handed to us just as we were cancelled
            elif future in self._waiters:
                self._waiters.remove(future)
            raise
        return self.epoch

    def release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def on_success(self, elapsed_s: float) -> None:
        """An answer that was not a refusal: grow the limit when it came fast."""
        floor = self._floor_s
        if floor is None or elapsed_s < floor:
            self._floor_s = floor = elapsed_s
        else:
            self._floor_s = floor + (elapsed_s - floor) * _FLOOR_DRIFT
        if self._limit < self.maximum and elapsed_s <= floor * _SLOW_FACTOR + _SLOW_SLACK_S:
            self._limit = min(float(self.maximum), self._limit + 1.0 / self._limit)
            self._wake()

    def on_throttled(self, epoch: int) -> bool:
        """A 429 for a request sent in ``epoch``: halve the limit unless it was cut since then."""
        if epoch != self.epoch:
            return False
        self.epoch += 1
        self.cuts += 1
        self._limit = max(1.0, self._limit / 2)
        self.lowest = min(self.lowest, int(self._limit))
        return True

    def _wake(self) -> None:
        """Hand free slots to the waiters, first come first served."""
        while self._waiters and self.in_flight < self._limit:
            future = self._waiters.popleft()
            if not future.done():  # a cancelled waiter is skipped
                self.in_flight += 1
                future.set_result(None)
