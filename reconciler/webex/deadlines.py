"""The whole-exchange time bound of every request in flight, kept with one timer for all of them.

aiohttp bounds a request's whole exchange (``ClientTimeout.total``) with a timer of its own per
request: a handle pushed on the event loop's heap and cancelled when the answer is read, a
context around the exchange, a callback on the connection. That is ~25,000 instructions of a
request's ~495,000 (callgrind, ``benchmarks/client_cpu.py``). A plan's requests all get the same
bound and start in the order they end, so one timer serves them all: each exchange goes on a heap
by its deadline, and the timer is set for the earliest deadline only. When it fires, the exchanges
that are over leave the heap, those past their deadline are stopped, and the timer is set again for
the earliest exchange still in flight: once per bound or so, instead of once per request.

Stopping an exchange works as ``asyncio.timeout`` does: its task is cancelled, and the exchange
turns that cancellation, and only that one, into its time-out (``Bound.expired``), uncancelling the
task. A cancellation from elsewhere at the same time stays a cancellation.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math


class Bound:
    """One exchange's deadline: ``over`` once it ended (however), ``expired`` once its deadline
    stopped it (its task cancelled), ``settled`` once that cancellation was taken back."""

    __slots__ = ("cancelling", "expired", "over", "settled", "task")

    def __init__(self, task: asyncio.Task[object]) -> None:
        self.task: asyncio.Task[object] | None = task  # (let go when the exchange ends)
        self.cancelling = task.cancelling()
        self.over = False
        self.expired = False
        self.settled = False

    def end(self) -> None:
        """The exchange ended: its deadline no longer applies (a cancellation of its own that did not
        reach it is taken back, as ``asyncio.timeout`` does)."""
        self.over = True
        if self.expired and not self.settled and self.task is not None:
            self.settled = True
            self.task.uncancel()
        self.task = None  # (the bound stays on the heap until the timer reaches it; its task need not)

    def timed_out(self) -> bool:
        """Whether a cancellation the exchange got is its own time-out (then taken back: the task
        goes on, to raise the time-out instead)."""
        if not self.expired or self.task is None:
            return False
        self.settled = True
        return self.task.uncancel() <= self.cancelling


class Deadlines:
    """The deadlines of the exchanges in flight on one event loop (``loop.time()`` clock)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._heap: list[tuple[float, int, Bound]] = []
        self._order = itertools.count()  # (equal deadlines never compare their bounds)
        self._timer: asyncio.TimerHandle | None = None
        self._when = math.inf

    def bound(self, seconds: float) -> Bound | None:
        """A bound of ``seconds`` from now for the exchange the current task runs (None outside a
        task: nothing to stop)."""
        task = asyncio.current_task(self._loop)
        if task is None:
            return None
        bound = Bound(task)
        when = self._loop.time() + seconds
        heapq.heappush(self._heap, (when, next(self._order), bound))
        if when < self._when:
            self._arm(when)
        return bound

    def pending(self) -> int:
        """Exchanges on the heap (over or not: those over leave it when the timer fires)."""
        return len(self._heap)

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(when, self._fire)
        self._when = when

    def _fire(self) -> None:
        # due: what was due when the timer was set for it (the loop may run a timer a clock tick
        # early: no firing again and again until the clock reaches it)
        due = max(self._loop.time(), self._when)
        self._timer, self._when = None, math.inf
        heap = self._heap
        while heap and (heap[0][2].over or heap[0][0] <= due):
            _, _, bound = heapq.heappop(heap)
            if not bound.over and bound.task is not None:
                bound.over = bound.expired = True
                bound.task.cancel()
        if heap:
            self._arm(heap[0][0])

    def close(self) -> None:
        """Stop the timer (the exchanges still in flight are no longer bounded)."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._when = None, math.inf
        self._heap.clear()
