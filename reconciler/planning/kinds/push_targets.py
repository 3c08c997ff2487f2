"""Which devices a plan changes the configuration of, through which step, and why.

The planners note each device a step changes (``reach``): a device's own writes, the devices whose
layout a template assignment changes, the owned devices of a person or workspace whose hoteling
changes, and the devices an org or location settings job reaches (``settings_reach``).
``reconciler.planning.pushes`` then pushes each of them once, after the last step that changes it.

A settings job reaches the devices of its scope (the location's, or for the org's job every
device) whose settings family the job changes, except:

- a device with its own customization (``customEnabled``): it shows its own settings;
- for the org's job, a device of a location with its own customization, now and after the plan
  (a location job of the same plan may switch it).

Whether a device or location is customized comes from ``kinds.own_settings``, the one place a
plan reads it: a device manifest's ``customEnabled`` (its value after the plan), else the answer
another part of the plan read already (the device planner; ``kinds.not_reached`` reads every
device no manifest declares when the org's settings change), else a read of its own. Where a
location has at least ``Policy.rebuildPhonesThreshold`` candidates not known to be customized,
one ``rebuildPhones`` job pushes every device of the location anyway, so they are not read; below
it, each unknown candidate's settings are read (fewer reads than the threshold per location) and
only those it reaches are pushed.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reconciler.model import normalize_mac
from reconciler.planning.kinds.context import Reach
from reconciler.planning.plan import Step

if TYPE_CHECKING:
    from reconciler.planning.kinds.context import Context

SETTINGS_JOB = "callDeviceSettings"


def reach(ctx: Context, device: dict[str, Any], step: Step | None, reason: str) -> None:
    """Note that ``step`` changes the configuration of ``device`` (a ``/devices`` item), for
    ``reason``; a model that takes no push (a third-party SIP phone) is left out."""
    mac = normalize_mac(str(device.get("mac") or ""))
    cid = device.get("callingDeviceId")
    if mac is None or not cid:
        return
    model = ctx.caps.of_device(device)
    if model is not None and not model.apply_changes:
        return
    entry = ctx.reached.get(mac)
    if entry is None:
        known = ctx.devices.get(mac) or ctx.listed.get(mac) or device
        entry = ctx.reached[mac] = Reach(mac, str(cid), known.get("locationId"))
    entry.reasons.append(reason)
    if step is not None:
        entry.after.append(step.id)
        step.meta.setdefault("reaches", []).append(mac)
        step.meta.setdefault("reason", reason)


def remember_devices(ctx: Context, devices: list[dict[str, Any]]) -> None:
    """Keep ``/devices`` items a planner listed, for the pushes of its step (``reach_listed``)."""
    for device in devices:
        mac = normalize_mac(str(device.get("mac") or ""))
        if mac:
            ctx.listed[mac] = device


def reach_listed(ctx: Context, step: Step, macs: list[str], reason: str) -> None:
    """``step`` changes the devices with these MACs (listed by ``remember_devices``)."""
    for mac in macs:
        norm = normalize_mac(mac) or mac
        device = ctx.listed.get(norm) or ctx.devices.get(norm)
        if device is not None:
            reach(ctx, device, step, reason)


def reach_owned(ctx: Context, step: Step, answer: dict[str, Any], reason: str) -> None:
    """``step`` changes the devices a person or workspace owns (their hoteling): from the answer of
    its ``GET .../devices`` (items with ``id``, ``mac``, ``model``, ``primaryOwner``)."""
    for item in answer.get("devices") or []:
        if not item.get("primaryOwner"):
            continue
        model = ctx.caps.model(str(item.get("model") or ""))
        if model is not None and not model.apply_changes:
            continue
        mac = normalize_mac(str(item.get("mac") or ""))
        device = (ctx.devices.get(mac) or ctx.listed.get(mac)) if mac else None
        reach(ctx, device or {"mac": item.get("mac"), "callingDeviceId": item.get("id")}, step, reason)


def own_writes(ctx: Context) -> None:
    """The devices whose own parts (members, layout, settings, SIP password) the plan writes."""
    by_id = {s.id: s for s in ctx.steps}
    for cid, (address, _, ids) in sorted(ctx.changed_devices.items(), key=lambda kv: kv[1][0]):
        if cid in ctx.no_push:
            continue
        mac = address.partition("/")[2]
        parts = ", ".join(i.rpartition(".")[2] for i in ids)
        item = ctx.devices.get(mac) or {"mac": mac, "callingDeviceId": cid}
        for step_id in ids:
            reach(ctx, item, by_id[step_id], f"own {parts}")


# -- org and location settings jobs -----------------------------------------------------------


def families(step: Step) -> set[str] | None:
    """The settings families a settings job changes (None: every family, e.g. a location going
    back to the org's settings)."""
    found: set[str] = set()
    for change in step.changes:
        parts = change.path.strip("/").split("/")
        if parts[0] == "customizations" and len(parts) > 1:
            found.add(parts[1])
        elif parts[0] == "customizations" or (parts[0] == "customEnabled" and change.after is False):
            return None
    return found


def _family_changes(ctx: Context, device: dict[str, Any], changed: set[str] | None) -> bool:
    """Whether a change of the families ``changed`` can reach ``device`` (unknown model: yes)."""
    model = ctx.caps.of_device(device)
    if model is None:
        return True
    family = model.settings_family
    return family is not None and model.settings_allowed and (changed is None or family in changed)


def _declared_custom(ctx: Context) -> dict[str, bool]:
    """Normalized MAC -> the ``customEnabled`` a planned device manifest declares: the device's
    after this plan."""
    out: dict[str, bool] = {}
    for r in ctx.resources:
        settings = r.spec.get("settings") if r.kind == "Device" else None
        if isinstance(settings, dict) and isinstance(settings.get("customEnabled"), bool):
            out[r.name] = settings["customEnabled"]
    return out


def _known_custom(ctx: Context, device: dict[str, Any], declared: dict[str, bool]) -> bool | None:
    """Whether the device shows its own settings after the plan, where known without a read: its
    manifest's ``customEnabled``, else what another part of the plan read (the device planner,
    ``kinds.not_reached``); None: not known."""
    mac = normalize_mac(str(device.get("mac") or ""))
    if mac in declared:
        return declared[mac]
    own = ctx.own_settings.known_device(ctx, str(device["callingDeviceId"]))
    return None if own is None else own.custom


async def _customized(ctx: Context, device: dict[str, Any]) -> bool:
    """Whether the device shows its own settings (read once in a plan: ``kinds.own_settings``)."""
    return (await ctx.own_settings.device(ctx, str(device["callingDeviceId"]), record=True)).custom


async def _location_masks_org(ctx: Context, loc: str, job: Step | None) -> bool:
    """Whether location ``loc`` shows its own settings now and after the plan (``job``: its settings
    job in this plan, if any), so that the org's job does not reach its devices."""
    after = job.body.get("locationCustomizationsEnabled") if job is not None else None
    if after is False:
        return False
    return (await ctx.own_settings.location(ctx, loc, record=True)).custom


@dataclass
class _Change:
    step: Step
    changed: set[str] | None
    reason: str


async def _reached_in(
    ctx: Context, loc: str, devices: list[dict[str, Any]], changes: list[_Change], declared: dict[str, bool]
) -> list[tuple[dict[str, Any], _Change]]:
    """The devices of location ``loc`` that its settings changes reach, each with its change
    (``declared``: ``_declared_custom``)."""
    candidates = [(d, c) for c in changes for d in devices if _family_changes(ctx, d, c.changed)]
    unique = {str(d["mac"]): d for d, _ in candidates}
    known = {mac: _known_custom(ctx, d, declared) for mac, d in unique.items()}
    masked = {mac for mac, own in known.items() if own}
    pushed = {e.mac for e in ctx.reached.values() if e.location == loc}
    if len((unique.keys() - masked) | pushed) < ctx.policy.rebuild_threshold:
        # each pushed alone: read which of the others show their own settings (and are not reached)
        unread = [d for mac, d in unique.items() if known[mac] is None and normalize_mac(mac) not in pushed]
        custom = await asyncio.gather(*(_customized(ctx, d) for d in unread))
        masked |= {str(d["mac"]) for d, own in zip(unread, custom, strict=True) if own}
    return [(d, c) for d, c in candidates if str(d["mac"]) not in masked]


async def _changes_in(ctx: Context, loc: str, by_loc: dict[str, Step], org: Step | None) -> list[_Change]:
    """The settings changes of the plan that can reach the devices of location ``loc``."""
    changes = []
    if loc in by_loc:
        names = {str(v.get("id")): k for k, v in ctx.locations.items()}
        where = f"location settings {names.get(loc, loc)}"
        changes.append(_Change(by_loc[loc], families(by_loc[loc]), where))
    if org is not None and (loc == "None" or not await _location_masks_org(ctx, loc, by_loc.get(loc))):
        changes.append(_Change(org, families(org), "org settings"))
    return changes


async def settings_reach(ctx: Context) -> None:
    """Note the devices each org or location settings job of the plan reaches (the reads of every
    location go out together; the devices are noted in location order)."""
    jobs = [s for s in ctx.steps if s.job_type == SETTINGS_JOB and isinstance(s.body, dict)]
    if not jobs:
        return
    by_loc = {str(s.body["locationId"]): s for s in jobs if s.body.get("locationId")}
    org = next((s for s in jobs if not s.body.get("locationId")), None)
    if org is not None:
        listed = await ctx.own_settings.org_devices(ctx)
    else:
        found = await asyncio.gather(*(ctx.client.list_devices(locationId=loc) for loc in sorted(by_loc)))
        listed = [d for devices in found for d in devices]
    remember_devices(ctx, listed)
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for device in listed:
        if device.get("callingDeviceId") and device.get("mac"):
            grouped[str(device.get("locationId"))].append(device)
    locations = sorted(grouped)
    changes = await asyncio.gather(*(_changes_in(ctx, loc, by_loc, org) for loc in locations))
    declared = _declared_custom(ctx)
    reached = await asyncio.gather(
        *(_reached_in(ctx, loc, grouped[loc], c, declared) for loc, c in zip(locations, changes, strict=True))
    )
    for pairs in reached:
        for device, change in pairs:
            reach(ctx, device, change.step, change.reason)
