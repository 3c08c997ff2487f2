"""The simulator's Starlette app: every Device Call Settings route plus the lookups a client needs.

``create_app(...)`` builds it; ``app.state.sim`` is the :class:`Simulator` (store, counters, hooks).
Routes live under ``/v1/...``; ``/_sim/...`` is the simulator's own (not rate-limited, no faults,
no auth).
"""

from __future__ import annotations

import asyncio
import copy
import functools
import json
from collections.abc import Awaitable, Callable
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import catalog, jobs, telephony, validation
from .errors import ApiError, bad_request, not_found
from .faults import SimulatedDrop
from .ids import normalize_mac
from .simulator import Simulator
from .store import Device, Image, Template
from .store import Message as StoredMessage

Handler = Callable[[Request], Awaitable[Response]]

MAX_IMAGE_BYTES = 625 * 1024
MAX_IMAGES = 100


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


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
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise bad_request(f"The request body is not valid JSON: {exc}") from None


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
    try:
        value = int(float(raw))
    except ValueError:
        raise bad_request(f"Query parameter {name} must be a number, not {raw!r}.") from None
    return value


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
    sim = sim_of(request)
    device = telephony.get_device(sim.store, request.path_params["deviceId"])
    if sim.is_rejected(device.calling_id, device.mac):
        raise bad_request(f"Device {device.mac} rejected the change (simulated device fault).")
    return device


def now_iso(sim: Simulator) -> str:
    return jobs.iso(sim.now())


# --------------------------------------------------------------------------------------------
# access token, messages
# --------------------------------------------------------------------------------------------


async def access_token(request: Request) -> Response:
    sim = sim_of(request)
    form: dict[str, str] = {}
    content_type = request.headers.get("content-type", "")
    raw = (await request.body()).decode("utf-8", "replace")
    if "json" in content_type:
        try:
            loaded = json.loads(raw or "{}")
        except ValueError:
            raise bad_request("The request body is not valid JSON.") from None
        form = {str(k): str(v) for k, v in loaded.items()}
    else:
        form = dict(parse_qsl(raw))
    form.update({k: v for k, v in request.query_params.items() if k not in form})
    if form.get("grant_type") != "refresh_token":
        raise bad_request("grant_type must be refresh_token.")
    missing = [f for f in ("client_id", "client_secret", "refresh_token") if not form.get(f)]
    if missing:
        raise bad_request(f"Missing form fields: {', '.join(missing)}.")
    if form["refresh_token"] in sim.revoked_refresh_tokens:
        raise ApiError(400, "The refresh token is invalid or expired.")
    return ok(sim.issue_token(form["refresh_token"]))


def _message_json(sim: Simulator, msg: StoredMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"id": msg.id, "roomId": msg.room_id, "roomType": "group"}
    if msg.text is not None:
        out["text"] = msg.text
    if msg.markdown is not None:
        out["markdown"] = msg.markdown
    out.update(personId=sim.store.admin_id, personEmail="admin@example.com", created=msg.created)
    return out


async def create_message(request: Request) -> Response:
    sim = sim_of(request)
    body = await json_body(request)
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    room = body.get("roomId") or body.get("toPersonEmail") or body.get("toPersonId")
    if not room:
        raise bad_request("One of roomId, toPersonId or toPersonEmail is required.")
    if not (body.get("text") or body.get("markdown")):
        raise bad_request("A message needs text or markdown.")
    if len(str(body.get("markdown") or body.get("text"))) > 7439:
        raise bad_request("The message is longer than 7439 bytes.")
    msg = StoredMessage(
        sim.new_id("MESSAGE"), str(room), body.get("text"), body.get("markdown"), now_iso(sim)
    )
    sim.store.messages.append(msg)
    wrote(request)
    return ok(_message_json(sim, msg))


async def list_messages(request: Request) -> Response:
    sim = sim_of(request)
    room = query(request, "roomId")
    if room is None:
        raise bad_request("roomId is required.")
    items = [_message_json(sim, m) for m in reversed(sim.store.messages) if m.room_id == room]
    chunk, headers = page(request, items, 50, 1000)
    return ok({"items": chunk}, headers=headers)


# --------------------------------------------------------------------------------------------
# people, workspaces, locations, devices
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
        people = [p for p in people if p.id in set(wanted)]
        not_found_ids = [i for i in wanted if i not in store.people]
    if name:
        people = [p for p in people if p.display_name.lower().startswith(name)]
    if location is not None:
        people = [p for p in people if p.location_id == location]
    items = [telephony.person_json(store, p, calling) for p in people]
    chunk, headers = page(request, items, 100, 1000)
    body: dict[str, Any] = {"items": chunk}
    if ids is not None:
        body["notFoundIds"] = not_found_ids
    return ok(body, headers=headers)


async def get_person(request: Request) -> Response:
    store = sim_of(request).store
    person = telephony.get_person(store, request.path_params["personId"])
    return ok(telephony.person_json(store, person, bool_param(request, "callingData") or False))


async def list_workspaces(request: Request) -> Response:
    store = sim_of(request).store
    name = (query(request, "displayName") or "").lower()
    location = query(request, "locationId") or query(request, "workspaceLocationId")
    items = [
        telephony.workspace_json(store, ws)
        for ws in store.workspaces.values()
        if (not name or name in ws.display_name.lower()) and (location is None or ws.location_id == location)
    ]
    chunk, headers = page(request, items, 100, 1000)
    return ok({"items": chunk}, headers=headers)


async def get_workspace(request: Request) -> Response:
    store = sim_of(request).store
    return ok(
        telephony.workspace_json(store, telephony.get_workspace(store, request.path_params["workspaceId"]))
    )


async def list_locations(request: Request) -> Response:
    store = sim_of(request).store
    name = (query(request, "name") or "").lower()
    ident = query(request, "id")
    items = [
        telephony.location_json(store, loc)
        for loc in store.locations.values()
        if (not name or name in loc.name.lower()) and (ident is None or loc.id == ident)
    ]
    chunk, headers = page(request, items, 500, 1000)
    return ok({"items": chunk}, headers=headers)


async def get_location(request: Request) -> Response:
    store = sim_of(request).store
    return ok(
        telephony.location_json(store, telephony.get_location(store, request.path_params["locationId"]))
    )


def _device_filter(request: Request) -> Callable[[Device], bool]:
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
    return lambda d: all(check(d) for check in checks)


def _check(test: Callable[[Device, str], bool], value: str, device: Device) -> bool:
    return test(device, value)


async def list_devices(request: Request) -> Response:
    store = sim_of(request).store
    keep = _device_filter(request)
    mac = normalize_mac(query(request, "mac") or "")
    if mac:
        hit = store.device_by_mac(mac)
        candidates = [hit] if hit and keep(hit) else []
    else:
        candidates = [d for d in store.devices.values() if keep(d)]
    chunk, headers = page(request, candidates, 100, 1000)
    return ok({"items": [telephony.device_json(store, d) for d in chunk]}, headers=headers)


async def get_webex_device(request: Request) -> Response:
    store = sim_of(request).store
    device = store.device_by_webex_id(request.path_params["deviceId"])
    if device is None:
        raise not_found("Device")
    return ok(telephony.device_json(store, device))


# --------------------------------------------------------------------------------------------
# devices: members, settings, layout, details
# --------------------------------------------------------------------------------------------


async def get_members(request: Request) -> Response:
    store = sim_of(request).store
    return ok(telephony.members_view(store, telephony.get_device(store, request.path_params["deviceId"])))


async def put_members(request: Request) -> Response:
    store = sim_of(request).store
    device = device_for_write(request)
    body = await validated(request)
    members = telephony.new_members(store, device, body.get("members") or [])
    if members != device.members:
        device.members = members
        device.pending_changes = True
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
    items = telephony.available_members(store, device, _available_params(request))
    chunk, headers = page(request, items, 2000, 2000)
    return ok({"members": chunk}, headers=headers)


async def count_members(request: Request) -> Response:
    store = sim_of(request).store
    device = telephony.get_device(store, request.path_params["deviceId"])
    return ok({"totalCount": len(telephony.available_members(store, device, _available_params(request)))})


async def count_org_members(request: Request) -> Response:
    store = sim_of(request).store
    params = _available_params(request)
    exclude_virtual = bool_param(request, "excludeVirtualLine") or False
    device_location = query(request, "deviceLocationId")
    if device_location is not None:
        telephony.get_location(store, device_location)
    items = telephony.available_members(store, None, params, exclude_virtual=exclude_virtual)
    return ok({"totalCount": len(items)})


async def apply_changes(request: Request) -> Response:
    sim = sim_of(request)
    device = device_for_write(request)
    device.pushes += 1
    device.pending_changes = False
    sim.stats.config_pushes_total += 1
    wrote(request)
    return no_content()


async def get_device_settings(request: Request) -> Response:
    store = sim_of(request).store
    device = telephony.get_device(store, request.path_params["deviceId"])
    telephony.check_device_model_param(device, query(request, "deviceModel"))
    return ok(telephony.device_settings_view(store, device))


async def put_device_settings(request: Request) -> Response:
    sim = sim_of(request)
    device = device_for_write(request)
    telephony.check_device_model_param(device, query(request, "deviceModel"))
    body = await validated(request)
    settings = telephony.new_device_settings(device, body)
    if settings != device.settings:
        device.settings = settings
        device.settings_updated = int(sim.now() * 1000)
        device.pending_changes = True
        wrote(request)
    return no_content()


async def get_layout(request: Request) -> Response:
    store = sim_of(request).store
    return ok(telephony.layout_view(telephony.get_device(store, request.path_params["deviceId"])))


async def put_layout(request: Request) -> Response:
    device = device_for_write(request)
    body = await validated(request)
    layout = telephony.new_layout(device, body)
    if layout != device.layout:
        device.layout = layout
        device.pending_changes = True
        wrote(request)
    return no_content()


async def get_device_details(request: Request) -> Response:
    store = sim_of(request).store
    return ok(telephony.third_party_view(store, telephony.get_device(store, request.path_params["deviceId"])))


async def put_device_details(request: Request) -> Response:
    device = device_for_write(request)
    body = await validated(request)
    telephony.check_sip_password(body["sipPassword"])
    if body["sipPassword"] != device.sip_password:
        device.sip_password = body["sipPassword"]
        device.pending_changes = True
        wrote(request)
    return no_content()


# --------------------------------------------------------------------------------------------
# people and workspaces
# --------------------------------------------------------------------------------------------


async def person_devices(request: Request) -> Response:
    store = sim_of(request).store
    return ok(
        telephony.person_devices_view(store, telephony.get_person(store, request.path_params["personId"]))
    )


async def person_device_count(request: Request) -> Response:
    store = sim_of(request).store
    person = telephony.get_person(store, request.path_params["personId"])
    return ok({"totalDeviceCount": len(telephony.devices_of(store, person.id)), "applicationsCount": 1})


async def put_person_hoteling(request: Request) -> Response:
    store = sim_of(request).store
    person = telephony.get_person(store, request.path_params["personId"])
    body = await validated(request)
    value = telephony.hoteling_value(body["hoteling"])
    if value != person.hoteling:
        person.hoteling = value
        wrote(request)
    return no_content()


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


async def workspace_devices(request: Request) -> Response:
    store = sim_of(request).store
    ws = telephony.get_workspace(store, request.path_params["workspaceId"])
    return ok(telephony.workspace_devices_view(store, ws))


async def put_workspace_devices(request: Request) -> Response:
    store = sim_of(request).store
    ws = telephony.get_workspace(store, request.path_params["workspaceId"])
    body = await validated(request)
    value = telephony.hoteling_value(body)
    if value != ws.hoteling:
        ws.hoteling = value
        wrote(request)
    return no_content()


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


# --------------------------------------------------------------------------------------------
# catalogue, org and location settings, MACs
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


async def org_settings(request: Request) -> Response:
    return ok(telephony.org_settings_view(sim_of(request).store))


async def location_settings(request: Request) -> Response:
    store = sim_of(request).store
    loc = telephony.get_location(store, request.path_params["locationId"])
    return ok(telephony.location_settings_view(store, loc))


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
# line key templates
# --------------------------------------------------------------------------------------------


async def list_templates(request: Request) -> Response:
    store = sim_of(request).store
    items = sorted(
        (telephony.template_summary(t) for t in store.templates.values()),
        key=lambda t: t["templateName"].lower(),
    )
    return ok({"lineKeyTemplates": items})


async def create_template(request: Request) -> Response:
    sim = sim_of(request)
    body = await validated(request)
    model = telephony.template_model(body["deviceModel"])
    name = body["templateName"].strip()
    if not name:
        raise bad_request("templateName must not be empty.")
    if any(t.name.lower() == name.lower() for t in sim.store.templates.values()):
        raise ApiError(409, f"A line key template named {name} already exists.")
    keys = telephony.template_line_keys(model, body["lineKeys"])
    tpl = Template(
        sim.new_id("DEVICE_LINE_KEY_TEMPLATE"),
        name,
        model.model,
        bool(body.get("userReorderEnabled", False)),
        keys,
    )
    sim.store.templates[tpl.id] = tpl
    wrote(request)
    return ok({"id": tpl.id}, status=201)


async def get_template(request: Request) -> Response:
    store = sim_of(request).store
    return ok(telephony.template_view(telephony.get_template(store, request.path_params["templateId"])))


async def put_template(request: Request) -> Response:
    store = sim_of(request).store
    tpl = telephony.get_template(store, request.path_params["templateId"])
    body = await validated(request)
    keys = telephony.template_line_keys(catalog.MODELS[tpl.model], body["lineKeys"])
    reorder = bool(body.get("userReorderEnabled", tpl.user_reorder_enabled))
    if keys != tpl.line_keys or reorder != tpl.user_reorder_enabled:
        tpl.line_keys = keys
        tpl.user_reorder_enabled = reorder
        wrote(request)
    return no_content()


async def delete_template(request: Request) -> Response:
    store = sim_of(request).store
    tpl = telephony.get_template(store, request.path_params["templateId"])
    running = [
        j
        for j in store.jobs.values()
        if j.type == jobs.APPLY_LKT and not j.finished and j.request.get("templateId") == tpl.id
    ]
    if running:
        raise ApiError(409, "The template is in use by a running applyLineKeyTemplate job.")
    del store.templates[tpl.id]
    wrote(request)
    return no_content()


async def _lkt_body(request: Request) -> dict[str, Any]:
    store = sim_of(request).store
    body = await validated(request)
    if body["action"] == "APPLY_TEMPLATE":
        if not body.get("templateId"):
            raise bad_request("templateId is required for the APPLY_TEMPLATE action.")
        telephony.get_template(store, body["templateId"])
    for loc in body.get("locationIds") or []:
        telephony.get_location(store, loc)
    return body


async def preview_lkt(request: Request) -> Response:
    body = await _lkt_body(request)
    return ok({"deviceCount": len(jobs.lkt_targets(sim_of(request).store, body))})


# --------------------------------------------------------------------------------------------
# jobs
# --------------------------------------------------------------------------------------------


def _job(request: Request, job_type: str) -> Any:
    sim = sim_of(request)
    job = sim.store.jobs.get(request.path_params["jobId"])
    if job is None or job.type != job_type:
        raise not_found("Job")
    sim.read_job(job)
    return job


def _job_list(request: Request, job_type: str) -> list[dict[str, Any]]:
    sim = sim_of(request)
    now = sim.now()
    found = [j for j in sim.store.jobs.values() if j.type == job_type]
    found.sort(key=lambda j: j.created, reverse=True)
    return [jobs.view(sim.store, j, now) for j in found]


async def start_lkt_job(request: Request) -> Response:
    sim = sim_of(request)
    body = await _lkt_body(request)
    job = sim.start_job(jobs.APPLY_LKT, body, tracking_of(request.scope), None)
    wrote(request)
    return ok(jobs.view(sim.store, job, sim.now()), status=202)


async def start_settings_job(request: Request) -> Response:
    sim = sim_of(request)
    body = await validated(request)
    location_id = body.get("locationId") or None
    if location_id is not None:
        telephony.get_location(sim.store, location_id)
    if any(j.type == jobs.CALL_DEVICE_SETTINGS and not j.finished for j in sim.store.jobs.values()):
        raise ApiError(409, "A change device settings job is already running for this organization.")
    customizing = location_id is None or bool(body.get("locationCustomizationsEnabled", False))
    if customizing and not body.get("customizations"):
        raise bad_request("customizations are required.")
    job = sim.start_job(jobs.CALL_DEVICE_SETTINGS, body, tracking_of(request.scope), location_id)
    wrote(request)
    return ok(jobs.view(sim.store, job, sim.now()))


async def start_rebuild_job(request: Request) -> Response:
    sim = sim_of(request)
    body = await validated(request)
    telephony.get_location(sim.store, body["locationId"])
    job = sim.start_job(jobs.REBUILD_PHONES, body, tracking_of(request.scope), body["locationId"])
    wrote(request)
    return ok(jobs.view(sim.store, job, sim.now()), status=202)


def _job_routes(job_type: str) -> list[Route]:
    base = f"/v1/telephony/config/jobs/devices/{job_type}"

    async def list_jobs(request: Request) -> Response:
        items = _job_list(request, job_type)
        if job_type == jobs.CALL_DEVICE_SETTINGS:
            chunk, headers = page(request, items, 100, 1000)
            return ok({"items": chunk}, headers=headers)
        return ok({"items": items})

    async def job_status(request: Request) -> Response:
        sim = sim_of(request)
        return ok(jobs.view(sim.store, _job(request, job_type), sim.now()))

    async def job_errors(request: Request) -> Response:
        job = _job(request, job_type)
        items = copy.deepcopy(job.errors)
        if job_type == jobs.APPLY_LKT:
            body: dict[str, Any] = {"trackingId": job.tracking_id, "items": items}
            if items:
                body["error"] = items[0]["error"]
            return ok(body)
        if job_type == jobs.CALL_DEVICE_SETTINGS:
            chunk, headers = page(request, items, 100, 1000)
            return ok({"items": chunk}, headers=headers)
        return ok({"items": items})

    return [
        Route(f"{base}/{{jobId}}/errors", job_errors, methods=["GET"]),
        Route(f"{base}/{{jobId}}", job_status, methods=["GET"]),
        Route(base, list_jobs, methods=["GET"]),
    ]


# --------------------------------------------------------------------------------------------
# background images
# --------------------------------------------------------------------------------------------


def _images_json(sim: Simulator) -> list[dict[str, Any]]:
    return [{"backgroundImageUrl": i.url, "fileName": i.file_name} for i in sim.store.images.values()]


async def list_images(request: Request) -> Response:
    sim = sim_of(request)
    items = _images_json(sim)
    return ok({"backgroundImages": items, "count": str(len(items))})


def _parse_multipart(content_type: str, raw: bytes) -> dict[str, tuple[str | None, bytes]]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + raw)
    if not message.is_multipart():
        raise bad_request("The request body must be multipart/form-data.")
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True)
        fields[str(name)] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return fields


def _image_in_use(sim: Simulator, url: str) -> bool:
    store = sim.store
    blobs: list[dict[str, Any] | None] = [store.org_customizations]
    blobs += [loc.customizations for loc in store.locations.values()]
    blobs += [d.settings for d in store.devices.values() if d.settings]
    for blob in blobs:
        if blob and (blob.get("mpp") or {}).get("background", {}).get("customUrl") == url:
            return True
    return False


async def upload_image(request: Request) -> Response:
    sim = sim_of(request)
    device = device_for_write(request)
    if catalog.MODELS[device.model].family != "mpp":
        raise bad_request(f"Background images are not supported on {device.model}.")
    content_type = request.headers.get("content-type", "")
    if "multipart/form-data" not in content_type.lower():
        raise ApiError(415, "Send the image as multipart/form-data.")
    fields = _parse_multipart(content_type, await request.body())
    if "file" not in fields or "fileName" not in fields:
        raise bad_request("multipart fields file and fileName are required.")
    data = fields["file"][1]
    name = fields["fileName"][1].decode("utf-8", "replace").strip()
    stem = name
    for ext in (".png", ".jpeg", ".jpg"):
        if stem.lower().endswith(ext):
            stem = stem[: -len(ext)]
    if not stem:
        raise bad_request("fileName must not be empty.")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        kind = "image/png"
    elif data.startswith(b"\xff\xd8\xff"):
        kind = "image/jpeg"
    else:
        raise bad_request("The image must be a .png or .jpeg file.")
    if len(data) > MAX_IMAGE_BYTES:
        raise bad_request(f"The image is {len(data)} bytes; the limit is 625 KB.")
    existing = sim.store.images.get(stem)
    if existing is None and len(sim.store.images) >= MAX_IMAGES:
        raise bad_request(f"The organization already has {MAX_IMAGES} background images.")
    url = (
        existing.url if existing else f"/dms/Cisco_Phone_Background/background{sim.store.next_sequence():03d}"
    )
    sim.store.images[stem] = Image(stem, url, len(data), kind)
    wrote(request)
    return ok({"filename": stem, "backgroundImageUrl": url, "count": str(len(sim.store.images))}, status=201)


async def delete_images(request: Request) -> Response:
    sim = sim_of(request)
    body = await validated(request)
    results = []
    failed = False
    for item in body["backgroundImages"]:
        name = item["fileName"]
        image = sim.store.images.get(name)
        if image is None:
            failed = True
            results.append(
                {
                    "fileName": name,
                    "result": {
                        "status": 404,
                        "error": {"message": f"Background image {name} does not exist.", "errorCode": 4404},
                    },
                }
            )
        elif _image_in_use(sim, image.url) and not item.get("forceDelete", False):
            failed = True
            results.append(
                {
                    "fileName": name,
                    "result": {
                        "status": 400,
                        "error": {
                            "message": f"Background image {name} is in use; set forceDelete to delete it.",
                            "errorCode": 4305,
                        },
                    },
                }
            )
        else:
            del sim.store.images[name]
            wrote(request)
            results.append({"fileName": name, "result": {"status": 200}})
    return ok({"items": results, "count": str(len(sim.store.images))}, status=206 if failed else 200)


# --------------------------------------------------------------------------------------------
# /_sim
# --------------------------------------------------------------------------------------------


async def sim_stats(request: Request) -> Response:
    return JSONResponse(sim_of(request).stats.to_json())


async def sim_stats_reset(request: Request) -> Response:
    sim_of(request).stats.reset()
    return JSONResponse(sim_of(request).stats.to_json())


# --------------------------------------------------------------------------------------------
# routes
# --------------------------------------------------------------------------------------------

T = "/v1/telephony/config"


def routes() -> list[Route]:
    return [
        Route("/_sim/stats", sim_stats, methods=["GET"]),
        Route("/_sim/stats/reset", sim_stats_reset, methods=["POST"]),
        Route("/v1/access_token", access_token, methods=["POST"]),
        Route("/v1/messages", list_messages, methods=["GET"]),
        Route("/v1/messages", create_message, methods=["POST"]),
        Route("/v1/people", list_people, methods=["GET"]),
        Route("/v1/people/{personId}", get_person, methods=["GET"]),
        Route("/v1/workspaces", list_workspaces, methods=["GET"]),
        Route("/v1/workspaces/{workspaceId}", get_workspace, methods=["GET"]),
        Route("/v1/locations", list_locations, methods=["GET"]),
        Route("/v1/locations/{locationId}", get_location, methods=["GET"]),
        Route("/v1/devices", list_devices, methods=["GET"]),
        Route("/v1/devices/{deviceId}", get_webex_device, methods=["GET"]),
        Route(f"{T}/supportedDevices", supported_devices, methods=["GET"]),
        Route(f"{T}/devices/settings", org_settings, methods=["GET"]),
        Route(f"{T}/devices/availableMembers/count", count_org_members, methods=["GET"]),
        Route(f"{T}/devices/lineKeyTemplates", list_templates, methods=["GET"]),
        Route(f"{T}/devices/lineKeyTemplates", create_template, methods=["POST"]),
        Route(f"{T}/devices/lineKeyTemplates/{{templateId}}", get_template, methods=["GET"]),
        Route(f"{T}/devices/lineKeyTemplates/{{templateId}}", put_template, methods=["PUT"]),
        Route(f"{T}/devices/lineKeyTemplates/{{templateId}}", delete_template, methods=["DELETE"]),
        Route(f"{T}/devices/actions/previewApplyLineKeyTemplate/invoke", preview_lkt, methods=["POST"]),
        Route(f"{T}/devices/actions/validateMacs/invoke", validate_macs, methods=["POST"]),
        Route(f"{T}/devices/dects/supportedDevices", dect_devices, methods=["GET"]),
        Route(f"{T}/devices/dectNetworks/supportedDevices", dect_devices, methods=["GET"]),
        Route(f"{T}/devices/backgroundImages", list_images, methods=["GET"]),
        Route(f"{T}/devices/backgroundImages", delete_images, methods=["DELETE"]),
        Route(f"{T}/devices/{{deviceId}}", get_device_details, methods=["GET"]),
        Route(f"{T}/devices/{{deviceId}}", put_device_details, methods=["PUT"]),
        Route(f"{T}/devices/{{deviceId}}/members", get_members, methods=["GET"]),
        Route(f"{T}/devices/{{deviceId}}/members", put_members, methods=["PUT"]),
        Route(f"{T}/devices/{{deviceId}}/availableMembers", search_members, methods=["GET"]),
        Route(f"{T}/devices/{{deviceId}}/availableMembers/count", count_members, methods=["GET"]),
        Route(f"{T}/devices/{{deviceId}}/actions/applyChanges/invoke", apply_changes, methods=["POST"]),
        Route(f"{T}/devices/{{deviceId}}/settings", get_device_settings, methods=["GET"]),
        Route(f"{T}/devices/{{deviceId}}/settings", put_device_settings, methods=["PUT"]),
        Route(f"{T}/devices/{{deviceId}}/layout", get_layout, methods=["GET"]),
        Route(f"{T}/devices/{{deviceId}}/layout", put_layout, methods=["PUT"]),
        Route(
            f"{T}/devices/{{deviceId}}/actions/backgroundImageUpload/invoke", upload_image, methods=["POST"]
        ),
        Route(f"{T}/locations/{{locationId}}/devices/settings", location_settings, methods=["GET"]),
        Route(f"{T}/people/{{personId}}/devices", person_devices, methods=["GET"]),
        Route(f"{T}/people/{{personId}}/devices/count", person_device_count, methods=["GET"]),
        Route(f"{T}/people/{{personId}}/devices/settings", get_person_settings, methods=["GET"]),
        Route(f"{T}/people/{{personId}}/devices/settings", put_person_settings, methods=["PUT"]),
        Route(f"{T}/people/{{personId}}/devices/settings/hoteling", put_person_hoteling, methods=["PUT"]),
        Route(f"{T}/workspaces/{{workspaceId}}/devices", workspace_devices, methods=["GET"]),
        Route(f"{T}/workspaces/{{workspaceId}}/devices", put_workspace_devices, methods=["PUT"]),
        Route(f"{T}/workspaces/{{workspaceId}}/devices/settings", get_workspace_settings, methods=["GET"]),
        Route(f"{T}/workspaces/{{workspaceId}}/devices/settings", put_workspace_settings, methods=["PUT"]),
        Route(f"{T}/jobs/devices/applyLineKeyTemplate", start_lkt_job, methods=["POST"]),
        Route(f"{T}/jobs/devices/callDeviceSettings", start_settings_job, methods=["POST"]),
        Route(f"{T}/jobs/devices/rebuildPhones", start_rebuild_job, methods=["POST"]),
        *_job_routes(jobs.APPLY_LKT),
        *_job_routes(jobs.CALL_DEVICE_SETTINGS),
        *_job_routes(jobs.REBUILD_PHONES),
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
        route = f"{scope['method']} {self.template(scope)}"
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
        if sim.tick():
            sim.persist()
        await self.app(scope, receive, send_wrapper)
        status = status_box.get("status", 500)
        stats.requests_by_status[str(status)] += 1
        if state.get("write") and status < 400:
            stats.writes_total += 1
            stats.writes_by_route[route] += 1
            sim.persist()


def _query_value(scope: Scope, name: str) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(name)
    return values[0] if values else None


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(request.scope, exc.status, exc.message, exc.descriptions, exc.headers or None)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {404: "The requested resource could not be found.", 405: "Method not allowed."}
    message = messages.get(exc.status_code, str(exc.detail))
    return error_response(request.scope, exc.status_code, message)


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
