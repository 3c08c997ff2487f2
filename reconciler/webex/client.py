"""The HTTP core: one ``httpx.AsyncClient``, bounded concurrency, retries, shared back-off, paging.

``WebexClient`` is the only object in the project that sends requests. Endpoint wrappers live in
``reconciler.webex.api`` (inherited here, so ``client.get_members(...)`` etc.); jobs in
``reconciler.webex.jobs``.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import ipaddress
import json as json_module
import logging
import os
import random
import re
import ssl
import time
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx

from reconciler.errors import ConfigError
from reconciler.webex.answers import items_of
from reconciler.webex.api import JSONDict, Params, WebexApi
from reconciler.webex.auth import Auth, check_token
from reconciler.webex.errors import PaginationError, WebexApiError
from reconciler.webex.limiter import DEFAULT_CONCURRENCY, AdaptiveLimit
from reconciler.webex.once import DEFAULT_LISTING_LAG_S
from reconciler.webex.redact import LOGGER_NAME, redact, register_secret
from reconciler.webex.strict import not_success
from reconciler.webex.transport import BodyTooLarge, engine_transport
from reconciler.webex.untrusted import JsonTooDeep, api_text, parse_json, without_userinfo

log = logging.getLogger(LOGGER_NAME)

DEFAULT_BASE_URL = "https://webexapis.com/v1"
ENV_BASE_URL = "WEBEX_BASE_URL"

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({500, 502, 503, 504})
THROTTLE_STATUSES = frozenset({429, 423})
# Transport errors raised before the request was handed to the server: safe to retry any method.
NOT_SENT_ERRORS: tuple[type[Exception], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# A refused connection (the host is down or the base URL is wrong) is retried a few times only,
# quickly: a wrong --base-url fails in about a second instead of the whole back-off.
CONNECT_REFUSED_ATTEMPTS = 3
CONNECT_REFUSED_DELAY_S = 0.25
# Parameters never re-added to a next-page link (the link's own paging wins).
_PAGING_PARAMS = frozenset({"start", "cursor", "offset"})
# A listing longer than this is refused as a whole (a server looping through endless next-page links
# must not hang the run, and a truncated listing must never be planned on).
MAX_PAGES = 2_000
# The least wait after a 429/423, even when the server says ``Retry-After: 0``.
MIN_THROTTLE_WAIT_S = 0.05
# An answer larger than this is refused unread (a hostile or broken server must not exhaust memory).
MAX_ANSWER_BYTES = 64 * 1024 * 1024
# Attempts of one request that got no answer within ``timeout`` (a server that accepts and never
# answers): after this many the request fails, so it ends within about this many timeouts.
MAX_SILENT_ATTEMPTS = 2
# The server counts as silent (every request fails at once, unsent) once this many attempts in a
# row went unanswered and it has answered nothing for MAX_SILENT_ATTEMPTS timeouts.
SILENT_SERVER_ATTEMPTS = 4


class ServerSilent(httpx.ConnectError):
    """Not sent: the server has answered no request of this client for a while (``_silent_for``)."""


class _AnswerTooLarge(Exception):
    def __init__(self, size: int, status: int, tracking_id: str | None) -> None:
        super().__init__(size)
        self.size = size
        self.status = status
        self.tracking_id = tracking_id


# Methods whose empty body is announced with ``Content-Length: 0`` (as httpx does).
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# JSON request bodies exactly as httpx encodes them (compact, UTF-8, no NaN/Infinity).
_json_dumps = functools.partial(json_module.dumps, ensure_ascii=False, separators=(",", ":"), allow_nan=False)

# Characters a path may hold as they are (RFC 3986 pchar and "/", "%" of an existing escape): a
# path made only of these is placed into the URL without a re-parse (``WebexClient._url``).
_PLAIN_PATH = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*")


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

    def push(self, delay: float) -> None:
        self._until = max(self._until, time.monotonic() + delay)

    async def wait(self) -> float:
        """Sleep until the gate is open; returns the seconds waited."""
        waited = 0.0
        while (delay := self._until - time.monotonic()) > 0:
            await asyncio.sleep(delay)
            waited += delay
        return waited


class _NoCookies(httpx.Cookies):
    """A cookie jar that keeps nothing: the API authenticates by bearer token, and httpx would
    otherwise parse every answer's headers for cookies (a urllib request/response shim each)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class _ApiHttp(httpx.AsyncClient):
    """``httpx.AsyncClient`` without cookie handling."""

    _jar = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._jar

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        if cookies:
            raise ValueError("the Webex client keeps no cookies")


class WebexClient(WebexApi):
    """Async Webex REST client. Use as ``async with WebexClient(base_url, auth) as client: ...``."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        auth: Auth | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        timeout: float = 30.0,
        org_id: str | None = None,
        max_attempts: int = 12,
        deadline_s: float = 300.0,
        debug: bool = False,
        backoff_base: float = 0.5,
        backoff_max: float = 10.0,
        user_agent: str = "reconciler/0.1",
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        max_pages: int | None = None,
        listing_lag_s: float = DEFAULT_LISTING_LAG_S,
    ) -> None:
        if auth is None:
            raise ConfigError("WebexClient needs credentials (an Auth); see Auth.from_env()")
        if concurrency < 1:
            raise ConfigError(f"concurrency must be at least 1, got {concurrency}")
        if max_attempts < 1:
            raise ConfigError(f"max_attempts must be at least 1, got {max_attempts}")
        self.base_url = _check_base_url(base_url, injected=transport is not None)
        self._base = httpx.URL(self.base_url)
        self.auth = auth
        self.org_id = org_id
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.deadline_s = deadline_s
        self.debug = debug
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.timeout = timeout
        self.max_answer_bytes = max_answer_bytes
        self.max_pages = max_pages if max_pages is not None else MAX_PAGES
        # after a lost answer to a create or job start: how long to look for it (``once.py``)
        self.listing_lag_s = listing_lag_s
        self.stats = ClientStats()
        self.gate = BackoffGate()
        # ``concurrency`` is the most requests in flight; how many are is adapted to the server
        self.limiter = AdaptiveLimit(concurrency)
        # The default transport (transport.py) sends through aiohttp, proxies from the environment
        # included; it reads, caps and times the whole answer itself.
        self._lean = transport is None
        if transport is None:
            transport = engine_transport(concurrency, max_answer_bytes, self.base_url)
        self._http = _ApiHttp(
            transport=transport,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            verify=True,
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": user_agent},
        )
        # API requests go to the transport directly (built and read here, not by AsyncClient.send,
        # whose auth, redirect, cookie and hook machinery the API does not use); the OAuth refresh
        # goes through ``_http``.
        self._transport = transport
        self._timeouts = httpx.Timeout(timeout).as_dict()
        self._fixed_headers = [
            (b"Host", self._base.netloc),
            (b"Accept", b"application/json"),
            (b"Accept-Encoding", b"gzip, deflate"),
            (b"User-Agent", user_agent.encode("ascii")),
        ]
        self._base_path = self._base.raw_path.decode("ascii").rstrip("/")
        self._fast_urls = _fast_urls_work(self._base)
        self._run_id = uuid.uuid4().hex
        self._requests_made = 0
        # When the server last answered any request, and attempts without an answer since: a
        # server that accepts and never answers fails every request soon, queued ones unsent.
        self._heard = 0.0
        self._unanswered = 0
        if debug:
            log.setLevel(logging.DEBUG)

    def __repr__(self) -> str:
        return f"WebexClient(base_url={self.base_url!r}, org_id={self.org_id!r}, auth={self.auth!r})"

    async def __aenter__(self) -> WebexClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- requests -------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        files: Any = None,
        data: Any = None,
        retry_post: bool = False,
        token_override: str | None = None,
    ) -> httpx.Response:
        """Send one API request with retries; return the 2xx/3xx response or raise WebexApiError.

        ``path`` is relative to the base URL (``/devices``) or an absolute URL on the same host
        (a pagination link). ``retry_post`` marks a POST as safe to repeat (read-only invokes).
        ``token_override`` sends another bearer token (e.g. a bot's) and disables refresh.
        """
        method = method.upper()
        url = self._build_url(method, path, params)
        shown = self._display_path(url)
        idempotent = method in IDEMPOTENT_METHODS or retry_post
        if token_override:
            check_token(token_override, "the override token")
            register_secret(token_override, credential=True)
        # The retry budget runs from the first attempt (time queued for a slot is not counted).
        deadline = 0.0
        self._requests_made += 1
        request_id = f"{self._run_id}-{self._requests_made:x}"  # unique per request (a uuid4 each costs more)
        refreshed = False
        attempt = 0
        failures = 0  # 5xx answers and transport errors (bounded by max_attempts); 429/423 are not
        silent = 0  # attempts without an answer in time (bounded by MAX_SILENT_ATTEMPTS)
        while True:
            attempt += 1
            tracking_id = f"RECONCILER_{request_id}_{attempt - 1}"
            waited = await self.gate.wait()
            resp: httpx.Response | None = None
            failure: httpx.TransportError | None = None
            too_large: _AnswerTooLarge | None = None
            epoch = await self.limiter.acquire()
            try:
                waited += await self.gate.wait()  # the gate may have moved while we queued
                self.stats.waited_s += waited
                if token_override:
                    token = token_override
                else:
                    token = await self.auth.ensure_token(self._http, self.base_url)
                    self.stats.refreshes = self.auth.refreshes
                started = time.monotonic()
                if not deadline:
                    deadline = started + self.deadline_s
                self._heard = self._heard or started
                req = self._build_request(method, url, token, tracking_id, json, files, data)
                try:
                    if self._silent_for(started) is not None:
                        raise ServerSilent(f"not sent: {self._silent_for(started)}", request=req)
                    self.stats.requests += 1
                    resp = await self._bounded_attempt(req, deadline)
                    self._heard, self._unanswered = time.monotonic(), 0
                except httpx.TransportError as exc:
                    failure = exc
                except _AnswerTooLarge as exc:
                    too_large = exc
            finally:
                self.limiter.release()
            elapsed = time.monotonic() - started

            if too_large is not None:
                self._log_request(method, url, too_large.status, elapsed, tracking_id, attempt, None)
                raise WebexApiError(
                    method,
                    shown,
                    too_large.status,
                    f"the answer is larger than {self.max_answer_bytes} bytes "
                    f"({too_large.size} bytes or more); refusing to read it",
                    too_large.tracking_id or tracking_id,
                    attempt,
                    ambiguous=method not in IDEMPOTENT_METHODS and not retry_post,
                )

            if failure is not None or resp is None:
                # no (complete) answer; the back-off sleep happens outside the concurrency slot
                failures += 1
                name = type(failure).__name__
                self.stats.transport_errors += 1
                self._log_request(method, url, None, elapsed, tracking_id, attempt, name)
                not_sent = isinstance(failure, NOT_SENT_ERRORS)
                detail = str(failure) if failure is not None else ""
                if isinstance(failure, httpx.TimeoutException):
                    silent += 1
                    self._unanswered += 1
                    if silent < MAX_SILENT_ATTEMPTS and self._silent_for(time.monotonic()):
                        detail += f" ({self._silent_for(time.monotonic())}: not retried)"
                        silent = MAX_SILENT_ATTEMPTS
                    elif silent >= MAX_SILENT_ATTEMPTS:
                        detail += f" (no answer within {self.timeout:g} s, {silent} times: not retried)"
                untrusted = _tls_verify_failure(failure)
                if untrusted:
                    detail = (
                        f"the server's TLS certificate is not trusted ({untrusted}); "
                        "point SSL_CERT_FILE at your CA bundle if you use a private CA"
                    )
                error = WebexApiError(
                    method,
                    shown,
                    None,
                    api_text(f"{name}: {detail}" if detail else name),
                    tracking_id,
                    attempt,
                    ambiguous=not not_sent and not idempotent,
                    timed_out=isinstance(failure, httpx.TimeoutException) and not not_sent,
                )
                delay = self._backoff(failures)
                refused = type(failure) is httpx.ConnectError
                if refused:
                    delay = min(delay, CONNECT_REFUSED_DELAY_S)
                if refused and failures >= CONNECT_REFUSED_ATTEMPTS:
                    raise error from None
                if silent >= MAX_SILENT_ATTEMPTS or isinstance(failure, ServerSilent):
                    raise error from None
                if (
                    untrusted
                    or not (not_sent or idempotent)
                    or not self._can_retry(failures, delay, deadline)
                ):
                    raise error from None
                self.stats.retries += 1
                log.info("%s %s: %s; retry %d in %.2fs", method, shown, name, attempt, delay)
                await asyncio.sleep(delay)
                continue

            status = resp.status_code
            self.stats.by_status[status] += 1
            if self.debug:
                server_tid = _tracking_id(resp)
                self._log_request(method, url, status, elapsed, server_tid or tracking_id, attempt, None)
            if status != 429:
                self.limiter.on_success(elapsed)
            if 200 <= status < 300:
                return resp
            if status < 400:  # 1xx, 3xx: never followed, never taken for success
                raise not_success(method, shown, resp, tracking_id, attempt, ambiguous=not idempotent)

            if status == 401 and not token_override and not refreshed and self.auth.can_refresh:
                refreshed = True
                if await self.auth.refresh(self._http, self.base_url, stale=token):
                    self.stats.refreshes = self.auth.refreshes  # single-flight: shared by all tasks
                    log.info("%s %s: 401, retrying with a refreshed token", method, shown)
                    continue

            if status in THROTTLE_STATUSES:
                # The server refused the request outright: safe to repeat for every method, for as
                # long as the retry budget lasts (not a fixed number of times).
                if status == 429:
                    self.stats.rate_limited += 1
                    if self.limiter.on_throttled(epoch):
                        log.info("429: at most %d requests in flight now", self.limiter.limit)
                else:
                    self.stats.locked += 1
                after = _retry_after(resp)
                delay = max(after, MIN_THROTTLE_WAIT_S) if after is not None else self._backoff(attempt)
                remaining = deadline - time.monotonic()
                if delay >= remaining:
                    # Waiting would outlive this request's budget: fail now, and hold nobody back.
                    note = (
                        f"the server asks to wait {delay:.0f} s (Retry-After), longer than the "
                        f"{max(0.0, remaining):.0f} s left of this request's retry budget; not retried"
                        if after is not None
                        else "the retry budget of this request is spent; not retried"
                    )
                    raise self._error(method, shown, resp, tracking_id, attempt, ambiguous=False, note=note)
                self.stats.retries += 1
                log.info("%s %s: %d; retry %d in %.2fs", method, shown, status, attempt, delay)
                if after is not None or status == 429:
                    # every task of this client waits until then, not only this one
                    self.gate.push(delay)
                else:
                    await asyncio.sleep(delay)
                continue

            retryable = status in RETRY_STATUSES and idempotent
            delay = 0.0
            if retryable:
                failures += 1
                delay = max(self._backoff(failures), _retry_after(resp) or 0.0)
            error = self._error(
                method,
                shown,
                resp,
                tracking_id,
                attempt,
                ambiguous=status in RETRY_STATUSES and not idempotent,
            )
            if not retryable or not self._can_retry(failures, delay, deadline):
                raise error
            self.stats.retries += 1
            log.info("%s %s: %d; retry %d in %.2fs", method, shown, status, attempt, delay)
            await asyncio.sleep(delay)

    def _build_request(
        self, method: str, url: httpx.URL, token: str, tracking_id: str, json: Any, files: Any, data: Any
    ) -> httpx.Request:
        """The request as httpx would build it, made directly for the usual case (no body or a JSON
        one): its headers are ASCII (the token is checked to be), its body is encoded once."""
        headers = [
            *self._fixed_headers,
            (b"Authorization", b"Bearer " + token.encode("ascii")),
            (b"TrackingID", tracking_id.encode("ascii")),
        ]
        if files is not None or data is not None:
            return httpx.Request(
                method, url, headers=headers, files=files, data=data, extensions={"timeout": self._timeouts}
            )
        body = b""
        if json is not None:
            body = _json_dumps(json).encode("utf-8")
            headers.append((b"Content-Length", str(len(body)).encode("ascii")))
            headers.append((b"Content-Type", b"application/json"))
        elif method in _BODY_METHODS:
            headers.append((b"Content-Length", b"0"))
        return httpx.Request(
            method,
            url,
            headers=httpx.Headers(headers, encoding="ascii"),
            stream=httpx.ByteStream(body),
            extensions={"timeout": self._timeouts},
        )

    def _silent_for(self, now: float) -> str | None:
        """Why the server counts as silent (the last ``SILENT_SERVER_ATTEMPTS`` attempts went
        unanswered and it answered none of this client's requests for ``MAX_SILENT_ATTEMPTS``
        timeouts), or None. One slow request among answered ones never trips it."""
        quiet = now - self._heard
        if self._unanswered >= SILENT_SERVER_ATTEMPTS and quiet >= MAX_SILENT_ATTEMPTS * self.timeout:
            return f"the server has answered no request for {quiet:.0f} s"
        return None

    async def _bounded_attempt(self, req: httpx.Request, deadline: float) -> httpx.Response:
        """``_attempt`` within ``timeout``, or within what is left of the request's deadline when
        that is less (its last attempt): no request outlives ``deadline_s``. The lean transport
        reads the bound from the request's ``timeout`` extension, as every httpx transport does;
        any other is bounded here (``asyncio.timeout`` costs ~10 us: not paid per request)."""
        left = deadline - time.monotonic()
        budget = self.timeout
        if left < budget:
            budget = max(0.05, left)
            req.extensions["timeout"] = httpx.Timeout(budget).as_dict()
        return await self._attempt(req, budget)

    async def _attempt(self, req: httpx.Request, budget: float) -> httpx.Response:
        """Send ``req`` and read its whole answer, all within ``budget`` seconds (httpx's own
        transports bound each read alone: a body trickling a byte a second would never time out)."""
        if self._lean:
            # the engine transport reads, caps and closes the whole answer, bounded by the read timeout
            try:
                resp = await self._transport.handle_async_request(req)
            except BodyTooLarge as exc:
                tid = _header(exc.headers, b"trackingid")
                raise _AnswerTooLarge(exc.size, exc.status, tid) from None
            resp.request = req
            return resp
        try:
            async with asyncio.timeout(budget):
                resp = await self._transport.handle_async_request(req)
                resp.request = req
                try:
                    await _read_capped(resp, self.max_answer_bytes)
                finally:
                    await resp.aclose()
        except TimeoutError:
            raise httpx.ReadTimeout(f"no complete answer within {budget:g} s", request=req) from None
        return resp

    def _can_retry(self, failures: int, delay: float, deadline: float) -> bool:
        return failures < self.max_attempts and time.monotonic() + delay < deadline

    def _backoff(self, attempt: int) -> float:
        """Exponential back-off with jitter: base*2^(n-1), capped, scaled by a random 0.5..1."""
        ceiling: float = min(self.backoff_max, self.backoff_base * 2.0 ** (attempt - 1))
        return ceiling * (0.5 + random.random() / 2)

    def _error(
        self,
        method: str,
        shown: str,
        resp: httpx.Response,
        sent_tid: str,
        attempts: int,
        *,
        ambiguous: bool,
        note: str = "",
    ) -> WebexApiError:
        message, descriptions, body_tid = _parse_error(resp)
        text = message
        extra = [d for d in dict.fromkeys(descriptions) if d and d not in message]
        if extra:
            text = f"{message}: {'; '.join(extra)}" if message else "; ".join(extra)
        if resp.status_code == 401:
            hint = "refresh did not help" if self.auth.can_refresh else "no refresh credentials"
            text = f"{text or 'Unauthorized'} (the access token was refused: {hint})"
        if note:
            text = f"{text or resp.reason_phrase or 'error'} ({note})"
        tracking = api_text(body_tid or resp.headers.get("TrackingID") or sent_tid, 120)
        return WebexApiError(
            method,
            shown,
            resp.status_code,
            api_text(text or resp.reason_phrase or "error"),
            tracking,
            attempts,
            descriptions=[api_text(d) for d in descriptions],
            ambiguous=ambiguous,
            timed_out=resp.status_code == 504,
        )

    def _log_request(
        self,
        method: str,
        url: httpx.URL,
        status: int | None,
        elapsed: float,
        tracking_id: str,
        attempt: int,
        failure: str | None,
    ) -> None:
        if not self.debug:
            return
        outcome = str(status) if status is not None else f"error {failure}"
        log.debug(
            "%s %s -> %s in %.0f ms trackingId=%s attempt=%d",
            method,
            str(url),
            outcome,
            elapsed * 1000,
            tracking_id,
            attempt,
        )

    # -- URLs -----------------------------------------------------------------------------------

    def _build_url(self, method: str, path: str, params: Params | None) -> httpx.URL:
        merged = _clean_params(params or {})
        if path.startswith(("http://", "https://")):
            url = httpx.URL(path)
            if not self._same_origin(url):
                raise PaginationError(
                    method, url.path, None, f"refusing to send a request to another host ({url.host})"
                )
        else:
            full = self._base_path + "/" + path.lstrip("/")
            # (a "." or ".." segment is left to httpx, which removes dot segments)
            if self._fast_urls and _PLAIN_PATH.fullmatch(full) and "/." not in full:
                if self.org_id and "orgId" not in merged:
                    merged["orgId"] = self.org_id
                return _url_with(self._base, full, urllib.parse.urlencode(merged) if merged else None)
            url = httpx.URL(self.base_url + "/" + path.lstrip("/"))
        if self.org_id and "orgId" not in merged and "orgId" not in url.params:
            merged["orgId"] = self.org_id
        if merged:
            url = url.copy_merge_params(merged)
        return url

    def _same_origin(self, url: httpx.URL) -> bool:
        return (url.scheme, url.host, url.port) == (self._base.scheme, self._base.host, self._base.port)

    def _display_path(self, url: httpx.URL) -> str:
        """The URL's path relative to the base URL, without query (what errors and logs show)."""
        path = url.path
        base_path = self._base.path.rstrip("/")
        if base_path and path.startswith(base_path + "/"):
            path = path[len(base_path) :]
        return path

    # -- pagination -----------------------------------------------------------------------------

    async def paginate(
        self, path: str, params: Params | None = None, items_key: str = "items"
    ) -> list[JSONDict]:
        """Every item of a listing, following ``Link: <...>; rel="next"`` (absolute URLs).

        Parameters the server dropped from the next link (``orgId``, ``max``, filters) are added
        back; paging stops on an empty page or without a next link. A listing is never cut short
        silently: a link to another host, a link back to a page already read (a loop) and more than
        ``max_pages`` pages each raise PaginationError naming the endpoint.
        """
        items: list[JSONDict] = []
        wanted = dict(_clean_params(params or {}))
        resp = await self.request("GET", path, params=wanted)
        shown = self._display_path(resp.request.url)
        seen: set[str] = {str(resp.request.url)}
        pages = 1
        while True:
            page = items_of(resp, items_key)
            items.extend(page)
            next_url = _next_link(resp)
            if not page or next_url is None:
                return items
            url = httpx.URL(next_url)
            if url.scheme not in ("http", "https") or not self._same_origin(url):
                raise PaginationError(
                    "GET",
                    shown,
                    resp.status_code,
                    f"refusing to follow a next-page link to another host ({url.host or next_url})",
                )
            dropped = {k: v for k, v in wanted.items() if k not in url.params and k not in _PAGING_PARAMS}
            if self.org_id and "orgId" not in url.params:
                dropped["orgId"] = self.org_id
            if dropped:
                url = url.copy_merge_params(dropped)
            key = str(url)
            if key in seen:
                raise PaginationError(
                    "GET",
                    shown,
                    resp.status_code,
                    f"the next-page link of page {pages} leads back to a page already read "
                    f"({len(items)} items so far); refusing a listing that never ends",
                )
            if pages >= self.max_pages:
                raise PaginationError(
                    "GET",
                    shown,
                    resp.status_code,
                    f"the listing goes on past {self.max_pages} pages ({len(items)} items so far); "
                    "refusing to plan on a listing cut short",
                )
            seen.add(key)
            resp = await self.request("GET", key)
            pages += 1


def make_client(
    base_url: str | None,
    token_file: str | None,
    org_id: str | None,
    concurrency: int,
    transport: httpx.AsyncBaseTransport | None = None,
    environ: Mapping[str, str] = os.environ,
    *,
    debug: bool = False,
    timeout: float = 30.0,
) -> WebexClient:
    """A client configured from CLI options and the environment (``WEBEX_BASE_URL``, tokens)."""
    url = base_url or environ.get(ENV_BASE_URL, "").strip() or DEFAULT_BASE_URL
    _check_base_url(url, injected=transport is not None)  # before reading any credential
    auth = Auth.from_env(token_file, environ)
    return WebexClient(
        url,
        auth,
        transport=transport,
        concurrency=concurrency,
        org_id=org_id,
        debug=debug,
        timeout=timeout,
    )


def resolve_base_url(base_url: str | None, environ: Mapping[str, str] = os.environ) -> str:
    """The base URL a client made from these options would use, checked (``ConfigError``)."""
    url = base_url or environ.get(ENV_BASE_URL, "").strip() or DEFAULT_BASE_URL
    return _check_base_url(url, injected=False)


# -- helpers ------------------------------------------------------------------------------------


def _check_base_url(base_url: str, *, injected: bool) -> str:
    shown = repr(without_userinfo(base_url.strip()))
    try:
        url = httpx.URL(base_url.strip())
    except Exception as exc:  # httpx.InvalidURL and friends
        raise ConfigError(f"invalid base URL {shown}: {redact(str(exc))}") from None
    if url.userinfo:
        raise ConfigError(
            f"invalid base URL {shown}: it holds a user name or password (not shown); the API "
            "authenticates by token only: remove the user:password@ part"
        )
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigError(f"invalid base URL {shown}: expected https://host/path")
    if url.query or url.fragment:
        raise ConfigError(f"invalid base URL {shown}: no query or fragment allowed")
    if url.scheme == "http" and not injected and not _is_loopback(url.host):
        raise ConfigError(
            f"refusing plain-http base URL {shown}: use https (http is only allowed for "
            "localhost / 127.0.0.0/8 / ::1, e.g. the simulator)"
        )
    return str(url).rstrip("/")


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _clean_params(params: Params) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            out[key] = str(value)
    return out


def _url_with(base: httpx.URL, path: str, query: str | None) -> httpx.URL:
    """``base`` with ``path`` (plain: ``_PLAIN_PATH``) and an encoded ``query``, without the ~40 us
    re-parse of a URL string (httpx keeps a URL as a parsed reference; only those parts change)."""
    url = httpx.URL.__new__(httpx.URL)
    url._uri_reference = base._uri_reference._replace(path=path, query=query, fragment=None)
    return url


def _fast_urls_work(base: httpx.URL) -> bool:
    """Whether ``_url_with`` gives the very URL httpx's own parsing gives (checked once per client,
    so a change inside httpx falls back to parsing instead of sending a wrong URL)."""
    path = base.raw_path.decode("ascii").rstrip("/") + "/devices/Y2lzY29_-.~%20x/members:a@b;c=d"
    query = urllib.parse.urlencode({"orgId": "O/1+2=3", "max": "1000", "q": "a b&c"})
    try:
        fast = _url_with(base, path, query)
        slow = base.copy_with(raw_path=f"{path}?{query}".encode("ascii"))
        return fast == slow and str(fast) == str(slow) and fast.raw_path == slow.raw_path
    except Exception:  # httpx's internals changed: parse every URL instead
        return False


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1") or None
    return None


async def _read_capped(resp: httpx.Response, limit: int) -> None:
    """Read the body of a streamed response into it (as ``aread`` does), refusing more than ``limit``."""
    declared = resp.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _AnswerTooLarge(int(declared), resp.status_code, _tracking_id(resp))
    parts: list[bytes] = []
    size = 0
    async for part in resp.aiter_bytes():
        size += len(part)
        if size > limit:
            raise _AnswerTooLarge(size, resp.status_code, _tracking_id(resp))
        parts.append(part)
    resp._content = b"".join(parts)


def _tls_verify_failure(exc: BaseException | None) -> str | None:
    """The reason, when ``exc`` is a refused server certificate (retrying cannot help)."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, ssl.SSLCertVerificationError):
            return str(exc.verify_message or exc.reason or "certificate verify failed")
        if "CERTIFICATE_VERIFY_FAILED" in str(exc):
            return "certificate verify failed"
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def _retry_after(resp: httpx.Response) -> float | None:
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


def _tracking_id(resp: httpx.Response) -> str | None:
    value = resp.headers.get("TrackingID")
    return str(value) if value else None


def _parse_error(resp: httpx.Response) -> tuple[str, list[str], str | None]:
    """``(message, [errors[].description], trackingId)`` from a Webex error body."""
    try:
        body = parse_json(resp.content)
    except JsonTooDeep as exc:
        return f"{resp.reason_phrase or 'error'} (the error answer is {exc})", [], None
    except (ValueError, UnicodeDecodeError):
        # masked and escaped before it is cut (``api_text``), never the other way round
        text = resp.content[:8192].decode("utf-8", "replace").strip().replace("\n", " ")
        return (text if text else resp.reason_phrase), [], None
    if not isinstance(body, dict):
        return resp.reason_phrase, [], None
    message = body.get("message")
    descriptions: list[str] = []
    errors = body.get("errors")
    if isinstance(errors, list):
        for err in errors:
            if isinstance(err, dict) and isinstance(err.get("description"), str):
                descriptions.append(err["description"])
    tid = body.get("trackingId")
    return (
        message if isinstance(message, str) else resp.reason_phrase,
        descriptions,
        tid if isinstance(tid, str) else None,
    )


def _next_link(resp: httpx.Response) -> str | None:
    link = resp.links.get("next")
    if not link:
        return None
    url = link.get("url")
    return url or None
