"""Device members (the lines on a phone's ports): the members view, the checks of a members PUT,
and the available members search."""

from __future__ import annotations

import copy
from typing import Any

from . import catalog, limits
from .errors import bad_request
from .store import Device, Person, Store, VirtualLine, Workspace
from .telephony import DOMAIN, first_last, get_model, location_ref, member_type


def members_view(store: Store, device: Device) -> dict[str, Any]:
    model = get_model(device)
    items = []
    for stored in sorted(device.members, key=lambda m: m["port"]):
        entity = store.member_entity(stored["id"])
        if entity is None:
            continue
        first, last = first_last(entity)
        item: dict[str, Any] = {"id": entity.id, "firstName": first, "lastName": last}
        if entity.phone_number:
            item["phoneNumber"] = entity.phone_number
        item["extension"] = entity.extension
        item.update(
            primaryOwner=stored["primaryOwner"],
            port=stored["port"],
            t38FaxCompressionEnabled=stored.get("t38FaxCompressionEnabled", False),
            lineType=stored["lineType"],
            lineWeight=stored["lineWeight"],
            hotlineEnabled=stored["hotlineEnabled"],
            hotlineDestination=stored.get("hotlineDestination", ""),
            allowCallDeclineEnabled=stored["allowCallDeclineEnabled"],
        )
        if stored.get("lineLabel"):
            item["lineLabel"] = stored["lineLabel"]
        item["linePort"] = f"{entity.extension}_{device.mac[-4:].lower()}{stored['port']}@{DOMAIN}"
        item["memberType"] = member_type(entity)
        item["location"] = location_ref(store, entity.location_id)
        items.append(item)
    return {"model": device.model, "members": items, "maxLineCount": model.line_ports}


def _stored_member(body: dict[str, Any]) -> dict[str, Any]:
    out = {
        "port": int(body["port"]),
        "id": body["id"],
        "primaryOwner": bool(body["primaryOwner"]),
        "lineType": body["lineType"],
        "lineWeight": int(body["lineWeight"]),
        "hotlineEnabled": bool(body["hotlineEnabled"]),
        "hotlineDestination": body.get("hotlineDestination") or "",
        "allowCallDeclineEnabled": bool(body["allowCallDeclineEnabled"]),
        "t38FaxCompressionEnabled": bool(body.get("t38FaxCompressionEnabled", False)),
    }
    if body.get("lineLabel"):
        out["lineLabel"] = body["lineLabel"]
    return out


def _member_field_problems(model: catalog.Model, m: dict[str, Any]) -> list[str]:
    """The member fields set to what the model does not support (its supportedDevices flags)."""
    where = f"Member on port {m['port']}"
    name = model.display_name
    problems = []
    if m["t38FaxCompressionEnabled"] and not model.t38:
        problems.append(f"{where}: t38FaxCompressionEnabled is not supported on {name}.")
    if not m["allowCallDeclineEnabled"] and not model.call_decline:
        problems.append(f"{where}: allowCallDeclineEnabled cannot be disabled on {name}.")
    if m.get("lineLabel") and not model.line_label:
        problems.append(f"{where}: lineLabel is not supported on {name}.")
    if m["hotlineEnabled"] and not model.hotline:
        problems.append(f"{where}: hotline is not supported on {name}.")
    return problems


def new_members(store: Store, device: Device, members: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The member list a PUT would store, or ApiError(400) saying why it is refused."""
    model = get_model(device)
    result = [_stored_member(m) for m in members]
    problems = _listed_problems(store, model, result)
    problems += _primary_problems(device, result)
    problems += _port_problems(model, result)
    if problems:
        raise bad_request(problems[0], list(dict.fromkeys(problems)))
    return sorted(result, key=lambda m: m["port"])


def _listed_problems(store: Store, model: catalog.Model, result: list[dict[str, Any]]) -> list[str]:
    """What is wrong with each member as listed: unknown or repeated, fields the model refuses."""
    problems: list[str] = []
    seen_ids: set[str] = set()
    for m in result:
        if store.member_entity(m["id"]) is None:
            problems.append(f"Member id {m['id']} does not exist.")
        if m["id"] in seen_ids:
            problems.append(f"Member id {m['id']} is listed more than once.")
        seen_ids.add(m["id"])
        if m["hotlineEnabled"] and not m["hotlineDestination"]:
            problems.append(
                f"Member on port {m['port']}: hotlineDestination is required when hotlineEnabled."
            )
        if m["lineWeight"] < 1:
            problems.append(f"Member on port {m['port']}: lineWeight must be at least 1.")
        problems += _member_field_problems(model, m)
    return problems


def _primary_problems(device: Device, result: list[dict[str, Any]]) -> list[str]:
    """The primary owner stays who it is. A list without a primary keeps the stored one: it is
    added to ``result``, unless the list names it as a secondary member."""
    primaries = [m for m in result if m["primaryOwner"]]
    if len(primaries) > 1:
        return ["Only one member can be the primary owner of a device."]
    if primaries:
        if primaries[0]["id"] != device.owner_id:
            return ["The primary owner of a device cannot be changed with this API."]
        return []
    kept = next((m for m in device.members if m["primaryOwner"]), None)
    if kept is None:
        return []
    if any(m["id"] == kept["id"] for m in result):
        return ["The primary owner is listed without primaryOwner: true."]
    result.append(copy.deepcopy(kept))
    return []


def _port_problems(model: catalog.Model, result: list[dict[str, Any]]) -> list[str]:
    """Ports out of the model's range, used twice, or more lines than the model has."""
    problems: list[str] = []
    used: set[int] = set()
    for m in result:
        ports, beyond = limits.member_ports(m["port"], m["lineWeight"], model.line_ports)
        if beyond is not None:
            problems.append(
                f"Port {beyond} is out of range: {model.display_name} has {model.line_ports} line ports."
            )
        for port in ports:
            if port in used:
                problems.append(f"Port {port} is used by more than one member.")
            used.add(port)
    total = sum(max(1, m["lineWeight"]) for m in result)
    if total > model.line_ports:
        problems.append(
            f"Members use {total} lines; maxLineCount for {model.display_name} is {model.line_ports}."
        )
    return problems


def available_members(
    store: Store, device: Device | None, params: dict[str, str], *, exclude_virtual: bool = False
) -> list[dict[str, Any]]:
    on_device = {m["id"] for m in device.members} if device else set()
    usage = params.get("usageType")
    name = (params.get("memberName") or "").lower()
    number = params.get("phoneNumber") or ""
    extension = params.get("extension") or ""
    location = params.get("locationId")
    candidates: list[Person | Workspace | VirtualLine] = [*store.people.values(), *store.workspaces.values()]
    if not exclude_virtual and usage != "DEVICE_OWNER":
        candidates += list(store.virtual_lines.values())
    out = []
    for entity in candidates:
        if entity.id in on_device:
            continue
        if location and entity.location_id != location:
            continue
        first, last = first_last(entity)
        if name and name not in f"{first} {last}".lower():
            continue
        if number and number not in (entity.phone_number or ""):
            continue
        if extension and extension not in entity.extension:
            continue
        item: dict[str, Any] = {"id": entity.id, "firstName": first, "lastName": last}
        if entity.phone_number:
            item["phoneNumber"] = entity.phone_number
        item["extension"] = entity.extension
        item.update(
            t38FaxCompressionEnabled=False,
            lineType="PRIMARY" if usage == "DEVICE_OWNER" else "SHARED_CALL_APPEARANCE",
            allowCallDeclineEnabled=True,
            memberType=member_type(entity),
            location=location_ref(store, entity.location_id),
        )
        out.append(item)
    key = "firstName" if params.get("order", "").lower().startswith("fname") else "lastName"
    out.sort(key=lambda i: (i[key].lower(), i["id"]))
    return out
