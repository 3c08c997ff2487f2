"""A person's or workspace's devices (``/telephony/config/people/{id}/devices``...) and hoteling:
the owner's value shared by the devices it owns, unless one was set apart."""

from __future__ import annotations

import copy
from typing import Any

from .errors import bad_request
from .store import Device, Person, Store, Workspace
from .telephony import first_last, get_model, mark_changed, member_type, owner_of


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
    first, last = first_last(owner)
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
