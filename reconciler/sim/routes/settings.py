"""Device settings at every level: org, location, device, person (compression, hoteling) and
workspace (compression).

Org and location customisations change through the ``callDeviceSettings`` job (:mod:`.job_routes`);
workspace hoteling through ``PUT /workspaces/{workspaceId}/devices`` (:mod:`.devices`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import device_settings, hoteling, telephony
from .common import T, device_for_write, no_content, ok, query, sim_of, validated, wrote

# --------------------------------------------------------------------------------------------
# org and location
# --------------------------------------------------------------------------------------------


async def org_settings(request: Request) -> Response:
    return ok(device_settings.org_settings_view(sim_of(request).store))


async def location_settings(request: Request) -> Response:
    store = sim_of(request).store
    loc = telephony.get_location(store, request.path_params["locationId"])
    return ok(device_settings.location_settings_view(store, loc))


# --------------------------------------------------------------------------------------------
# device
# --------------------------------------------------------------------------------------------


async def get_device_settings(request: Request) -> Response:
    store = sim_of(request).store
    device = telephony.get_device(store, request.path_params["deviceId"])
    device_settings.check_device_model_param(device, query(request, "deviceModel"))
    return ok(device_settings.device_settings_view(store, device))


async def put_device_settings(request: Request) -> Response:
    sim = sim_of(request)
    device = device_for_write(request)
    device_settings.check_device_model_param(device, query(request, "deviceModel"))
    body = await validated(request)
    settings = device_settings.new_device_settings(device, body)
    if settings != device.settings:
        device.settings = settings
        device.settings_updated = int(sim.now() * 1000)
        telephony.mark_changed(device)
        wrote(request)
    return no_content()


# --------------------------------------------------------------------------------------------
# person
# --------------------------------------------------------------------------------------------


async def get_person_settings(request: Request) -> Response:
    store = sim_of(request).store
    return ok({"compression": telephony.get_person(store, request.path_params["personId"]).compression})


async def put_person_settings(request: Request) -> Response:
    store = sim_of(request).store
    person = telephony.get_person(store, request.path_params["personId"])
    body = await validated(request)
    if body["compression"] != person.compression:
        person.compression = body["compression"]
        wrote(request)
    return no_content()


async def put_person_hoteling(request: Request) -> Response:
    store = sim_of(request).store
    person = telephony.get_person(store, request.path_params["personId"])
    body = await validated(request)
    value = hoteling.hoteling_value(body["hoteling"])
    hoteling.check_hoteling_host(store, person.id, value)
    if hoteling.set_owner_hoteling(store, person, value):
        wrote(request)
    return no_content()


# --------------------------------------------------------------------------------------------
# workspace
# --------------------------------------------------------------------------------------------


async def get_workspace_settings(request: Request) -> Response:
    store = sim_of(request).store
    return ok({"compression": telephony.get_workspace(store, request.path_params["workspaceId"]).compression})


async def put_workspace_settings(request: Request) -> Response:
    store = sim_of(request).store
    ws = telephony.get_workspace(store, request.path_params["workspaceId"])
    body = await validated(request)
    if body["compression"] != ws.compression:
        ws.compression = body["compression"]
        wrote(request)
    return no_content()


def routes() -> list[Route]:
    return [
        Route(f"{T}/devices/settings", org_settings, methods=["GET"]),
        Route(f"{T}/locations/{{locationId}}/devices/settings", location_settings, methods=["GET"]),
        Route(f"{T}/devices/{{deviceId}}/settings", get_device_settings, methods=["GET"]),
        Route(f"{T}/devices/{{deviceId}}/settings", put_device_settings, methods=["PUT"]),
        Route(f"{T}/people/{{personId}}/devices/settings", get_person_settings, methods=["GET"]),
        Route(f"{T}/people/{{personId}}/devices/settings", put_person_settings, methods=["PUT"]),
        Route(f"{T}/people/{{personId}}/devices/settings/hoteling", put_person_hoteling, methods=["PUT"]),
        Route(f"{T}/workspaces/{{workspaceId}}/devices/settings", get_workspace_settings, methods=["GET"]),
        Route(f"{T}/workspaces/{{workspaceId}}/devices/settings", put_workspace_settings, methods=["PUT"]),
    ]
