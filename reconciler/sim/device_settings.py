"""Device settings at the org, location and device level: the views (inherited values merged in,
without copies) and the checks of a device settings PUT."""

from __future__ import annotations

import copy
from typing import Any

from . import defaults
from .errors import bad_request
from .store import Device, Location, Store
from .telephony import get_model


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
