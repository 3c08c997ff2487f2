"""Device Call Settings behaviour shared by its parts: lookups that answer 404, the pending mark,
owners and member names, third-party device details.

The parts by resource: ``members.py``, ``line_keys.py`` (layouts and templates),
``device_settings.py``, ``hoteling.py`` (a person's or workspace's devices), ``directory_json.py``
(the /v1 directory shapes)."""

from __future__ import annotations

from typing import Any

from . import catalog
from .errors import bad_request, not_found
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


def first_last(entity: Person | Workspace | VirtualLine) -> tuple[str, str]:
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
# third-party devices (details, SIP password)
# --------------------------------------------------------------------------------------------


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
