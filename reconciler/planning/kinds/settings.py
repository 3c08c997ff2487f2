"""Org and location device settings (callDeviceSettings jobs), person and workspace devices."""

from __future__ import annotations

from typing import Any

from reconciler.model import Resource
from reconciler.planning.diff import FieldChange, diff_declared, merge_declared
from reconciler.planning.kinds.context import Context
from reconciler.planning.kinds.inherit import Leaf, mark, with_leaves
from reconciler.planning.kinds.not_reached import unreached
from reconciler.planning.kinds.own_settings import LOCATION_SETTINGS
from reconciler.planning.kinds.push_targets import reach_owned

JOB = "/telephony/config/jobs/devices/callDeviceSettings"
SETTINGS_JOB = "callDeviceSettings"
ORG_SETTINGS = "/telephony/config/devices/settings"
PERSON = "/telephony/config/people/{id}/devices"
WORKSPACE = "/telephony/config/workspaces/{id}/devices"


async def plan_org_settings(ctx: Context, res: Resource) -> None:
    live = await ctx.get(ORG_SETTINGS)
    desired = {"customizations": res.spec.get("customizations", {})}
    changes = diff_declared(desired, live, res.ignore)
    if not changes:
        return
    current = ctx.without_live_secrets({"customizations": live.get("customizations", {})}, ORG_SETTINGS)
    body = merge_declared(current, desired, res.ignore)
    # Where the change does not reach: locations and devices with their own settings, unmanaged.
    meta = {"notReached": await unreached(ctx, changes)}
    summary = "org device settings (job)"
    ctx.step(res, "job", 3, JOB, body, changes=changes, job_type=SETTINGS_JOB, summary=summary, meta=meta)


async def plan_location_settings(ctx: Context, res: Resource) -> None:
    loc_id = ctx.id_of(res, ctx.locations, "/metadata/location", "location named", "locations")
    if loc_id is None:
        return
    read = LOCATION_SETTINGS.format(id=loc_id)
    found = await ctx.own_settings.location(ctx, loc_id, record=True)  # read once in a plan
    live = found.answer or {}
    desired = dict(res.spec)
    live_custom = live.get("customizations") or {}
    # A customized location follows the org manifest where it declares nothing itself.
    inherited: list[Leaf] = []
    if ctx.inheritance is not None and desired.get("customEnabled", live.get("customEnabled", False)):
        inherited = ctx.inheritance.for_location(res, live_custom)
    declared = with_leaves(desired.get("customizations"), inherited)
    # Families the location's GET does not return (dect): written, never compared (unobservable).
    unseen = sorted(f for f in declared if f not in live_custom)
    for family in unseen:
        ctx.warnings.append(
            f"{res.address}: customizations.{family} is not returned by the location's GET, so it "
            "cannot be compared: it is written (complete, from the org's settings plus the declared "
            "fields) with every settings job of this location, never planned on its own"
        )
    compared = {**desired, "customizations": {f: v for f, v in declared.items() if f not in unseen}}
    if not compared["customizations"]:
        del compared["customizations"]
    changes = mark(diff_declared(compared, live, res.ignore), inherited, "/customizations")
    if not changes:
        return
    enabled = desired.get("customEnabled", live.get("customEnabled", False))
    dropped = [c.path for c in changes if c.path.startswith("/customizations/")]
    if desired.get("customEnabled") is False and desired.get("customizations"):
        # Once the location uses the org's settings, they are what its customizations show.
        dropped = ["/customizations"]
    if not enabled and dropped:
        # The job would drop them: a location without its own settings shows the org's.
        ctx.error(
            res,
            "/spec" + dropped[0],
            "customizations are not kept while customEnabled is false (the location shows the org's "
            "settings): set customEnabled: true, or drop the customizations",
        )
        return
    body: dict[str, Any] = {"locationId": loc_id, "locationCustomizationsEnabled": enabled}
    if enabled:
        current = await _current_customizations(ctx, res, live_custom, read, unseen)
        if current is None:
            return
        body["customizations"] = merge_declared(current, declared, res.ignore_under("/customizations"))
    summary = "location device settings (job)"
    ctx.step(res, "job", 3, JOB, body, changes=changes, job_type=SETTINGS_JOB, summary=summary)


def _owned(devices: dict[str, Any]) -> list[dict[str, Any]]:
    """The devices an owner's hoteling PUT sets: its primary devices (the ones it owns)."""
    return [d for d in devices.get("devices") or [] if isinstance(d, dict) and d.get("primaryOwner")]


def _hoteling_changes(
    res: Resource, owned: list[dict[str, Any]]
) -> tuple[list[FieldChange], dict[str, Any], list[dict[str, Any]]]:
    """The declared hoteling compared on every owned device: (the changes, shown with the first
    differing device's live values; that device's hoteling, to build the body on; the owned
    devices that differ)."""
    ignore = res.ignore_under("/hoteling")
    first: tuple[list[FieldChange], dict[str, Any]] | None = None
    differing = []
    for device in owned:
        found = device.get("hoteling")
        live: dict[str, Any] = found if isinstance(found, dict) else {}
        changes = diff_declared(res.spec["hoteling"], live, ignore, prefix="/hoteling")
        if changes:
            differing.append(device)
            first = first or (changes, live)
    if first is None:
        return [], {}, []
    return first[0], first[1], differing


def _may_host(ctx: Context, devices: dict[str, Any]) -> bool:
    """Whether hoteling may be enabled: a device owned (else any device) allows a hoteling host,
    or a model is not known (the API decides)."""
    owned = _owned(devices)
    if not owned:
        return True
    models = [ctx.caps.model(str(d.get("model") or "")) for d in owned]
    return any(m is None or m.hoteling_host for m in models)


async def _plan_owner(
    ctx: Context, res: Resource, base: str, hoteling_path: str, hoteling_wrap: bool
) -> None:
    spec = res.spec
    prev: str | None = None
    if "hoteling" in spec:
        devices = await ctx.get(base)
        owned = _owned(devices)
        if spec["hoteling"].get("enabled") is True and not _may_host(ctx, devices):
            ctx.error(
                res,
                "/spec/hoteling/enabled",
                "hoteling needs a device that allows a hoteling host; the devices this "
                f"{'person' if res.kind == 'PersonDevices' else 'workspace'} owns do not "
                "(allowHotelingHostEnabled)",
            )
            return
        if not owned:
            ctx.warnings.append(
                f"{res.address}: owns no device, so its hoteling settings cannot be read or set "
                "(they are those of its primary devices)"
            )
        else:
            changes, live_h, differing = _hoteling_changes(res, owned)
            if changes:
                merged = merge_declared(live_h, spec["hoteling"], res.ignore_under("/hoteling"))
                body = {"hoteling": merged} if hoteling_wrap else merged
                summary = "hoteling" + (
                    f" (of its {len(owned)} devices, {len(differing)} differ)" if len(owned) > 1 else ""
                )
                step = ctx.update(res, "hoteling", 5, hoteling_path, body, changes, summary)
                # the owned devices whose hoteling differs are pushed after it
                reach_owned(ctx, step, {"devices": differing}, f"hoteling of {res.name}")
                prev = step.id
    if "settings" in spec:
        path = f"{base}/settings"
        live = await ctx.get(path)
        ignore = res.ignore_under("/settings")
        changes = diff_declared(spec["settings"], live, ignore, prefix="/settings")
        if changes:
            body = merge_declared(ctx.without_live_secrets(live, path), spec["settings"], ignore)
            ctx.update(res, "settings", 5, path, body, changes, "device settings", after=prev)


async def plan_person(ctx: Context, res: Resource) -> None:
    await ctx.people_pending.known()
    pid = ctx.id_of(res, ctx.people, "/metadata/person", "person with email")
    if pid is not None:
        base = PERSON.format(id=pid)
        await _plan_owner(ctx, res, base, f"{base}/settings/hoteling", hoteling_wrap=True)


async def plan_workspace(ctx: Context, res: Resource) -> None:
    wid = ctx.id_of(res, ctx.workspaces, "/metadata/workspace", "workspace named", "workspaces")
    if wid is not None:
        base = WORKSPACE.format(id=wid)
        await _plan_owner(ctx, res, base, base, hoteling_wrap=False)


async def _current_customizations(
    ctx: Context, res: Resource, live_custom: dict[str, Any], read: str, unseen: list[str]
) -> dict[str, Any] | None:
    """What a customized location's job body starts from: its live customizations, and for the
    families its GET does not return, the org's (None, with an error, when neither has one)."""
    current = dict(ctx.without_live_secrets(live_custom, read, "/customizations"))
    if not unseen:
        return current
    org = await ctx.get(ORG_SETTINGS)
    org_custom = ctx.without_live_secrets(org.get("customizations") or {}, ORG_SETTINGS, "/customizations")
    for family in unseen:
        if not isinstance(org_custom.get(family), dict):
            ctx.error(
                res,
                f"/spec/customizations/{family}",
                f"neither the location nor the org settings return the {family} family, so "
                "a complete body for it cannot be built; leave it out",
            )
            return None
        current[family] = org_custom[family]
    return current
