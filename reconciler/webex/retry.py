"""The retry decision: what to do after one attempt of a request, as a pure function.

``decide(attempt, policy)`` looks at what happened to one attempt (an answer's status, or how the
exchange failed), where the request stands (its attempt number, its failures so far, the time left
of its budget, whether the token was refreshed) and returns a :class:`Decision`: done, retry after
N seconds (this request alone, or the whole client through the shared gate), refresh the token, or
fail (with a note for the error where one helps). It sends nothing, sleeps never and reads no
clock: ``WebexClient.request`` does that. Each rule has an id; docs/client.md lists them in the
order they are tried, and tests/webex/test_retry_table.py checks each one.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

import httpx

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({500, 502, 503, 504})
THROTTLE_STATUSES = frozenset({429, 423})
# Transport errors raised before the request was handed to the server: safe to retry any method.
NOT_SENT_ERRORS: tuple[type[Exception], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# A refused connection (the host is down or the base URL is wrong) is retried a few times only,
# quickly: a wrong --base-url fails in about a second instead of the whole back-off.
CONNECT_REFUSED_ATTEMPTS = 3
CONNECT_REFUSED_DELAY_S = 0.25
# The least wait after a 429/423, even when the server says ``Retry-After: 0``.
MIN_THROTTLE_WAIT_S = 0.05
# Attempts of one request that got no answer within ``timeout`` (a server that accepts and never
# answers): after this many the request fails, so it ends within about this many timeouts.
MAX_SILENT_ATTEMPTS = 2


class ServerSilent(httpx.ConnectError):
    """Not sent: the server has answered no request of this client for a while."""


class Happened(enum.Enum):
    """What became of one attempt."""

    ANSWER = "an answer (its status)"
    TOO_LARGE = "an answer larger than the cap, unread"
    REFUSED = "connection refused: nothing sent"
    NOT_SENT = "no connection in time (connect or pool timeout): nothing sent"
    SERVER_SILENT = "not sent: the server has answered nothing for a while"
    UNTRUSTED = "the server's TLS certificate was refused"
    DROPPED = "sent, then the connection failed before a whole answer"
    TIMED_OUT = "sent, no whole answer within the timeout"


class Action(enum.Enum):
    DONE = "done"
    RETRY = "retry"
    REFRESH = "refresh the token, then retry at once"
    FAIL = "fail"


@dataclass(slots=True)
class Attempt:
    """One attempt's outcome and where its request stands (counts include this attempt)."""

    method: str
    happened: Happened
    status: int = 0  # the answer's status (ANSWER)
    retry_after: float | None = None  # the answer's Retry-After, in seconds
    retry_post: bool = False  # the POST is safe to repeat (read-only)
    number: int = 1  # this attempt's number, from 1
    failures: int = 0  # 5xx answers and transport failures so far
    timeouts: int = 0  # attempts without an answer in time so far (connect timeouts included)
    time_left: float = 300.0  # seconds left of the request's retry budget
    refreshed: bool = False  # the token was refreshed for this request already
    can_refresh: bool = False  # refresh credentials, and no override token
    server_silent: str | None = None  # after a timeout: why the server counts as silent

    @property
    def idempotent(self) -> bool:
        return self.method in IDEMPOTENT_METHODS or self.retry_post


@dataclass(frozen=True, slots=True)
class Policy:
    max_attempts: int  # 5xx answers and transport failures one request may have
    timeout: float  # seconds one attempt may take (named in notes)
    backoff: Callable[[int], float]  # the wait before retry n (exponential, with jitter)


@dataclass(frozen=True, slots=True)
class Decision:
    rule: str  # the table row (docs/client.md)
    action: Action
    wait_s: float = 0.0  # before the retry
    whole_client: bool = False  # the wait holds every request of the client (the shared gate)
    note: str = ""  # added to the error of a failure


_DONE = Decision("A1", Action.DONE)


def classify(exc: httpx.TransportError, untrusted: bool) -> Happened:
    """What a transport failure means for the retry (``untrusted``: a refused TLS certificate)."""
    if isinstance(exc, ServerSilent):
        return Happened.SERVER_SILENT
    if untrusted:
        return Happened.UNTRUSTED
    if type(exc) is httpx.ConnectError:
        return Happened.REFUSED
    if isinstance(exc, NOT_SENT_ERRORS):
        return Happened.NOT_SENT
    if isinstance(exc, httpx.TimeoutException):
        return Happened.TIMED_OUT
    return Happened.DROPPED


def decide(attempt: Attempt, policy: Policy) -> Decision:
    """The decision after ``attempt`` (see docs/client.md, "Retries and back-off")."""
    if attempt.happened is Happened.ANSWER:
        return _after_answer(attempt, policy)
    if attempt.happened is Happened.TOO_LARGE:
        return Decision("T1", Action.FAIL)
    return _after_failure(attempt, policy)


def _after_answer(attempt: Attempt, policy: Policy) -> Decision:
    status = attempt.status
    if 200 <= status < 300:
        return _DONE
    if status < 400:
        return Decision("A2", Action.FAIL)
    if status == 401 and attempt.can_refresh and not attempt.refreshed:
        return Decision("A3", Action.REFRESH)
    if status in THROTTLE_STATUSES:
        return _after_throttle(attempt, policy)
    if status not in RETRY_STATUSES:
        return Decision("A12", Action.FAIL)
    if not attempt.idempotent:
        return Decision("A11", Action.FAIL)
    wait = max(policy.backoff(attempt.failures), attempt.retry_after or 0.0)
    if attempt.failures >= policy.max_attempts or wait >= attempt.time_left:
        return Decision("A10", Action.FAIL)
    return Decision("A9", Action.RETRY, wait)


def _after_throttle(attempt: Attempt, policy: Policy) -> Decision:
    """429 / 423: the server refused the request outright, so it is safe to repeat for every
    method, for as long as the budget lasts (not a fixed number of times)."""
    after = attempt.retry_after
    if after is not None:
        wait = max(after, MIN_THROTTLE_WAIT_S)
        if wait >= attempt.time_left:
            note = (
                f"the server asks to wait {wait:.0f} s (Retry-After), longer than the "
                f"{max(0.0, attempt.time_left):.0f} s left of this request's retry budget; not retried"
            )
            return Decision("A7", Action.FAIL, note=note)
        return Decision("A4", Action.RETRY, wait, whole_client=True)
    wait = policy.backoff(attempt.number)
    if wait >= attempt.time_left:
        return Decision("A8", Action.FAIL, note="the retry budget of this request is spent; not retried")
    if attempt.status == 429:
        return Decision("A5", Action.RETRY, wait, whole_client=True)
    return Decision("A6", Action.RETRY, wait)


def _after_failure(attempt: Attempt, policy: Policy) -> Decision:
    happened = attempt.happened
    if happened is Happened.UNTRUSTED:
        return Decision("N1", Action.FAIL)
    if happened is Happened.SERVER_SILENT:
        return Decision("N2", Action.FAIL)
    if attempt.timeouts >= MAX_SILENT_ATTEMPTS:
        note = f"no answer within {policy.timeout:g} s, {attempt.timeouts} times: not retried"
        return Decision("N3", Action.FAIL, note=note)
    if attempt.server_silent:
        return Decision("N4", Action.FAIL, note=f"{attempt.server_silent}: not retried")
    refused = happened is Happened.REFUSED
    if refused and attempt.failures >= CONNECT_REFUSED_ATTEMPTS:
        return Decision("N5", Action.FAIL)
    if happened in (Happened.DROPPED, Happened.TIMED_OUT) and not attempt.idempotent:
        return Decision("N6", Action.FAIL)
    wait = policy.backoff(attempt.failures)
    if refused:
        wait = min(wait, CONNECT_REFUSED_DELAY_S)
    if attempt.failures >= policy.max_attempts or wait >= attempt.time_left:
        return Decision("N7", Action.FAIL)
    return Decision("N8" if refused else "N9", Action.RETRY, wait)
