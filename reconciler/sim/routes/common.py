"""Request helpers shared by the route modules: body parsing, query parameters, pages, answers."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Scope

from .. import limits, telephony, validation
from ..errors import ApiError, bad_request
from ..simulator import Simulator
from ..store import Device

T = "/v1/telephony/config"
"""The prefix of the telephony (Device Call Settings) routes."""


def sim_of(request: Request) -> Simulator:
    sim: Simulator = request.app.state.sim
    return sim


def tracking_of(scope: Scope) -> str:
    state = scope.setdefault("state", {})
    value = state.get("tracking_id")
    if not value:
        value = Simulator.tracking_id()
        state["tracking_id"] = value
    return str(value)


def error_body(status: int, message: str, descriptions: list[str], tracking: str) -> dict[str, Any]:
    return {"message": message, "errors": [{"description": d} for d in descriptions], "trackingId": tracking}


def error_response(
    scope: Scope,
    status: int,
    message: str,
    descriptions: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = error_body(status, message, descriptions or [message], tracking_of(scope))
    return JSONResponse(body, status_code=status, headers=headers)


def wrote(request: Request) -> None:
    request.scope.setdefault("state", {})["write"] = True


def route_key(request: Request) -> str:
    return str(request.scope.get("state", {}).get("route", ""))


async def json_body(request: Request) -> Any:
    content_type = request.headers.get("content-type", "")
    raw = await request.body()
    if content_type and "json" not in content_type.lower():
        raise ApiError(415, f"Unsupported media type {content_type}; send application/json.")
    if not raw.strip():
        return {}
    return limits.parse_json(raw)


async def validated(request: Request) -> dict[str, Any]:
    body = await json_body(request)
    result = validation.validate(route_key(request), body)
    if not isinstance(result, dict):
        raise bad_request("The request body must be a JSON object.")
    return result


def query(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    return value if value not in (None, "") else None


def int_param(request: Request, name: str, default: int) -> int:
    raw = query(request, name)
    if raw is None:
        return default
    return int(limits.query_number(name, raw))


def bool_param(request: Request, name: str) -> bool | None:
    raw = query(request, name)
    if raw is None:
        return None
    if raw.lower() not in ("true", "false"):
        raise bad_request(f"Query parameter {name} must be true or false.")
    return raw.lower() == "true"


def page(request: Request, items: list[Any], default_max: int, cap: int) -> tuple[list[Any], dict[str, str]]:
    """Slice items by start/max; a Link rel="next" header (absolute URL) when more remain."""
    start = int_param(request, "start", 0)
    size = int_param(request, "max", default_max)
    if start < 0:
        raise bad_request("start must not be negative.")
    if size < 1:
        raise bad_request("max must be at least 1.")
    size = min(size, cap)
    chunk = items[start : start + size]
    headers: dict[str, str] = {}
    if start + size < len(items):
        headers["Link"] = f'<{next_url(request, start + size, size)}>; rel="next"'
    return chunk, headers


def next_url(request: Request, start: int, size: int) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("start", "max")]
    params += [("start", str(start)), ("max", str(size))]
    qs = urlencode(params)
    base = sim_of(request).base_url
    if base:
        path = request.url.path
        rel = path[len("/v1") :] if path.startswith("/v1") else path
        return f"{base}{rel}?{qs}"
    return str(request.url.replace(query=qs))


def ok(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=headers)


def no_content() -> Response:
    return Response(status_code=204)


def device_for_write(request: Request) -> Device:
    """The device of the path's ``deviceId``; 400 when a test hook makes it reject changes."""
    sim = sim_of(request)
    device = telephony.get_device(sim.store, request.path_params["deviceId"])
    if sim.is_rejected(device.calling_id, device.mac):
        raise bad_request(f"Device {device.mac} rejected the change (simulated device fault).")
    return device
