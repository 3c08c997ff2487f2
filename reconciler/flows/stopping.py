"""Ctrl-C while an apply (or a push) writes: the first one lets the requests in flight end and
starts no further step (a job's wait is left: the job runs on, and the apply log names it); a
second one stops at once. Either way the apply log holds what was done, and the run ends with
``Interrupted`` naming the log and the command that finishes the work."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from reconciler.errors import Interrupted

FIRST = "Ctrl-C: letting the requests in flight finish, then stopping (Ctrl-C again stops at once)."


@dataclass
class Stop:
    """Whether a stop was asked for (``event``: set by the first Ctrl-C)."""

    event: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def requested(self) -> bool:
        return self.event.is_set()


@contextmanager
def first_interrupt_stops(say: Callable[[str], None]) -> Iterator[Stop]:
    """While inside (in a running event loop): the first SIGINT sets the ``Stop``, the second
    cancels the current task at once. Where signals cannot be caught so (not the main thread,
    Windows), Ctrl-C keeps its usual effect."""
    stop = Stop()
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    previous = signal.getsignal(signal.SIGINT)

    def on_sigint() -> None:
        if not stop.requested:
            stop.event.set()
            say(FIRST)
        elif task is not None:
            task.cancel()

    try:
        loop.add_signal_handler(signal.SIGINT, on_sigint)
    except (NotImplementedError, RuntimeError, ValueError):
        yield stop
        return
    try:
        yield stop
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        if callable(previous) or previous in (signal.SIG_IGN, signal.SIG_DFL):
            signal.signal(signal.SIGINT, previous)  # e.g. asyncio.run's own handler, as it was


def interrupted(log_path: str, resume: str | None, done: int, total: int, at_once: bool) -> Interrupted:
    """The error an interrupted apply ends with: what was done, where it is kept, what finishes it."""
    how = (
        "stopped at once: a request in flight may or may not have reached the API"
        if at_once
        else f"stopped after the requests in flight: {done} of {total} step(s) done"
    )
    then = f"finish it with: {resume}" if resume else "finish it by running the same command again"
    return Interrupted(f"{how}; the apply log {log_path} holds what was done", hint=then)
