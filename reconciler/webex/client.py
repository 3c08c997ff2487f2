"""The HTTP core: one ``httpx.AsyncClient``, bounded concurrency, retries, shared back-off, paging.

``WebexClient`` is the only object in the project that sends requests. Endpoint wrappers live in
``reconciler.webex.api`` (inherited here, so ``client.get_members(...)`` etc.); jobs in
``reconciler.webex.jobs``. What to do after each attempt is decided by ``retry.decide`` (a pure
function: docs/client.md has its table); this module sends, waits and counts. Listings are in
``pages.py``, the errors of failed requests are built in ``failures.py``, the 429 gate is
``gate.py``, base URL checks and URL building helpers are in ``urls.py``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import random
import time
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any

import httpx

from reconciler.errors import ConfigError
from reconciler.webex.api import JSONDict, Params, WebexApi
from reconciler.webex.auth import Auth, check_token
from reconciler.webex.calls import Call, ClientStats, Tried
from reconciler.webex.errors import PaginationError, WebexApiError
from reconciler.webex.exchange import ApiHttp, build_request, exchange, too_large, tracking_id_of
from reconciler.webex.failures import (
    AnswerTooLarge,
    answer_ambiguous,
    answer_error,
    tls_verify_failure,
    too_large_error,
    transport_error,
)
from reconciler.webex.gate import BackoffGate, retry_after
from reconciler.webex.limiter import DEFAULT_CONCURRENCY, AdaptiveLimit
from reconciler.webex.offsets import paginate_by_offset
from reconciler.webex.once import DEFAULT_LISTING_LAG_S
from reconciler.webex.pages import MAX_PAGES, paginate
from reconciler.webex.redact import LOGGER_NAME, register_secret
from reconciler.webex.retry import (
    MAX_SILENT_ATTEMPTS,
    RETRY_STATUSES,
    Action,
    Attempt,
    Decision,
    Happened,
    Policy,
    ServerSilent,
    classify,
    decide,
)
from reconciler.webex.strict import not_success
from reconciler.webex.transport import (
    BodyTooLarge,
    EngineTransport,
    engine_transport,
    plain_headers,
    target_of,
)
from reconciler.webex.urls import (
    PLAIN_PATH,
    check_base_url,
    clean_params,
    fast_urls_work,
    relative_path,
    url_with,
)

log = logging.getLogger(LOGGER_NAME)

DEFAULT_BASE_URL = "https://webexapis.com/v1"
ENV_BASE_URL = "WEBEX_BASE_URL"

# An answer larger than this is refused unread (a hostile or broken server must not exhaust memory).
MAX_ANSWER_BYTES = 64 * 1024 * 1024
# The server counts as silent (every request fails at once, unsent) once this many attempts in a
# row went unanswered and it has answered nothing for MAX_SILENT_ATTEMPTS timeouts.
SILENT_SERVER_ATTEMPTS = 4

__all__ = ["MAX_PAGES", "MAX_SILENT_ATTEMPTS", "BackoffGate", "ClientStats", "ServerSilent", "WebexClient"]


_NO_BODY = (None, None, None)  # a request's json, files and data when it has none


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
        _check_counts(concurrency, max_attempts)
        self.base_url = check_base_url(base_url, injected=transport is not None)
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
        self._connect(transport, user_agent)
        self._run_id = uuid.uuid4().hex
        self._requests_made = 0
        # When the server last answered any request, and attempts without an answer since: a
        # server that accepts and never answers fails every request soon, queued ones unsent.
        self._heard = 0.0
        self._unanswered = 0
        if debug:
            log.setLevel(logging.DEBUG)

    def _connect(self, transport: httpx.AsyncBaseTransport | None, user_agent: str) -> None:
        """The transport, and the fixed parts of every request made on it."""
        # The default transport (transport.py) sends through aiohttp, proxies from the environment
        # included; it reads, caps and times the whole answer itself.
        self._engine: EngineTransport | None = None
        if transport is None:
            self._engine = engine_transport(self.concurrency, self.max_answer_bytes, self.base_url)
            transport = self._engine
        self._http = ApiHttp(
            transport=transport,
            timeout=httpx.Timeout(self.timeout),
            limits=httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency),
            verify=True,
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": user_agent},
        )
        # API requests go to the transport directly (built and read here, not by AsyncClient.send,
        # whose auth, redirect, cookie and hook machinery the API does not use); the OAuth refresh
        # goes through ``_http``.
        self._transport = transport
        self._timeouts = httpx.Timeout(self.timeout).as_dict()
        self._fixed_headers = [
            (b"Host", self._base.netloc),
            (b"Accept", b"application/json"),
            (b"Accept-Encoding", b"gzip, deflate"),
            (b"User-Agent", user_agent.encode("ascii")),
        ]
        # what a GET to the engine takes as it is (``_bounded_attempt``): the fixed headers for
        # aiohttp, checked once, and the proxy of the base URL's origin (every request goes there)
        self._plain_fixed = plain_headers([(k, k.lower(), v) for k, v in self._fixed_headers])
        self._proxy = self._engine.proxy_for(self._base) if self._engine is not None else None
        self._clean_token: str | None = None
        self._base_path = self._base.raw_path.decode("ascii").rstrip("/")
        self._shown_base = self._base.path.rstrip("/")  # (decoded: what errors show)
        self._fast_urls = fast_urls_work(self._base)

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
        """Send one API request with retries; return the 2xx response or raise WebexApiError.

        ``path`` is relative to the base URL (``/devices``) or an absolute URL on the same host
        (a pagination link). ``retry_post`` marks a POST as safe to repeat (read-only invokes).
        ``token_override`` sends another bearer token (e.g. a bot's) and disables refresh.
        """
        method = method.upper()
        url = self._build_url(method, path, params)
        if token_override:
            check_token(token_override, "the override token")
            register_secret(token_override, credential=True)
        self._requests_made += 1
        request_id = f"{self._run_id}-{self._requests_made:x}"
        body = (json, files, data)
        call = Call(method, url, self._shown_base, request_id, retry_post, token_override, body)
        while True:
            call.attempt += 1
            tried = await self._try_once(call)
            resp = tried.response
            if resp is not None and 200 <= resp.status_code < 300:
                # the usual case, as _observe_answer and decide (rule A1) take it, without their facts
                self._answered(call, tried, resp)
                return resp
            attempt = self._observe(call, tried)
            policy = Policy(self.max_attempts, self.timeout, self._backoff)
            decision = decide(attempt, policy)
            if decision.action is Action.REFRESH:
                call.refreshed = True
                if await self._refresh(call, tried.token):
                    continue
                decision = decide(dataclasses.replace(attempt, refreshed=True), policy)
            if decision.action is Action.DONE and tried.response is not None:
                return tried.response
            if decision.action is Action.FAIL:
                raise self._failure(call, tried, decision) from None
            await self._wait(call, tried, decision)

    async def _try_once(self, call: Call) -> Tried:
        """One attempt: wait for the gate and a slot, send, and read the whole answer (the back-off
        sleep after a failure happens outside the concurrency slot)."""
        gate, limiter = self.gate, self.limiter
        # (the usual case, an open gate and a free slot, without a coroutine for either)
        waited = await gate.wait() if gate.closed() else 0.0
        tried = Tried(limiter.take() if limiter.free() else await limiter.acquire())
        try:
            if gate.closed():  # the gate may have moved while we queued
                waited += await gate.wait()
            self.stats.waited_s += waited
            held = self.auth.token  # (the usual case without a coroutine)
            tried.token = held if held and not call.token_override else await self._token(call)
            started = time.monotonic()
            call.deadline = call.deadline or started + self.deadline_s
            self._heard = self._heard or started
            tracking = call.tracking_id
            req = build_request(
                call.method, call.url, self._fixed_headers, self._timeouts, tried.token, tracking, call.body
            )
            try:
                silent = self._silent_for(started)
                if silent is not None:
                    raise ServerSilent(f"not sent: {silent}", request=req)
                self.stats.requests += 1
                plain = call.method == "GET" and call.body == _NO_BODY
                tried.response = await self._bounded_attempt(req, call.deadline, tried.token, tracking, plain)
                self._heard, self._unanswered = time.monotonic(), 0
            # (kept without their traceback: it holds this frame, which holds ``tried``; each failed
            # attempt would leave a cycle of ~26 objects for the collector)
            except httpx.TransportError as exc:
                tried.failure = exc.with_traceback(None)
            except AnswerTooLarge as exc:
                tried.too_large = exc.with_traceback(None)
            except BodyTooLarge as exc:
                tried.too_large = too_large(exc)
        finally:
            self.limiter.release()
        tried.elapsed = time.monotonic() - started
        return tried

    async def _token(self, call: Call) -> str:
        if call.token_override:
            return call.token_override
        token = await self.auth.ensure_token(self._http, self.base_url)
        self.stats.refreshes = self.auth.refreshes
        return token

    def _observe(self, call: Call, tried: Tried) -> Attempt:
        """Count and log what the attempt got; what happened, for the retry decision."""
        if tried.too_large is not None:
            self._log_request(call, tried.too_large.status, tried.elapsed, None)
            return self._attempt_facts(call, Happened.TOO_LARGE)
        if tried.failure is not None:
            call.failures += 1
            self.stats.transport_errors += 1
            self._log_request(call, None, tried.elapsed, type(tried.failure).__name__)
            silent = None
            if isinstance(tried.failure, httpx.TimeoutException):
                call.timeouts += 1
                self._unanswered += 1
                silent = self._silent_for(time.monotonic())
            happened = classify(tried.failure, tls_verify_failure(tried.failure) is not None)
            return self._attempt_facts(call, happened, server_silent=silent)
        assert tried.response is not None
        return self._observe_answer(call, tried, tried.response)

    def _answered(self, call: Call, tried: Tried, resp: httpx.Response) -> None:
        """Count and log an answer; one that is not a 429 tells the limiter the server keeps up."""
        status = resp.status_code
        self.stats.by_status[status] += 1
        if self.debug:
            self._log_request(call, status, tried.elapsed, None, tracking_id_of(resp))
        if status != 429:
            self.limiter.on_success(tried.elapsed)

    def _observe_answer(self, call: Call, tried: Tried, resp: httpx.Response) -> Attempt:
        status = resp.status_code
        self._answered(call, tried, resp)
        if 200 <= status < 300:
            return self._attempt_facts(call, Happened.ANSWER, status)
        if status in RETRY_STATUSES:
            call.failures += 1
        elif status == 429:
            self.stats.rate_limited += 1
            if self.limiter.on_throttled(tried.epoch):
                log.info("429: at most %d requests in flight now", self.limiter.limit)
        elif status == 423:
            self.stats.locked += 1
        return self._attempt_facts(call, Happened.ANSWER, status, retry_after(resp))

    def _attempt_facts(
        self,
        call: Call,
        happened: Happened,
        status: int = 0,
        after: float | None = None,
        *,
        server_silent: str | None = None,
    ) -> Attempt:
        return Attempt(
            call.method,
            happened,
            status,
            after,
            call.retry_post,
            call.attempt,
            call.failures,
            call.timeouts,
            call.deadline - time.monotonic(),
            call.refreshed,
            not call.token_override and self.auth.can_refresh,
            server_silent,
        )

    async def _refresh(self, call: Call, stale: str) -> bool:
        """A 401: refresh the token (single-flight: shared by all tasks); whether it worked."""
        if not await self.auth.refresh(self._http, self.base_url, stale=stale):
            return False
        self.stats.refreshes = self.auth.refreshes
        log.info("%s %s: 401, retrying with a refreshed token", call.method, call.shown)
        return True

    async def _wait(self, call: Call, tried: Tried, decision: Decision) -> None:
        """Before a retry: hold this request, or the whole client (the shared gate)."""
        self.stats.retries += 1
        what = type(tried.failure).__name__ if tried.failure is not None else str(_status(tried))
        log.info("%s %s: %s; retry %d in %.2fs", call.method, call.shown, what, call.attempt, decision.wait_s)
        if decision.whole_client:
            self.gate.push(decision.wait_s)  # every task of this client waits until then
        else:
            await asyncio.sleep(decision.wait_s)

    def _failure(self, call: Call, tried: Tried, decision: Decision) -> WebexApiError:
        """The error of a request that is not retried (``decision.note`` says why, where it helps)."""
        method, shown, tid, attempts = call.method, call.shown, call.tracking_id, call.attempt
        if tried.too_large is not None:
            limit = self.max_answer_bytes
            return too_large_error(
                method, shown, tried.too_large, limit, tid, attempts, idempotent=call.idempotent
            )
        if tried.failure is not None:
            return transport_error(
                method, shown, tried.failure, tid, attempts, idempotent=call.idempotent, note=decision.note
            )
        assert tried.response is not None
        resp = tried.response
        ambiguous = answer_ambiguous(resp.status_code, call.idempotent)
        if resp.status_code < 400:  # 1xx, 3xx: never followed, never taken for success
            return not_success(method, shown, resp, tid, attempts, ambiguous=ambiguous)
        can_refresh = self.auth.can_refresh
        return answer_error(
            method,
            shown,
            resp,
            tid,
            attempts,
            ambiguous=ambiguous,
            can_refresh=can_refresh,
            note=decision.note,
        )

    def _silent_for(self, now: float) -> str | None:
        """Why the server counts as silent (the last ``SILENT_SERVER_ATTEMPTS`` attempts went
        unanswered and it answered none of this client's requests for ``MAX_SILENT_ATTEMPTS``
        timeouts), or None. One slow request among answered ones never trips it."""
        quiet = now - self._heard
        if self._unanswered >= SILENT_SERVER_ATTEMPTS and quiet >= MAX_SILENT_ATTEMPTS * self.timeout:
            return f"the server has answered no request for {quiet:.0f} s"
        return None

    def _bounded_attempt(
        self, req: httpx.Request, deadline: float, token: str, tracking: str, plain: bool
    ) -> Awaitable[httpx.Response]:
        """The exchange within ``timeout``, or within what is left of the request's deadline when
        that is less (its last attempt): no request outlives ``deadline_s``. The engine transport
        reads the bound from the request's ``timeout`` extension, as every httpx transport does, and
        reads the whole answer itself (awaited directly: no coroutine between it and the client);
        any other goes through ``exchange`` (``asyncio.timeout`` costs ~10 us: not paid per request).
        A ``plain`` request (a GET without a body) goes to the engine with its headers for aiohttp
        made here (``EngineTransport.send``)."""
        left = deadline - time.monotonic()
        budget = self.timeout
        if left < budget:
            budget = max(0.05, left)
            req.extensions["timeout"] = httpx.Timeout(budget).as_dict()
        if self._engine is not None:
            if plain and self._clean(token):
                headers = [*self._plain_fixed, ("Authorization", "Bearer " + token), ("TrackingID", tracking)]
                return self._engine.send(req, headers, target_of(req.url), self._proxy)
            return self._engine.handle_async_request(req)
        return exchange(self._transport, req, budget, max_bytes=self.max_answer_bytes)

    def _clean(self, token: str) -> bool:
        """Whether ``token`` can go into a header as it is, by the engine's own check (made once per
        token; else the generic path refuses the request, naming the header)."""
        if token is not self._clean_token:
            try:
                plain_headers([(b"Authorization", b"authorization", token.encode("latin-1"))])
            except ValueError:  # (an unencodable token too: UnicodeEncodeError)
                return False
            self._clean_token = token
        return True

    def _backoff(self, attempt: int) -> float:
        """Exponential back-off with jitter: base*2^(n-1), capped, scaled by a random 0.5..1."""
        ceiling: float = min(self.backoff_max, self.backoff_base * 2.0 ** (attempt - 1))
        return ceiling * (0.5 + random.random() / 2)

    def _log_request(
        self,
        call: Call,
        status: int | None,
        elapsed: float,
        failure: str | None,
        tracking_id: str | None = None,
    ) -> None:
        if not self.debug:
            return
        outcome = str(status) if status is not None else f"error {failure}"
        log.debug(
            "%s %s -> %s in %.0f ms trackingId=%s attempt=%d",
            call.method,
            str(call.url),
            outcome,
            elapsed * 1000,
            tracking_id or call.tracking_id,
            call.attempt,
        )

    # -- URLs -----------------------------------------------------------------------------------

    def _build_url(self, method: str, path: str, params: Params | None) -> httpx.URL:
        merged = clean_params(params or {})
        if path.startswith(("http://", "https://")):
            url = httpx.URL(path)
            if not self.same_origin(url):
                raise PaginationError(
                    method, url.path, None, f"refusing to send a request to another host ({url.host})"
                )
        else:
            full = self._base_path + "/" + path.lstrip("/")
            # (a "." or ".." segment is left to httpx, which removes dot segments)
            if self._fast_urls and PLAIN_PATH.fullmatch(full) and "/." not in full:
                if self.org_id and "orgId" not in merged:
                    merged["orgId"] = self.org_id
                return url_with(self._base, full, urllib.parse.urlencode(merged) if merged else None)
            url = httpx.URL(self.base_url + "/" + path.lstrip("/"))
        if self.org_id and "orgId" not in merged and "orgId" not in url.params:
            merged["orgId"] = self.org_id
        if merged:
            url = url.copy_merge_params(merged)
        return url

    def same_origin(self, url: httpx.URL) -> bool:
        return (url.scheme, url.host, url.port) == (self._base.scheme, self._base.host, self._base.port)

    def display_path(self, url: httpx.URL) -> str:
        """The URL's path relative to the base URL, without query (what errors and logs show)."""
        return relative_path(url, self._shown_base)

    # -- pagination -----------------------------------------------------------------------------

    async def paginate(
        self,
        path: str,
        params: Params | None = None,
        items_key: str = "items",
        each: Callable[[JSONDict], JSONDict | None] | None = None,
        expected: int | None = None,
    ) -> list[JSONDict]:
        """Every item of a listing, following ``Link: <...>; rel="next"`` (absolute URLs).

        Parameters the server dropped from the next link (``orgId``, ``max``, filters) are added
        back; paging stops on an empty page or without a next link. A listing is never cut short
        silently: a link to another host, a link back to a page already read (a loop) and more than
        ``max_pages`` pages each raise PaginationError naming the endpoint. ``each``: what is kept
        of an item (None: nothing), applied to each page as it arrives. ``expected``: about how
        many items there are, for a listing the spec pages by offset (``start``/``max``): its pages
        up to that many are asked for a few at a time (``offsets.paginate_by_offset``).
        """
        wanted = dict(clean_params(params or {}))
        if expected is not None:
            return await paginate_by_offset(self, path, wanted, items_key, each, expected)
        return await paginate(self, path, wanted, items_key, each)


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
    check_base_url(url, injected=transport is not None)  # before reading any credential
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
    return check_base_url(url, injected=False)


# -- helpers ------------------------------------------------------------------------------------


def _check_counts(concurrency: int, max_attempts: int) -> None:
    if concurrency < 1:
        raise ConfigError(f"concurrency must be at least 1, got {concurrency}")
    if max_attempts < 1:
        raise ConfigError(f"max_attempts must be at least 1, got {max_attempts}")


def _status(tried: Tried) -> int:
    return tried.response.status_code if tried.response is not None else 0
