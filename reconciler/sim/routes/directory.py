"""The lookups a client needs around the telephony API: ``/v1/people``, ``/v1/workspaces``,
``/v1/locations`` and ``/v1/devices`` (list with filters, get by Webex id)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import catalog, directory_json, telephony
from ..errors import bad_request, not_found
from ..ids import normalize_mac
from ..store import Device
from .common import bool_param, ok, page, query, sim_of

# --------------------------------------------------------------------------------------------
# people
# --------------------------------------------------------------------------------------------


async def list_people(request: Request) -> Response:
    store = sim_of(request).store
    email = query(request, "email")
    ids = query(request, "id")
    name = (query(request, "displayName") or "").lower()
    location = query(request, "locationId")
    calling = bool_param(request, "callingData") or False
    people = list(store.people.values())
    not_found_ids: list[str] = []
    if email is not None:
        person = store.person_by_email(email)
        people = [person] if person else []
    if ids is not None:
        wanted = [i for i in ids.split(",") if i]
        asked = set(wanted)
        people = [p for p in people if p.id in asked]
        not_found_ids = [i for i in wanted if i not in store.people]
    if name:
        people = [p for p in people if p.display_name.lower().startswith(name)]
    if location is not None:
        people = [p for p in people if p.location_id == location]
    # the page first, then its JSON: a page costs its own items, not the whole org's
    chunk, headers = page(request, people, 100, 1000)
    body: dict[str, Any] = {"items": [directory_json.person_json(store, p, calling) for p in chunk]}
    if ids is not None:
        body["notFoundIds"] = not_found_ids
    return ok(body, headers=headers)


async def get_person(request: Request) -> Response:
    store = sim_of(request).store
    person = telephony.get_person(store, request.path_params["personId"])
    return ok(directory_json.person_json(store, person, bool_param(request, "callingData") or False))


# --------------------------------------------------------------------------------------------
# workspaces
# --------------------------------------------------------------------------------------------


async def list_workspaces(request: Request) -> Response:
    store = sim_of(request).store
    name = (query(request, "displayName") or "").lower()
    location = query(request, "locationId") or query(request, "workspaceLocationId")
    spaces = [
        ws
        for ws in store.workspaces.values()
        if (not name or name in ws.display_name.lower()) and (location is None or ws.location_id == location)
    ]
    chunk, headers = page(request, spaces, 100, 1000)
    return ok({"items": [directory_json.workspace_json(store, ws) for ws in chunk]}, headers=headers)


async def get_workspace(request: Request) -> Response:
    store = sim_of(request).store
    ws = telephony.get_workspace(store, request.path_params["workspaceId"])
    return ok(directory_json.workspace_json(store, ws))


# --------------------------------------------------------------------------------------------
# locations
# --------------------------------------------------------------------------------------------


async def list_locations(request: Request) -> Response:
    store = sim_of(request).store
    name = (query(request, "name") or "").lower()
    ident = query(request, "id")
    locations = [
        loc
        for loc in store.locations.values()
        if (not name or name in loc.name.lower()) and (ident is None or loc.id == ident)
    ]
    chunk, headers = page(request, locations, 500, 1000)
    return ok({"items": [directory_json.location_json(store, loc) for loc in chunk]}, headers=headers)


async def get_location(request: Request) -> Response:
    store = sim_of(request).store
    return ok(
        directory_json.location_json(store, telephony.get_location(store, request.path_params["locationId"]))
    )


# --------------------------------------------------------------------------------------------
# devices (the Webex device list, not the telephony device endpoints)
# --------------------------------------------------------------------------------------------


def _device_filter(request: Request) -> Callable[[Device], bool] | None:
    """The test a device must pass to be listed, or None when the query filters nothing."""
    mac_raw = query(request, "mac")
    mac = normalize_mac(mac_raw) if mac_raw is not None else None
    if mac_raw is not None and mac is None:
        raise bad_request(f"mac {mac_raw!r} is not a valid MAC address.")
    tags = [t for raw in request.query_params.getlist("tag") for t in raw.split(",") if t]
    checks: list[Callable[[Device], bool]] = []
    simple: dict[str, Callable[[Device, str], bool]] = {
        "personId": lambda d, v: d.owner_type == "PEOPLE" and d.owner_id == v,
        "workspaceId": lambda d, v: d.owner_type == "PLACE" and d.owner_id == v,
        "locationId": lambda d, v: d.location_id == v,
        "workspaceLocationId": lambda d, v: d.location_id == v,
        "displayName": lambda d, v: d.display_name == v,
        "product": lambda d, v: catalog.MODELS[d.model].product == v,
        "type": lambda d, v: v == "phone",
        "serial": lambda d, v: d.serial == v,
        "software": lambda d, v: d.software == v,
        "connectionStatus": lambda d, v: d.connection_status == v,
    }
    for name, test in simple.items():
        value = query(request, name)
        if value is not None:
            checks.append(functools.partial(_check, test, value))
    if tags:
        checks.append(lambda d: all(t in d.tags for t in tags))
    if mac is not None:
        checks.append(lambda d: d.mac == mac)
    if not checks:
        return None
    return lambda d: all(check(d) for check in checks)


def _check(test: Callable[[Device, str], bool], value: str, device: Device) -> bool:
    return test(device, value)


async def list_devices(request: Request) -> Response:
    store = sim_of(request).store
    keep = _device_filter(request)
    mac = normalize_mac(query(request, "mac") or "")
    if mac:
        hit = store.device_by_mac(mac)
        candidates = [hit] if hit and (keep is None or keep(hit)) else []
    elif keep is None:
        candidates = list(store.devices.values())
    else:
        candidates = [d for d in store.devices.values() if keep(d)]
    chunk, headers = page(request, candidates, 100, 1000)
    return ok({"items": [directory_json.device_json(store, d) for d in chunk]}, headers=headers)


async def get_webex_device(request: Request) -> Response:
    store = sim_of(request).store
    device = store.device_by_webex_id(request.path_params["deviceId"])
    if device is None:
        raise not_found("Device")
    return ok(directory_json.device_json(store, device))


def routes() -> list[Route]:
    return [
        Route("/v1/people", list_people, methods=["GET"]),
        Route("/v1/people/{personId}", get_person, methods=["GET"]),
        Route("/v1/workspaces", list_workspaces, methods=["GET"]),
        Route("/v1/workspaces/{workspaceId}", get_workspace, methods=["GET"]),
        Route("/v1/locations", list_locations, methods=["GET"]),
        Route("/v1/locations/{locationId}", get_location, methods=["GET"]),
        Route("/v1/devices", list_devices, methods=["GET"]),
        Route("/v1/devices/{deviceId}", get_webex_device, methods=["GET"]),
    ]
