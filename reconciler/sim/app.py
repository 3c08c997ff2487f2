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
        sim, stats = self.sim, self.sim.stats
        state = scope.setdefault("state", {})
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        tracking = headers.get("trackingid") or Simulator.tracking_id()
        state["tracking_id"] = tracking
        route = f"{method_label(scope['method'])} {self.template(scope)}"
        state["route"] = route
        stats.requests_total += 1
        stats.requests_by_route[route] += 1
        status_box: dict[str, int] = {}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = MutableHeaders(scope=message)
                out["TrackingID"] = tracking
                status_box["status"] = int(message["status"])
            await send(message)

        async def answer(response: Response) -> None:
            await response(scope, receive, send_wrapper)
            stats.requests_by_status[str(status_box.get("status", response.status_code))] += 1

        retry_after = sim.faults.take_token()
        if retry_after is not None:
            stats.rate_limited_total += 1
            await answer(
                error_response(
                    scope, 429, "Too many requests; slow down.", headers={"Retry-After": str(retry_after)}
                )
            )
            return
        delay = sim.faults.delay_seconds()
        if delay > 0:
            stats.latency_injected_ms_total += delay * 1000
            await asyncio.sleep(delay)
        injected = sim.faults.injected_error()
        if injected is not None:
            stats.errors_injected_total += 1
            stats.errors_injected_by_status[str(injected)] += 1
            await answer(error_response(scope, injected, "Simulated server error; try again later."))
            return
        if sim.faults.drop():
            stats.drops_total += 1
            stats.requests_by_status["dropped"] += 1
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
                }
            )
            raise SimulatedDrop()
        refusal = self.spec_routes.refusal(scope) or (too_large() if declared_too_large(scope) else None)
        if refusal is not None:
            await answer(_error_of(scope, refusal))
            return
        if route not in NO_AUTH:
            auth = headers.get("authorization", "")
            scheme, _, value = auth.partition(" ")
            if scheme.lower() != "bearer" or not sim.token_ok(value.strip()):
                stats.auth_failures_total += 1
                await answer(
                    error_response(
                        scope,
                        401,
                        "The request requires a valid access token set in the Authorization request header.",
                    )
                )
                return
        org = _query_value(scope, "orgId")
        if org is not None and org != sim.store.org_id:
            await answer(error_response(scope, 404, f"Organization {org} not found."))
            return
        bad_query = self.spec_routes.query_problem(scope)
        if bad_query is not None:
            await answer(_error_of(scope, bad_query))
            return
        if sim.tick():
            sim.persist()
        await self.app(scope, bounded_receive(receive), send_wrapper)
        status = status_box.get("status", 500)
        stats.requests_by_status[str(status)] += 1
        if state.get("write") and status < 400:
            stats.writes_total += 1
            stats.writes_by_route[route] += 1
            sim.persist()


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
