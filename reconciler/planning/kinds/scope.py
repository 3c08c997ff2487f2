"""Which devices an Apply Line Key Template job changes, as the API chooses them: the template's
model, the locations, the tags, ``excludeDevicesWithCustomLayout`` and ``advisoryTypes``.

Advisories are the warnings the API attaches to a device the template does not fit exactly:

- ``moreSharedAppearances``: the template has more SHARED_LINE keys than the device has shared or
  virtual lines (members other than its owner);
- ``fewSharedAppearances``: the device has more shared or virtual lines than the template has
  SHARED_LINE keys;
- ``moreMonitorAppearances``, ``moreCPEAppearances``, ``moreModeManagementAppearances``: the
  template has MONITOR, CALL_PARK_EXTENSION or MODE_MANAGEMENT keys, and no monitoring list,
  call park extension or mode management feature to fill them is known for the device.

Without ``advisoryTypes`` every matching device is changed, warnings or not. With it, a device is
changed only when each of its warnings is one the assignment accepts (its flag is true); the
others are skipped. The simulator chooses the same way.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reconciler.model import Resource, normalize_mac
from reconciler.planning.kinds.linekeys import compare_line_keys
from reconciler.planning.kinds.push_targets import remember_devices

if TYPE_CHECKING:
    from reconciler.planning.kinds.context import Context

MEMBERS = "/telephony/config/devices/{id}/members"
LAYOUT = "/telephony/config/devices/{id}/layout"
# advisory -> (its advisoryTypes flag, the template's key type that raises it; None: shared lines)
ADVISORIES: dict[str, tuple[str, str | None]] = {
    "moreSharedAppearances": ("moreSharedAppearancesEnabled", None),
    "fewSharedAppearances": ("fewSharedAppearancesEnabled", None),
    "moreMonitorAppearances": ("moreMonitorAppearancesEnabled", "MONITOR"),
    "moreCPEAppearances": ("moreCPEAppearancesEnabled", "CALL_PARK_EXTENSION"),
    "moreModeManagementAppearances": ("moreModeManagementAppearancesEnabled", "MODE_MANAGEMENT"),
}


@dataclass
class Scope:
    """The devices of one assignment (MACs with colons, sorted)."""

    matched: list[str] = field(default_factory=list)  # what the job will change (or leave equal)
    differing: list[str] = field(default_factory=list)  # those whose layout differs from the template
    custom: list[str] = field(default_factory=list)  # in scope, skipped for their custom layout
    custom_differing: list[str] = field(default_factory=list)  # ... whose layout differs
    advisory: dict[str, list[str]] = field(default_factory=dict)  # skipped: MAC -> its warnings
    changes: dict[str, str] = field(default_factory=dict)  # differing: MAC -> how its layout changes
    live_matched: int = 0  # what matches as live state is now (the preview's count)


def layout_change(layout: dict[str, Any], want: dict[str, Any], have: dict[str, Any]) -> str:
    """How a template's job changes one device's layout, in a few words."""
    if layout.get("layoutMode") != "CUSTOM":
        return "default layout -> template"
    keys = sum(1 for i in set(want) | set(have) if want.get(i) != have.get(i))
    return f"{keys} line key(s) change" if keys else "userReorderEnabled changes"


def advisories(keys: list[dict[str, Any]], shared_lines: int) -> list[str]:
    """The warnings a template with these line keys raises on a device with ``shared_lines``."""
    kinds = [str(k.get("lineKeyType")) for k in keys]
    shared = kinds.count("SHARED_LINE")
    out = []
    if shared > shared_lines:
        out.append("moreSharedAppearances")
    if shared_lines > shared:
        out.append("fewSharedAppearances")
    out += [name for name, (_, kind) in ADVISORIES.items() if kind is not None and kind in kinds]
    return out


def refused(found: list[str], accepted: dict[str, Any] | None) -> list[str]:
    """The warnings of ``found`` that keep a device out: none without ``advisoryTypes``."""
    if not isinstance(accepted, dict):
        return []
    return [a for a in found if accepted.get(ADVISORIES[a][0]) is not True]


def _needs_members(spec: dict[str, Any]) -> bool:
    """Whether the shared-line warnings can decide here (which needs each device's members)."""
    accepted = spec.get("advisoryTypes")
    return (
        isinstance(accepted, dict)
        and spec.get("action") != "APPLY_DEFAULT_TEMPLATES"
        and not all(
            accepted.get(ADVISORIES[a][0]) is True for a in ("moreSharedAppearances", "fewSharedAppearances")
        )
    )


def _declared_members(ctx: Context) -> dict[str, int]:
    """Normalized MAC -> the shared or virtual lines its manifest declares (written before any
    template job runs), for every device whose members a planned manifest declares."""
    return {
        r.name: sum(1 for m in r.spec["members"] if not m.get("primaryOwner"))
        for r in ctx.resources
        if r.kind == "Device" and isinstance(r.spec.get("members"), list)
    }


async def _shared_lines(ctx: Context, devices: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """(now, when the job runs) shared or virtual lines of each device."""
    declared = _declared_members(ctx)
    answers = await asyncio.gather(*(ctx.get(MEMBERS.format(id=d["callingDeviceId"])) for d in devices))
    out = []
    for dev, live in zip(devices, answers, strict=True):
        now = sum(1 for m in live.get("members") or [] if not m.get("primaryOwner"))
        out.append((now, declared.get(normalize_mac(str(dev.get("mac") or "")) or "", now)))
    return out


async def candidates(
    ctx: Context, spec: dict[str, Any], location_ids: list[str], tmpl: dict[str, Any]
) -> list[dict[str, Any]]:
    """The calling devices of the locations and tags (and the template's model) an assignment names."""
    model = tmpl.get("deviceModel")
    include = set(spec.get("includeDeviceTags") or [])
    exclude = set(spec.get("excludeDeviceTags") or [])
    caps = ctx.caps.model(str(model))
    reset = spec.get("action") == "APPLY_DEFAULT_TEMPLATES"
    # APPLY_DEFAULT_TEMPLATES resets every device with a configurable layout, whatever its model.
    product = caps.display_name if caps else str(model).removeprefix("DMS ")
    by_model = {} if reset else {"product": product}
    listings = await asyncio.gather(
        *(
            ctx.client.list_devices(**(by_model | ({"locationId": loc} if loc else {})))
            for loc in ([*location_ids] or [""])
        )
    )
    layouts_of = {
        str(e.get("displayName")) for e in ctx.models.values() if e.get("allowConfigureLayoutEnabled")
    }
    return [
        dev
        for devs in listings
        for dev in devs
        if dev.get("callingDeviceId")
        and (not reset or not ctx.models or str(dev.get("product")) in layouts_of)
        and (not include or set(dev.get("tags") or []) & include)
        and not (exclude and set(dev.get("tags") or []) & exclude)
    ]


async def assignment_scope(
    ctx: Context, res: Resource, location_ids: list[str], tmpl: dict[str, Any]
) -> Scope:
    """The devices the assignment's job changes, and those in scope it skips (and why)."""
    spec = res.spec
    found = await candidates(ctx, spec, location_ids, tmpl)
    remember_devices(ctx, found)  # the devices of the job's pushes (``kinds.push_targets``)
    layouts = await asyncio.gather(*(ctx.get(LAYOUT.format(id=dev["callingDeviceId"])) for dev in found))
    lines = await _shared_lines(ctx, found) if _needs_members(spec) else [(0, 0)] * len(found)
    reset = spec.get("action") == "APPLY_DEFAULT_TEMPLATES"
    keys = [] if reset else list(tmpl.get("lineKeys") or [])
    accepted = None if reset else spec.get("advisoryTypes")
    scope = Scope()
    for dev, layout, (now, then) in zip(found, layouts, lines, strict=True):
        mac = str(dev.get("mac") or dev["callingDeviceId"])
        if reset:
            differs = layout.get("layoutMode") != "DEFAULT"
        else:
            want, have = compare_line_keys(keys, layout.get("lineKeys"))
            # the job sets the template's userReorderEnabled too: a device differing only there changes
            reorder = "userReorderEnabled" in tmpl and bool(layout.get("userReorderEnabled")) != bool(
                tmpl["userReorderEnabled"]
            )
            differs = layout.get("layoutMode") != "CUSTOM" or want != have or reorder
        if spec.get("excludeDevicesWithCustomLayout") and layout.get("layoutMode") == "CUSTOM":
            scope.custom.append(mac)
            if differs:
                scope.custom_differing.append(mac)
            continue
        if not refused(advisories(keys, now), accepted):
            scope.live_matched += 1
        blocked = refused(advisories(keys, then), accepted)
        if blocked:
            scope.advisory[mac] = blocked
            continue
        scope.matched.append(mac)
        if differs:
            scope.differing.append(mac)
            scope.changes[mac] = "custom layout -> default" if reset else layout_change(layout, want, have)
    for part in (scope.matched, scope.differing, scope.custom, scope.custom_differing):
        part.sort()
    return scope
