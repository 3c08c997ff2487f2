"""Device Call Settings behaviour: views of the store in the API's shapes and semantic checks."""

from __future__ import annotations

import copy
from typing import Any

from . import catalog, defaults, limits
from .errors import bad_request, not_found
from .ids import colon_mac
from .store import Device, Location, Person, Store, Template, VirtualLine, Workspace

DOMAIN = "example.webex.com"

# --------------------------------------------------------------------------------------------
# lookups
# --------------------------------------------------------------------------------------------


def get_device(store: Store, device_id: str) -> Device:
    device = store.devices.get(device_id)
    if device is None:
        raise not_found("Device")
    return device


def get_model(device: Device) -> catalog.Model:
    return catalog.MODELS[device.model]


def get_person(store: Store, person_id: str) -> Person:
    person = store.people.get(person_id)
    if person is None:
        raise not_found("Person")
    return person


def get_workspace(store: Store, workspace_id: str) -> Workspace:
    ws = store.workspaces.get(workspace_id)
    if ws is None:
        raise not_found("Workspace")
    return ws


def get_location(store: Store, location_id: str) -> Location:
    loc = store.locations.get(location_id)
    if loc is None:
        raise not_found("Location")
    return loc


def get_template(store: Store, template_id: str) -> Template:
    tpl = store.templates.get(template_id)
    if tpl is None:
        raise not_found("Line key template")
    return tpl


def mark_changed(device: Device) -> None:
    """The device's configuration changed: it is pending until it is told to download it
    (applyChanges, or a rebuildPhones job of its location). The API never pushes by itself. A model
    that takes no push (a customer-managed SIP phone) is never pending."""
    if get_model(device).apply_changes:
        device.pending_changes = True


def pending_view(store: Store) -> dict[str, Any]:
    """The devices whose configuration changed since their last push (``GET /_sim/pending``)."""
    items = [
        {
            "mac": device.mac,
            "deviceId": device.calling_id,
            "locationId": device.location_id,
            "model": device.model,
        }
        for device in store.devices.values()
        if device.pending_changes
    ]
    return {"count": len(items), "items": sorted(items, key=lambda i: str(i["mac"]))}


def owner_of(store: Store, device: Device) -> Person | Workspace:
    if device.owner_type == "PEOPLE" and device.owner_id in store.people:
        return store.people[device.owner_id]
    return store.workspaces[device.owner_id]


def _names(entity: Person | Workspace | VirtualLine) -> tuple[str, str]:
    if isinstance(entity, Workspace):
        return entity.display_name, "."  # workspaces have a single name; Webex fills lastName with "."
    return entity.first_name, entity.last_name


def member_type(entity: Person | Workspace | VirtualLine) -> str:
    if isinstance(entity, Person):
        return "PEOPLE"
    if isinstance(entity, Workspace):
        return "PLACE"
    return "VIRTUAL_LINE"


def location_ref(store: Store, location_id: str) -> dict[str, str]:
    loc = store.locations[location_id]
    return {"id": loc.id, "name": loc.name}


# --------------------------------------------------------------------------------------------
# members
# --------------------------------------------------------------------------------------------


def members_view(store: Store, device: Device) -> dict[str, Any]:
    model = get_model(device)
    items = []
    for stored in sorted(device.members, key=lambda m: m["port"]):
        entity = store.member_entity(stored["id"])
        if entity is None:
            continue
        first, last = _names(entity)
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
    primaries = [m for m in result if m["primaryOwner"]]
    if len(primaries) > 1:
        problems.append("Only one member can be the primary owner of a device.")
    elif primaries and primaries[0]["id"] != device.owner_id:
        problems.append("The primary owner of a device cannot be changed with this API.")
    if not primaries:
        kept = next((m for m in device.members if m["primaryOwner"]), None)
        if kept is not None and kept["id"] not in seen_ids:
            result.append(copy.deepcopy(kept))
        elif kept is not None:
            problems.append("The primary owner is listed without primaryOwner: true.")
    used: dict[int, int] = {}
    for m in result:
        ports, beyond = limits.member_ports(m["port"], m["lineWeight"], model.line_ports)
        if beyond is not None:
            problems.append(
                f"Port {beyond} is out of range: {model.display_name} has {model.line_ports} line ports."
            )
        for port in ports:
            if port in used:
                problems.append(f"Port {port} is used by more than one member.")
            used[port] = 1
    total = sum(max(1, m["lineWeight"]) for m in result)
    if total > model.line_ports:
        problems.append(
            f"Members use {total} lines; maxLineCount for {model.display_name} is {model.line_ports}."
        )
    if problems:
        raise bad_request(problems[0], list(dict.fromkeys(problems)))
    return sorted(result, key=lambda m: m["port"])


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
        first, last = _names(entity)
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


# --------------------------------------------------------------------------------------------
# layouts and templates
# --------------------------------------------------------------------------------------------


def _norm_key(key: dict[str, Any], prefix: str) -> dict[str, Any]:
    out = {k: v for k, v in key.items() if v is not None}
    for field in (f"{prefix}Index", "sharedLineIndex"):
        if field in out:
            out[field] = int(out[field])
    if f"{prefix}Label" in out and out[f"{prefix}Label"] == "":
        del out[f"{prefix}Label"]
    out.setdefault("sharedLineIndex", 0)
    return out


def check_line_keys(
    model: catalog.Model, keys: list[dict[str, Any]], written: bool = False
) -> list[dict[str, Any]]:
    """Every line key of the model (those not given OPEN), or ApiError(400). ``written``: keys a
    request sets (a layout PUT, a template), which must keep key 1 as the primary line."""
    problems: list[str] = []
    seen: set[int] = set()
    normalized = []
    for raw in keys:
        key = _norm_key(raw, "lineKey")
        index = key["lineKeyIndex"]
        if index < 1 or index > model.line_keys:
            problems.append(
                f"lineKeyIndex {index} is out of range: {model.display_name} has {model.line_keys} line keys."
            )
        if index in seen:
            problems.append(f"lineKeyIndex {index} is listed more than once.")
        seen.add(index)
        problems += _key_type_problems(key, "lineKey", f"Line key {index}")
        normalized.append(key)
    by_index = {k["lineKeyIndex"]: k for k in normalized}
    if written and model.line_keys and by_index.get(1, {}).get("lineKeyType") != "PRIMARY_LINE":
        found = by_index.get(1, {}).get("lineKeyType", "OPEN (not given)")
        problems.append(f"Line key 1 must be PRIMARY_LINE, the device's primary line; it is {found}.")
    if problems:
        raise bad_request(problems[0], problems)
    return [
        by_index.get(i, {"lineKeyIndex": i, "lineKeyType": "OPEN", "sharedLineIndex": 0})
        for i in range(1, model.line_keys + 1)
    ]


def _key_type_problems(key: dict[str, Any], prefix: str, where: str) -> list[str]:
    kind = key[f"{prefix}Type"]
    problems = []
    if kind == "SPEED_DIAL" and not key.get(f"{prefix}Value"):
        problems.append(f"{where}: SPEED_DIAL requires {prefix}Value.")
    if kind == "SHARED_LINE" and key.get("sharedLineIndex", 0) < 1:
        problems.append(f"{where}: SHARED_LINE requires sharedLineIndex of 1 or more.")
    if kind == "SPEED_DIAL" and len(str(key.get(f"{prefix}Label", ""))) > 30:
        problems.append(f"{where}: {prefix}Label is longer than 30 characters.")
    return problems


def default_line_keys(model: catalog.Model) -> list[dict[str, Any]]:
    return [
        {"lineKeyIndex": i, "lineKeyType": "PRIMARY_LINE" if i == 1 else "OPEN", "sharedLineIndex": 0}
        for i in range(1, model.line_keys + 1)
    ]


def full_kem_keys(model: catalog.Model, kem_type: str, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    per_module = catalog.KEM_KEYS_PER_MODULE[kem_type]
    given = {(k["kemModuleIndex"], k["kemKeyIndex"]): k for k in keys}
    return [
        given.get(
            (mod, idx),
            {"kemModuleIndex": mod, "kemKeyIndex": idx, "kemKeyType": "OPEN", "sharedLineIndex": 0},
        )
        for mod in range(1, model.kem_modules + 1)
        for idx in range(1, per_module + 1)
    ]


def layout_view(device: Device) -> dict[str, Any]:
    model = get_model(device)
    if not model.layout:
        return {"layoutMode": "DEFAULT", "userReorderEnabled": False, "lineKeys": []}
    stored = device.layout
    if stored is None:
        return {"layoutMode": "DEFAULT", "userReorderEnabled": False, "lineKeys": default_line_keys(model)}
    out: dict[str, Any] = {
        "layoutMode": stored["layoutMode"],
        "userReorderEnabled": stored.get("userReorderEnabled", False),
        "lineKeys": check_line_keys(model, stored["lineKeys"]),
    }
    if stored.get("kemModuleType"):
        out["kemModuleType"] = stored["kemModuleType"]
        out["kemKeys"] = full_kem_keys(model, stored["kemModuleType"], stored.get("kemKeys", []))
    return out


def new_layout(device: Device, body: dict[str, Any]) -> dict[str, Any] | None:
    """The layout a PUT would store (None: DEFAULT), or ApiError(400)."""
    model = get_model(device)
    if not model.layout:
        raise bad_request(f"Configuring the layout is not supported on {model.display_name}.")
    if body["layoutMode"] == "DEFAULT":
        return None
    line_keys = check_line_keys(model, body["lineKeys"], written=True)
    layout: dict[str, Any] = {
        "layoutMode": "CUSTOM",
        "userReorderEnabled": bool(body.get("userReorderEnabled", False)),
        "lineKeys": line_keys,
    }
    kem_type = body.get("kemModuleType")
    kem_keys = body.get("kemKeys") or []
    if kem_keys and not kem_type:
        raise bad_request("kemKeys require kemModuleType.")
    if kem_type:
        if kem_type not in model.kem_types:
            supported = ", ".join(model.kem_types) or "none"
            raise bad_request(
                f"kemModuleType {kem_type} is not supported on {model.display_name} ({supported})."
            )
        per_module = catalog.KEM_KEYS_PER_MODULE[kem_type]
        problems: list[str] = []
        seen: set[tuple[int, int]] = set()
        normalized = []
        for raw in kem_keys:
            key = _norm_key(raw, "kemKey")
            key["kemModuleIndex"] = int(key["kemModuleIndex"])
            mod, idx = key["kemModuleIndex"], key["kemKeyIndex"]
            if mod < 1 or mod > model.kem_modules:
                problems.append(
                    f"kemModuleIndex {mod} is out of range: "
                    f"{model.display_name} supports {model.kem_modules} modules."
                )
            if idx < 1 or idx > per_module:
                problems.append(f"kemKeyIndex {idx} is out of range: {kem_type} has {per_module} keys.")
            if (mod, idx) in seen:
                problems.append(f"KEM key {mod}/{idx} is listed more than once.")
            seen.add((mod, idx))
            problems += _key_type_problems(key, "kemKey", f"KEM key {mod}/{idx}")
            normalized.append(key)
        if problems:
            raise bad_request(problems[0], problems)
        layout["kemModuleType"] = kem_type
        layout["kemKeys"] = full_kem_keys(model, kem_type, normalized)
    return layout


def template_summary(tpl: Template) -> dict[str, Any]:
    model = catalog.MODELS[tpl.model]
    return {
        "id": tpl.id,
        "templateName": tpl.name,
        "deviceModel": tpl.model,
        "modelDisplayName": model.display_name,
    }


def template_view(tpl: Template) -> dict[str, Any]:
    out = template_summary(tpl)
    out["userReorderEnabled"] = tpl.user_reorder_enabled
    out["lineKeys"] = copy.deepcopy(tpl.line_keys)
    return out


def template_model(name: str) -> catalog.Model:
    model = catalog.MODELS.get(name)
    if model is None:
        raise bad_request(f"deviceModel {name} is not a supported device model.")
    if not model.layout:
        raise bad_request(f"Line key templates are not supported for {model.display_name}.")
    return model


def template_line_keys(model: catalog.Model, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return check_line_keys(model, keys, written=True)


# --------------------------------------------------------------------------------------------
# device settings
# --------------------------------------------------------------------------------------------


def location_customizations(store: Store, loc: Location) -> dict[str, Any]:
    if loc.custom_enabled and loc.customizations:
        return defaults.org_level(
            {f: loc.customizations.get(f) or store.org_customizations[f] for f in defaults.LOCATION_FAMILIES}
        )
    return defaults.org_level({f: store.org_customizations[f] for f in defaults.LOCATION_FAMILIES})


def _inherited_family(store: Store, loc: Location, family: str) -> dict[str, Any]:
    """``location_customizations(store, loc)[family]``, sharing the store's objects."""
    if family not in defaults.LOCATION_FAMILIES:
        raise KeyError(family)
    if loc.custom_enabled and loc.customizations:
        source = loc.customizations.get(family) or store.org_customizations[family]
    else:
        source = store.org_customizations[family]
    drop = defaults.DEVICE_ONLY.get(family, ())
    return {k: v for k, v in source.items() if k not in drop}


def _job_running(store: Store, location_id: str | None) -> bool:
    return any(
        j.type == "callDeviceSettings" and not j.finished and j.location_id == location_id
        for j in store.jobs.values()
    )


def org_settings_view(store: Store) -> dict[str, Any]:
    return {
        "customizations": defaults.org_level(store.org_customizations),
        "updateInProgress": _job_running(store, None),
        "deviceCount": len(store.devices),
        "lastUpdateTime": store.org_settings_updated,
    }


def location_settings_view(store: Store, loc: Location) -> dict[str, Any]:
    return {
        "customizations": location_customizations(store, loc),
        "customEnabled": loc.custom_enabled,
        "updateInProgress": _job_running(store, loc.id),
        "deviceCount": sum(1 for d in store.devices.values() if d.location_id == loc.id),
        "lastUpdateTime": loc.settings_updated or store.org_settings_updated,
    }


def device_settings_view(store: Store, device: Device) -> dict[str, Any]:
    """The answer of GET device settings. It shares the store's objects (no copies: the settings
    GET is a third of a plan's reads and deep copies were a fifth of the simulator's CPU): serialize
    it, never change it."""
    family = get_model(device).family
    if not get_model(device).phone_settings:
        return {
            "customizations": {},
            "customEnabled": False,
            "updateInProgress": False,
            "deviceCount": 1,
            "lastUpdateTime": store.org_settings_updated,
        }
    if device.settings is not None:
        customizations = {family: device.settings[family]}
        updated = device.settings_updated
    else:
        loc = store.locations[device.location_id]
        # Inherited values, plus the device-only fields (mpp.usbPorts) the org level lacks.
        inherited = _inherited_family(store, loc, family)
        customizations = {family: defaults.merged_view(defaults.FAMILIES[family], inherited)}
        updated = loc.settings_updated or store.org_settings_updated
    return {
        "customizations": customizations,
        "customEnabled": device.settings is not None,
        "updateInProgress": False,
        "deviceCount": 1,
        "lastUpdateTime": updated,
    }


def check_device_model_param(device: Device, value: str | None) -> None:
    if value is None:
        return
    model = get_model(device)
    if value not in (model.model, model.display_name):
        raise bad_request(f"deviceModel {value} does not match the device's model {model.model}.")


def new_device_settings(device: Device, body: dict[str, Any]) -> dict[str, Any] | None:
    model = get_model(device)
    if not model.phone_settings:
        raise bad_request(f"Device settings are not supported on {model.display_name}.")
    family = model.family
    given = body.get("customizations") or {}
    others = sorted(k for k in given if k != family)
    if others:
        raise bad_request(
            f"customizations.{others[0]} does not apply to {model.display_name}; it takes {family} settings.",
            [f"customizations.{k} does not apply to {model.display_name}." for k in others],
        )
    if not body["customEnabled"]:
        return None
    if family not in given:
        raise bad_request(
            f"customizations.{family} is required for {device.model} when customEnabled is true."
        )
    return {family: copy.deepcopy(given[family])}


# --------------------------------------------------------------------------------------------
# people, workspaces, devices, locations (/v1/...)
# --------------------------------------------------------------------------------------------


def person_json(store: Store, person: Person, calling_data: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": person.id,
        "emails": [person.email],
        "displayName": person.display_name,
        "nickName": person.first_name,
        "firstName": person.first_name,
        "lastName": person.last_name,
        "orgId": store.org_id,
        "created": person.created,
        "lastModified": person.created,
        "status": "active",
        "invitePending": "false",
        "loginEnabled": "true",
        "type": "person",
    }
    if calling_data:
        if person.phone_number:
            out["phoneNumbers"] = [{"type": "work", "value": person.phone_number, "primary": True}]
        out["extension"] = person.extension
        out["locationId"] = person.location_id
    return out


def workspace_json(store: Store, ws: Workspace) -> dict[str, Any]:
    return {
        "id": ws.id,
        "orgId": store.org_id,
        "locationId": ws.location_id,
        "workspaceLocationId": ws.location_id,
        "displayName": ws.display_name,
        "type": "desk",
        "created": ws.created,
        "calling": {"type": "webexCalling"},
        "hotdeskingStatus": "off",
        "supportedDevices": "phones",
        "devicePlatform": "cisco",
    }


def location_json(store: Store, loc: Location) -> dict[str, Any]:
    return {
        "id": loc.id,
        "name": loc.name,
        "orgId": store.org_id,
        "displayName": loc.name,
        "address": f"{loc.address}, {loc.city}, {loc.state}",
        "countryCode": loc.country,
        "cityName": loc.city,
        "latitude": loc.latitude,
        "longitude": loc.longitude,
        "timeZone": loc.time_zone,
    }


def device_json(store: Store, device: Device) -> dict[str, Any]:
    model = get_model(device)
    out: dict[str, Any] = {
        "id": device.webex_id,
        "callingDeviceId": device.calling_id,
        "displayName": device.display_name,
    }
    if device.owner_type == "PEOPLE":
        out["personId"] = device.owner_id
    else:
        out["workspaceId"] = device.owner_id
        out["placeId"] = device.owner_id
    out.update(
        orgId=store.org_id,
        capabilities=[],
        permissions=[],
        connectionStatus=device.connection_status,
        product=model.product,
        type="phone",
        tags=list(device.tags),
        ip=device.ip,
        activeInterface="wired",
        mac=colon_mac(device.mac),
        serial=device.serial,
        software=device.software,
        upgradeChannel="stable",
        created=device.created,
        locationId=device.location_id,
        workspaceLocationId=device.location_id,
        errorCodes=[],
        firstSeen=device.created,
        lastSeen=device.created,
        managedBy="CISCO",
        devicePlatform="cisco",
    )
    return out


def _hoteling_of(store: Store, device: Device) -> dict[str, Any]:
    return copy.deepcopy(device.hoteling if device.hoteling is not None else owner_of(store, device).hoteling)


def set_owner_hoteling(store: Store, owner: Person | Workspace, value: dict[str, Any]) -> bool:
    """The hoteling of an owner's primary devices (every device it owns); whether anything changed.
    An owned device whose hoteling changes is marked changed (it shows the new value once pushed)."""
    owned = [d for d in store.devices.values() if d.owner_id == owner.id]
    changed = value != owner.hoteling
    for device in owned:
        if (device.hoteling if device.hoteling is not None else owner.hoteling) != value:
            mark_changed(device)
            changed = True
        device.hoteling = None
    owner.hoteling = value
    return changed


def _owner_json(store: Store, device: Device) -> dict[str, Any]:
    owner = owner_of(store, device)
    first, last = _names(owner)
    return {"id": owner.id, "type": member_type(owner), "firstName": first, "lastName": last}


def devices_of(store: Store, member_id: str) -> list[tuple[Device, dict[str, Any]]]:
    found = []
    for device in store.devices.values():
        for m in device.members:
            if m["id"] == member_id:
                found.append((device, m))
                break
    return found


def person_devices_view(store: Store, person: Person) -> dict[str, Any]:
    items = []
    for device, m in devices_of(store, person.id):
        model = get_model(device)
        items.append(
            {
                "id": device.calling_id,
                "descriptions": list(device.tags),
                "model": device.model,
                "modelType": model.device_type,
                "mac": device.mac,
                "ipAddress": device.ip,
                "displayName": model.display_name,
                "primaryOwner": device.owner_id == person.id,
                "type": m["lineType"],
                "hoteling": _hoteling_of(store, device),
                "owner": _owner_json(store, device),
                "activationState": "activated",
            }
        )
    return {"devices": items, "maxDeviceCount": 5, "maxOwnedDeviceCount": 5}


def workspace_devices_view(store: Store, ws: Workspace) -> dict[str, Any]:
    items = []
    for device, m in devices_of(store, ws.id):
        hoteling = _hoteling_of(store, device)
        hoteling.setdefault("limitGuestUse", False)
        items.append(
            {
                "id": device.calling_id,
                "descriptions": list(device.tags),
                "model": device.model,
                "mac": device.mac,
                "ipAddress": device.ip,
                "displayName": get_model(device).display_name,
                "primaryOwner": device.owner_id == ws.id,
                "type": m["lineType"],
                "hoteling": hoteling,
                "owner": _owner_json(store, device),
                "activationState": "ACTIVATED",
            }
        )
    return {"devices": items, "maxDeviceCount": 5, "maxOwnedDeviceCount": 5}


def check_hoteling_host(store: Store, owner_id: str, value: dict[str, Any]) -> None:
    """Hoteling is enabled only for an owner with a device that allows a hoteling host."""
    if not value["enabled"]:
        return
    owned = [d for d in store.devices.values() if d.owner_id == owner_id]
    if owned and not any(get_model(d).hoteling_host for d in owned):
        names = ", ".join(sorted({get_model(d).display_name for d in owned}))
        raise bad_request(f"Hoteling host is not supported on the owner's devices ({names}).")


def hoteling_value(body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "enabled": bool(body["enabled"]),
        "limitGuestUse": bool(body.get("limitGuestUse", False)),
    }
    if body.get("guestHoursLimit") is not None:
        hours = body["guestHoursLimit"]
        if not (1 <= hours <= 999):
            raise bad_request("guestHoursLimit must be between 1 and 999.")
        out["guestHoursLimit"] = int(hours)
    return out


def third_party_view(store: Store, device: Device) -> dict[str, Any]:
    owner = owner_of(store, device)
    cisco = get_model(device).cisco
    return {
        "manufacturer": "CISCO" if cisco else "THIRD_PARTY",
        "managedBy": "CISCO" if cisco else "CUSTOMER",
        "id": device.calling_id,
        "ip": device.ip,
        "mac": device.mac,
        "model": device.model,
        "activationState": "activated",
        "description": list(device.tags),
        "upgradeChannelEnabled": True,
        "owner": {
            "sipUserName": f"{owner.extension}{device.mac[-4:]}",
            "linePort": f"{owner.extension}_{device.mac[-4:].lower()}1@{DOMAIN}",
        },
        "proxy": {"outboundProxy": "sbc.example.webex.com"},
    }


def check_sip_password(password: str) -> None:
    problems = []
    if len(password) < 8:
        problems.append("sipPassword must be at least 8 characters long.")
    if not any(c.isdigit() for c in password) or not any(c.isalpha() for c in password):
        problems.append("sipPassword must contain letters and digits.")
    if problems:
        raise bad_request(problems[0], problems)
