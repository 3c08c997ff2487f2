"""Device layouts: GET and PUT ``/devices/{deviceId}/layout``.

Templates that set layouts in bulk are in :mod:`.templates` and :mod:`.job_routes`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import line_keys, telephony
from .common import T, device_for_write, no_content, ok, sim_of, validated, wrote


async def get_layout(request: Request) -> Response:
    store = sim_of(request).store
    return ok(line_keys.layout_view(telephony.get_device(store, request.path_params["deviceId"])))


async def put_layout(request: Request) -> Response:
    device = device_for_write(request)
    body = await validated(request)
    layout = line_keys.new_layout(device, body)
    if layout != device.layout:
        device.layout = layout
        telephony.mark_changed(device)
        wrote(request)
    return no_content()


def routes() -> list[Route]:
    return [
        Route(f"{T}/devices/{{deviceId}}/layout", get_layout, methods=["GET"]),
        Route(f"{T}/devices/{{deviceId}}/layout", put_layout, methods=["PUT"]),
    ]
