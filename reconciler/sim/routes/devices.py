"""Telephony devices: members and available members, details (third-party ``sipPassword``),
``applyChanges``, the supported-devices catalogue, MAC validation, and the device lists of a person
or workspace (the workspace PUT sets hoteling).

A device's settings are in :mod:`.settings`, its layout in :mod:`.layouts`, its background image
upload in :mod:`.images`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import catalog, hoteling, members, telephony
from ..errors import bad_request
from ..ids import normalize_mac
from .common import T, bool_param, device_for_write, no_content, ok, page, query, sim_of, validated, wrote

# --------------------------------------------------------------------------------------------
# catalogue and MACs
# --------------------------------------------------------------------------------------------


async def supported_devices(request: Request) -> Response:
    layout = bool_param(request, "allowConfigureLayoutEnabled")
    kind = query(request, "type")
    items = [
        m.to_api()
        for m in catalog.MODELS.values()
        if (layout is None or m.layout == layout) and (kind is None or m.device_type == kind)
    ]
    return ok({"upgradeChannelList": list(catalog.UPGRADE_CHANNELS), "devices": items})


async def dect_devices(request: Request) -> Response:
    return ok({"devices": [dict(d) for d in catalog.DECT_DEVICES]})


async def validate_macs(request: Request) -> Response:
    store = sim_of(request).store
    body = await validated(request)
    seen: set[str] = set()
    statuses = []
    for raw in body["macs"]:
        mac = normalize_mac(str(raw))
        item: dict[str, Any] = {"mac": raw}
        if mac is None:
            item.update(state="INVALID", errorCode=5674, message="[Error 5674] MAC Address is invalid.")
        elif mac in seen:
            item.update(
                state="DUPLICATE_IN_LIST", errorCode=5676, message="[Error 5676] MAC Address is duplicated."
            )
        elif store.device_by_mac(mac) is not None:
            item.update(state="UNAVAILABLE", errorCode=5675, message="[Error 5675] MAC Address is in use.")
        else:
            item["state"] = "AVAILABLE"
        if mac:
            seen.add(mac)
        statuses.append(item)
    status = "OK" if all(s["state"] == "AVAILABLE" for s in statuses) else "ERRORS"
    return ok({"status": status, "macStatus": statuses})


# --------------------------------------------------------------------------------------------
# members and available members
# --------------------------------------------------------------------------------------------


async def get_members(request: Request) -> Response:
    store = sim_of(request).store
    return ok(members.members_view(store, telephony.get_device(store, request.path_params["deviceId"])))


async def put_members(request: Request) -> Response:
    store = sim_of(request).store
    device = device_for_write(request)
    body = await validated(request)
    new = members.new_members(store, device, body.get("members") or [])
    if new != device.members:
        device.members = new
        telephony.mark_changed(device)
        wrote(request)
    return no_content()


def _available_params(request: Request) -> dict[str, str]:
    keys = ("memberName", "phoneNumber", "locationId", "extension", "usageType", "order")
    params = {k: v for k in keys if (v := query(request, k)) is not None}
    usage = params.get("usageType")
    if usage is not None and usage not in ("DEVICE_OWNER", "SHARED_LINE"):
        raise bad_request("usageType must be DEVICE_OWNER or SHARED_LINE.")
    return params


async def search_members(request: Request) -> Response:
    store = sim_of(request).store
    device = telephony.get_device(store, request.path_params["deviceId"])
    items = members.available_members(store, device, _available_params(request))
    chunk, headers = page(request, items, 2000, 2000)
    return ok({"members": chunk}, headers=headers)


async def count_members(request: Request) -> Response:
    store = sim_of(request).store
    device = telephony.get_device(store, request.path_params["deviceId"])
    return ok({"totalCount": len(members.available_members(store, device, _available_params(request)))})


async def count_org_members(request: Request) -> Response:
    store = sim_of(request).store
    params = _available_params(request)
    exclude_virtual = bool_param(request, "excludeVirtualLine") or False
    device_location = query(request, "deviceLocationId")
    if device_location is not None:
        telephony.get_location(store, device_location)
    items = members.available_members(store, None, params, exclude_virtual=exclude_virtual)
    return ok({"totalCount": len(items)})


# --------------------------------------------------------------------------------------------
# details, applyChanges
# --------------------------------------------------------------------------------------------


async def get_device_details(request: Request) -> Response:
    store = sim_of(request).store
    return ok(telephony.third_party_view(store, telephony.get_device(store, request.path_params["deviceId"])))


async def put_device_details(request: Request) -> Response:
    device = device_for_write(request)
    body = await validated(request)
    if telephony.get_model(device).cisco:
        raise bad_request("sipPassword can only be set on a third-party (customer-managed) device.")
    telephony.check_sip_password(body["sipPassword"])
    if body["sipPassword"] != device.sip_password:
        device.sip_password = body["sipPassword"]
        telephony.mark_changed(device)
        wrote(request)
    return no_content()


async def apply_changes(request: Request) -> Response:
    sim = sim_of(request)
    device = device_for_write(request)
    if not catalog.MODELS[device.model].apply_changes:
        raise bad_request(f"applyChanges is not supported on {device.model}.")
    device.pushes += 1
    device.pending_changes = False
    sim.stats.config_pushes_total += 1
    wrote(request)
    return no_content()


# --------------------------------------------------------------------------------------------
# the devices of a person or workspace
# --------------------------------------------------------------------------------------------


async def person_devices(request: Request) -> Response:
    store = sim_of(request).store
    return ok(
        hoteling.person_devices_view(store, telephony.get_person(store, request.path_params["personId"]))
    )


async def person_device_count(request: Request) -> Response:
    store = sim_of(request).store
    person = telephony.get_person(store, request.path_params["personId"])
    return ok({"totalDeviceCount": len(hoteling.devices_of(store, person.id)), "applicationsCount": 1})


async def workspace_devices(request: Request) -> Response:
    store = sim_of(request).store
    ws = telephony.get_workspace(store, request.path_params["workspaceId"])
    return ok(hoteling.workspace_devices_view(store, ws))


async def put_workspace_devices(request: Request) -> Response:
    store = sim_of(request).store
    ws = telephony.get_workspace(store, request.path_params["workspaceId"])
    body = await validated(request)
    value = hoteling.hoteling_value(body)
    hoteling.check_hoteling_host(store, ws.id, value)
    if hoteling.set_owner_hoteling(store, ws, value):
        wrote(request)
    return no_content()


def routes() -> list[Route]:
    return [
        Route(f"{T}/supportedDevices", supported_devices, methods=["GET"]),
        Route(f"{T}/devices/availableMembers/count", count_org_members, methods=["GET"]),
        Route(f"{T}/devices/actions/validateMacs/invoke", validate_macs, methods=["POST"]),
        Route(f"{T}/devices/dects/supportedDevices", dect_devices, methods=["GET"]),
        Route(f"{T}/devices/dectNetworks/supportedDevices", dect_devices, methods=["GET"]),
        Route(f"{T}/devices/{{deviceId}}", get_device_details, methods=["GET"]),
        Route(f"{T}/devices/{{deviceId}}", put_device_details, methods=["PUT"]),
        Route(f"{T}/devices/{{deviceId}}/members", get_members, methods=["GET"]),
        Route(f"{T}/devices/{{deviceId}}/members", put_members, methods=["PUT"]),
        Route(f"{T}/devices/{{deviceId}}/availableMembers", search_members, methods=["GET"]),
        Route(f"{T}/devices/{{deviceId}}/availableMembers/count", count_members, methods=["GET"]),
        Route(f"{T}/devices/{{deviceId}}/actions/applyChanges/invoke", apply_changes, methods=["POST"]),
        Route(f"{T}/people/{{personId}}/devices", person_devices, methods=["GET"]),
        Route(f"{T}/people/{{personId}}/devices/count", person_device_count, methods=["GET"]),
        Route(f"{T}/workspaces/{{workspaceId}}/devices", workspace_devices, methods=["GET"]),
        Route(f"{T}/workspaces/{{workspaceId}}/devices", put_workspace_devices, methods=["PUT"]),
    ]
