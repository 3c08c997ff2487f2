"""``/_sim``: the simulator's own counters (no auth, no rate limit, no faults, not counted)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .common import sim_of


async def sim_stats(request: Request) -> Response:
    return JSONResponse(sim_of(request).stats.to_json())


async def sim_stats_reset(request: Request) -> Response:
    sim_of(request).stats.reset()
    return JSONResponse(sim_of(request).stats.to_json())


def routes() -> list[Route]:
    return [
        Route("/_sim/stats", sim_stats, methods=["GET"]),
        Route("/_sim/stats/reset", sim_stats_reset, methods=["POST"]),
    ]
