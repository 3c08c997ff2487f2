"""Bulk jobs: applyLineKeyTemplate, callDeviceSettings, rebuildPhones.

A job moves STARTING -> STARTED -> COMPLETED (or FAILED / COMPLETED_WITH_ERRORS) over simulated
time; its effect is applied to the devices it targets when it completes.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from . import catalog, defaults, device_settings, line_keys, telephony
from .store import Device, Job, Store

APPLY_LKT = "applyLineKeyTemplate"
CALL_DEVICE_SETTINGS = "callDeviceSettings"
REBUILD_PHONES = "rebuildPhones"
JOB_TYPES = (APPLY_LKT, CALL_DEVICE_SETTINGS, REBUILD_PHONES)

_NAMES = {
    APPLY_LKT: "applyphonelinekeytemplates",
    CALL_DEVICE_SETTINGS: "calldevicesettings",
    REBUILD_PHONES: "rebuildphones",
}
_STEPS = {
    APPLY_LKT: "applyphonelinekeytemplatesProcess",
    CALL_DEVICE_SETTINGS: "calldevicesettingsOverrideProcess",
    REBUILD_PHONES: "rebuildphonesProcess",
}
STARTING_SHARE = 0.1  # share of the duration spent in STARTING


def iso(ts: float) -> str:
    moment = datetime.fromtimestamp(ts, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def elapsed(seconds: float) -> str:
    return f"PT{max(0.0, seconds):.3f}S"


# --------------------------------------------------------------------------------------------
# targeting
# --------------------------------------------------------------------------------------------


# advisoryTypes flag -> the template's line key type that raises the warning (None: shared lines)
_ADVISORY_FLAGS: dict[str, str | None] = {
    "moreSharedAppearancesEnabled": None,
    "fewSharedAppearancesEnabled": None,
    "moreMonitorAppearancesEnabled": "MONITOR",
    "moreCPEAppearancesEnabled": "CALL_PARK_EXTENSION",
    "moreModeManagementAppearancesEnabled": "MODE_MANAGEMENT",
}


def advisories(keys: list[dict[str, Any]], device: Device) -> list[str]:
    """The advisoryTypes flags of the warnings a template with these keys raises on ``device``:
    more (or fewer) SHARED_LINE keys than the device's shared or virtual lines (its members other
    than the owner); MONITOR, CALL_PARK_EXTENSION or MODE_MANAGEMENT keys (the simulated org keeps
    no monitoring lists, call park extensions or mode management features to fill them)."""
    kinds = [str(k.get("lineKeyType")) for k in keys]
    shared, lines = kinds.count("SHARED_LINE"), sum(1 for m in device.members if m["id"] != device.owner_id)
    out = ["moreSharedAppearancesEnabled"] if shared > lines else []
    out += ["fewSharedAppearancesEnabled"] if lines > shared else []
    return out + [flag for flag, kind in _ADVISORY_FLAGS.items() if kind is not None and kind in kinds]


def _accepted(body: dict[str, Any], found: list[str]) -> bool:
    """Without advisoryTypes, every device; with it, one whose every warning it accepts."""
    accepted = body.get("advisoryTypes")
    return not isinstance(accepted, dict) or all(accepted.get(flag) is True for flag in found)


def lkt_targets(store: Store, body: dict[str, Any]) -> list[Device]:
    """Devices an applyLineKeyTemplate (or its preview) with this body would change."""
    model_filter: str | None = None
    keys: list[dict[str, Any]] = []
    if body.get("action", "APPLY_TEMPLATE") == "APPLY_TEMPLATE":
        tpl = store.templates.get(body.get("templateId") or "")
        if tpl is None:
            return []
        model_filter, keys = tpl.model, tpl.line_keys
    locations = set(body.get("locationIds") or [])
    include = set(body.get("includeDeviceTags") or [])
    exclude = set(body.get("excludeDeviceTags") or [])
    skip_custom = bool(body.get("excludeDevicesWithCustomLayout", False))
    out = []
    for device in store.devices.values():
        if model_filter is not None and device.model != model_filter:
            continue
        if not catalog.MODELS[device.model].layout:
            continue
        if locations and device.location_id not in locations:
            continue
        if include and not include.intersection(device.tags):
            continue
        if exclude and exclude.intersection(device.tags):
            continue
        if skip_custom and device.layout is not None and device.layout.get("layoutMode") == "CUSTOM":
            continue
        if keys and not _accepted(body, advisories(keys, device)):
            continue
        out.append(device)
    return out


def settings_targets(store: Store, job: Job) -> list[Device]:
    if job.location_id is None:
        return list(store.devices.values())
    return [d for d in store.devices.values() if d.location_id == job.location_id]


def targets(store: Store, job: Job) -> list[Device]:
    if job.type == APPLY_LKT:
        return lkt_targets(store, job.request)
    return settings_targets(store, job)


# --------------------------------------------------------------------------------------------
# progress and effects
# --------------------------------------------------------------------------------------------


def advance(store: Store, job: Job, now: float, rejected: set[str], *, read: bool = False) -> bool:
    """Move the job along at simulated time ``now``; True when it finished just now."""
    if job.finished:
        return False
    age = now - job.created
    done = read or age > 0 if job.duration <= 0 else age >= job.duration
    if not done:
        share = age / job.duration if job.duration > 0 else 0.0
        if share < STARTING_SHARE:
            job.status, job.percentage = "STARTING", 0
        else:
            job.status, job.percentage = "STARTED", max(1, min(99, int(share * 100)))
        return False
    _finish(store, job, now, rejected)
    return True


def _error_item(
    store: Store, job: Job, number: int, device: Device | None, code: str, text: str
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "description": text,
        "code": code,
        "locationId": device.location_id if device else (job.location_id or ""),
    }
    if device is not None:
        message["deviceId"] = device.calling_id
        message["mac"] = device.mac
    return {
        "itemNumber": number,
        "trackingId": job.tracking_id,
        "error": {"key": "400", "message": [message]},
    }


def _finish(store: Store, job: Job, now: float, rejected: set[str]) -> None:
    outcome = job.outcome or {}
    forced_exit = outcome.get("exit_code")
    failing = set(outcome.get("error_device_ids") or []) | rejected
    devices = targets(store, job)
    job.device_count = len(devices)
    job.errors = []
    if forced_exit == "FAILED":
        job.status, job.exit_code = "FAILED", "FAILED"
        bad: list[Device | None] = [d for d in devices if d.calling_id in failing or d.mac in failing]
        bad = bad or [None]
        for n, dev in enumerate(bad):
            job.errors.append(
                _error_item(store, job, n, dev, "JOB-FAILED", "The job failed; no change was applied.")
            )
    else:
        ok: list[Device] = []
        for dev in devices:
            if dev.calling_id in failing or dev.mac in failing:
                job.errors.append(
                    _error_item(
                        store,
                        job,
                        len(job.errors),
                        dev,
                        "DEVICE-REJECTED",
                        f"Device {dev.mac} could not be updated.",
                    )
                )
            else:
                ok.append(dev)
        _apply(store, job, ok, now)
        job.updated_count = len(ok)
        tpl = store.templates.get(job.request.get("templateId") or "") if job.type == APPLY_LKT else None
        if tpl is not None and job.request.get("action", "APPLY_TEMPLATE") == "APPLY_TEMPLATE":
            job.advisory_count = sum(1 for d in ok if advisories(tpl.line_keys, d))
        job.status = "COMPLETED"
        if forced_exit == "COMPLETED_WITH_ERRORS" or job.errors:
            job.exit_code = "COMPLETED_WITH_ERRORS"
        else:
            job.exit_code = forced_exit or "COMPLETED"
    job.percentage = 100
    job.finished_at = now


def _effective(store: Store, devices: list[Device]) -> dict[tuple[str, str], Any]:
    """What the devices without their own settings show, by (location, family): the only thing
    an org or location settings job can change for a device."""
    out: dict[tuple[str, str], Any] = {}
    views: dict[str, dict[str, Any]] = {}
    for dev in devices:
        model = catalog.MODELS[dev.model]
        key = (dev.location_id, model.family)
        if dev.settings is None and model.phone_settings and key not in out:
            if dev.location_id not in views:
                loc = store.locations[dev.location_id]
                views[dev.location_id] = device_settings.location_customizations(store, loc)
            out[key] = copy.deepcopy(views[dev.location_id].get(model.family))
    return out


def _apply(store: Store, job: Job, devices: list[Device], now: float) -> None:
    """A job's effect on the store. A device is marked changed (pending a push) only when what it
    shows changed: the API does not push after a job by itself."""
    body = job.request
    if job.type == APPLY_LKT:
        tpl = store.templates.get(body.get("templateId") or "")
        for dev in devices:
            before = dev.layout
            if body.get("action") == "APPLY_DEFAULT_TEMPLATES" or tpl is None:
                dev.layout = None
            else:
                layout: dict[str, Any] = {
                    "layoutMode": "CUSTOM",
                    "userReorderEnabled": tpl.user_reorder_enabled,
                    "lineKeys": copy.deepcopy(tpl.line_keys),
                }
                if dev.layout and dev.layout.get("kemModuleType"):
                    layout["kemModuleType"] = dev.layout["kemModuleType"]
                    layout["kemKeys"] = copy.deepcopy(dev.layout.get("kemKeys", []))
                dev.layout = layout
            if line_keys.layout_view(dev) != _layout_of(before, dev):
                telephony.mark_changed(dev)
    elif job.type == CALL_DEVICE_SETTINGS:
        _apply_settings(store, job, devices, now)
    elif job.type == REBUILD_PHONES:
        for dev in devices:
            dev.pushes += 1
            dev.rebuilds += 1
            dev.pending_changes = False


def _layout_of(layout: dict[str, Any] | None, dev: Device) -> dict[str, Any]:
    """The layout view ``dev`` had with ``layout``."""
    now, dev.layout = dev.layout, layout
    try:
        return line_keys.layout_view(dev)
    finally:
        dev.layout = now


def _apply_settings(store: Store, job: Job, devices: list[Device], now: float) -> None:
    """An org or location ``callDeviceSettings`` job: the devices whose inherited settings change
    (not those with their own; for the org's, not those of a location with its own) are marked."""
    body = job.request
    before = _effective(store, devices)
    stamp = int(now * 1000)
    given = body.get("customizations") or {}
    if job.location_id is None:
        for family, value in given.items():
            if family in defaults.ORG_FAMILIES:
                store.org_customizations[family] = copy.deepcopy(value)
        store.org_settings_updated = stamp
    else:
        loc = store.locations[job.location_id]
        if body.get("locationCustomizationsEnabled", False):
            current = device_settings.location_customizations(store, loc)
            for family, value in given.items():
                if family in defaults.LOCATION_FAMILIES:
                    current[family] = copy.deepcopy(value)
            loc.custom_enabled = True
            loc.customizations = current
        else:
            loc.custom_enabled = False
            loc.customizations = None
        loc.settings_updated = stamp
    after = _effective(store, devices)
    for dev in devices:
        key = (dev.location_id, catalog.MODELS[dev.model].family)
        if dev.settings is None and key in before and before[key] != after.get(key):
            telephony.mark_changed(dev)


# --------------------------------------------------------------------------------------------
# views
# --------------------------------------------------------------------------------------------


def _execution(job: Job, now: float) -> dict[str, Any]:
    end = job.finished_at
    last = end if end is not None else now
    step: dict[str, Any] = {
        "id": job.instance_id * 10 + 1,
        "startTime": iso(job.created),
        "lastUpdated": iso(last),
        "statusMessage": job.status,
        "exitCode": job.exit_code,
        "name": _STEPS[job.type],
        "timeElapsed": elapsed(last - job.created),
    }
    execution: dict[str, Any] = {
        "id": job.instance_id * 10,
        "startTime": iso(job.created),
        "lastUpdated": iso(last),
        "statusMessage": job.status,
        "exitCode": job.exit_code,
        "createdTime": iso(job.created),
        "timeElapsed": elapsed(last - job.created),
        "stepExecutionStatuses": [step],
    }
    if end is not None:
        execution["endTime"] = iso(end)
        step["endTime"] = iso(end)
    return execution


def lkt_errors_view(job: Job) -> dict[str, Any]:
    """The errors of an applyLineKeyTemplate job in the spec's shape (``ApplyLineKeyTemplateJobErrors``
    as its example shows it): one ``error`` whose ``message`` lists each failure (description, code,
    locationId; the device is named in the description), no ``items``."""
    out: dict[str, Any] = {"trackingId": job.tracking_id}
    if job.errors:
        messages = [m for item in job.errors for m in item["error"]["message"]]
        out["error"] = {
            "key": str(job.errors[0]["error"]["key"]),
            "message": [{k: m.get(k) for k in ("description", "code", "locationId")} for m in messages],
        }
    return out


def view(store: Store, job: Job, now: float) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": _NAMES[job.type],
        "id": job.id,
    }
    if job.type == CALL_DEVICE_SETTINGS:
        out["jobType"] = _NAMES[job.type]
    out.update(
        trackingId=job.tracking_id,
        sourceUserId=store.admin_id,
        sourceCustomerId=store.org_id,
        targetCustomerId=store.org_id,
        instanceId=job.instance_id,
        jobExecutionStatus=[_execution(job, now)],
        latestExecutionStatus=job.status,
        latestExecutionExitCode=job.exit_code,
        percentageComplete=job.percentage,
    )
    if job.type == APPLY_LKT:
        out["updatedCount"] = job.updated_count
        out["advisoryCount"] = job.advisory_count
    elif job.type == REBUILD_PHONES:
        out["target"] = "LOCATION"
        out["locationId"] = job.location_id or ""
        out["deviceCount"] = job.device_count
    else:
        loc = store.locations.get(job.location_id or "")
        out.update(
            target="LOCATION" if loc else "CUSTOMER",
            locationId=loc.id if loc else "",
            locationCustomizationsEnabled=bool(job.request.get("locationCustomizationsEnabled", False)),
            deviceCount=job.device_count,
            operationType="UPDATE",
            sourceLocationId=loc.id if loc else "",
            targetLocationId=loc.id if loc else "",
            sourceLocationName=loc.name if loc else "",
            targetLocationName=loc.name if loc else "",
            counts={"totalNumbers": 0, "numbersDeleted": 0, "numbersMoved": 0, "numbersFailed": 0},
        )
    return out
