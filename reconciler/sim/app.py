"""The simulator's Starlette app: the request pipeline and the routing table.

``create_app(...)`` builds it; ``app.state.sim`` is the :class:`Simulator` (store, counters, hooks).
Routes live under ``/v1/...``; ``/_sim/...`` is the simulator's own (not rate-limited, no faults,
no auth). The handlers are in :mod:`reconciler.sim.routes`, one module per resource.
"""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ApiError
from .faults import SimulatedDrop
from .limits import bounded_receive, declared_too_large, too_large
from .routes import (
    admin,
    auth,
    devices,
    directory,
    images,
    job_routes,
    layouts,
    messages,
    settings,
    templates,
)
from .routes.common import error_response
from .simulator import Simulator
from .spec_routes import SpecRoutes, method_label

# --------------------------------------------------------------------------------------------
# routes
# --------------------------------------------------------------------------------------------


def routes() -> list[Route]:
    """The routing table: the first route whose path and method match answers.

    Order matters under ``/telephony/config/devices/``: the literal paths (``settings``,
    ``lineKeyTemplates``, ``backgroundImages``, ``availableMembers/count``, ...) must come before
    the ``{deviceId}`` paths they also match, so templates, images and settings come before devices.
    """
    return [
        *admin.routes(),
        *auth.routes(),
        *messages.routes(),
        *directory.routes(),
        *templates.routes(),
        *images.routes(),
        *settings.routes(),
        *devices.routes(),
        *layouts.routes(),
        *job_routes.routes(),
    ]


# --------------------------------------------------------------------------------------------
# the request pipeline: tracking id, counters, faults, auth, job progress, persistence
# --------------------------------------------------------------------------------------------

NO_AUTH = frozenset({"POST /v1/access_token"})


class SimMiddleware:
    def __init__(self, app: ASGIApp, sim: Simulator, route_table: list[Route]) -> None:
        self.app = app
        self.sim = sim
        self.route_table = route_table
        self.spec_routes = SpecRoutes(route_table)

    def template(self, scope: Scope) -> str:
        partial = None
        for route in self.route_table:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return route.path
            if match == Match.PARTIAL and partial is None:
                partial = route.path
        return partial or "(unmatched)"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sim"):
            await self.app(scope, receive, send)
            return
        exchange = _Exchange(scope, receive, send, f"{method_label(scope['method'])} {self.template(scope)}")
        stats = self.sim.stats
        stats.requests_total += 1
        stats.requests_by_route[exchange.route] += 1
        early = await self._fault(exchange) or self._refusal(exchange)
        if early is not None:
            await exchange.answer(early)
            stats.requests_by_status[str(exchange.status or early.status_code)] += 1
            return
        await self._serve(exchange)

    async def _fault(self, exchange: _Exchange) -> Response | None:
        """The faults the simulator was told to inject, before anything else: a 429 of the rate
        limit, latency, a 5xx, a dropped connection (``SimulatedDrop``)."""
        faults, stats, scope = self.sim.faults, self.sim.stats, exchange.scope
        retry_after = faults.take_token()
        if retry_after is not None:
            stats.rate_limited_total += 1
            headers = {"Retry-After": str(retry_after)}
            return error_response(scope, 429, "Too many requests; slow down.", headers=headers)
        delay = faults.delay_seconds()
        if delay > 0:
            stats.latency_injected_ms_total += delay * 1000
            await asyncio.sleep(delay)
        injected = faults.injected_error()
        if injected is not None:
            stats.errors_injected_total += 1
            stats.errors_injected_by_status[str(injected)] += 1
            return error_response(scope, injected, "Simulated server error; try again later.")
        if faults.drop():
            stats.drops_total += 1
            stats.requests_by_status["dropped"] += 1
            await exchange.drop()
        return None

    def _refusal(self, exchange: _Exchange) -> Response | None:
        """What the API refuses before a handler runs: a method or query the spec does not declare,
        a body too large, no valid token, another org."""
        scope, sim = exchange.scope, self.sim
        refusal = self.spec_routes.refusal(scope) or (too_large() if declared_too_large(scope) else None)
        if refusal is not None:
            return _error_of(scope, refusal)
        if exchange.route not in NO_AUTH and not sim.token_ok(_bearer(exchange.headers)):
            sim.stats.auth_failures_total += 1
            return error_response(scope, 401, _NO_TOKEN)
        org = _query_value(scope, "orgId")
        if org is not None and org != sim.store.org_id:
            return error_response(scope, 404, f"Organization {org} not found.")
        bad_query = self.spec_routes.query_problem(scope)
        return _error_of(scope, bad_query) if bad_query is not None else None

    async def _serve(self, exchange: _Exchange) -> None:
        """The handler's answer, with jobs progressed before and the state saved after a write."""
        sim, stats = self.sim, self.sim.stats
        if sim.tick():
            sim.persist()
        await self.app(exchange.scope, bounded_receive(exchange.receive), exchange.send_wrapper)
        status = exchange.status or 500
        stats.requests_by_status[str(status)] += 1
        if exchange.state.get("write") and status < 400:
            stats.writes_total += 1
            stats.writes_by_route[exchange.route] += 1
            sim.persist()


_NO_TOKEN = "The request requires a valid access token set in the Authorization request header."


class _Exchange:
    """One request through the pipeline: its tracking id (echoed in the answer), its route, and
    the status it was answered with."""

    def __init__(self, scope: Scope, receive: Receive, send: Send, route: str) -> None:
        self.scope, self.receive, self._send = scope, receive, send
        self.headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        self.tracking = self.headers.get("trackingid") or Simulator.tracking_id()
        self.route = route
        self.state = scope.setdefault("state", {})
        self.state["tracking_id"] = self.tracking
        self.state["route"] = route
        self.status: int | None = None

    async def send_wrapper(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            out = MutableHeaders(scope=message)
            out["TrackingID"] = self.tracking
            self.status = int(message["status"])
        await self._send(message)

    async def answer(self, response: Response) -> None:
        await response(self.scope, self.receive, self.send_wrapper)

    async def drop(self) -> None:
        """Start an answer, then drop the connection (``SimulatedDrop``)."""
        headers = [(b"content-type", b"application/json"), (b"content-length", b"64")]
        await self._send({"type": "http.response.start", "status": 200, "headers": headers})
        raise SimulatedDrop()


def _bearer(headers: dict[str, str]) -> str:
    """The bearer token of the request ("" when there is none)."""
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def _query_value(scope: Scope, name: str) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(name)
    return values[0] if values else None


def _error_of(scope: Scope, exc: ApiError) -> Response:
    return error_response(scope, exc.status, exc.message, exc.descriptions, exc.headers or None)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _error_of(request.scope, exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {404: "The requested resource could not be found.", 405: "Method not allowed."}
    message = messages.get(exc.status_code, str(exc.detail))
    return error_response(request.scope, exc.status_code, message, headers=dict(exc.headers or {}) or None)


def create_app(
    *,
    seed: str | int = "demo",
    devices: int | None = None,
    latency_ms: float = 0,
    jitter_ms: float = 0,
    rate_limit: float | None = None,
    error_rate: float = 0.0,
    drop_rate: float = 0.0,
    token: str | None = None,
    state_file: str | None = None,
    job_duration_s: float = 0.5,
    base_url: str | None = None,
) -> Starlette:
    """Build the simulator app; ``app.state.sim`` is its :class:`Simulator`."""
    sim = Simulator(
        seed=seed,
        devices=devices,
        latency_ms=latency_ms,
        jitter_ms=jitter_ms,
        rate_limit=rate_limit,
        error_rate=error_rate,
        drop_rate=drop_rate,
        token=token,
        state_file=state_file,
        job_duration_s=job_duration_s,
        base_url=base_url,
    )
    table = routes()
    app = Starlette(
        routes=table,
        middleware=[Middleware(SimMiddleware, sim=sim, route_table=table)],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
    )
    app.state.sim = sim
    return app


__all__ = ["SimMiddleware", "Simulator", "create_app", "routes"]
