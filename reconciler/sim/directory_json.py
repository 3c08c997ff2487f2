"""People, workspaces, locations and devices in the shapes of the /v1 directory APIs."""

from __future__ import annotations

from typing import Any

from .ids import colon_mac
from .store import Device, Location, Person, Store, Workspace
from .telephony import get_model


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
