"""``/_sim``: the simulator's own counters (no auth, no rate limit, no faults, not counted)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import telephony
from .common import sim_of


async def sim_stats(request: Request) -> Response:
    sim = sim_of(request)
    pending = telephony.pending_view(sim.store)["count"]
    return JSONResponse({**sim.stats.to_json(), "pending_devices": pending})


async def sim_pending(request: Request) -> Response:
    """The devices whose configuration changed and that were not told to download it since."""
    return JSONResponse(telephony.pending_view(sim_of(request).store))


async def sim_stats_reset(request: Request) -> Response:
    sim_of(request).stats.reset()
    return await sim_stats(request)


def routes() -> list[Route]:
    return [
        Route("/_sim/stats", sim_stats, methods=["GET"]),
        Route("/_sim/stats/reset", sim_stats_reset, methods=["POST"]),
        Route("/_sim/pending", sim_pending, methods=["GET"]),
    ]
